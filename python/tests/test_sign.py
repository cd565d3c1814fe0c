# SPDX-License-Identifier: Apache-2.0

"""Stateless functions: signature vectors of docs/protocol.md §8, auth_sign, version, errors."""

import ctypes
import os
import unittest

import support  # sets ENOS_LIBRARY, sys.path
from support import DK, PK, SECRET

import libenos
from libenos import _lib

TOKEN = "8GjM3fXkD2oQ"
SIGN_1 = "A3A7B1325BCE9F925F54E6D8134AA3EB3F57D08BE168FA28B47327C8C9F13C23"
SIGN_2 = "A3A7B1325BCE9F925F54E6D8134AA3EB6E5110A05C0FDC31F36F203174D89D8B"
SIGN_MAX = ("A3A7B1325BCE9F925F54E6D8134AA3EB7FA78F2B2C4577FB50F4F5B2C6A969D6"
            "C80BB4CD92C15BED2BA262C216D351FE")
SIGN_ZERO_IV = "F0CE00D594FE20BA7FDF501A5490FA2E1428FD245245FCA3A599F8CDBFF6BA48"
AUTH_3600 = "F5E24B19438C8A44DE47C64FB2852D5762C628A8EAB6688851C9FF3E46218B6B"


class SignTest(unittest.TestCase):
    def test_vectors(self):
        self.assertEqual(libenos.sign(SECRET, TOKEN, 1), SIGN_1)
        self.assertEqual(libenos.sign(SECRET, TOKEN, 2), SIGN_2)
        self.assertEqual(libenos.sign(SECRET, TOKEN, 2147483647), SIGN_MAX)
        self.assertEqual(libenos.sign(SECRET, TOKEN, 1, iv=bytes(16)), SIGN_ZERO_IV)
        self.assertEqual(libenos.sign(SECRET, TOKEN, 1, iv=b"543yhjy97ae7fyfg"), SIGN_1)

    def test_str_and_bytes(self):
        s = libenos.sign(SECRET.encode(), TOKEN.encode(), 1, iv=bytearray(16))
        self.assertIsInstance(s, str)
        self.assertEqual(s, SIGN_ZERO_IV)
        self.assertIsInstance(libenos.sign(SECRET, "", 1), str)  # empty token is allowed

    def test_auth_sign(self):
        self.assertEqual(libenos.auth_sign(PK, DK, SECRET, 3600), AUTH_3600)
        self.assertEqual(libenos.auth_sign(PK.encode(), DK.encode(), SECRET.encode(), 3600), AUTH_3600)

    def test_invalid_arguments(self):
        for args in [(SECRET, TOKEN, 0), (SECRET, TOKEN, 2147483648), ("", TOKEN, 1)]:
            with self.assertRaises(libenos.InvalidArgument) as cm:
                libenos.sign(*args)
            self.assertEqual(cm.exception.code, -1)
            self.assertIsInstance(cm.exception, ValueError)
            self.assertTrue(str(cm.exception), "detail message")
        with self.assertRaises(libenos.InvalidArgument) as cm:
            libenos.sign(SECRET, TOKEN, 0)
        self.assertIn("sequence", str(cm.exception))
        self.assertNotIn(SECRET, str(cm.exception))
        with self.assertRaises(libenos.InvalidArgument):
            libenos.sign(SECRET, TOKEN, 1, iv=b"short")
        with self.assertRaises(libenos.InvalidArgument):
            libenos.sign(SECRET, TOKEN, -1)
        for lifetime in (29, 86401, 0):
            with self.assertRaises(libenos.InvalidArgument):
                libenos.auth_sign(PK, DK, SECRET, lifetime)
        with self.assertRaises(libenos.InvalidArgument):
            libenos.auth_sign(PK, "", SECRET, 3600)
        with self.assertRaises(TypeError):
            libenos.sign(123, TOKEN, 1)  # type: ignore[arg-type]
        with self.assertRaises(TypeError):
            libenos.auth_sign(PK, DK, SECRET, "3600")  # type: ignore[arg-type]

    def test_error_classes(self):
        codes = {libenos.InvalidArgument: -1, libenos.BufferTooSmall: -2, libenos.NetworkError: -3,
                 libenos.EnosTimeoutError: -4, libenos.AuthError: -5, libenos.RejectedError: -6,
                 libenos.ClosedError: -7, libenos.StateError: -8, libenos.QueueFullError: -9,
                 libenos.InternalError: -99}
        for cls, code in codes.items():
            self.assertTrue(issubclass(cls, libenos.EnosError))
            self.assertEqual(cls.code, code)
            self.assertIs(libenos.errors.error_class(code), cls)
        self.assertIs(libenos.errors.error_class(-1234), libenos.InternalError)
        self.assertFalse(issubclass(libenos.EnosTimeoutError, TimeoutError))  # builtins not shadowed


