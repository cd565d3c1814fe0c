#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0

# Exercises c_examples/measurepoints (build/measurepoints) against enos-sim
# started with the thing model test/c/thing-model.json: a queued
# measurepoint/set service call is answered with the call's id, the posts
# are accepted (code 200) and the later ones carry the new state. Run with
# test/c/with-sim.sh --one --model test/c/thing-model.json.
# Last line: "N passed, N failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$root/build/measurepoints}
passed=0 failed=0
check() { # description command...
  local what=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $what" >&2; fi
}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
id="mp-$$-$(date +%s)"
check "queue a measurepoint/set call" "$ENOS_SIM" command --control "$ENOS_SIM_CONTROL" --to "$ENOS_SIM_PK/$ENOS_SIM_DK" \
  --service measurepoint.set --params '{"measurepoints":{"state":7}}' --id "$id"
rc=0
timeout 60 "$bin" "$ENOS_SIM_ADDR" "$ENOS_SIM_PK" "$ENOS_SIM_DK" "$ENOS_SIM_SECRET" --count 3 >"$out" 2>&1 || rc=$?
sed 's/^/    /' "$out" >&2
check "exit status 0 after --count 3 (got $rc)" test "$rc" -eq 0
check "three posts printed" test "$(grep -c '^posted ' "$out")" -eq 3
check "the call was applied and answered" grep -q '^set state to 7; replied on ' "$out"
check "a post after the call carries state 7" grep -qF 'posted {"temp":' <(grep -A5 '^set state to 7' "$out" | grep -F '"state":7}')
# The simulator's log: JSON lines, payloads in base64.
decoded() { # topic suffix: the payloads recorded on /sys/PK/DK/SUFFIX, one per line
  grep -F "\"topic\":\"/sys/$ENOS_SIM_PK/$ENOS_SIM_DK/$1\"" "$ENOS_SIM_LOG" |
    sed -n 's/.*"payload":"\([^"]*\)".*/\1/p' | while read -r b; do printf '%s' "$b" | base64 -d; echo; done
}
check "the reply carries the call's id, code 200 and the new state" \
  test "$(decoded thing/service/measurepoint/set_reply)" = "{\"id\":\"$id\",\"code\":200,\"data\":{\"state\":7}}"
check "three measure point posts accepted by the model (code 200)" \
  test "$(grep -cF '"thing":{"method":"thing.measurepoint.post"' "$ENOS_SIM_LOG")" -eq 3 -a \
       "$(grep -F '"thing":{"method":"thing.measurepoint.post"' "$ENOS_SIM_LOG" | grep -cF '"code":200,"time":')" -eq 3
# usage
rc=0
"$bin" >/dev/null 2>&1 || rc=$?
check "usage error exits 2 (got $rc)" test "$rc" -eq 2
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
