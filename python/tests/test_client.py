# SPDX-License-Identifier: Apache-2.0

"""Client against enos-sim: report, publish, authenticate, errors, lifecycle, stats."""

import gc
import socket
import threading
import unittest

import support
from support import DK, PK, SECRET, SimTestCase, require

import libenos

MP_TOPIC = f"/sys/{PK}/{DK}/thing/measurepoint/post"


class ClientTest(SimTestCase):
    def test_report_acknowledged_and_recorded(self):
        with self.client() as c:
            data = b"py-report\x00\xff\x01"
            self.assertIs(c.report(data), libenos.DELIVERED)
            self.assertIs(c.report("text é"), libenos.DELIVERED)  # str is sent as UTF-8
            self.assertIs(c.report(bytearray(b"ba")), libenos.DELIVERED)
            self.assertIs(c.report(b""), libenos.DELIVERED)
        recs = self.sim.records()
        self.assertEqual([r["data"] for r in recs], [data, "text é".encode(), b"ba", b""])
        self.assertTrue(all(r["topic"] == f"/sys/{PK}/{DK}/thing/model/up_raw" for r in recs))
        self.assertEqual([r["sequence"] for r in recs], [1, 2, 3, 4])

    def test_publish_reply(self):
        with self.client() as c:
            r = c.publish(MP_TOPIC, '{"id":"1","version":"1.0","method":"thing.measurepoint.post",'
                                    '"params":{"measurepoints":{"temp":21.5}}}')
            self.assertEqual(r.code, 68)
            self.assertEqual(r.code_str, "2.04")
            self.assertTrue(r.ok)
            self.assertEqual(r.payload, b'{"id":"1","code":200,"data":{}}')  # EnOS's JSON reply
            self.assertFalse(r.truncated)
            r2 = c.publish("/topic" + MP_TOPIC, b"{}")  # the /topic prefix is accepted too
            self.assertEqual(r2.code_str, "2.04")
        self.assertEqual([x["topic"] for x in self.sim.records()], [MP_TOPIC, MP_TOPIC])

    def test_publish_rejected_carries_coap_code(self):
        with self.client() as c:
            with self.assertRaises(libenos.RejectedError) as cm:
                c.publish("/sys/NoSuch/Device/thing/x", b"x")
            e = cm.exception
            self.assertEqual(e.code, -6)
            self.assertEqual(e.coap_code, (4 << 5) | 1)
            self.assertEqual(e.coap_code_str, "4.01")
            self.assertIsInstance(e.payload, bytes)
            self.assertIn("4.01", str(e))

    def test_authenticate_and_next_sign(self):
        with self.client() as c:
            c.authenticate()
            a = c.next_sign()
            b = c.next_sign()
            self.assertEqual(b.sequence, a.sequence + 1)
            self.assertRegex(a.signature, r"^[0-9A-F]+$")
            self.assertEqual(len(a.signature) % 32, 0)

    def test_wrong_secret_is_auth_error_without_secret(self):
        wrong = "ThisIsTheWrongSecret42"
        c = self.client(device_secret=wrong)
        with self.assertRaises(libenos.AuthError) as cm:
            c.authenticate()
        for text in (str(cm.exception), repr(cm.exception), cm.exception.detail, repr(c)):
            self.assertNotIn(wrong, text)
            self.assertNotIn(SECRET, text)
        self.assertEqual(cm.exception.code, -5)
        with self.assertRaises(libenos.AuthError):
            c.report(b"x")
        self.assertEqual(self.sim.records(), [])

    def test_bad_arguments(self):
        cases = [
            dict(product_key=""),
            dict(device_key="has/slash"),
            dict(device_secret=""),
            dict(server=""),
            dict(lifetime=10),
            dict(lifetime=86401),
            dict(sign_iv=b"0123"),
            dict(sign_mode="sometimes"),
        ]
        for kw in cases:
            with self.subTest(**{k: repr(v) for k, v in kw.items()}):
                with self.assertRaises(libenos.InvalidArgument) as cm:
                    self.client(**kw)
                self.assertEqual(cm.exception.code, -1)
                self.assertTrue(str(cm.exception))
        with self.assertRaises(TypeError):
            self.client(lifetime="3600")
        with self.client() as c:
            for topic in ("", "no-leading-slash"):
                with self.assertRaises(libenos.InvalidArgument):
                    c.publish(topic, b"x")
            with self.assertRaises(TypeError):
                c.report(12345)  # type: ignore[arg-type]
            with self.assertRaises(libenos.InvalidArgument):
                c.report(b"x" * (libenos._lib.ENOS_MAX_PAYLOAD + 1))

    def test_closed_client_and_idempotent_close(self):
        c = self.client()
        c.report(b"before")
        self.assertFalse(c.closed)
        c.close()
        self.assertTrue(c.closed)
        c.close()  # idempotent
        for call in (lambda: c.report(b"x"), lambda: c.publish(MP_TOPIC, b"x"), c.authenticate,
                     c.next_sign):
            with self.assertRaises(libenos.ClosedError) as cm:
                call()
            self.assertEqual(cm.exception.code, -7)
        self.assertIn("closed", repr(c))

    def test_context_manager(self):
        with self.client() as c:
            self.assertIsInstance(c, libenos.Client)
            c.report(b"in-with")
        self.assertTrue(c.closed)
        with self.assertRaises(libenos.ClosedError):
            c.report(b"after")
        # An exception inside the block propagates and still closes the client.
        with self.assertRaises(KeyError):
            with self.client() as c2:
                raise KeyError("boom")
        self.assertTrue(c2.closed)

    def test_unreferenced_client_is_closed(self):
        c = self.client()
        c.report(b"x")
        del c
        gc.collect()

    def test_concurrent_reports(self):
        with self.client() as c:
            errors = []

            def worker(i):
                try:
                    for j in range(5):
                        c.report(f"{i}-{j}")
                except Exception as e:  # pragma: no cover
                    errors.append(e)

            threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            self.assertEqual(errors, [])
        self.assertEqual(len(self.sim.records()), 20)

    @require("enos_get_stats")
    def test_stats(self):
        with self.client() as c:
            s0 = c.stats
            self.assertIsInstance(s0, libenos.Stats)
            c.report(b"1")
            c.report(b"2")
            c.publish(MP_TOPIC, b"{}")
            s = c.stats
            self.assertEqual(s.sent, 3)
            self.assertEqual(s.auths, 1)
            self.assertEqual(s.reauths, 0)
            self.assertEqual(s.queued, 0)
            self.assertEqual(s.failed, 0)
            for f in ("retransmissions", "queued_bytes", "queued_total", "queue_delivered",
                      "queue_dropped", "commands", "commands_dropped", "state_errors"):
                self.assertIsInstance(getattr(s, f), int, f)
        with self.assertRaises(libenos.ClosedError):
            c.stats

    @require("enos_flush")
    def test_flush_without_state_dir(self):
        with self.client() as c:
            c.flush(0)
            c.flush(1)
            c.flush()


