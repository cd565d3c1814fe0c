#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0

# Exercises c_examples/gateway (build/gateway): 300 devices from a file, one
# application thread, asynchronous reports, against its own enos-sim (started
# here with --devices, under a descriptor limit of 512). Every device's reports
# reach the simulator once each and in round order; a command queued for one
# device is printed and answered on its _reply topic.
# Last line: "N passed, N failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$root/build/gateway}
sim=${ENOS_SIM:-$root/build/enos-sim}
passed=0 failed=0
check() { # description command...
  local what=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $what" >&2; fi
}
tmp=$(mktemp -d)
sim_pid=
cleanup() { [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
n=300 rounds=3
for i in $(seq -w 1 $n); do echo "GwPK:gw$i:gateway-secret-$i"; done >"$tmp/devices"
"$sim" --listen 127.0.0.1:0 --control 127.0.0.1:0 --devices "$tmp/devices" --log "$tmp/sim.log" \
  >"$tmp/sim.out" 2>"$tmp/sim.err" &
sim_pid=$!
for _ in $(seq 100); do grep -q '^listening on ' "$tmp/sim.out" 2>/dev/null && grep -q 'control channel on' "$tmp/sim.err" && break; sleep 0.1; done
addr=$(sed -n 's/^listening on //p' "$tmp/sim.out" | head -1)
control=$(sed -n 's/.*control channel on //p' "$tmp/sim.err" | head -1)
check "enos-sim started" test -n "$addr" -a -n "$control"
check "command queued for gw007" "$sim" command --control "$control" --to GwPK/gw007 --payload "gw-cmd-$$" >/dev/null

rc=0
(ulimit -n 512; timeout 120 "$bin" "$addr" "$tmp/devices" --rounds $rounds --interval-ms 200 --linger-ms 500) \
  >"$tmp/out" 2>"$tmp/err" || rc=$?
sed 's/^/    /' "$tmp/err" | head -20 >&2
check "exit status 0 (got $rc)" test "$rc" -eq 0
check "all delivered" grep -qx "delivered $((n * rounds)) queued 0 failed 0 replies 1" "$tmp/out"
check "$((n * rounds)) reports recorded" test "$(grep -c '/thing/model/up_raw' "$tmp/sim.log")" -eq $((n * rounds))
# each device's rounds in order: decode the payloads of one device
order=$(grep '"deviceKey":"gw123"' "$tmp/sim.log" | grep up_raw | sed 's/.*"payload":"\([^"]*\)".*/\1/' |
        while read -r b; do printf '%s' "$b" | base64 -d; echo; done | tr '\n' ',')
check "gw123's reports in round order (got $order)" test "$order" = "gw123 round 1,gw123 round 2,gw123 round 3,"
check "command printed" grep -q "^command gw007 /sys/GwPK/gw007/thing/model/down_raw: gw-cmd-$$" "$tmp/out"
check "reply recorded on the _reply topic" \
  grep -q '"topic":"/sys/GwPK/gw007/thing/model/down_raw_reply"' "$tmp/sim.log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
