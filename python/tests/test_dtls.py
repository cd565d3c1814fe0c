# SPDX-License-Identifier: Apache-2.0

"""DTLS through the real library: reports over DTLS 1.2 PSK to enos-sim (a
separate process), a wrong key, and dynamic activation kept across a restart."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time
import unittest

from support import DK, PK, SECRET, Sim, wait_for

import libenos

PRODUCT_SECRET = "prodSecret-43"


class DTLSTest(unittest.TestCase):
    def setUp(self) -> None:
        self.sim = Sim("--dtls-listen", "127.0.0.1:0", "--product", f"{PK}:{PRODUCT_SECRET}")
        self.addCleanup(self.sim.cleanup)

        def dtls_addr():
            for line in self.sim.stderr:
                m = re.search(r"DTLS on (\S+)", line)
                if m:
                    return m.group(1)
            return None
        self.addr = wait_for(dtls_addr, what="the simulator's DTLS address")
        self.dir = tempfile.mkdtemp(prefix="enos-dtls-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def client(self, **kw) -> libenos.Client:
        args = dict(server=self.addr, product_key=PK, device_key=DK, device_secret=SECRET,
                    ack_timeout=0.2, max_retransmit=2, dtls=True)
        args.update(kw)
        c = libenos.Client(**args)
        self.addCleanup(c._close_quietly)
        return c

    def test_report_over_dtls(self) -> None:
        c = self.client()
        self.assertEqual(c.report(b"over dtls"), libenos.DELIVERED)
        self.assertEqual([r["data"] for r in self.sim.records()], [b"over dtls"])
        st = self.sim.stats()
        self.assertEqual(st["auths"], 0)
        self.assertEqual(st["handshakes"], 1)

    def test_security_names(self) -> None:
        c = self.client(dtls=False, security="dtls")
        c.report(b"x")
        with self.assertRaises(ValueError):
            self.client(security="tls")
        with self.assertRaises(libenos.InvalidArgument):
            libenos.Client(self.addr, PK, DK, SECRET, product_secret=PRODUCT_SECRET)  # not DTLS

    def test_wrong_key_is_auth_error(self) -> None:
        c = self.client(device_secret="not the secret")
        with self.assertRaises(libenos.AuthError):
            c.report(b"x")
        self.assertEqual(self.sim.records(), [])

    def test_activation_once_across_restart(self) -> None:
        state = os.path.join(self.dir, "state")
        c = self.client(device_secret=None, product_secret=PRODUCT_SECRET, state_dir=state)
        self.assertEqual(c.report(b"first"), libenos.DELIVERED)
        c.close()
        mode = os.lstat(os.path.join(state, "device-secret")).st_mode
        self.assertTrue(stat.S_ISREG(mode))
        self.assertEqual(stat.S_IMODE(mode), 0o600)
        c2 = self.client(device_secret=None, product_secret=PRODUCT_SECRET, state_dir=state)
        self.assertEqual(c2.report(b"second"), libenos.DELIVERED)
        self.assertEqual(self.sim.stats()["activations"], 1)
        self.assertEqual([r["data"] for r in self.sim.records()], [b"first", b"second"])

    def test_activation_needs_state_dir(self) -> None:
        with self.assertRaises(libenos.InvalidArgument):
            libenos.Client(self.addr, PK, DK, None, dtls=True, product_secret=PRODUCT_SECRET)


class LibcoapServerTest(unittest.TestCase):
    """The library against libcoap's coap-server-openssl (OpenSSL's DTLS, a server
    that knows nothing of EnOS): any CoAP answer proves the handshake; a server
    with another key gives AuthError."""

    def server(self, key: bytes) -> str:
        exe = shutil.which("coap-server-openssl")
        if exe is None:
            raise unittest.SkipTest("coap-server-openssl not found (Debian package libcoap3-bin)")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = subprocess.Popen([exe, "-A", "127.0.0.1", "-p", str(port), "-k", key],  # type: ignore[list-item]
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)

        def ready() -> bool:  # its plain CoAP port answers a CoAP ping
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(0.2)
                try:
                    s.sendto(b"\x40\x00\x12\x34", ("127.0.0.1", port))
                    return len(s.recv(16)) >= 4
                except OSError:
                    return False
        wait_for(ready, what="coap-server-openssl")
        return f"127.0.0.1:{port + 1}"  # CoAPS on the next port

    def test_handshake_and_wrong_key(self) -> None:
        key = hashlib.sha256(SECRET.encode()).digest()[8:24]
        self.assertNotIn(0, key)
        c = libenos.Client(self.server(key), PK, DK, SECRET, dtls=True, ack_timeout=0.2, max_retransmit=2)
        self.addCleanup(c._close_quietly)
        try:
            c.publish(f"/sys/{PK}/{DK}/thing/model/up_raw", b"hello")  # a 2.xx would do as well
        except libenos.RejectedError as e:
            self.assertIsNotNone(e.coap_code)  # 4.04: the server answered over DTLS
        c2 = libenos.Client(self.server(b"0123456789abcdef"), PK, DK, SECRET, dtls=True, ack_timeout=0.2, max_retransmit=2)
        self.addCleanup(c2._close_quietly)
        t0 = time.monotonic()
        with self.assertRaises(libenos.AuthError):
            c2.report(b"x")
        self.assertLess(time.monotonic() - t0, 30)


if __name__ == "__main__":
    unittest.main()
