# SPDX-License-Identifier: Apache-2.0

"""Offline queue (state_dir) with a stopped server, and the log handler."""

import logging
import shutil
import tempfile
import threading
import time
import unittest

import support
from support import DK, PK, SECRET, Sim, require, wait_for

import libenos


@require("enos_flush", "enos_get_stats")
class OfflineTest(unittest.TestCase):
    def setUp(self):
        self.state = tempfile.mkdtemp(prefix="enos-state-")
        self.addCleanup(shutil.rmtree, self.state, True)

    def test_queued_while_server_stopped_then_flushed(self):
        sim = Sim()
        self.addCleanup(sim.cleanup)
        port = sim.port
        c = libenos.Client(sim.addr, PK, DK, SECRET, state_dir=self.state, ack_timeout=0.1,
                        max_retransmit=1, retry_interval=0.1)
        self.addCleanup(c._close_quietly)
        self.assertIs(c.report(b"online"), libenos.DELIVERED)
        sim.stop()
        self.assertIs(c.report(b"offline-1"), libenos.QUEUED)
        self.assertIs(c.report(b"offline-2"), libenos.QUEUED)
        st = c.stats
        self.assertGreaterEqual(st.queued, 2)
        self.assertGreaterEqual(st.queued_total, 2)
        self.assertGreater(st.queued_bytes, 0)
        t0 = time.monotonic()
        with self.assertRaises(libenos.EnosTimeoutError) as cm:
            c.flush(0.3)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(cm.exception.code, -4)
        with self.assertRaises(libenos.EnosTimeoutError):
            c.flush(0)
        # The server comes back on the same port: the queue drains in order.
        try:
            sim2 = Sim(listen=f"127.0.0.1:{port}")
        except RuntimeError as e:  # the port was taken meanwhile: cannot test the drain
            self.skipTest(f"cannot restart enos-sim on port {port}: {e}")
        self.addCleanup(sim2.cleanup)
        c.flush(20)
        self.assertEqual([r["data"] for r in sim2.records()], [b"offline-1", b"offline-2"])
        st = c.stats
        self.assertEqual(st.queued, 0)
        self.assertEqual(st.queue_delivered, 2)
        c.close()

    def test_state_dir_locked(self):
        sim = Sim()
        self.addCleanup(sim.cleanup)
        with libenos.Client(sim.addr, PK, DK, SECRET, state_dir=self.state):
            with self.assertRaises(libenos.StateError) as cm:
                libenos.Client(sim.addr, PK, DK, SECRET, state_dir=self.state)
            self.assertEqual(cm.exception.code, -8)
            self.assertNotIn(SECRET, str(cm.exception))
        # released by close
        libenos.Client(sim.addr, PK, DK, SECRET, state_dir=self.state).close()

    def test_queue_full(self):
        sim = Sim()
        addr = sim.addr
        sim.cleanup()
        with libenos.Client(addr, PK, DK, SECRET, state_dir=self.state, queue_max_count=1,
                         ack_timeout=0.05, max_retransmit="none", retry_interval=10) as c:
            self.assertIs(c.report(b"1"), libenos.QUEUED)
            with self.assertRaises(libenos.QueueFullError):
                c.report(b"2")


def produce_logs(test):
    """Drive libenos into the paths that log (it logs session resumption, the
    offline queue and automatic polls; plain reports log nothing)."""
    state = tempfile.mkdtemp(prefix="enos-state-")
    test.addCleanup(shutil.rmtree, state, True)
    sim = Sim()
    test.addCleanup(sim.cleanup)
    with libenos.Client(sim.addr, PK, DK, SECRET, state_dir=state, ack_timeout=0.1, max_retransmit="none") as c:
        c.report(b"saved session")
        sig = c.next_sign()
    with libenos.Client(sim.addr, PK, DK, SECRET, state_dir=state, ack_timeout=0.05, max_retransmit="none",
                     retry_interval=0.05, poll_interval=0.05) as c:  # logs "resumed saved session"
        sim.stop()
        c.report(b"queued")
        time.sleep(0.4)  # the offline queue retries and logs; so does the automatic poll
    return sig.signature


@require("enos_set_log_handler")
class LogHandlerTest(unittest.TestCase):
    def tearDown(self):
        libenos.set_log_handler(None)

    def test_lines_received_never_the_secret(self):
        lines = []
        lock = threading.Lock()

        def handler(level, message):
            with lock:
                lines.append((level, message))

        libenos.set_log_handler(handler, libenos.LOG_DEBUG)
        signature = produce_logs(self)
        libenos.set_log_handler(None)
        self.assertTrue(lines, "the log handler received lines")
        self.assertTrue(all(isinstance(lv, int) and isinstance(m, str) for lv, m in lines))
        self.assertTrue(all(libenos.LOG_ERROR <= lv <= libenos.LOG_DEBUG for lv, _ in lines))
        text = "\n".join(m for _, m in lines)
        self.assertIn(DK, text)
        self.assertNotIn(SECRET, text)
        self.assertNotIn(signature, text)
        n = len(lines)
        produce_logs(self)
        self.assertEqual(len(lines), n, "silent after set_log_handler(None)")

    def test_python_logging_bridge(self):
        libenos.set_log_handler(logger="libenos.test.lib", level=libenos.LOG_DEBUG)
        with self.assertLogs("libenos.test.lib", level="DEBUG") as cm:
            produce_logs(self)
        self.assertTrue(cm.records)
        self.assertEqual({r.levelno for r in cm.records} - {logging.DEBUG, logging.INFO, logging.WARNING,
                                                            logging.ERROR}, set())
        self.assertFalse(any(SECRET in r.getMessage() for r in cm.records))

    def test_level_filter_and_invalid_level(self):
        with self.assertRaises(libenos.InvalidArgument):
            libenos.set_log_handler(lambda lv, m: None, 9)
        got = []
        libenos.set_log_handler(lambda lv, m: got.append(lv), libenos.LOG_INFO)
        produce_logs(self)
        self.assertTrue(got)
        self.assertTrue(all(lv <= libenos.LOG_INFO for lv in got), got)

    def test_handler_exception_is_reraised(self):
        class LogBoom(Exception):
            pass

        def handler(level, message):
            raise LogBoom(message)

        libenos.set_log_handler(handler, libenos.LOG_DEBUG)
        with self.assertRaises(LogBoom):
            produce_logs(self)  # a call after the first log line raises it
        try:  # later lines raised too: one more may still be pending, set_log_handler raises it
            libenos.set_log_handler(None)
        except LogBoom:
            pass


if __name__ == "__main__":
    unittest.main()
