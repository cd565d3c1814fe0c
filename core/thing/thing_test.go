// SPDX-License-Identifier: Apache-2.0

package thing

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestCheckIdentifier(t *testing.T) {
	good := []string{"temp", "Power", "_x", "a1", "A_b_9", strings.Repeat("a", MaxIdentifier)}
	for _, s := range good {
		if err := CheckIdentifier("name", s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	bad := []string{"", "1temp", "te mp", "temp.x", "temp/x", "é", "a-b", "a\x00", strings.Repeat("a", MaxIdentifier+1)}
	for _, s := range bad {
		if err := CheckIdentifier("name", s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestCheckMethod(t *testing.T) {
	for _, m := range []string{"thing.measurepoint.post", "thing.event.overheat.post", "thing.attribute.query", "thing.x"} {
		if err := CheckMethod(m); err != nil {
			t.Errorf("%q: %v", m, err)
		}
	}
	for _, m := range []string{"", "thing", "thing.", "thing..post", "thing.a.", "other.a.b", "thing.a/b", "thing.a b", ".thing.a", "thing.1a"} {
		if err := CheckMethod(m); err == nil {
			t.Errorf("%q accepted", m)
		}
	}
	if got := TopicSuffix("thing.event.x.post"); got != "thing/event/x/post" {
		t.Errorf("TopicSuffix = %q", got)
	}
}

// decode parses an envelope the way EnOS would, with encoding/json.
func decode(t *testing.T, b []byte) (env struct {
	ID      string          `json:"id"`
	Version string          `json:"version"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}) {
	t.Helper()
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return env
}

func TestMeasurepointsEnvelope(t *testing.T) {
	b, err := Measurepoints("7", []byte(` {"temp": 21.5, "Power": {"value": 1.0, "quality": 9}} `), 1700000000123)
	if err != nil {
		t.Fatal(err)
	}
	env := decode(t, b)
	if env.ID != "7" || env.Version != "1.0" || env.Method != "thing.measurepoint.post" {
		t.Fatalf("envelope %s", b)
	}
	var p struct {
		Measurepoints map[string]json.RawMessage `json:"measurepoints"`
		Time          int64                      `json:"time"`
	}
	if err := json.Unmarshal(env.Params, &p); err != nil {
		t.Fatal(err)
	}
	if p.Time != 1700000000123 || string(p.Measurepoints["temp"]) != "21.5" || string(p.Measurepoints["Power"]) != `{"value":1.0,"quality":9}` {
		t.Fatalf("params %s", env.Params)
	}
}

func TestMeasurepointsRefusesBadInput(t *testing.T) {
	cases := map[string]string{
		"not JSON":         `{"temp":`,
		"array":            `[1]`,
		"number":           `21.5`,
		"two values":       `{"a":1} {"b":2}`,
		"empty":            ``,
		"empty object":     `{}`,
		"bad name":         `{"1temp":1}`,
		"name with dot":    `{"a.b":1}`,
		"trailing garbage": `{"a":1}x`,
	}
	for name, in := range cases {
		if b, err := Measurepoints("1", []byte(in), 1); err == nil {
			t.Errorf("%s: accepted as %s", name, b)
		}
	}
	if _, err := Measurepoints("1", []byte(`{"a":1}`), 0); err == nil {
		t.Error("time 0 accepted")
	}
}

func TestEventEnvelope(t *testing.T) {
	b, err := Event("3", "overheat", []byte(`{"level":2}`), 5)
	if err != nil {
		t.Fatal(err)
	}
	env := decode(t, b)
	if env.Method != "thing.event.overheat.post" || string(env.Params) != `{"events":{"level":2},"time":5}` {
		t.Fatalf("%s", b)
	}
	if b, err := Event("4", "doorOpened", []byte(`{}`), 6); err != nil || !strings.Contains(string(b), `"params":{"events":{},"time":6}`) {
		t.Errorf("event without parameters: %s %v", b, err)
	}
	if _, err := Event("4", "x", []byte(`{"1a":1}`), 6); err == nil {
		t.Error("bad parameter name accepted")
	}
	for _, id := range []string{"", "over heat", "a.b", "x/y"} {
		if _, err := Event("3", id, []byte(`{"level":2}`), 5); err == nil {
			t.Errorf("event id %q accepted", id)
		}
	}
}

func TestRequestEnvelope(t *testing.T) {
	b, err := Request("9", "thing.attribute.query", []byte(`{"attributes":["name"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != `{"id":"9","version":"1.0","method":"thing.attribute.query","params":{"attributes":["name"]}}` {
		t.Fatalf("%s", got)
	}
	if _, err := Request("9", "thing.attribute.query", []byte(`["name"]`)); err == nil {
		t.Error("array params accepted")
	}
	if _, err := Request("9", "thing.attri bute", []byte(`{}`)); err == nil {
		t.Error("bad method accepted")
	}
}

func TestParseReply(t *testing.T) {
	r, err := ParseReply([]byte(`{"id":"5","code":200,"data":{"name": "pump"}}`), "5")
	if err != nil || !r.OK() || string(r.Data) != `{"name":"pump"}` {
		t.Fatalf("%+v %v", r, err)
	}
	r, err = ParseReply([]byte(`{"id":"5","code":200}`), "5")
	if err != nil || string(r.Data) != "{}" {
		t.Fatalf("absent data: %+v %v", r, err)
	}
	r, err = ParseReply([]byte(`{"id":"5","code":1204,"message":"Model validate failed","data":null}`), "5")
	if err != nil || r.OK() || r.Code != 1204 || r.Message != "Model validate failed" {
		t.Fatalf("%+v %v", r, err)
	}
	r, err = ParseReply([]byte(`{"id":5,"code":200}`), "5")
	if err != nil || !r.OK() {
		t.Fatalf("numeric id: %+v %v", r, err)
	}
}

func TestParseReplyMalformed(t *testing.T) {
	for _, in := range []string{``, `garbage`, `[]`, `{"id":"5"}`, `{"id":"5","code":"200"}`, `{"id":"5","code":200.5}`,
		`{"id":"6","code":200}`, `{"id":"5","Code":200}`, `{"id":"5","code":200} x`, `{"id":"5","code":200,"data":`} {
		if r, err := ParseReply([]byte(in), "5"); err == nil || !errors.Is(err, ErrMalformedReply) {
			t.Errorf("%q: %+v %v", in, r, err)
		}
	}
}

func TestCommandReply(t *testing.T) {
	cmd := []byte(`{"id":"42","version":"1.0","method":"thing.service.measurepoint.set","params":{"measurepoints":{"x":1}}}`)
	b, err := CommandReply(cmd, 200, nil)
	if err != nil || string(b) != `{"id":"42","code":200,"data":{}}` {
		t.Fatalf("%s %v", b, err)
	}
	b, err = CommandReply([]byte(`{"id":17}`), 1204, []byte(` {"why": "range"} `))
	if err != nil || string(b) != `{"id":17,"code":1204,"data":{"why":"range"}}` {
		t.Fatalf("%s %v", b, err)
	}
	for _, c := range []string{``, `raw bytes`, `{"ID":"1"}`, `{"method":"x"}`, `{"id":null}`, `{"id":{}}`, `[1]`} {
		if _, err := CommandReply([]byte(c), 200, nil); err == nil {
			t.Errorf("command %q accepted", c)
		}
	}
	if _, err := CommandReply(cmd, 200, []byte(`[1]`)); err == nil {
		t.Error("array data accepted")
	}
}
