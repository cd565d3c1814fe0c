#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0

# The simulator's own scale (BENCHMARKS.md, "The simulator at scale"):
#   1. one long run: SIM_LONG requests (default 1,000,000) from 100 devices over
#      64 sockets; the rate of the last window of 10,000 against the first;
#   2. SIM_DEVICES registered devices (default 100,000): every one
#      authenticates, then reports, SIM_DEVICE_REQUESTS requests in all;
#   3. with OLD_SIM=path/to/an/older/enos-sim, run 1 again against it, shortened
#      to SIM_OLD_LONG requests (default 100,000), for comparison in the same run.
# enos-sim runs on CPU 1 and simload on CPU 0 when there are two CPUs.
# Prints each run's summary line; never fails on numbers.
set -euo pipefail
BUILD=${BUILD:-build}
OUT=${OUT:-$BUILD/bench}
SIM_LONG=${SIM_LONG:-1000000}
SIM_DEVICES=${SIM_DEVICES:-100000}
SIM_DEVICE_REQUESTS=${SIM_DEVICE_REQUESTS:-400000}
SIM_OLD_LONG=${SIM_OLD_LONG:-100000}
mkdir -p "$OUT"
go build -o "$BUILD/simload" ./bench/simload

pin_sim=() pin_load=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then pin_sim=(taskset -c 1) pin_load=(taskset -c 0); fi

SIM_PID=
stop_sim() { [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null; SIM_PID=; }
trap stop_sim EXIT

# run NAME SIM DEVICES REQUESTS WINDOW
run() {
  local name=$1 sim=$2 devices=$3 requests=$4 window=$5
  "$BUILD/simload" -write-devices "$OUT/simload-$devices.devices" -devices "$devices"
  "${pin_sim[@]}" "$sim" --listen 127.0.0.1:0 --control off --log /dev/null \
      --devices "$OUT/simload-$devices.devices" >"$OUT/sim-$name.out" 2>"$OUT/sim-$name.err" &
  SIM_PID=$!
  for _ in $(seq 300); do grep -q '^listening on ' "$OUT/sim-$name.out" 2>/dev/null && break; sleep 0.1; done
  local addr
  addr=$(sed -n 's/^listening on //p' "$OUT/sim-$name.out" | head -1)
  [ -n "$addr" ] || { echo "sim_scale: enos-sim did not start" >&2; cat "$OUT/sim-$name.err" >&2; exit 1; }
  "${pin_load[@]}" "$BUILD/simload" -addr "$addr" -devices "$devices" -requests "$requests" -window "$window" \
      >"$OUT/simload-$name.txt"
  local rss
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$SIM_PID/status")
  stop_sim
  echo "sim-$name: $(grep '^summary:' "$OUT/simload-$name.txt" | sed 's/^summary: //') sim-peak-rss-kb $rss"
}

run long "$BUILD/enos-sim" 100 "$SIM_LONG" 10000
run devices "$BUILD/enos-sim" "$SIM_DEVICES" "$SIM_DEVICE_REQUESTS" 20000
if [ -n "${OLD_SIM:-}" ]; then
  run old-long "$OLD_SIM" 100 "$SIM_OLD_LONG" 10000
fi
