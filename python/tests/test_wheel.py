# SPDX-License-Identifier: Apache-2.0

"""The platform wheel (make wheel): its tag, its RECORD, a pip install into a fresh
venv that reports to enos-sim without ENOS_LIBRARY, and the clear error for a
library of another architecture."""

import base64
import csv
import hashlib
import io
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import zipfile

from support import DK, LIB, PK, PY_DIR, SECRET, Sim

import libenos
from libenos import _elf

MAKE_WHEEL = os.path.join(PY_DIR, "_build", "make_wheel.py")
# A cross-built arm64 library, when the cross layer has built one.
ARM64_LIB = os.path.join(os.path.dirname(PY_DIR), "build", "cross", "arm64", "libenos.so")


def run(cmd, env=None, cwd=None):
    return subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=600)


def clean_env(**extra):
    """No ENOS_LIBRARY, no PYTHONPATH, no package index."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("ENOS_LIBRARY", "PYTHONPATH") and not k.startswith("PIP_")}
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def glibc_needed(library):
    """Highest GLIBC_X.Y in the library's version-needs section, read with readelf
    (the wheel build uses objdump: a second tool as the reference)."""
    out = subprocess.run(["readelf", "-V", library], stdout=subprocess.PIPE, text=True, check=True).stdout
    return max((int(a), int(b)) for a, b in re.findall(r"GLIBC_(\d+)\.(\d+)", out))


def build_wheel(library, out):
    r = run([sys.executable, MAKE_WHEEL, "--library", library, "--out", out])
    if r.returncode != 0:
        raise AssertionError(r.stdout)
    return r.stdout.strip().splitlines()[-1]


def crafted_library(src, dst, machine, bits=None):
    """A copy of ``src`` whose ELF header claims another machine (and class)."""
    with open(os.path.realpath(src), "rb") as f:
        data = bytearray(f.read())
    if bits:
        data[4] = 1 if bits == 32 else 2
    order = "little" if data[5] == 1 else "big"
    data[18:20] = machine.to_bytes(2, order)
    with open(dst, "wb") as f:
        f.write(data)
    return dst


class WheelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not shutil.which("objdump") or not shutil.which("readelf"):
            raise unittest.SkipTest("binutils (objdump, readelf) not installed")
        cls.tmp = tempfile.mkdtemp(prefix="libenos-wheel-test-")
        cls.wheel = build_wheel(LIB, os.path.join(cls.tmp, "dist"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_name_and_manylinux_tag(self):
        major, minor = glibc_needed(LIB)
        arch = _elf.read_header(os.path.realpath(LIB)).arch
        self.assertEqual(arch, platform.machine() if platform.machine() != "arm64" else "aarch64")
        self.assertEqual(os.path.basename(self.wheel),
                         f"libenos-{libenos.__version__}-py3-none-manylinux_{major}_{minor}_{arch}.whl")
        with zipfile.ZipFile(self.wheel) as z:
            wheel_meta = z.read(f"libenos-{libenos.__version__}.dist-info/WHEEL").decode()
        self.assertIn(f"Tag: py3-none-manylinux_{major}_{minor}_{arch}\n", wheel_meta)
        self.assertIn("Root-Is-Purelib: false\n", wheel_meta)

    def test_contents_and_record(self):
        dist = f"libenos-{libenos.__version__}.dist-info"
        with zipfile.ZipFile(self.wheel) as z:
            names = set(z.namelist())
            with open(os.path.realpath(LIB), "rb") as f:
                self.assertEqual(z.read("libenos/libenos.so.1"), f.read())
            for want in ("libenos/__init__.py", "libenos/_lib.py", "libenos/_elf.py", "libenos/py.typed",
                         f"{dist}/METADATA", f"{dist}/LICENSE", f"{dist}/NOTICE", f"{dist}/RECORD"):
                self.assertIn(want, names)
            self.assertIn("License: Apache-2.0", z.read(f"{dist}/METADATA").decode())
            rows = list(csv.reader(io.StringIO(z.read(f"{dist}/RECORD").decode())))
            self.assertEqual({r[0] for r in rows}, names)
            for path, digest, size in rows:
                if path == f"{dist}/RECORD":
                    self.assertEqual((digest, size), ("", ""))
                    continue
                data = z.read(path)
                want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                self.assertEqual((digest, int(size)), (want, len(data)), path)

    def test_pip_install_into_fresh_venv_reports_without_enos_library(self):
        venv = os.path.join(self.tmp, "venv")
        r = run([sys.executable, "-m", "venv", venv], env=clean_env())
        self.assertEqual(r.returncode, 0, r.stdout)
        py = os.path.join(venv, "bin", "python")
        r = run([py, "-m", "pip", "install", "--no-index", self.wheel], env=clean_env())
        self.assertEqual(r.returncode, 0, r.stdout)
        sim = Sim()
        self.addCleanup(sim.cleanup)
        script = ("import libenos\n"
                  "print(libenos.library_path())\n"
                  f"with libenos.Client({sim.addr!r}, {PK!r}, {DK!r}, {SECRET!r}) as c:\n"
                  "    print(c.report(b'from-the-wheel'))\n")
        r = run([py, "-c", script], env=clean_env(), cwd=self.tmp)  # cwd: not the source tree
        self.assertEqual(r.returncode, 0, r.stdout)
        lib_path, outcome = r.stdout.strip().splitlines()[-2:]
        self.assertTrue(lib_path.startswith(os.path.join(venv, "lib")), lib_path)
        self.assertTrue(lib_path.endswith(os.path.join("libenos", "libenos.so.1")), lib_path)
        self.assertIn("DELIVERED", outcome.upper())
        self.assertIn(b"from-the-wheel", [rec["data"] for rec in sim.records()])
        # ENOS_LIBRARY still overrides the bundled copy.
        r = run([py, "-c", "import libenos; print(libenos.library_path())"],
                env=clean_env(ENOS_LIBRARY=os.path.realpath(LIB)), cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertEqual(r.stdout.strip(), os.path.realpath(LIB))


class WrongArchitectureTest(unittest.TestCase):
    """A library of another architecture: a LibraryError naming both, before ctypes."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="libenos-arch-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        me = _elf.running()
        if me is None:
            self.skipTest("cannot read the interpreter's ELF header")
        self.me = me
        # Another machine of the same class, and one of the other class.
        self.other = 183 if me.machine != 183 else 62
        self.other_bits = 32 if me.bits == 64 else 64

    def load_error(self, env, pythonpath=PY_DIR):
        env = clean_env(PYTHONPATH=pythonpath, **env)
        r = run([sys.executable, "-c", "import libenos; libenos.version()"], env=env, cwd=self.tmp)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("LibraryError", r.stdout)
        return r.stdout

    def test_enos_library_of_another_machine(self):
        lib = crafted_library(LIB, os.path.join(self.tmp, "libenos.so.1"), self.other)
        out = self.load_error({"ENOS_LIBRARY": lib})
        self.assertIn(f"{lib} is built for {_elf.ElfHeader(self.me.bits, True, self.other).describe()}", out)
        self.assertIn(f"this Python runs on {self.me.describe()}", out)
        self.assertIn(f"built for {self.me.arch}", out)
        self.assertNotIn("No such file", out)

    def test_enos_library_of_another_class(self):
        lib = crafted_library(LIB, os.path.join(self.tmp, "libenos.so.1"), 40, bits=self.other_bits)
        out = self.load_error({"ENOS_LIBRARY": lib})
        self.assertIn(f"{self.other_bits}-bit", out)
        self.assertIn("ENOS_LIBRARY", out)

    def test_bundled_library_of_another_machine(self):
        pkg = os.path.join(self.tmp, "site", "libenos")
        shutil.copytree(os.path.join(PY_DIR, "libenos"), pkg, ignore=shutil.ignore_patterns("__pycache__"))
        lib = crafted_library(LIB, os.path.join(pkg, "libenos.so.1"), self.other)
        out = self.load_error({}, pythonpath=os.path.dirname(pkg))
        self.assertIn(f"{lib} is built for", out)
        self.assertIn(f"this Python runs on {self.me.describe()}", out)

    def test_not_an_elf_file(self):
        bogus = os.path.join(self.tmp, "libenos.so.1")
        with open(bogus, "w") as f:
            f.write("not a library\n")
        out = self.load_error({"ENOS_LIBRARY": bogus})
        self.assertIn("is not an ELF shared library", out)

    @unittest.skipUnless(os.path.exists(ARM64_LIB), "no cross-built arm64 library (make cross-arm64)")
    def test_real_arm64_build(self):
        if self.me.machine == 183:
            self.skipTest("this machine is arm64")
        out = self.load_error({"ENOS_LIBRARY": os.path.realpath(ARM64_LIB)})
        self.assertIn("is built for AArch64 (ARM 64-bit), 64-bit", out)
        # and its wheel is tagged for aarch64
        wheel = build_wheel(ARM64_LIB, os.path.join(self.tmp, "dist"))
        self.assertRegex(os.path.basename(wheel), r"-py3-none-manylinux_\d+_\d+_aarch64\.whl$")


if __name__ == "__main__":
    unittest.main()
