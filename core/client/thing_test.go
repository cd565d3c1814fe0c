// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/libenos/libenos/core/thing"
	"github.com/libenos/libenos/internal/sim"
	"github.com/libenos/libenos/internal/testutil"
)

const thingModel = `{"` + tPK + `": {
  "measurepoints": {"temp": "float", "state": "int"},
  "events": {"overheat": {"level": "int"}},
  "attributes": {"name": "string"}
}}`

func readModel(t *testing.T) sim.Model {
	t.Helper()
	m, err := sim.ReadModel(strings.NewReader(thingModel))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// thingRecords returns the simulator's records of thing-model requests.
func thingRecords(s *sim.Server) []sim.Record {
	var out []sim.Record
	for _, r := range s.Records() {
		if r.Thing != nil {
			out = append(out, r)
		}
	}
	return out
}

func wantReplyError(t *testing.T, err error, code int64) {
	t.Helper()
	wantCode(t, err, CodeRejected)
	re := ReplyErrorOf(err)
	if re == nil || re.Code != code || re.Message == "" {
		t.Fatalf("err %v: ReplyError %+v, want code %d with a message", err, re, code)
	}
}

func TestPostMeasurepointsAndEvents(t *testing.T) {
	s := startSim(t, sim.Config{Model: readModel(t)})
	c := newClient(t, s.Addr())
	ctx := context.Background()
	at := time.UnixMilli(1700000000123)
	out, err := c.PostMeasurepoints(ctx, []byte(`{"temp": 21.5, "state": {"value": 1, "quality": 9}}`), at)
	if err != nil || out.Queued {
		t.Fatalf("%v %v", out, err)
	}
	before := time.Now().UnixMilli()
	if _, err := c.PostEvent(ctx, "overheat", []byte(`{"level":3}`), time.Time{}); err != nil {
		t.Fatal(err)
	}
	_, err = c.PostMeasurepoints(ctx, []byte(`{"temp": "hot"}`), at)
	wantReplyError(t, err, 1204)
	_, err = c.PostEvent(ctx, "nosuch", []byte(`{"level":3}`), at)
	wantReplyError(t, err, 1204)

	recs := thingRecords(s)
	if len(recs) != 4 {
		t.Fatalf("%d thing records", len(recs))
	}
	if th := recs[0].Thing; th.Code != 200 || th.Time != 1700000000123 || th.Method != "thing.measurepoint.post" || recs[0].Topic != "/sys/"+tPK+"/"+tDK+"/thing/measurepoint/post" {
		t.Errorf("record 0 %+v %+v", recs[0], th)
	}
	if th := recs[1].Thing; th.Code != 200 || th.Time < before || recs[1].Topic != "/sys/"+tPK+"/"+tDK+"/thing/event/overheat/post" {
		t.Errorf("event record %+v", th)
	}
	if recs[0].Thing.ID == recs[1].Thing.ID || recs[1].Thing.ID == recs[2].Thing.ID {
		t.Errorf("message ids repeat: %q %q %q", recs[0].Thing.ID, recs[1].Thing.ID, recs[2].Thing.ID)
	}
}

func TestInvalidThingInputSendsNothing(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr())
	ctx := context.Background()
	for _, mp := range []string{``, `garbage`, `[1]`, `{}`, `{"1temp":1}`, `{"a":1} {"b":2}`, `{"a b":1}`} {
		_, err := c.PostMeasurepoints(ctx, []byte(mp), time.Time{})
		wantCode(t, err, CodeInvalid)
	}
	_, err := c.PostEvent(ctx, "bad id", []byte(`{"a":1}`), time.Time{})
	wantCode(t, err, CodeInvalid)
	_, err = c.ThingRequest(ctx, "thing.attribute query", []byte(`{}`))
	wantCode(t, err, CodeInvalid)
	_, err = c.ThingRequest(ctx, "thing.attribute.query", []byte(`["a"]`))
	wantCode(t, err, CodeInvalid)
	if n := len(s.Records()); n != 0 || s.Stats().Auths != 0 {
		t.Fatalf("%d records, %d auths after invalid input", n, s.Stats().Auths)
	}
}

func TestThingRequestAttributes(t *testing.T) {
	s := startSim(t, sim.Config{Model: readModel(t)})
	c := newClient(t, s.Addr())
	ctx := context.Background()
	if _, err := c.ThingRequest(ctx, thing.MethodAttributeUpdate, []byte(`{"attributes":{"name":"pump"}}`)); err != nil {
		t.Fatal(err)
	}
	data, err := c.ThingRequest(ctx, thing.MethodAttributeQuery, []byte(`{"attributes":["name"]}`))
	if err != nil || string(data) != `{"name":"pump"}` {
		t.Fatalf("%s %v", data, err)
	}
	_, err = c.ThingRequest(ctx, thing.MethodAttributeUpdate, []byte(`{"attributes":{"nosuch":1}}`))
	wantReplyError(t, err, 1204)
	if !strings.Contains(err.Error(), "1204") || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("error text %q lacks EnOS's code and message", err)
	}
}

