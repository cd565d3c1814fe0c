# SPDX-License-Identifier: Apache-2.0

"""Run every libenos test and print a closing line "N passed, N failed, N skipped".

Usage: python3 python/tests/run.py [-v] [pattern]   (pattern default: test*.py)
Exit status 0 only when nothing failed or errored.
"""

import faulthandler
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> int:
    verbosity = 2 if "-v" in sys.argv[1:] else 1
    args = [a for a in sys.argv[1:] if a != "-v"]
    pattern = args[0] if args else "test*.py"
    # A hang must not block CI forever: dump every thread's stack and exit.
    faulthandler.dump_traceback_later(int(os.environ.get("ENOS_TEST_TIMEOUT", "600")), exit=True)
    sys.path.insert(0, HERE)
    suite = unittest.defaultTestLoader.discover(HERE, pattern=pattern, top_level_dir=HERE)
    t0 = time.monotonic()
    result = unittest.TextTestRunner(verbosity=verbosity, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped - len(result.expectedFailures)
    import libenos
    try:
        print(f"libenos {libenos.version()} from {libenos.library_path()}; {time.monotonic() - t0:.1f}s")
    except Exception as e:  # noqa: BLE001
        print(f"libenos not loadable: {e}")
    print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
