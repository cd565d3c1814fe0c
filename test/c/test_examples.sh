#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0

# Exercises c_examples/commands (build/commands) against enos-sim: two queued
# commands are printed and answered, the replies reach the simulator's
# ..._reply topic, and --count makes it exit 0. Run with test/c/with-sim.sh.
# Last line: "N passed, N failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$root/build/commands}
passed=0 failed=0
check() { # description command...
  local what=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $what" >&2; fi
}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
id="ex-$$-$(date +%s)"
queue() { "$ENOS_SIM" command --control "$ENOS_SIM_CONTROL" --to "$ENOS_SIM_PK/$ENOS_SIM_DK" --payload "$1" >/dev/null; }
for i in 1 2; do
  check "queue command $i" queue "$id-$i"
done
rc=0
timeout 30 "$bin" "$ENOS_SIM_ADDR" "$ENOS_SIM_PK" "$ENOS_SIM_DK" "$ENOS_SIM_SECRET" \
  --count 2 --timeout 15 --reply "done-$id" >"$out" 2>&1 || rc=$?
sed 's/^/    /' "$out" >&2
topic="/sys/$ENOS_SIM_PK/$ENOS_SIM_DK/thing/model/down_raw"
check "exit status 0 after --count 2 (got $rc)" test "$rc" -eq 0
check "first command printed" grep -qF "command $topic ($(( ${#id} + 2 )) bytes): $id-1" "$out"
check "command 1 payload printed" grep -qF "$id-1" "$out"
check "command 2 payload printed" grep -qF "$id-2" "$out"
check "commands in order" test "$(grep -o "$id-[12]" "$out" | tr '\n' ' ')" = "$id-1 $id-2 "
check "two replies" test "$(grep -c '^replied on ' "$out")" -eq 2
reply_b64=$(printf '%s' "done-$id" | base64 -w0)
check "replies recorded by the simulator on ${topic}_reply" \
  test "$(grep -F "\"topic\":\"${topic}_reply\"" "$ENOS_SIM_LOG" | grep -cF "\"payload\":\"$reply_b64\"")" -eq 2
# a timeout with no command: exit status 1
rc=0
timeout 30 "$bin" "$ENOS_SIM_ADDR" "$ENOS_SIM_PK" "$ENOS_SIM_DK" "$ENOS_SIM_SECRET" --count 1 --timeout 1 >"$out" 2>&1 || rc=$?
check "--timeout without commands exits 1 (got $rc)" test "$rc" -eq 1
# usage
rc=0
"$bin" >/dev/null 2>&1 || rc=$?
check "usage error exits 2 (got $rc)" test "$rc" -eq 2
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