class UnreachableTest(unittest.TestCase):
    def test_no_server_times_out_or_fails(self):
        s = support.Sim()
        addr = s.addr
        s.cleanup()  # nothing listens there now
        with libenos.Client(addr, PK, DK, SECRET, ack_timeout=0.1, max_retransmit=1) as c:
            with self.assertRaises((libenos.NetworkError, libenos.EnosTimeoutError)):
                c.report(b"x")



class ZeroMeansDefaultTest(unittest.TestCase):
    """0 means the default in Python as in C; "none" and "off" turn things off."""

    def datagrams_until_timeout(self, **kw):
        hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(hole.close)
        hole.bind(("127.0.0.1", 0))
        addr = "127.0.0.1:%d" % hole.getsockname()[1]
        with libenos.Client(addr, PK, DK, SECRET, ack_timeout=0.01, **kw) as c:
            with self.assertRaises(libenos.EnosTimeoutError):
                c.authenticate()
        hole.settimeout(0)
        n = 0
        while True:
            try:
                hole.recv(2048)
            except BlockingIOError:
                return n
            n += 1

    def test_max_retransmit(self):
        for value, sent in ((0, 5), (None, 5), (2, 3), ("none", 1), ("NONE", 1)):
            with self.subTest(max_retransmit=value):
                self.assertEqual(self.datagrams_until_timeout(max_retransmit=value), sent)
        for bad in (-1, "off", "0"):
            with self.subTest(max_retransmit=bad):
                with self.assertRaises(libenos.InvalidArgument) as cm:
                    libenos.Client("127.0.0.1:9", PK, DK, SECRET, max_retransmit=bad)
                self.assertIn('"none"', str(cm.exception))


class BlockSizeTest(SimTestCase):
    def test_zero_is_default_and_off_is_off(self):
        big = bytes(range(256)) * 12  # 3072 bytes: block-wise only
        for value in (0, None, 256):
            with self.subTest(block_size=value):
                with self.client(block_size=value) as c:
                    self.assertIs(c.report(big), libenos.DELIVERED)
        with self.client(block_size="off") as c:
            self.assertIs(c.report(big[:500]), libenos.DELIVERED)
            with self.assertRaises(libenos.InvalidArgument):
                c.report(big)
        self.assertEqual([r["data"] for r in self.sim.records()], [big] * 3 + [big[:500]])
        for bad in (-1, "none"):
            with self.subTest(block_size=bad):
                with self.assertRaises(libenos.InvalidArgument) as cm:
                    self.client(block_size=bad)
                self.assertIn('"off"', str(cm.exception))


if __name__ == "__main__":
    unittest.main()
