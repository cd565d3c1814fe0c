#!/bin/sh
# SPDX-License-Identifier: Apache-2.0

# Run the libenos Python package's tests against the built library and enos-sim.
#   python/run_tests.sh [-v] [pattern]
# Needs build/libenos.so and build/enos-sim (`make`); override with ENOS_LIBRARY
# and ENOS_SIM. Prints "N passed, N failed[, N skipped]" last; exits non-zero on failure.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
PYTHON=${PYTHON:-python3}
export ENOS_LIBRARY="${ENOS_LIBRARY:-$ROOT/build/libenos.so}"
export ENOS_SIM="${ENOS_SIM:-$ROOT/build/enos-sim}"
for f in "$ENOS_LIBRARY" "$ENOS_SIM"; do
    if [ ! -e "$f" ]; then
        echo "python/run_tests.sh: $f is missing (run make first)" >&2
        echo "0 passed, 1 failed"
        exit 1
    fi
done
export PYTHONDONTWRITEBYTECODE=1
exec "$PYTHON" "$HERE/tests/run.py" "$@"
