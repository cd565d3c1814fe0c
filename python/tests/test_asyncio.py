# SPDX-License-Identifier: Apache-2.0

"""asyncio: report_async, publish_async and commands_async against enos-sim; the
event loop keeps running while requests wait for EnOS."""

import asyncio
import socket
import time

from support import DK, PK, SECRET, SimTestCase, require

import libenos

EVENT_TOPIC = f"/sys/{PK}/{DK}/thing/event/py/post"


@require("enos_report_async", "enos_publish_async")
class AsyncioTest(SimTestCase):
    def test_reports_in_order_without_blocking_the_loop(self):
        async def main():
            with self.client() as c:
                ticks = 0

                async def ticker():
                    nonlocal ticks
                    while True:
                        ticks += 1
                        await asyncio.sleep(0.001)

                t = asyncio.create_task(ticker())
                outcomes = await asyncio.gather(*(c.report_async(f"a{i}") for i in range(100)),
                                                c.publish_async(EVENT_TOPIC, b"{}"))
                t.cancel()
                return outcomes, ticks

        outcomes, ticks = asyncio.run(main())
        self.assertEqual(outcomes[:100], [libenos.DELIVERED] * 100)
        self.assertIsNone(outcomes[100])
        recs = self.sim.records()
        self.assertEqual([r["data"] for r in recs[:100]], [f"a{i}".encode() for i in range(100)])
        self.assertEqual(recs[100]["topic"], EVENT_TOPIC)
        self.assertGreater(ticks, 0)

    def test_failure_raises_with_detail(self):
        async def main():
            with self.client(device_secret="wrong-secret-value") as c:
                await c.report_async(b"x")

        with self.assertRaises(libenos.AuthError) as cm:
            asyncio.run(main())
        self.assertIn("enos_report_async", cm.exception.detail)
        self.assertNotIn("wrong-secret-value", str(cm.exception))

    def test_silent_server_does_not_block_the_loop(self):
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 0))
        addr = "127.0.0.1:%d" % silent.getsockname()[1]
        self.addCleanup(silent.close)

        async def main():
            c = libenos.Client(addr, PK, DK, SECRET, ack_timeout=0.2, max_retransmit=1)
            start = time.monotonic()
            fut = asyncio.ensure_future(c.report_async(b"lost"))
            await asyncio.sleep(0.05)
            waited = time.monotonic() - start  # the loop ran while the report waited
            with self.assertRaises(libenos.EnosTimeoutError):
                await fut
            c.close()
            return waited

        self.assertLess(asyncio.run(main()), 0.5)

    def test_commands_async(self):
        async def main():
            with self.client() as c:
                got = []
                self.sim.command(b"cmd-1")
                self.sim.command(b"cmd-2")
                await c.report_async(b"poke")  # commands arrive in responses

                async def collect():
                    async for cmd in c.commands_async():
                        got.append(cmd.payload)
                        await c.report_async(b"poke")
                        if len(got) == 2:
                            return

                await asyncio.wait_for(collect(), 20)
                return got

        self.assertEqual(asyncio.run(main()), [b"cmd-1", b"cmd-2"])
