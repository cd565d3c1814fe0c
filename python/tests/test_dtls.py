"""DTLS through the real library: reports over DTLS 1.2 PSK to enos-sim (a
separate process), a wrong key, and dynamic activation kept across a restart."""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import unittest

from support import DK, PK, SECRET, Sim, wait_for

import enos

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

    def client(self, **kw) -> enos.Client:
        args = dict(server=self.addr, product_key=PK, device_key=DK, device_secret=SECRET,
                    ack_timeout=0.2, max_retransmit=2, dtls=True)
        args.update(kw)
        c = enos.Client(**args)
        self.addCleanup(c._close_quietly)
        return c

    def test_report_over_dtls(self) -> None:
        c = self.client()
        self.assertEqual(c.report(b"over dtls"), enos.DELIVERED)
        self.assertEqual([r["data"] for r in self.sim.records()], [b"over dtls"])
        st = self.sim.stats()
        self.assertEqual(st["auths"], 0)
        self.assertEqual(st["handshakes"], 1)

    def test_security_names(self) -> None:
        c = self.client(dtls=False, security="dtls")
        c.report(b"x")
        with self.assertRaises(ValueError):
            self.client(security="tls")
        with self.assertRaises(enos.InvalidArgument):
            enos.Client(self.addr, PK, DK, SECRET, product_secret=PRODUCT_SECRET)  # not DTLS

    def test_wrong_key_is_auth_error(self) -> None:
        c = self.client(device_secret="not the secret")
        with self.assertRaises(enos.AuthError):
            c.report(b"x")
        self.assertEqual(self.sim.records(), [])

    def test_activation_once_across_restart(self) -> None:
        state = os.path.join(self.dir, "state")
        c = self.client(device_secret=None, product_secret=PRODUCT_SECRET, state_dir=state)
        self.assertEqual(c.report(b"first"), enos.DELIVERED)
        c.close()
        mode = os.lstat(os.path.join(state, "device-secret")).st_mode
        self.assertTrue(stat.S_ISREG(mode))
        self.assertEqual(stat.S_IMODE(mode), 0o600)
        c2 = self.client(device_secret=None, product_secret=PRODUCT_SECRET, state_dir=state)
        self.assertEqual(c2.report(b"second"), enos.DELIVERED)
        self.assertEqual(self.sim.stats()["activations"], 1)
        self.assertEqual([r["data"] for r in self.sim.records()], [b"first", b"second"])

    def test_activation_needs_state_dir(self) -> None:
        with self.assertRaises(enos.InvalidArgument):
            enos.Client(self.addr, PK, DK, None, dtls=True, product_secret=PRODUCT_SECRET)


if __name__ == "__main__":
    unittest.main()
