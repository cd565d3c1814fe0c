#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0

# Reliability tests of libenos (README.md, Tests): C programs that drive the
# real build/libenos.so against enos-sim running as a SEPARATE process with its
# fault flags. Each program starts and stops its own simulator(s) (posix_spawn,
# free loopback ports, --control on a free port, --log in a scratch directory).
#
#   rel_loss    1,000 reports, --drop-requests 0.2 --drop-responses 0.2 --seed 42:
#               all ENOS_OK, each recorded once, in order, sequences increasing
#   rel_expiry  1,000 reports, --expire-after 50 (+10 % loss each way):
#               all delivered once in order; client reauths = 19 = sim auths - 1
#   rel_outage  sim stopped for 20 s, restarted on the same port (sessions lost):
#               reports during the outage return ENOS_QUEUED, are delivered in
#               order after the restart, the client re-authenticates by itself
#   rel_crash   kill -9 of a reporting process (state_dir) at random instants,
#               5 rounds (running / sim paused with reports queued / queue
#               draining), restart on the same state_dir: zero 4.01, no new
#               authentication, every ENOS_OK/ENOS_QUEUED report recorded
#   rel_scale   16 threads x 200 reports on one client; 1,000 clients x 10
#               reports from 50 threads (plus one black-holed device that must
#               not stall them)
#
# Needs build/libenos.so and build/enos-sim (make). ~80 s on 2 cores, of which
# 20 s is rel_outage's outage. Prints each program's measurements and, last,
# exactly "N passed, N failed" (the sum of the programs' checks and the build
# steps); exits non-zero on any failure.
#
# Environment: CC (gcc), REL_ONLY="rel_loss rel_crash" to run a subset,
# REL_KEEP=1 to keep the scratch directory (simulator logs, state dirs),
# REL_SEED=N to replay rel_crash's random kill instants.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=build/reliability
mkdir -p "$out"
CC=${CC:-gcc}
cflags=(-O1 -g -Wall -Wextra -Werror -std=c11 -pthread -Iinclude -Itest/c)
link=(-Lbuild -lenos "-Wl,-rpath,$root/build")
programs=(${REL_ONLY:-rel_loss rel_expiry rel_outage rel_crash rel_scale})

passed=0 failed=0
for f in build/libenos.so build/enos-sim; do
  if [ ! -e "$f" ]; then
    echo "FAIL: $f missing: run make first"
    echo "$passed passed, $((failed + 1)) failed"
    exit 1
  fi
done
export ENOS_SIM=$root/build/enos-sim
tmp=$(mktemp -d "${TMPDIR:-/tmp}/enos-rel.XXXXXX")
export REL_TMP=$tmp

# Simulators left behind by a program that crashed or timed out: the programs
# append each simulator's pid to $tmp/sim.pids; stop exactly those.
stop_leftover_sims() {
  if [ -f "$tmp/sim.pids" ]; then
    while read -r p; do
      if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
        kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null || true
      fi
    done <"$tmp/sim.pids"
  fi
}
trap stop_leftover_sims EXIT
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

start=$(date +%s.%N)
for p in "${programs[@]}"; do
  if "$CC" "${cflags[@]}" -o "$out/$p" "test/reliability/$p.c" "${link[@]}"; then
    passed=$((passed + 1))
  else
    echo "FAIL: build $p"; failed=$((failed + 1))
  fi
done

# run LABEL TIMEOUT_S COMMAND...: the program's last line is "N passed, N failed".
run() {
  local label=$1 limit=$2; shift 2
  local log="$tmp/$label.out" rc=0 t0 t1 last p f
  t0=$(date +%s.%N)
  timeout --signal=KILL "$limit" "$@" >"$log" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  last=$(tail -n 1 "$log")
  if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
  else
    p=0 f=1
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  [ "$rc" -ne 137 ] || echo "    ($label killed after its ${limit} s limit)"
  passed=$((passed + p)) failed=$((failed + f))
  if [ "$f" -eq 0 ]; then
    printf 'ok: %s (%d checks, %s s)\n' "$label" "$p" "$(secs "$t0" "$t1")"
    grep -v -e '^--- ' -e '^[0-9]* passed, [0-9]* failed$' "$log" | sed 's/^/  /'
  else
    printf 'FAIL: %s (exit %d; %s; %s s); its output:\n' "$label" "$rc" "$last" "$(secs "$t0" "$t1")"
    sed 's/^/    /' "$log"
  fi
}

for p in "${programs[@]}"; do
  [ -x "$out/$p" ] || continue
  case $p in
    rel_outage) run "$p" 90 "$out/$p" ;;
    *) run "$p" 120 "$out/$p" ;;
  esac
done

stop_leftover_sims
if [ "${REL_KEEP:-0}" = 1 ] || [ "$failed" -ne 0 ]; then
  echo "reliability: scratch directory (simulator logs, state dirs) kept: $tmp"
else
  rm -rf "$tmp"
fi
echo "reliability: $(secs "$start" "$(date +%s.%N)") s in total"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
