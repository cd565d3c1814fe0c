# SPDX-License-Identifier: Apache-2.0

"""Offline installation of ./python and library discovery, in fresh interpreters."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from support import LIB, PY_DIR, SECRET

import libenos

SNIPPET = ("import libenos, sys; print(libenos.version()); print(libenos.library_path()); "
           "print(libenos.sign(%r, '8GjM3fXkD2oQ', 1))" % SECRET)
SIGN_1 = "A3A7B1325BCE9F925F54E6D8134AA3EB3F57D08BE168FA28B47327C8C9F13C23"


def run(cmd, env=None, cwd=None):
    return subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300)


class InstallTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="enos-install-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        # pip builds in a copy: never leave build products in the source tree
        self.src = os.path.join(self.tmp, "src")
        shutil.copytree(PY_DIR, self.src, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k != "PYTHONPATH"}
        env["PIP_NO_INDEX"] = "1"  # prove it needs no package index
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        env.update(extra)
        return env

    def check_import(self, target, lib=LIB):
        env = self.env(PYTHONPATH=target)
        if lib:
            env["ENOS_LIBRARY"] = lib
        else:
            env.pop("ENOS_LIBRARY", None)
        r = run([sys.executable, "-c", SNIPPET], env=env, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stdout)
        return r.stdout.split()

    def test_pip_install_offline(self):
        for flags in (["--no-build-isolation"], []):
            with self.subTest(flags=flags):
                target = os.path.join(self.tmp, "t%d" % len(flags))
                r = run([sys.executable, "-m", "pip", "install", "--no-index", "--target", target,
                         *flags, self.src], env=self.env())
                self.assertEqual(r.returncode, 0, r.stdout)
                self.assertTrue(os.path.exists(os.path.join(target, "libenos", "py.typed")))
                # the wheel's version is the package's __version__ (one place)
                dist = [n for n in os.listdir(target) if n.endswith(".dist-info")]
                self.assertEqual(dist, ["libenos-%s.dist-info" % libenos.__version__])
                out = self.check_import(target)
                self.assertEqual(out[-1], SIGN_1)

    def test_library_next_to_package(self):
        target = os.path.join(self.tmp, "bundled")
        shutil.copytree(os.path.join(self.src, "libenos"), os.path.join(target, "libenos"))
        shutil.copy(os.path.realpath(LIB), os.path.join(target, "libenos", "libenos.so.1"))
        out = self.check_import(target, lib=None)
        self.assertEqual(out[1], os.path.join(target, "libenos", "libenos.so.1"))
        self.assertEqual(out[-1], SIGN_1)

    def test_bad_library_path_is_clear(self):
        env = self.env(PYTHONPATH=PY_DIR, ENOS_LIBRARY=os.path.join(self.tmp, "nope.so"))
        r = run([sys.executable, "-c", "import libenos; libenos.version()"], env=env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("LibraryError", r.stdout)
        self.assertIn("ENOS_LIBRARY", r.stdout)


if __name__ == "__main__":
    unittest.main()
