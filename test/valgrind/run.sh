#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0

# libenos under valgrind memcheck: the C tests run under valgrind, with a
# suppression file for the Go runtime's own frames.
#
# 1. Builds build/valgrind/libenos.so.1: the same library as `make`, but with
#    symbols (no -s -w, so valgrind names runtime.* frames) and with
#    `go build -tags valgrind` (Go >= 1.25), which makes the Go runtime describe
#    its heap and goroutine stacks to valgrind. The release build/libenos.so
#    is stripped: a suppression file for it could only say obj:*libenos.so*,
#    which would hide every error inside the library.
# 2. Builds, against that library (rpath build/valgrind): test/c/test_api.c,
#    test_sim.c, test_commands.c, test_log.c, test_thing.c (C99, as test/c/run.sh), the reliability
#    programs of test/reliability/, and test/valgrind/canary.c.
# 3. Runs each under
#      valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite
#               --suppressions=test/valgrind/go-runtime.supp
#    with GODEBUG=asyncpreemptoff=1 (async preemption spills registers below the
#    goroutine's SP, which valgrind reports). A program passes when its own
#    checks pass (last line "N passed, 0 failed") AND valgrind reports no
#    unsuppressed error and no definite leak (every process's log is read, so
#    children of rel_crash count too).
#
#    The subset (the Go runtime under valgrind is ~20-50x slower; the whole run
#    stays under ~3 minutes on 2 cores):
#      test_api       all of test/c/test_api.c (no network)
#      test_sim       all of test/c/test_sim.c, via test/c/with-sim.sh
#      test_commands  all of test/c/test_commands.c, via test/c/with-sim.sh
#      test_log       all of test/c/test_log.c, via test/c/with-sim.sh --one
#      test_thing     all of test/c/test_thing.c, via test/c/with-sim.sh --one --model
#      rel_loss       100 reports (not 1,000), 20 %/20 % loss, ACK timeout 100 ms
#      rel_expiry     150 reports, expiry every 50, ACK timeout 100 ms
#      rel_outage     3 s outage (not 20 s), restart on the same port
#      rel_crash      2 kill -9 rounds; the reporter and resume processes run under
#                     valgrind too (--trace-children, enos-sim skipped)
#      rel_scale      16 threads x 20 reports; 100 clients x 10 reports
#    and a negative control, canary: a real C leak and a real uninitialised
#    branch that valgrind MUST report despite the suppressions.
#
# Prints one line per program and, last, exactly "N passed, N failed";
# exits non-zero on failure. VG_KEEP=1 keeps the valgrind logs.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
V=build/valgrind
mkdir -p "$V"
CC=${CC:-gcc}
GO=${GO:-go}
passed=0 failed=0

if ! command -v valgrind >/dev/null; then
  echo "FAIL: valgrind not installed (apt-get install valgrind)"
  echo "0 passed, 1 failed"
  exit 1
fi
[ -x build/enos-sim ] || { echo "FAIL: build/enos-sim missing: run make"; echo "0 passed, 1 failed"; exit 1; }
echo "valgrind: $(valgrind --version), $($GO version | awk '{print $3}')"

# 1. the instrumented library
if CGO_ENABLED=1 "$GO" build -tags valgrind -buildmode=c-shared -trimpath \
     -ldflags "-extldflags '-Wl,-soname,libenos.so.1 -Wl,--version-script=$root/libenos.map'" \
     -o "$V/libenos.so.1" . ; then
  rm -f "$V/libenos.so.h"
  ln -sf libenos.so.1 "$V/libenos.so"
  passed=$((passed + 1))
else
  echo "FAIL: go build -tags valgrind of libenos"
  echo "$passed passed, $((failed + 1)) failed"
  exit 1
fi

# 2. the programs
link=(-L"$V" -l:libenos.so.1 -pthread "-Wl,-rpath,$root/$V")
build() { # out src std
  if "$CC" -std="$3" -O1 -g -Wall -Wextra -Werror -Iinclude -Itest/c -o "$V/$1" "$2" "${link[@]}"; then
    passed=$((passed + 1))
  else
    echo "FAIL: build $1"; failed=$((failed + 1))
  fi
}
for t in test_api test_sim test_commands test_log test_thing; do
  [ -f "test/c/$t.c" ] && build "$t" "test/c/$t.c" c99
done
for p in rel_loss rel_expiry rel_outage rel_crash rel_scale; do
  build "$p" "test/reliability/$p.c" c11
done
"$CC" -std=c11 -O0 -g -Wall -Wextra -Werror -Iinclude -o "$V/canary" test/valgrind/canary.c "${link[@]}" \
  || { echo "FAIL: build canary"; failed=$((failed + 1)); }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/enos-vg.XXXXXX")
export REL_TMP=$tmp/rel ENOS_SIM=$root/build/enos-sim GODEBUG=asyncpreemptoff=1
mkdir -p "$REL_TMP"
stop_leftover_sims() { # simulators of a crashed reliability program, by pid
  if [ -f "$REL_TMP/sim.pids" ]; then
    while read -r p; do
      if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null || true; fi
    done <"$REL_TMP/sim.pids"
  fi
}
trap stop_leftover_sims EXIT
vg=(valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite
    --suppressions="$root/test/valgrind/go-runtime.supp" --num-callers=40)

