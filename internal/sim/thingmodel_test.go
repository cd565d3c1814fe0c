// SPDX-License-Identifier: Apache-2.0

package sim

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message/codes"
)

const testModel = `{
  "MuGsF6W4": {
    "measurepoints": {"temp": "float", "state": "int", "label": "string", "on": "bool"},
    "events": {"overheat": {"level": "int"}},
    "attributes": {"name": "string", "rated": "double"}
  }
}`

type thingReply struct {
	ID      string          `json:"id"`
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// thingClient posts thing-model requests for vec with a fresh sequence each.
type thingClient struct {
	c   *rawClient
	tok string
	seq uint32
}

func (tc *thingClient) post(t *testing.T, suffix, body string) thingReply {
	t.Helper()
	tc.seq++
	m := tc.c.do(codes.POST, "/topic/sys/"+vec.ProductKey+"/"+vec.DeviceKey+"/"+suffix, signOpt(t, vec, nil, tc.tok, tc.seq), []byte(body))
	wantCode(t, m, codes.Changed, suffix)
	var r thingReply
	if err := json.Unmarshal(m.Payload, &r); err != nil {
		t.Fatalf("%s: reply %q: %v", suffix, m.Payload, err)
	}
	return r
}

func newThingSim(t *testing.T, model string) (*Server, *thingClient) {
	t.Helper()
	var m Model
	if model != "" {
		var err error
		if m, err = ReadModel(strings.NewReader(model)); err != nil {
			t.Fatal(err)
		}
	}
	s := startSim(t, Config{Model: m})
	c := newRawClient(t, s.Addr())
	return s, &thingClient{c: c, tok: c.login(vec)}
}

func env(id, method, params string) string {
	return `{"id":"` + id + `","version":"1.0","method":"` + method + `","params":` + params + `}`
}

func TestThingModelChecks(t *testing.T) {
	s, tc := newThingSim(t, testModel)
	mp := "thing/measurepoint/post"
	cases := []struct {
		suffix, body string
		code         int
	}{
		{mp, env("1", "thing.measurepoint.post", `{"measurepoints":{"temp":21.5,"state":{"value":2,"quality":9}},"time":1700000000000}`), 200},
		{mp, env("2", "thing.measurepoint.post", `{"measurepoints":{"temp":"hot"}}`), 1204},
		{mp, env("3", "thing.measurepoint.post", `{"measurepoints":{"state":2.5}}`), 1204},
		{mp, env("4", "thing.measurepoint.post", `{"measurepoints":{"nosuch":1}}`), 1204},
		{mp, env("5", "thing.measurepoint.post", `{"measurepoints":{"on":true,"label":"x"}}`), 200},
		{mp, env("6", "thing.event.overheat.post", `{"measurepoints":{"temp":1}}`), 1260},
		{mp, `{"id":"7","version":"2.0","method":"thing.measurepoint.post","params":{}}`, 1220},
		{mp, `garbage`, 1220},
		{mp, ``, 1251},
		{mp, env("8", "thing.measurepoint.post", `[1]`), 1220},
		{mp, env("9", "thing.measurepoint.post", `{"measurepoints":{"temp":1},"time":"now"}`), 1220},
		{"thing/event/overheat/post", env("10", "thing.event.overheat.post", `{"events":{"level":3},"time":5}`), 200},
		{"thing/event/overheat/post", env("11", "thing.event.overheat.post", `{"events":{"level":"high"}}`), 1204},
		{"thing/event/other/post", env("12", "thing.event.other.post", `{"events":{}}`), 1204},
		{"thing/measurepoint/nosuch", env("13", "thing.measurepoint.nosuch", `{}`), 1009},
	}
	for _, c := range cases {
		r := tc.post(t, c.suffix, c.body)
		if r.Code != c.code {
			t.Errorf("%s %s: code %d (%s), want %d", c.suffix, c.body, r.Code, r.Message, c.code)
		}
		if c.code != 200 && r.Message == "" {
			t.Errorf("%s: code %d without a message", c.body, r.Code)
		}
	}
	recs := s.Records()
	if len(recs) != len(cases) {
		t.Fatalf("%d records", len(recs))
	}
	if th := recs[0].Thing; th == nil || th.Code != 200 || th.Time != 1700000000000 || th.ID != "1" || th.Method != "thing.measurepoint.post" {
		t.Errorf("record 0: %+v", th)
	}
	if th := recs[4].Thing; th == nil || th.Time < 1700000000000 {
		t.Errorf("a post without time gets the arrival time: %+v", th)
	}
	// Other topics are not judged: raw reports, command replies.
	tc.seq++
	m := tc.c.report(vec, tc.tok, tc.seq, []byte("raw"))
	if m.Code != codes.Changed || len(m.Payload) != 0 {
		t.Errorf("up_raw: %v %q", m.Code, m.Payload)
	}
	if s.Records()[len(cases)].Thing != nil {
		t.Error("up_raw got a thing verdict")
	}
}

func TestThingAttributesStoredAndQueried(t *testing.T) {
	_, tc := newThingSim(t, testModel)
	if r := tc.post(t, "thing/attribute/update", env("1", "thing.attribute.update", `{"attributes":{"name":"pump 1","rated":7.5}}`)); r.Code != 200 {
		t.Fatalf("%+v", r)
	}
	if r := tc.post(t, "thing/attribute/update", env("2", "thing.attribute.update", `{"attributes":{"rated":"x"}}`)); r.Code != 1204 {
		t.Fatalf("bad type: %+v", r)
	}
	r := tc.post(t, "thing/attribute/query", env("3", "thing.attribute.query", `{"attributes":["name"]}`))
	if r.Code != 200 || r.ID != "3" || string(r.Data) != `{"name":"pump 1"}` {
		t.Fatalf("query: %+v %s", r, r.Data)
	}
	r = tc.post(t, "thing/attribute/query", env("4", "thing.attribute.query", `{"attributes":[]}`))
	if string(r.Data) != `{"name":"pump 1","rated":7.5}` {
		t.Fatalf("query all: %s", r.Data)
	}
	tc.post(t, "thing/attribute/delete", env("5", "thing.attribute.delete", `{"attributes":["name"]}`))
	r = tc.post(t, "thing/attribute/query", env("6", "thing.attribute.query", `{"attributes":[]}`))
	if string(r.Data) != `{"rated":7.5}` {
		t.Fatalf("after delete: %s", r.Data)
	}
}

func TestThingWithoutModelAcceptsAnyIdentifier(t *testing.T) {
	_, tc := newThingSim(t, "")
	if r := tc.post(t, "thing/measurepoint/post", env("1", "thing.measurepoint.post", `{"measurepoints":{"anything":"goes"}}`)); r.Code != 200 {
		t.Fatalf("%+v", r)
	}
	if r := tc.post(t, "thing/measurepoint/post", env("2", "thing.measurepoint.post", `{"measurepoints":{"9lives":1}}`)); r.Code != 1204 {
		t.Fatalf("not an identifier: %+v", r)
	}
	if r := tc.post(t, "thing/measurepoint/post", env("3", "thing.attribute.update", `{"measurepoints":{"a":1}}`)); r.Code != 1260 {
		t.Fatalf("method mismatch: %+v", r)
	}
}

func TestAttributeStorageIsBounded(t *testing.T) {
	_, tc := newThingSim(t, "")
	value := strings.Repeat("x", 1000)
	refused := -1
	for i := 0; i < 2*maxAttributeBytes/1000 && refused < 0; i++ {
		body := env(fmt.Sprint(i), "thing.attribute.update", fmt.Sprintf(`{"attributes":{"a%d":"%s"}}`, i, value))
		if r := tc.post(t, "thing/attribute/update", body); r.Code == 1220 {
			refused = i
		} else if r.Code != 200 {
			t.Fatalf("update %d: %+v", i, r)
		}
	}
	if refused < maxAttributeBytes/1010 || refused > maxAttributeBytes/1000+1 {
		t.Fatalf("refused at update %d", refused)
	}
}

func TestReadModelRefusesBadModels(t *testing.T) {
	for _, m := range []string{`[]`, `{"pk":{"measurepoints":{"t":"complex"}}}`, `{"pk":{"measurepoints":{"1t":"int"}}}`,
		`{"pk":{"events":{"e":{"x":"nope"}}}}`, `{"pk":{"unknown":{}}}`, `{"pk":null}`} {
		if _, err := ReadModel(strings.NewReader(m)); err == nil {
			t.Errorf("%s accepted", m)
		}
	}
}