// A 2.04 without a thing-model reply is not a success.
func TestMalformedThingReply(t *testing.T) {
	c := newClient(t, testutil.RawEnos(t)) // answers every POST with an empty 2.04
	_, err := c.PostMeasurepoints(context.Background(), []byte(`{"temp":1}`), time.Time{})
	wantCode(t, err, CodeRejected)
	if ReplyErrorOf(err) != nil || !errors.Is(err, thing.ErrMalformedReply) {
		t.Fatalf("err %v", err)
	}
}

// With a state directory, posts made while EnOS is unreachable are queued
// with the sample time of the call, delivered in order once, and a queued
// post EnOS then refuses is dropped and counted, not retried.
func TestQueuedThingPostsKeepTimeAndDropRefused(t *testing.T) {
	s := startSim(t, sim.Config{})
	addr := s.Addr()
	c := newClient(t, addr, withState(t.TempDir()), func(c *Config) { c.AckTimeout = 20 * time.Millisecond; c.MaxRetransmit = 1 })
	ctx := context.Background()
	if _, err := c.PostMeasurepoints(ctx, []byte(`{"temp":1}`), time.Time{}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	t1 := time.Now().UnixMilli()
	out, err := c.PostMeasurepoints(ctx, []byte(`{"temp":2}`), time.Time{})
	if err != nil || !out.Queued {
		t.Fatalf("%v %v", out, err)
	}
	t2 := time.Now().UnixMilli()
	if out, err := c.Report(ctx, []byte("raw between")); err != nil || !out.Queued {
		t.Fatalf("report: %v", err)
	}
	if out, err := c.PostMeasurepoints(ctx, []byte(`{"nosuch":3}`), time.UnixMilli(42)); err != nil || !out.Queued {
		t.Fatalf("%v %v", out, err)
	}
	if out, err := c.PostEvent(ctx, "overheat", []byte(`{"level":4}`), time.UnixMilli(43)); err != nil || !out.Queued {
		t.Fatalf("%v %v", out, err)
	}
	time.Sleep(50 * time.Millisecond) // the sample time is the call's, not the delivery's

	s2, err := sim.Start(sim.Config{Listen: addr, Model: readModel(t), Devices: []sim.Device{{ProductKey: tPK, DeviceKey: tDK, Secret: tSecret}}})
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	defer s2.Close()
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	recs := s2.Records()
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4 (each sent once): %+v", len(recs), recs)
	}
	if th := recs[0].Thing; th == nil || th.Code != 200 || th.Time < t1 || th.Time > t2 {
		t.Errorf("queued post: %+v, want time in [%d,%d]", th, t1, t2)
	}
	if recs[1].Thing != nil || string(recs[1].Payload) != "raw between" {
		t.Errorf("record 1 %+v", recs[1])
	}
	if th := recs[2].Thing; th == nil || th.Code != 1204 || th.Time != 0 {
		t.Errorf("refused post: %+v", th)
	}
	if th := recs[3].Thing; th == nil || th.Code != 200 || th.Time != 43 {
		t.Errorf("event after the refused post: %+v", th)
	}
	if st := c.Stats(); st.QueueDropped != 1 || st.QueueDelivered != 3 || st.Queued != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestReplyResultCarriesTheCommandID(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr())
	topic, payload, err := sim.ServiceCall(tPK, tDK, "measurepoint.set", "call-77", []byte(`{"measurepoints":{"temp":5}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.QueueCommand(tPK, tDK, topic, payload); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	cmd, err := c.WaitCommand(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ReplyResult(ctx, cmd.Topic, cmd.Payload, 200, []byte(`{"temp":5}`)); err != nil {
		t.Fatal(err)
	}
	wantCode(t, c.ReplyResult(ctx, cmd.Topic, []byte("not json"), 200, nil), CodeInvalid)
	wantCode(t, c.ReplyResult(ctx, cmd.Topic, cmd.Payload, 200, []byte("[1]")), CodeInvalid)
	recs := s.Records()
	last := recs[len(recs)-1]
	if last.Topic != topic+"_reply" {
		t.Fatalf("reply on %q", last.Topic)
	}
	var r struct {
		ID   string          `json:"id"`
		Code int             `json:"code"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(last.Payload, &r); err != nil || r.ID != "call-77" || r.Code != 200 || string(r.Data) != `{"temp":5}` {
		t.Fatalf("reply %s: %+v %v", last.Payload, r, err)
	}
}