# valgrind_errors DIR: unsuppressed errors and definite leaks in all logs.
valgrind_errors() {
  local n
  n=$(cat "$1"/vg.* 2>/dev/null | grep -cE '^==[0-9]+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|Mismatched free|Source and destination overlap|Jump to the invalid|Process terminating with default action of signal (4|7|11)|[0-9,]+ (\(.*\) )?bytes in [0-9,]+ blocks are definitely lost)')
  echo "${n:-0}"
}

# run LABEL TIMEOUT [--children] -- COMMAND...: COMMAND's last stdout line is "N passed, N failed".
run() {
  local label=$1 limit=$2 children=0; shift 2
  if [ "$1" = --children ]; then children=1; shift; fi
  shift # --
  local dir=$tmp/$label out rc=0 t0 t1 last p f errs extra=()
  mkdir -p "$dir"
  out=$dir/out
  [ "$children" = 0 ] || extra=(--trace-children=yes "--trace-children-skip=*/enos-sim")
  t0=$(date +%s.%N)
  local cmd=("$@")
  local i
  for i in "${!cmd[@]}"; do [ "${cmd[$i]}" != VALGRIND ] || break; done
  cmd=("${cmd[@]:0:$i}" "${vg[@]}" "${extra[@]}" "--log-file=$dir/vg.%p" "${cmd[@]:$((i + 1))}")
  timeout --signal=KILL "$limit" "${cmd[@]}" >"$out" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
  if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}; else p=0 f=1; fi
  errs=$(valgrind_errors "$dir")
  local secs
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  if [ "$f" -eq 0 ] && [ "$errs" -eq 0 ] && [ "$rc" -eq 0 ]; then
    passed=$((passed + 1))
    printf 'ok: %-13s valgrind clean (%d valgrind logs; %s checks passed; %s s)\n' "$label" \
      "$(ls "$dir"/vg.* 2>/dev/null | wc -l)" "$p" "$secs"
  else
    failed=$((failed + 1))
    printf 'FAIL: %s (exit %d, %s, %s valgrind errors, %s s); output and valgrind logs:\n' \
      "$label" "$rc" "${last:-no summary line}" "$errs" "$secs"
    sed 's/^/    /' "$out"
    for l in "$dir"/vg.*; do
      if grep -qE '^==[0-9]+== (Invalid|Conditional|Use of|Syscall|Mismatched|Source and|Jump to|[0-9,]+ .*definitely lost)' "$l"; then
        echo "    --- $l"; sed 's/^/      /' "$l" | grep -v 'Warning: set address range perms' | head -200
      fi
    done
  fi
}

run test_api   60 -- VALGRIND "$V/test_api"
run test_sim   60 -- test/c/with-sim.sh -- VALGRIND "$V/test_sim"
[ ! -x "$V/test_commands" ] || run test_commands 60 -- test/c/with-sim.sh -- VALGRIND "$V/test_commands"
[ ! -x "$V/test_log" ] || run test_log 60 -- test/c/with-sim.sh --one -- VALGRIND "$V/test_log"
[ ! -x "$V/test_thing" ] || run test_thing 60 -- test/c/with-sim.sh --one --model test/c/thing-model.json -- VALGRIND "$V/test_thing"
run rel_loss   60 -- VALGRIND "$V/rel_loss" 100 100 42
run rel_expiry 60 -- VALGRIND "$V/rel_expiry" 150 50 100
run rel_outage 60 -- VALGRIND "$V/rel_outage" 3
run rel_crash  90 --children -- VALGRIND "$V/rel_crash" 2
run rel_scale  90 -- VALGRIND "$V/rel_scale" 100 10 20

# The negative control: valgrind must find the canary's leak and uninitialised
# branch (in canary.c's frames) and exit 1.
cdir=$tmp/canary
mkdir -p "$cdir"
crc=0
"${vg[@]}" "--log-file=$cdir/vg.%p" "$V/canary" >"$cdir/out" 2>&1 || crc=$?
if [ "$crc" -eq 1 ] && grep -q 'definitely lost' "$cdir"/vg.* && grep -A3 'Conditional jump' "$cdir"/vg.* | grep -q 'canary.c'; then
  passed=$((passed + 1))
  echo "ok: canary        valgrind reported its leak and uninitialised branch despite the suppressions (exit $crc)"
else
  failed=$((failed + 1))
  echo "FAIL: canary: valgrind did not report the canary's deliberate errors (exit $crc): the suppressions hide too much"
  sed 's/^/    /' "$cdir"/vg.* | head -80
fi

stop_leftover_sims
if [ "${VG_KEEP:-0}" = 1 ] || [ "$failed" -ne 0 ]; then
  echo "valgrind: logs kept in $tmp"
else
  rm -rf "$tmp"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
