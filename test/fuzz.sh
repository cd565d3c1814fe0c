#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0

# Run every Go fuzz target in the repository for a short while.
#
#   test/fuzz.sh                    # each target for 200000 inputs
#   FUZZTIME=1m test/fuzz.sh        # or a count, e.g. 100000x
#   test/fuzz.sh ./core/transport   # only the targets under these directories
#
# The default is a count, not a duration: with a duration, Go 1.26's fuzz
# coordinator can report a spurious "context deadline exceeded" failure at the
# deadline (golang/go#75804, fixed in Go 1.27); a count has no deadline.
#
# Targets are found with `grep "^func Fuzz"` in *_test.go files, so targets
# added anywhere are picked up. Each runs alone (`go test -fuzz` takes one
# package and one target). New crashers land in the package's
# testdata/fuzz/FuzzName/ directory: commit them once fixed, they become
# regression seeds that plain `go test` runs. Exits non-zero if any target
# failed, after running all of them.
set -uo pipefail

cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-200000x}
roots=("$@")
[ ${#roots[@]} -eq 0 ] && roots=(.)

failed=()
count=0
# "dir<TAB>name" for every fuzz target, sorted and unique.
targets=$(grep -rH --include='*_test.go' --exclude-dir=.git --exclude-dir=vendor --exclude-dir=testdata \
	-E '^func Fuzz[A-Za-z0-9_]*\(' "${roots[@]}" |
	sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*#\1\t\2#' | sort -u)

while IFS=$'\t' read -r dir name; do
	[ -n "$name" ] || continue
	pkg="./${dir#./}"
	count=$((count + 1))
	echo "== $pkg $name ($fuzztime)"
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" </dev/null; then
		failed+=("$pkg $name")
	fi
done <<<"$targets"

if [ "$count" -eq 0 ]; then
	echo "no fuzz targets found" >&2
	exit 1
fi
if [ ${#failed[@]} -gt 0 ]; then
	echo "FAILED fuzz targets:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "all $count fuzz targets passed"
