#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0

"""Build the platform wheel of libenos: the Python package with libenos.so bundled.

    python3 python/_build/make_wheel.py --library build/libenos.so --out build/wheel

(``make wheel``; ``make wheel WHEEL_LIBRARY=build/cross/arm64/libenos.so`` for a
cross-built library.) Copies the package into a temporary tree, puts the
library there as libenos/libenos.so.1 (its SONAME; symlinks are followed) and
runs the in-tree backend's build_wheel on it, which tags the wheel
py3-none-manylinux_X_Y_ARCH from the library itself. Prints the wheel's path.
The source tree is not modified.
"""

import argparse
import importlib.util
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PY_DIR = os.path.dirname(HERE)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--library", required=True, help="libenos.so to bundle")
    ap.add_argument("--out", required=True, help="directory for the .whl")
    args = ap.parse_args()
    if not os.path.isfile(args.library):
        print(f"make_wheel: {args.library} not found (make lib)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="libenos-wheel-") as tmp:
        stage = os.path.join(tmp, "python")
        # copytree follows symlinks: LICENSE and NOTICE become real files.
        shutil.copytree(PY_DIR, stage, ignore=shutil.ignore_patterns(
            "__pycache__", "*.pyc", "tests", "build", "dist", "*.egg-info", "libenos.so*"))
        shutil.copyfile(os.path.realpath(args.library), os.path.join(stage, "libenos", "libenos.so.1"))
        spec = importlib.util.spec_from_file_location("libenos_build", os.path.join(stage, "_build", "libenos_build.py"))
        assert spec and spec.loader
        backend = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(backend)
        os.makedirs(args.out, exist_ok=True)
        try:
            name = backend.build_wheel(os.path.abspath(args.out))
        except RuntimeError as e:
            print(f"make_wheel: {e}", file=sys.stderr)
            return 1
    print(os.path.join(args.out, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