class LibraryTest(unittest.TestCase):
    def test_version(self):
        v = libenos.version()
        major, minor = (int(x) for x in v.split(".")[:2])
        self.assertEqual(major, libenos.API_VERSION[0])
        self.assertGreaterEqual(minor, libenos.API_VERSION[1])
        self.assertEqual(libenos.__version__.rsplit(".", 1)[0], v.rsplit(".", 1)[0])

    def test_every_function_declared(self):
        lib = _lib.load()
        for name in _lib._SIGNATURES:
            if not lib.has(name):
                continue
            fn = getattr(lib.cdll, name)
            self.assertIsNotNone(fn.restype, name)
            self.assertIsNotNone(fn.argtypes, name)
            restype, argtypes, _ = _lib._SIGNATURES[name]
            self.assertIs(fn.restype, restype, name)  # (ctypes' default restype is c_int)
            self.assertEqual(list(fn.argtypes), list(argtypes), name)

    def test_signatures_match_the_abi(self):
        """_SIGNATURES declares exactly the functions of abi/enos.symbols (the
        exported ABI, which abi/check.sh keeps equal to the library's exports),
        and the library under test exports every one of them."""
        path = os.path.join(support.ROOT, "abi", "enos.symbols")
        with open(path) as f:
            exported = {line.split()[0] for line in (raw.split("#", 1)[0] for raw in f) if line.strip()}
        self.assertTrue(exported, path)
        declared = set(_lib._SIGNATURES)
        self.assertEqual(exported - declared, set(), "in abi/enos.symbols but not declared in libenos/_lib.py")
        self.assertEqual(declared - exported, set(), "declared in libenos/_lib.py but not in abi/enos.symbols")
        self.assertEqual(_lib.load().missing, [])

    def test_missing_exports_are_reported(self):
        optional = [n for n, (_, _, required) in _lib._SIGNATURES.items() if not required]
        required = [n for n, (_, _, req) in _lib._SIGNATURES.items() if req]
        self.assertTrue(optional and required)
        # An optional function missing: the library loads, lists it and refuses to call it.
        for name in optional:
            with self.subTest(optional=name):
                fake = self._fake(b"1.1.0")
                delattr(fake, name)
                lib = _lib.Library(fake, "fake")
                self.assertEqual(lib.missing, [name])
                self.assertFalse(lib.has(name))
                with self.assertRaises(libenos.UnsupportedError) as cm:
                    lib.fn(name)
                self.assertIn(name, str(cm.exception))
                self.assertIn("fake", str(cm.exception))
                other = next(n for n in _lib._SIGNATURES if n != name)
                self.assertTrue(lib.has(other))
                self.assertIs(lib.fn(other), getattr(fake, other))
        # A required function missing: not a libenos library at all.
        for name in required:
            with self.subTest(required=name):
                fake = self._fake(b"1.1.0")
                delattr(fake, name)
                with self.assertRaises(libenos.LibraryError) as cm:
                    _lib.Library(fake, "fake")
                self.assertIn(name, str(cm.exception))
                self.assertIn("fake", str(cm.exception))

    def _fake(self, version):
        class Fn:
            def __init__(self, result=0):
                self.result = result

            def __call__(self, *a):
                return self.result

        class FakeCDLL:
            pass

        fake = FakeCDLL()
        for name in _lib._SIGNATURES:
            setattr(fake, name, Fn(version if name == "enos_version" else 0))
        return fake

    def test_version_check(self):
        _lib.Library(self._fake(b"1.1.0"), "fake")
        _lib.Library(self._fake(b"1.3.1"), "fake")  # newer minor: struct_size keeps it compatible
        for bad in (b"0.9.0", b"1.0.0", b"2.0.0", b"garbage"):  # 1.0 lacks the thing model
            with self.assertRaises(libenos.LibraryError) as cm:
                _lib.Library(self._fake(bad), "fake")
            self.assertIn("fake", str(cm.exception))

    def test_sign_size(self):
        self.assertEqual(_lib.ENOS_SIGN_SIZE(12), 97)  # "token"+12+"sequence"+10 digits -> 48 bytes
        self.assertGreaterEqual(_lib.ENOS_SIGN_SIZE(16) - 1, len(libenos.sign(SECRET, "x" * 16, 2147483647)))
        self.assertEqual(ctypes.sizeof(_lib.EnosStats), 8 + 13 * 8)


if __name__ == "__main__":
    unittest.main()
