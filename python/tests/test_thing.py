# SPDX-License-Identifier: Apache-2.0

"""The JSON thing model against enos-sim with a thing model (--model)."""

import datetime
import json
import os
import tempfile

from support import DK, PK, ROOT, SimTestCase, require

import libenos

MODEL = os.path.join(ROOT, "test", "c", "thing-model.json")


@require("enos_post_measurepoints", "enos_post_event", "enos_thing_request", "enos_reply_result",
         "enos_last_reply_code", "enos_last_reply_message")
class ThingModelTest(SimTestCase):
    sim_args = ["--model", MODEL]

    def thing_records(self):
        return [r for r in self.sim.records() if r.get("thing")]

    def test_post_measurepoints_with_time(self):
        with self.client() as c:
            self.assertIs(c.post_measurepoints({"temp": 21.5, "Power": {"value": 1.0, "quality": 9}},
                                               time=1700000000.123), libenos.DELIVERED)
            when = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
            c.post_measurepoints({"state": 2}, time=when)
            c.post_measurepoints('{"temp": 1}')  # JSON text is accepted as it is
        recs = self.thing_records()
        self.assertEqual([r["thing"]["code"] for r in recs], [200, 200, 200])
        self.assertEqual(recs[0]["thing"]["time"], 1700000000123)
        self.assertEqual(recs[1]["thing"]["time"], int(when.timestamp() * 1000))
        body = json.loads(recs[0]["data"])
        self.assertEqual(body["method"], "thing.measurepoint.post")
        self.assertEqual(body["params"]["measurepoints"], {"temp": 21.5, "Power": {"value": 1.0, "quality": 9}})
        self.assertEqual(recs[0]["topic"], f"/sys/{PK}/{DK}/thing/measurepoint/post")

    def test_refused_content_raises_with_enos_code(self):
        with self.client() as c:
            with self.assertRaises(libenos.ThingRejectedError) as cm:
                c.post_measurepoints({"temp": "hot"})
            e = cm.exception
            self.assertEqual(e.enos_code, 1204)
            self.assertIn("Model validate failed", e.message)
            self.assertIn("1204", str(e))
            self.assertIsInstance(e, libenos.RejectedError)
            self.assertEqual(e.code, -6)
            with self.assertRaises(libenos.ThingRejectedError) as cm:
                c.post_event("overheat", {"level": "high"})
            self.assertEqual(cm.exception.enos_code, 1204)
            self.assertIs(c.post_event("overheat", {"level": 3, "note": "fan"}), libenos.DELIVERED)

    def test_invalid_input_sends_nothing(self):
        with self.client() as c:
            for bad in ({}, {"1temp": 1}, {"te mp": 1}, "garbage", "[1]"):
                with self.assertRaises(libenos.InvalidArgument):
                    c.post_measurepoints(bad)
            with self.assertRaises(libenos.InvalidArgument):
                c.post_measurepoints({"temp": float("nan")})
            with self.assertRaises(libenos.InvalidArgument):
                c.post_measurepoints({"temp": 1}, time=-1)
            with self.assertRaises(libenos.InvalidArgument):
                c.post_measurepoints({"temp": 1}, time=datetime.datetime(2024, 1, 1))  # naive
            with self.assertRaises(TypeError):
                c.post_measurepoints([("temp", 1)])
            with self.assertRaises(libenos.InvalidArgument):
                c.post_event("over heat", {"level": 1})
            with self.assertRaises(libenos.InvalidArgument):
                c.thing_request("thing.attribute query", {})
        self.assertEqual(self.thing_records(), [])

    def test_attributes_round_trip(self):
        with self.client() as c:
            self.assertEqual(c.thing_request("thing.attribute.update", {"attributes": {"name": "pump", "rated": 7.5}}), {})
            self.assertEqual(c.thing_request("thing.attribute.query", {"attributes": ["name"]}), {"name": "pump"})
            self.assertEqual(c.thing_request("thing.attribute.query", {"attributes": []}), {"name": "pump", "rated": 7.5})
            with self.assertRaises(libenos.ThingRejectedError) as cm:
                c.thing_request("thing.attribute.update", {"attributes": {"color": "red"}})
            self.assertEqual(cm.exception.enos_code, 1204)

    def test_reply_result_carries_the_call_id(self):
        call = {"id": "py-call-9", "version": "1.0", "method": "thing.service.measurepoint.set",
                "params": {"measurepoints": {"temp": 5}}}
        topic = f"/sys/{PK}/{DK}/thing/service/measurepoint/set"
        self.sim.command(json.dumps(call).encode(), topic=topic)
        with self.client() as c:
            self.assertEqual(c.poll(), 1)
            cmd = c.next_command(10)
            self.assertIsNotNone(cmd)
            c.reply_result(cmd, 200, {"temp": 5})
            with self.assertRaises(libenos.InvalidArgument):
                c.reply_result(libenos.Command(topic, b"not json"))
        replies = [r for r in self.sim.records() if r["topic"] == topic + "_reply"]
        self.assertEqual(len(replies), 1)
        self.assertEqual(json.loads(replies[0]["data"]), {"id": "py-call-9", "code": 200, "data": {"temp": 5}})

    def test_queued_with_state_dir_when_unreachable(self):
        with tempfile.TemporaryDirectory() as d:
            with self.client(server="127.0.0.1:9", state_dir=d, ack_timeout=0.02, max_retransmit=1) as c:
                self.assertIs(c.post_measurepoints({"temp": 1}), libenos.QUEUED)
                self.assertIs(c.post_event("overheat", {"level": 1}), libenos.QUEUED)
                self.assertEqual(c.stats.queued, 2)
