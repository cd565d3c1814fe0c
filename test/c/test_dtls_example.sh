#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0

# Exercises c_examples/report (build/report) over DTLS (ENOS_DTLS=1) against
# an enos-sim with --dtls-listen, started here as a separate process: the
# report is acknowledged and recorded; a wrong secret fails with
# "authentication refused". Last line: "N passed, N failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$root/build/report}
sim=${ENOS_SIM:-$root/build/enos-sim}
pk=MuGsF6W4 dk=15bBZlRknc secret=sMgTXBUvDNeWGAJWnDcT
passed=0 failed=0
check() { # description command...
  local what=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $what" >&2; fi
}
tmp=$(mktemp -d)
simpid=
cleanup() { [ -n "$simpid" ] && kill "$simpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
"$sim" --listen 127.0.0.1:0 --dtls-listen 127.0.0.1:0 --control off --log "$tmp/records" \
  --device "$pk:$dk:$secret" >"$tmp/out" 2>"$tmp/err" &
simpid=$!
addr=
for _ in $(seq 100); do
  addr=$(sed -n 's/^enos-sim: DTLS on //p' "$tmp/err")
  [ -n "$addr" ] && break
  sleep 0.1
done
check "enos-sim serves DTLS" test -n "$addr"
id="dtls-$$-$(date +%s)"
rc=0
ENOS_DTLS=1 timeout 60 "$bin" "$addr" "$pk" "$dk" "$secret" "$id" >"$tmp/report" 2>&1 || rc=$?
sed 's/^/    /' "$tmp/report" >&2
check "exit status 0 (got $rc)" test "$rc" -eq 0
check "says DTLS" grep -qF "(DTLS)" "$tmp/report"
check "report acknowledged" grep -q "^report 1 .* ok$" "$tmp/report"
check "report recorded" grep -qF "\"payload\":\"$(printf %s "$id" | base64)\"" "$tmp/records"
rc=0
ENOS_DTLS=1 timeout 60 "$bin" "$addr" "$pk" "$dk" "not-the-secret" x >"$tmp/wrong" 2>&1 || rc=$?
sed 's/^/    /' "$tmp/wrong" >&2
check "wrong secret: exit status 1 (got $rc)" test "$rc" -eq 1
check "wrong secret: authentication refused" grep -q "authenticate .*FAILED: .*(-5)" "$tmp/wrong"
echo "$passed passed, $failed failed"
