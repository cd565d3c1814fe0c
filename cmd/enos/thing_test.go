// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libenos/libenos/internal/sim"
)

// testModelFile is the thing model the C tests use as well.
const testModelFile = "../../test/c/thing-model.json"

// startModelSim starts the simulator with the test thing model.
func startModelSim(t *testing.T) *sim.Server {
	t.Helper()
	f, err := os.Open(testModelFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := sim.ReadModel(f)
	if err != nil {
		t.Fatal(err)
	}
	return startSim(t, sim.Config{Model: m})
}

// thingParams decodes the params of a recorded thing-model request.
func thingParams(t *testing.T, rec sim.Record) (method string, params map[string]json.RawMessage) {
	t.Helper()
	var env struct {
		Method string                     `json:"method"`
		Params map[string]json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(rec.Payload, &env); err != nil {
		t.Fatalf("record payload %q: %v", rec.Payload, err)
	}
	return env.Method, env.Params
}

// lastRecord is the simulator's last record, which must be a thing-model
// request with reply code.
func lastRecord(t *testing.T, s *sim.Server, code int) sim.Record {
	t.Helper()
	recs := s.Records()
	if len(recs) == 0 {
		t.Fatal("no record")
	}
	r := recs[len(recs)-1]
	if r.Thing == nil || r.Thing.Code != code {
		t.Fatalf("last record %s %s: verdict %+v, want code %d", r.Topic, r.Payload, r.Thing, code)
	}
	return r
}

func TestThingValue(t *testing.T) {
	for in, want := range map[string]string{
		"21.5": `21.5`, "-3": `-3`, "1e3": `1e3`, "0": `0`, "true": `true`, "false": `false`,
		"null": `"null"`, "01": `"01"`, "1.": `"1."`, "Inf": `"Inf"`, "NaN": `"NaN"`, "0x10": `"0x10"`,
		"1_000": `"1_000"`, "": `""`, "pump 1": `"pump 1"`, "True": `"True"`, `"q"`: `"\"q\""`, "+1": `"+1"`,
		"- 1": `"- 1"`, "1 2": `"1 2"`, "{}": `"{}"`, "<b>&</b>": `"<b>&</b>"`,
	} {
		if got := string(thingValue(in)); got != want {
			t.Errorf("thingValue(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestMeasurepoints(t *testing.T) {
	s := startModelSim(t)
	env := devEnv(s)
	mpTopic := "/sys/" + testPK + "/" + testDK + "/thing/measurepoint/post"

	r := runEnos(t, runOpts{env: env}, "measurepoints", "temp=21.5", "Power=3", "state=2", "--time", "1700000000123")
	wantCode(t, r, 0)
	noSecret(t, r)
	if r.stdout != "ok\n" {
		t.Errorf("stdout: %s", r)
	}
	rec := lastRecord(t, s, 200)
	method, p := thingParams(t, rec)
	if rec.Topic != mpTopic || method != "thing.measurepoint.post" || rec.Thing.Time != 1700000000123 ||
		string(p["measurepoints"]) != `{"Power":3,"state":2,"temp":21.5}` {
		t.Errorf("record %s %s, time %d", rec.Topic, rec.Payload, rec.Thing.Time)
	}

	// RFC 3339 time; --json with a value and quality plus an argument.
	r = runEnos(t, runOpts{env: env}, "measurepoints", "--json", `{"Power": {"value": 1.0, "quality": 9}}`, "temp=20",
		"--time", "2026-11-27T22:00:00.5Z", "--format", "json")
	wantCode(t, r, 0)
	if r.stdout != `{"code":200}`+"\n" {
		t.Errorf("--format json: %s", r)
	}
	rec = lastRecord(t, s, 200)
	_, p = thingParams(t, rec)
	if rec.Thing.Time != time.Date(2026, 11, 27, 22, 0, 0, 5e8, time.UTC).UnixMilli() ||
		string(p["measurepoints"]) != `{"Power":{"value":1.0,"quality":9},"temp":20}` {
		t.Errorf("record %s, time %d", rec.Payload, rec.Thing.Time)
	}

	// --json - from standard input; no --time is now.
	before := time.Now().UnixMilli()
	r = runEnos(t, runOpts{env: env, stdin: ` {"temp": -4.25} ` + "\n"}, "measurepoints", "--json", "-")
	wantCode(t, r, 0)
	rec = lastRecord(t, s, 200)
	_, p = thingParams(t, rec)
	if rec.Thing.Time < before || rec.Thing.Time > time.Now().UnixMilli() || string(p["measurepoints"]) != `{"temp":-4.25}` {
		t.Errorf("record %s, time %d not in [%d, now]", rec.Payload, rec.Thing.Time, before)
	}

	// EnOS refuses the content (1204): exit 6, the code and message.
	r = runEnos(t, runOpts{env: env}, "measurepoints", "temp=hot")
	wantCode(t, r, exitRejected)
	noSecret(t, r)
	if r.stdout != "" || !strings.Contains(r.stderr, "code 1204: Model validate failed") {
		t.Errorf("refusal: %s", r)
	}
	lastRecord(t, s, 1204)
	r = runEnos(t, runOpts{env: env}, "measurepoints", "humidity=40", "--format", "json")
	wantCode(t, r, exitRejected)
	var refusal struct {
		Code    int64  `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &refusal); err != nil || refusal.Code != 1204 ||
		!strings.HasPrefix(refusal.Message, "Model validate failed") || !strings.Contains(r.stderr, "code 1204") {
		t.Errorf("refusal with --format json (%v): %s", err, r)
	}
	lastRecord(t, s, 1204)

	// Invalid input: exit 2, nothing sent (no authentication either).
	n, auths := len(s.Records()), s.AuthCount(testPK, testDK)
	for _, args := range [][]string{
		{"1temp=3"}, {"te-mp=3"}, {"temp"}, {"=3"}, {"temp=1", "temp=2"}, {},
		{"--json", `{"temp":`}, {"--json", `[1]`}, {"--json", `"x"`}, {"--json", `{"bad name":1}`}, {"--json", `{}`},
		{"--json", `{"temp":1}`, "temp=2"},
		{"temp=1", "--time", "yesterday"}, {"temp=1", "--time", "-5"}, {"temp=1", "--time", "0"},
		{"temp=1", "--format", "xml"}, {"temp=1", "--flush-timeout", "-1s"},
	} {
		r := runEnos(t, runOpts{env: env}, append([]string{"measurepoints"}, args...)...)
		wantCode(t, r, exitUsage)
		noSecret(t, r)
		if r.stdout != "" || !strings.HasPrefix(r.stderr, "enos: ") {
			t.Errorf("%q: %s", args, r)
		}
	}
	if got := len(s.Records()); got != n || s.AuthCount(testPK, testDK) != auths {
		t.Errorf("invalid input sent something: %d records (was %d), %d auths (was %d)", got, n, s.AuthCount(testPK, testDK), auths)
	}
}

func TestEvent(t *testing.T) {
	s := startModelSim(t)
	env := devEnv(s)

	r := runEnos(t, runOpts{env: env}, "event", "overheat", "level=3", "note=over <limit> & \"hot\"", "--time", "1700000000000")
	wantCode(t, r, 0)
	noSecret(t, r)
	if r.stdout != "ok\n" {
		t.Errorf("stdout: %s", r)
	}
	rec := lastRecord(t, s, 200)
	method, p := thingParams(t, rec)
	if rec.Topic != "/sys/"+testPK+"/"+testDK+"/thing/event/overheat/post" || method != "thing.event.overheat.post" ||
		string(p["events"]) != `{"level":3,"note":"over <limit> & \"hot\""}` || rec.Thing.Time != 1700000000000 {
		t.Errorf("record %s %s time %d", rec.Topic, rec.Payload, rec.Thing.Time)
	}
	r = runEnos(t, runOpts{env: env}, "event", "--format", "json", "overheat", "--json", `{"level":1}`)
	wantCode(t, r, 0)
	if r.stdout != `{"code":200}`+"\n" {
		t.Errorf("--format json: %s", r)
	}

	// Refusals: a value of the wrong type, an event the model lacks.
	r = runEnos(t, runOpts{env: env}, "event", "overheat", "level=high")
	wantCode(t, r, exitRejected)
	if !strings.Contains(r.stderr, "code 1204: Model validate failed") {
		t.Errorf("refusal: %s", r)
	}
	lastRecord(t, s, 1204)
	r = runEnos(t, runOpts{env: env}, "event", "meltdown", "--format", "json")
	wantCode(t, r, exitRejected)
	if !strings.HasPrefix(r.stdout, `{"code":1204,"message":"Model validate failed`) {
		t.Errorf("refusal with --format json: %s", r)
	}

	n := len(s.Records())
	for _, args := range [][]string{{}, {"9lives"}, {"over.heat"}, {"overheat", "level"}, {"overheat", "--json", "{"}, {"overheat", "--time", "soon"}} {
		r := runEnos(t, runOpts{env: env}, append([]string{"event"}, args...)...)
		wantCode(t, r, exitUsage)
		noSecret(t, r)
	}
	if got := len(s.Records()); got != n {
		t.Errorf("invalid input sent %d messages", got-n)
	}
}

func TestAttributes(t *testing.T) {
	s := startModelSim(t)
	env := devEnv(s)

	r := runEnos(t, runOpts{env: env}, "attributes", "get")
	wantCode(t, r, 0)
	if r.stdout != "" {
		t.Errorf("get with nothing stored: %s", r)
	}
	r = runEnos(t, runOpts{env: env}, "attributes", "set", "name=pump 1", "rated=230.5")
	wantCode(t, r, 0)
	noSecret(t, r)
	if r.stdout != "ok\n" {
		t.Errorf("set: %s", r)
	}
	rec := lastRecord(t, s, 200)
	if method, p := thingParams(t, rec); method != "thing.attribute.update" || string(p["attributes"]) != `{"name":"pump 1","rated":230.5}` {
		t.Errorf("set sent %s", rec.Payload)
	}
	r = runEnos(t, runOpts{env: env}, "attributes", "get")
	wantCode(t, r, 0)
	if r.stdout != "name=\"pump 1\"\nrated=230.5\n" {
		t.Errorf("get: %s", r)
	}
	r = runEnos(t, runOpts{env: env}, "attributes", "get", "rated", "--format", "json")
	wantCode(t, r, 0)
	if r.stdout != `{"rated":230.5}`+"\n" {
		t.Errorf("get --format json: %s", r)
	}
	if method, p := thingParams(t, lastRecord(t, s, 200)); method != "thing.attribute.query" || string(p["attributes"]) != `["rated"]` {
		t.Errorf("get sent %s", lastRecord(t, s, 200).Payload)
	}
	r = runEnos(t, runOpts{env: env}, "attributes", "set", "--json", `{"rated": 240}`, "--format", "json")
	wantCode(t, r, 0)
	if r.stdout != "{}\n" {
		t.Errorf("set --format json: %s", r)
	}

	// Refusals: a name the model lacks, a value of the wrong type.
	r = runEnos(t, runOpts{env: env}, "attributes", "get", "colour")
	wantCode(t, r, exitRejected)
	if r.stdout != "" || !strings.Contains(r.stderr, "code 1204: Model validate failed") {
		t.Errorf("get refusal: %s", r)
	}
	r = runEnos(t, runOpts{env: env}, "attributes", "set", "rated=high", "--format", "json")
	wantCode(t, r, exitRejected)
	if !strings.HasPrefix(r.stdout, `{"code":1204,"message":"Model validate failed`) {
		t.Errorf("set refusal with --format json: %s", r)
	}
	r = runEnos(t, runOpts{env: env}, "attributes", "get", "rated")
	if r.stdout != "rated=240\n" {
		t.Errorf("a refused update changed the attribute: %s", r)
	}

	n := len(s.Records())
	for _, args := range [][]string{{}, {"list"}, {"get", "1x"}, {"get", "--json", "{}"}, {"set"}, {"set", "rated"},
		{"set", "--json", "[]"}, {"get", "--format", "yaml"}} {
		r := runEnos(t, runOpts{env: env}, append([]string{"attributes"}, args...)...)
		wantCode(t, r, exitUsage)
		noSecret(t, r)
	}
	if got := len(s.Records()); got != n {
		t.Errorf("invalid input sent %d messages", got-n)
	}
}

// thingLog reads the thing-model records of the simulator's log.
func thingLog(t *testing.T, logFile string) []sim.Record {
	t.Helper()
	b, err := os.ReadFile(logFile)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var got []sim.Record
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var rec sim.Record
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		got = append(got, rec)
	}
	return got
}

// TestThingPostQueued: with --state-dir, measure points and events posted
// while EnOS is out of reach are queued (exit 0, "queued"); the next run
// delivers them in order with their sample times, then its own post. A
// queued post EnOS then refuses is dropped with a warning, not retried.
func TestThingPostQueued(t *testing.T) {
	addr := freeUDPAddr(t)
	logFile := filepath.Join(t.TempDir(), "records.jsonl")
	env := []string{
		"ENOS_SERVER=" + addr, "ENOS_PRODUCT_KEY=" + testPK, "ENOS_DEVICE_KEY=" + testDK, "ENOS_DEVICE_SECRET=" + testSecret,
		"ENOS_ACK_TIMEOUT=50ms", "ENOS_MAX_RETRANSMIT=1", "ENOS_STATE_DIR=" + t.TempDir(),
	}
	r := runEnos(t, runOpts{env: env}, "measurepoints", "temp=1.5", "--time", "1700000000001")
	wantCode(t, r, 0)
	noSecret(t, r)
	if !strings.HasPrefix(r.stdout, "queued thing.measurepoint.post (not delivered now: ") {
		t.Fatalf("measurepoints during the outage: %s", r)
	}
	r = runEnos(t, runOpts{env: env}, "measurepoints", "temp=hot", "--time", "1700000000002", "--format", "json")
	wantCode(t, r, 0)
	var q struct {
		Queued bool   `json:"queued"`
		Cause  string `json:"cause"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &q); err != nil || !q.Queued || q.Cause == "" {
		t.Fatalf("--format json during the outage (%v): %s", err, r)
	}
	r = runEnos(t, runOpts{env: env}, "event", "overheat", "level=2", "--time", "1700000000003")
	wantCode(t, r, 0)
	if !strings.HasPrefix(r.stdout, "queued thing.event.overheat.post") {
		t.Fatalf("event during the outage: %s", r)
	}
	// Attribute requests need an answer now: never queued.
	r = runEnos(t, runOpts{env: env}, "attributes", "get")
	if r.code != exitNetwork && r.code != exitTimeout {
		t.Fatalf("attributes get during the outage: %s", r)
	}

	startSimProcess(t, addr, logFile, "--model", testModelFile)
	r = runEnos(t, runOpts{env: env}, "measurepoints", "-v", "temp=4", "--time", "1700000000004")
	wantCode(t, r, 0)
	noSecret(t, r)
	if r.stdout != "ok\n" || !strings.Contains(r.stderr, "EnOS refused 1 queued reports for good") {
		t.Fatalf("measurepoints after the outage: %s", r)
	}
	want := []struct {
		method string
		time   int64
		code   int
	}{
		{"thing.measurepoint.post", 1700000000001, 200}, {"thing.measurepoint.post", 0, 1204},
		{"thing.event.overheat.post", 1700000000003, 200}, {"thing.measurepoint.post", 1700000000004, 200},
	}
	var recs []sim.Record
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if recs = thingLog(t, logFile); len(recs) >= len(want) {
			break
		}
	}
	if len(recs) != len(want) {
		t.Fatalf("simulator log has %d records, want %d: %+v", len(recs), len(want), recs)
	}
	for i, w := range want {
		th := recs[i].Thing
		if th == nil || th.Method != w.method || th.Time != w.time || th.Code != w.code {
			t.Errorf("record %d: %+v, want %+v", i, th, w)
		}
	}
}
