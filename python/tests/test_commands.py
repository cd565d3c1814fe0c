# SPDX-License-Identifier: Apache-2.0

"""Commands from enos-sim through the callback and the iterator, in both command styles."""

import threading
import time
import traceback
import unittest

from support import DK, PK, SimTestCase, require, wait_for

import libenos

DOWN = f"/sys/{PK}/{DK}/thing/model/down_raw"


@require("enos_set_command_handler", "enos_poll", "enos_next_command", "enos_reply")
class InlineCommandsTest(SimTestCase):
    sim_args = ["--command-style", "inline"]

    def queue(self, n, prefix=b"cmd"):
        payloads = [prefix + b"-%d" % i for i in range(n)]
        for p in payloads:
            self.sim.command(p)
        return payloads

    def test_callback_in_order_once_and_reply_from_inside(self):
        got = []
        done = threading.Event()
        c = self.client()

        def handler(cmd):
            self.assertIsInstance(cmd, libenos.Command)
            got.append(cmd)
            c.reply(cmd, b"ack:" + cmd.payload)  # replying from inside the handler works
            if len(got) == 3:
                done.set()

        c.set_command_handler(handler)
        payloads = self.queue(3)
        c.report(b"tick")  # a report's response announces commands
        deadline = time.monotonic() + 10
        while not done.is_set() and time.monotonic() < deadline:
            c.poll()
            done.wait(0.05)
        self.assertTrue(done.is_set(), f"got {got}")
        self.assertEqual([x.payload for x in got], payloads)
        self.assertTrue(all(x.topic == DOWN for x in got), got)
        c.poll()
        time.sleep(0.2)
        self.assertEqual(len(got), 3, "each command exactly once")
        replies = wait_for(lambda: [r for r in self.sim.records() if r["topic"] == DOWN + "_reply"]
                           if len([r for r in self.sim.records() if r["topic"] == DOWN + "_reply"]) == 3
                           else None, what="three replies")
        self.assertEqual([r["data"] for r in replies], [b"ack:" + p for p in payloads])
        c.close()

    def test_constructor_handler_and_decorator(self):
        got = []
        c = self.client(command_handler=got.append)
        self.queue(1)
        c.poll()
        wait_for(lambda: got, what="command via constructor handler")
        got2 = []

        @c.on_command
        def handler(cmd):
            got2.append(cmd)

        self.queue(1, b"second")
        c.poll()
        wait_for(lambda: got2, what="command via on_command")
        self.assertEqual(got2[0].payload, b"second-0")
        self.assertEqual(len(got), 1)
        c.set_command_handler(None)  # back to the pull queue
        self.queue(1, b"third")
        c.poll()
        self.assertEqual(c.next_command(timeout=5).payload, b"third-0")

    def test_iterator_in_order_once(self):
        c = self.client()
        payloads = self.queue(3)
        self.assertIsNone(c.next_command(timeout=0))
        n = c.poll()
        self.assertGreaterEqual(n, 1)
        got = []
        for cmd in c.commands(timeout=2):
            got.append(cmd)
            if len(got) < 3:
                c.poll()
            if len(got) == 3:
                break
        self.assertEqual([x.payload for x in got], payloads)
        self.assertEqual({x.topic for x in got}, {DOWN})
        c.poll()
        self.assertEqual(list(c.commands(timeout=0.2)), [])  # nothing twice
        c.reply(got[0].topic, "done")
        self.assertEqual(self.sim.records()[-1]["topic"], DOWN + "_reply")
        self.assertEqual(self.sim.records()[-1]["data"], b"done")

    def test_iterator_grows_buffers(self):
        c = self.client()
        # Start with tiny buffers so that both have to grow (inline commands travel in
        # one datagram's options, so the command itself must stay small).
        client_mod = libenos.client
        old = client_mod._FIRST_TOPIC_SIZE, client_mod._FIRST_PAYLOAD_SIZE
        client_mod._FIRST_TOPIC_SIZE, client_mod._FIRST_PAYLOAD_SIZE = 8, 4
        self.addCleanup(setattr, client_mod, "_FIRST_TOPIC_SIZE", old[0])
        self.addCleanup(setattr, client_mod, "_FIRST_PAYLOAD_SIZE", old[1])
        big = bytes(range(256)) * 2
        topic = f"/sys/{PK}/{DK}/thing/service/" + "s" * 60
        self.sim.command(big, topic=topic)
        c.poll()
        cmd = c.next_command(timeout=5)
        self.assertIsNotNone(cmd)
        self.assertEqual(cmd.payload, big)
        self.assertEqual(cmd.topic, topic)

    def test_empty_command_payload(self):
        if "get" in self.sim_args:
            self.skipTest("libenos finding: in get style an empty command payload is not delivered "
                          "(an empty GET 2.05 reads as 'no command')")
        c = self.client()
        self.sim.command(b"")
        c.poll()
        cmd = c.next_command(timeout=5)
        self.assertEqual(cmd, libenos.Command(DOWN, b""))

    def test_callback_exception_is_reraised(self):
        c = self.client()
        calls = []

        class Boom(Exception):
            pass

        def handler(cmd):
            calls.append(cmd)
            raise Boom("from handler: " + cmd.payload.decode())

        c.set_command_handler(handler)
        self.queue(1)
        c.poll()
        wait_for(lambda: calls, what="handler call")
        time.sleep(0.05)
        try:
            c.report(b"next call")
        except Boom as e:
            self.assertIn("from handler: cmd-0", str(e))
            # the original exception, with the handler's frame in its traceback
            self.assertIn("handler", [f.name for f in traceback.extract_tb(e.__traceback__)])
        else:
            self.fail("the handler's exception was not re-raised")
        self.assertEqual(self.sim.records(), [], "the call that raised did nothing")
        self.assertIs(c.report(b"after"), libenos.DELIVERED)  # raised once, then cleared
        # Still pending at close: close() raises it (after closing).
        self.queue(1, b"late")
        c.poll()
        wait_for(lambda: len(calls) == 2, what="second handler call")
        time.sleep(0.05)
        with self.assertRaises(Boom):
            c.close()
        self.assertTrue(c.closed)

    def test_automatic_poll_interval(self):
        got = []
        c = self.client(poll_interval=0.1, command_handler=got.append)
        c.authenticate()
        self.queue(2)
        wait_for(lambda: len(got) == 2, what="commands via poll_interval")
        self.assertEqual([x.payload for x in got], [b"cmd-0", b"cmd-1"])

    def test_close_from_another_thread_stops_wait(self):
        c = self.client()
        result = []

        def waiter():
            try:
                result.append(c.next_command(timeout=None))
            except libenos.ClosedError as e:
                result.append(e)

        t = threading.Thread(target=waiter)
        t.start()
        time.sleep(0.3)
        c.close()
        t.join(5)
        self.assertFalse(t.is_alive())
        self.assertIsInstance(result[0], libenos.ClosedError)


class GetStyleCommandsTest(InlineCommandsTest):
    sim_args = ["--command-style", "get"]


if __name__ == "__main__":
    unittest.main()
