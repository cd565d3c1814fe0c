#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0

# Run a command with enos-sim instances running as separate processes.
#
#   test/c/with-sim.sh [--sim PATH] [--show] [--one] [--model FILE] -- COMMAND [ARGS...]
#
# --model FILE starts the plain simulator with --model FILE (its thing model).
# --show prints the simulators' stderr afterwards (always done on failure);
# --one starts only the plain simulator (no ENOS_SIM_EXPIRE_*, ENOS_SIM_GET_*).
#
# Starts three simulators on free loopback ports for the test device
# (the vector credentials of docs/protocol.md §8, and a second device), each with its control channel on a free
# loopback TCP port, and exports, for COMMAND:
#   ENOS_SIM_ADDR, ENOS_SIM_LOG, ENOS_SIM_CONTROL   a plain simulator (--command-style inline),
#                                                   its JSON-lines log and control address
#   ENOS_SIM_EXPIRE_ADDR, ENOS_SIM_EXPIRE_LOG,      one started with --expire-after N
#   ENOS_SIM_EXPIRE_CONTROL, ENOS_SIM_EXPIRE_AFTER  (N)
#   ENOS_SIM_GET_ADDR, ENOS_SIM_GET_LOG,            one started with --command-style get
#   ENOS_SIM_GET_CONTROL
#   ENOS_SIM_PK, ENOS_SIM_DK, ENOS_SIM_SECRET       the device's credentials
#   ENOS_SIM_DK2, ENOS_SIM_SECRET2                  a second device (same product key)
#   ENOS_SIM                                        the enos-sim binary (for `enos-sim command`)
# Stops the simulators afterwards (by their pids) and exits with COMMAND's status.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
sim=${ENOS_SIM:-$here/build/enos-sim}
show=0
one=0
model=()
while [ $# -gt 0 ]; do
  case $1 in
    --sim) sim=$2; shift 2 ;;
    --show) show=1; shift ;;
    --one) one=1; shift ;;
    --model) model=(--model "$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "with-sim.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: with-sim.sh [--sim PATH] [--show] [--one] [--model FILE] -- COMMAND [ARGS...]" >&2; exit 2; }
if [ ! -x "$sim" ]; then
  echo "with-sim.sh: $sim not found; build it with 'make sim' (go build -o build/enos-sim ./cmd/enos-sim)" >&2
  exit 1
fi

export ENOS_SIM_PK=MuGsF6W4 ENOS_SIM_DK=15bBZlRknc ENOS_SIM_SECRET=sMgTXBUvDNeWGAJWnDcT
export ENOS_SIM_DK2=secondDev1 ENOS_SIM_SECRET2=aSecondDeviceSecret01
export ENOS_SIM_EXPIRE_AFTER=3 ENOS_SIM=$sim
tmp=$(mktemp -d "${TMPDIR:-/tmp}/enos-sim.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "${KEEP_SIM_TMP:-0}" = 1 ]; then echo "with-sim.sh: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# start NAME [extra sim flags...]: sets addr to HOST:PORT from the first stdout
# line and control to the control channel's HOST:PORT (from stderr).
start() {
  local name=$1; shift
  "$sim" --listen 127.0.0.1:0 --device "$ENOS_SIM_PK:$ENOS_SIM_DK:$ENOS_SIM_SECRET" \
    --device "$ENOS_SIM_PK:$ENOS_SIM_DK2:$ENOS_SIM_SECRET2" \
    --control 127.0.0.1:0 --log "$tmp/$name.log" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids+=($!)
  local i line cline
  addr='' control=''
  for i in $(seq 1 200); do
    line=$(head -n 1 "$tmp/$name.out" 2>/dev/null || true)
    case $line in
      "listening on "*) addr=${line#listening on } ;;
    esac
    cline=$(sed -n 's/^enos-sim: control channel on \([^ ]*\).*/\1/p' "$tmp/$name.err" 2>/dev/null | head -n 1 || true)
    [ -z "$cline" ] || control=$cline
    if [ -n "$addr" ] && [ -n "$control" ]; then return 0; fi
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then break; fi
    sleep 0.05
  done
  echo "with-sim.sh: enos-sim ($name) did not start; its stderr:" >&2
  cat "$tmp/$name.err" >&2 || true
  exit 1
}

start plain ${model[@]+"${model[@]}"}
export ENOS_SIM_ADDR=$addr ENOS_SIM_LOG=$tmp/plain.log ENOS_SIM_CONTROL=$control
if [ "$one" = 0 ]; then
  start expire --expire-after "$ENOS_SIM_EXPIRE_AFTER"
  export ENOS_SIM_EXPIRE_ADDR=$addr ENOS_SIM_EXPIRE_LOG=$tmp/expire.log ENOS_SIM_EXPIRE_CONTROL=$control
  start get --command-style get
  export ENOS_SIM_GET_ADDR=$addr ENOS_SIM_GET_LOG=$tmp/get.log ENOS_SIM_GET_CONTROL=$control
fi

set +e
"$@"
rc=$?
set -e
if [ "$rc" -ne 0 ] || [ "$show" = 1 ]; then
  echo "--- enos-sim stderr ---" >&2
  for n in plain expire get; do
    [ ! -s "$tmp/$n.err" ] || sed "s/^/[$n] /" "$tmp/$n.err" >&2 || true
  done
fi
exit "$rc"
