// SPDX-License-Identifier: Apache-2.0

package sim

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/libenos/libenos/core/sign"
	"github.com/libenos/libenos/internal/testutil"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

func TestAuth(t *testing.T) {
	s := startSim(t, Config{})
	c := newRawClient(t, s.Addr())

	tok1 := c.login(vec)
	tok2 := c.login(vec)
	if tok1 == tok2 {
		t.Fatalf("re-authentication returned the same token")
	}
	if n := s.AuthCount(vec.ProductKey, vec.DeviceKey); n != 2 {
		t.Fatalf("AuthCount = %d, want 2", n)
	}
	// The first session ended with the second authentication.
	wantCode(t, c.report(vec, tok1, 1, []byte("x")), codes.Unauthorized, "old token")
	wantCode(t, c.report(vec, tok2, 1, []byte("x")), codes.Changed, "new token")

	path := "/auth/" + vec.ProductKey + "/" + vec.DeviceKey
	good, _ := sign.AuthSign(vec.ProductKey, vec.DeviceKey, vec.Secret, 3600)
	wrong, _ := sign.AuthSign(vec.ProductKey, vec.DeviceKey, "other", 3600)
	cases := []struct {
		name    string
		path    string
		code    codes.Code
		payload string
		want    codes.Code
	}{
		{"wrong sign", path, codes.POST, `{"secureMode":2,"lifetime":3600,"sign":"` + wrong + `"}`, codes.Unauthorized},
		{"sign for another lifetime", path, codes.POST, `{"secureMode":2,"lifetime":86400,"sign":"` + good + `"}`, codes.Unauthorized},
		{"lower-case sign", path, codes.POST, `{"secureMode":2,"lifetime":3600,"sign":"` + strings.ToLower(good) + `"}`, codes.Unauthorized},
		{"unknown device", "/auth/nope/nope", codes.POST, `{"secureMode":2,"lifetime":3600,"sign":"` + good + `"}`, codes.Unauthorized},
		{"not json", path, codes.POST, `secureMode=2`, codes.BadRequest},
		{"empty", path, codes.POST, ``, codes.BadRequest},
		{"secureMode 3", path, codes.POST, `{"secureMode":3,"lifetime":3600,"sign":"` + good + `"}`, codes.BadRequest},
		{"secureMode string", path, codes.POST, `{"secureMode":"2","lifetime":3600,"sign":"` + good + `"}`, codes.BadRequest},
		{"lifetime 29", path, codes.POST, `{"secureMode":2,"lifetime":29,"sign":"` + good + `"}`, codes.BadRequest},
		{"lifetime 86401", path, codes.POST, `{"secureMode":2,"lifetime":86401,"sign":"` + good + `"}`, codes.BadRequest},
		{"lifetime fractional", path, codes.POST, `{"secureMode":2,"lifetime":3600.5,"sign":"` + good + `"}`, codes.BadRequest},
		{"lifetime string", path, codes.POST, `{"secureMode":2,"lifetime":"3600","sign":"` + good + `"}`, codes.BadRequest},
		{"no sign", path, codes.POST, `{"secureMode":2,"lifetime":3600}`, codes.BadRequest},
		{"sign not a string", path, codes.POST, `{"secureMode":2,"lifetime":3600,"sign":42}`, codes.BadRequest},
		{"GET", path, codes.GET, ``, codes.MethodNotAllowed},
		{"short path", "/auth/" + vec.ProductKey, codes.POST, `{}`, codes.NotFound},
		{"unknown root", "/other", codes.POST, `{}`, codes.NotFound},
	}
	for _, tc := range cases {
		m := c.do(tc.code, tc.path, nil, []byte(tc.payload))
		wantCode(t, m, tc.want, tc.name)
	}
	// Failed attempts do not end the current session.
	wantCode(t, c.report(vec, tok2, 2, []byte("y")), codes.Changed, "after failed auths")
	st := s.Stats()
	if st.Auths != 2 || st.AuthFailures != len(cases)-1 || st.Reports != 2 || st.Rejections != len(cases)+1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestReportAndSign(t *testing.T) {
	log := &testutil.SyncBuffer{}
	s := startSim(t, Config{Log: log})
	c := newRawClient(t, s.Addr())
	tok := c.login(vec)

	wantCode(t, c.report(vec, tok, 1, []byte{0x01, 0x02}), codes.Changed, "seq 1")
	wantCode(t, c.report(vec, tok, 1, []byte("replay")), codes.Unauthorized, "replayed seq 1 (new MID)")
	wantCode(t, c.report(vec, tok, 5, []byte("jump")), codes.Changed, "seq 5")
	wantCode(t, c.report(vec, tok, 4, []byte("lower")), codes.Unauthorized, "seq 4 after 5")
	wantCode(t, c.do(codes.POST, upRaw(vec), nil, []byte("unsigned")), codes.Unauthorized, "no 2101")
	wantCode(t, c.do(codes.POST, upRaw(vec), []opt{{OptionSign, []byte("ZZZZ")}}, nil), codes.Unauthorized, "garbage 2101")
	wantCode(t, c.do(codes.POST, upRaw(vec), signOpt(t, vec, nil, "not-the-token", 6), nil), codes.Unauthorized, "wrong token")
	wantCode(t, c.do(codes.POST, upRaw(vec), signOpt(t, vec, make([]byte, 16), tok, 6), nil), codes.Unauthorized, "zero IV")
	wantCode(t, c.do(codes.POST, upRaw(vec), signOpt(t, dev2, nil, tok, 6), nil), codes.Unauthorized, "other device's key")
	// A device's token does not open another device's topics.
	wantCode(t, c.do(codes.POST, upRaw(dev2), signOpt(t, vec, nil, tok, 6), nil), codes.Unauthorized, "other device's topic")
	wantCode(t, c.do(codes.PUT, upRaw(vec), signOpt(t, vec, nil, tok, 6), nil), codes.MethodNotAllowed, "PUT")
	// Other topics share the sequence counter.
	evt := "/topic/sys/" + vec.ProductKey + "/" + vec.DeviceKey + "/thing/event/alarm/post"
	wantCode(t, c.do(codes.POST, evt, signOpt(t, vec, nil, tok, 6), []byte(`{"id":"1"}`)), codes.Changed, "event seq 6")
	wantCode(t, c.report(vec, tok, sign.MaxSequence, nil), codes.Changed, "max sequence")

	recs := s.Records()
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4: %+v", len(recs), recs)
	}
	r := recs[0]
	if r.ProductKey != vec.ProductKey || r.DeviceKey != vec.DeviceKey || r.Topic != "/sys/MuGsF6W4/15bBZlRknc/thing/model/up_raw" ||
		r.Sequence != 1 || !bytes.Equal(r.Payload, []byte{1, 2}) || time.Since(r.Time) > time.Minute {
		t.Fatalf("record 0 = %+v", r)
	}
	if recs[1].Sequence != 5 || recs[2].Topic != "/sys/MuGsF6W4/15bBZlRknc/thing/event/alarm/post" || recs[3].Sequence != sign.MaxSequence {
		t.Fatalf("records %+v", recs)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("log has %d lines: %q", len(lines), log.String())
	}
	var lr Record
	if err := json.Unmarshal([]byte(lines[0]), &lr); err != nil || lr.Sequence != 1 || !bytes.Equal(lr.Payload, []byte{1, 2}) {
		t.Fatalf("log line %q: %v", lines[0], err)
	}
	if !strings.Contains(lines[0], `"payload":"AQI="`) {
		t.Fatalf("payload is not base64 in %q", lines[0])
	}
	if strings.Contains(log.String(), tok) || strings.Contains(log.String(), vec.Secret) {
		t.Fatalf("log leaks the token or the secret")
	}
	if st := s.Stats(); st.Reports != 4 || st.Rejections != 9 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSignIV(t *testing.T) {
	iv := make([]byte, 16)
	s := startSim(t, Config{SignIV: iv})
	c := newRawClient(t, s.Addr())
	tok := c.login(vec)
	wantCode(t, c.report(vec, tok, 1, nil), codes.Unauthorized, "default IV against zero-IV server")
	wantCode(t, c.do(codes.POST, upRaw(vec), signOpt(t, vec, iv, tok, 1), nil), codes.Changed, "zero IV")
	if _, err := Start(Config{SignIV: []byte("short")}); err == nil {
		t.Fatal("Start accepted a 5-byte IV")
	}
}

func TestDeduplication(t *testing.T) {
	s := startSim(t, Config{})
	c := newRawClient(t, s.Addr())
	tok := c.login(vec)

	data, mid := c.encode(codes.POST, upRaw(vec), signOpt(t, vec, nil, tok, 1), []byte("once"))
	r1, err := c.exchange(data, mid, time.Second, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := c.exchange(data, mid, time.Second, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r1, r2) {
		t.Fatalf("retransmission got a different response:\n%x\n%x", r1, r2)
	}
	wantCode(t, decode(t, r2), codes.Changed, "retransmission")
	// A burst of retransmissions: every one is answered, identically.
	for i := 0; i < 5; i++ {
		if _, err := c.conn.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 2048)
	for i := 0; i < 5; i++ {
		_ = c.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := c.conn.Read(buf)
		if err != nil {
			t.Fatalf("burst response %d: %v", i, err)
		}
		if !bytes.Equal(buf[:n], r1) {
			t.Fatalf("burst response %d differs", i)
		}
	}
	// A rejected request is deduplicated too: same 4.01, not re-judged.
	bad, bmid := c.encode(codes.POST, upRaw(vec), nil, nil)
	b1, _ := c.exchange(bad, bmid, time.Second, 3*time.Second)
	b2, _ := c.exchange(bad, bmid, time.Second, 3*time.Second)
	if !bytes.Equal(b1, b2) || decode(t, b1).Code != codes.Unauthorized {
		t.Fatalf("rejected retransmission: %x vs %x", b1, b2)
	}
	if n := len(s.Records()); n != 1 {
		t.Fatalf("%d records, want 1", n)
	}
	if st := s.Stats(); st.Duplicates != 7 || st.Reports != 1 || st.Rejections != 1 {
		t.Fatalf("stats %+v", st)
	}
	// The same MID from another endpoint is a different exchange.
	c2 := newRawClient(t, s.Addr())
	data2, _ := c.encode(codes.POST, upRaw(vec), signOpt(t, vec, nil, tok, 1), []byte("replay elsewhere"))
	data2[2], data2[3] = byte(mid>>8), byte(mid)
	r3, err := c2.exchange(data2, mid, time.Second, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, decode(t, r3), codes.Unauthorized, "same MID and sequence from another endpoint")
}

func TestLifetimeExpiry(t *testing.T) {
	s := startSim(t, Config{LifetimeOverride: 300 * time.Millisecond})
	c := newRawClient(t, s.Addr())
	tok := c.login(vec)
	// Sliding: exchanges every 100 ms keep the session alive past 300 ms.
	for seq := uint32(1); seq <= 6; seq++ {
		wantCode(t, c.report(vec, tok, seq, nil), codes.Changed, "within lifetime")
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(400 * time.Millisecond)
	wantCode(t, c.report(vec, tok, 7, nil), codes.Unauthorized, "after lifetime")
	wantCode(t, c.report(vec, tok, 8, nil), codes.Unauthorized, "stays expired")
	tok = c.login(vec)
	wantCode(t, c.report(vec, tok, 1, nil), codes.Changed, "after re-auth, sequence restarts at 1")
	if st := s.Stats(); st.Expirations != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestExpireAfter(t *testing.T) {
	s := startSim(t, Config{ExpireAfter: 2})
	c := newRawClient(t, s.Addr())
	tok := c.login(vec)
	wantCode(t, c.report(vec, tok, 1, nil), codes.Changed, "1st")
	wantCode(t, c.report(vec, tok, 2, nil), codes.Changed, "2nd")
	wantCode(t, c.report(vec, tok, 3, nil), codes.Unauthorized, "3rd")
	tok = c.login(vec)
	wantCode(t, c.report(vec, tok, 1, nil), codes.Changed, "new session")
	if n := len(s.Records()); n != 3 {
		t.Fatalf("%d records", n)
	}
}

func TestSignModeUnknown(t *testing.T) {
	s := startSim(t, Config{SignMode: SignUnknown})
	c := newRawClient(t, s.Addr())
	wantCode(t, c.do(codes.POST, upRaw(vec), nil, []byte("early")), codes.Unauthorized, "before auth")
	m := c.auth(vec)
	wantCode(t, m, codes.Content, "auth")
	if strings.Contains(string(m.Payload), "token") {
		t.Fatalf("auth response carries a token: %q", m.Payload)
	}
	wantCode(t, c.do(codes.POST, upRaw(vec), signOpt(t, vec, nil, "x", 1), nil), codes.BadOption, "2101 present")
	wantCode(t, c.do(codes.POST, upRaw(vec), nil, []byte("a")), codes.Changed, "no 2101")
	wantCode(t, c.do(codes.POST, upRaw(vec), nil, []byte("b")), codes.Changed, "no 2101 again")
	recs := s.Records()
	if len(recs) != 2 || recs[0].Sequence != 0 || string(recs[1].Payload) != "b" {
		t.Fatalf("records %+v", recs)
	}
}

func TestFailRate(t *testing.T) {
	s := startSim(t, Config{FailRate: 1})
	c := newRawClient(t, s.Addr())
	wantCode(t, c.auth(vec), codes.InternalServerError, "auth")
	if st := s.Stats(); st.Failures != 1 || st.Auths != 0 {
		t.Fatalf("stats %+v", st)
	}
	// Seeded and partial: some fail, some pass, state is untouched by failures.
	s2 := startSim(t, Config{FailRate: 0.5, Seed: 7})
	c2 := newRawClient(t, s2.Addr())
	ok, failed := 0, 0
	for i := 0; i < 40; i++ {
		switch c2.auth(vec).Code {
		case codes.Content:
			ok++
		case codes.InternalServerError:
			failed++
		}
	}
	if ok == 0 || failed == 0 || ok+failed != 40 || s2.AuthCount(vec.ProductKey, vec.DeviceKey) != ok {
		t.Fatalf("ok %d failed %d", ok, failed)
	}
}

func TestCommandsInline(t *testing.T) {
	s := startSim(t, Config{})
	c := newRawClient(t, s.Addr())
	tok := c.login(vec)
	if err := s.QueueCommand(vec.ProductKey, vec.DeviceKey, "", []byte("cmd1")); err != nil {
		t.Fatal(err)
	}
	down2 := "/sys/MuGsF6W4/15bBZlRknc/thing/service/reboot"
	if err := s.QueueCommand(vec.ProductKey, vec.DeviceKey, down2, []byte("cmd2")); err != nil {
		t.Fatal(err)
	}
	if err := s.QueueCommand("no", "such", "", nil); err == nil {
		t.Fatal("QueueCommand accepted an unknown device")
	}
	m := c.report(vec, tok, 1, nil)
	wantCode(t, m, codes.Changed, "report")
	topic, ok := optValue(m, OptionCommandTopic)
	payload, ok2 := optValue(m, OptionCommandPayload)
	if !ok || !ok2 || string(topic) != "/topic/sys/MuGsF6W4/15bBZlRknc/thing/model/down_raw" || string(payload) != "cmd1" {
		t.Fatalf("first announcement: %q %q", topic, payload)
	}
	reply := "/topic/sys/MuGsF6W4/15bBZlRknc/thing/model/down_raw_reply"
	m = c.do(codes.POST, reply, signOpt(t, vec, nil, tok, 2), []byte("done1"))
	wantCode(t, m, codes.Changed, "reply")
	topic, _ = optValue(m, OptionCommandTopic)
	payload, _ = optValue(m, OptionCommandPayload)
	if string(topic) != "/topic"+down2 || string(payload) != "cmd2" {
		t.Fatalf("second announcement: %q %q", topic, payload)
	}
	m = c.report(vec, tok, 3, nil)
	if _, ok := optValue(m, OptionCommandTopic); ok {
		t.Fatalf("announcement with an empty queue")
	}
	recs := s.Records()
	if len(recs) != 3 || recs[1].Topic != "/sys/MuGsF6W4/15bBZlRknc/thing/model/down_raw_reply" || string(recs[1].Payload) != "done1" {
		t.Fatalf("records %+v", recs)
	}
	if st := s.Stats(); st.CommandsQueued != 2 || st.CommandsDelivered != 2 {
		t.Fatalf("stats %+v", st)
	}
	// Queued before authentication: announced in the auth response.
	if err := s.QueueCommand(vec.ProductKey, vec.DeviceKey, "", []byte("cmd3")); err != nil {
		t.Fatal(err)
	}
	m = c.auth(vec)
	if p, _ := optValue(m, OptionCommandPayload); string(p) != "cmd3" {
		t.Fatalf("auth response did not carry the command: %+v", m.Options)
	}
}

func TestCommandsGet(t *testing.T) {
	s := startSim(t, Config{CommandStyle: CommandGet})
	c := newRawClient(t, s.Addr())
	tok := c.login(vec)
	down := "/topic/sys/MuGsF6W4/15bBZlRknc/thing/model/down_raw"
	for _, p := range []string{"A", "B"} {
		if err := s.QueueCommand(vec.ProductKey, vec.DeviceKey, down, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	m := c.report(vec, tok, 1, nil)
	topic, ok := optValue(m, OptionCommandTopic)
	if !ok || string(topic) != down {
		t.Fatalf("announcement %q", topic)
	}
	if _, ok := optValue(m, OptionCommandPayload); ok {
		t.Fatal("get style carried 2102")
	}
	wantCode(t, c.do(codes.GET, down, nil, nil), codes.Unauthorized, "unsigned GET")
	m = c.do(codes.GET, down, signOpt(t, vec, nil, tok, 2), nil)
	wantCode(t, m, codes.Content, "fetch A")
	if string(m.Payload) != "A" {
		t.Fatalf("fetched %q", m.Payload)
	}
	if topic, _ := optValue(m, OptionCommandTopic); string(topic) != down {
		t.Fatalf("fetch response does not announce the next command")
	}
	m = c.do(codes.GET, down, signOpt(t, vec, nil, tok, 3), nil)
	if string(m.Payload) != "B" {
		t.Fatalf("fetched %q", m.Payload)
	}
	if _, ok := optValue(m, OptionCommandTopic); ok {
		t.Fatal("announcement after the last command")
	}
	m = c.do(codes.GET, down, signOpt(t, vec, nil, tok, 4), nil)
	wantCode(t, m, codes.Content, "empty fetch")
	if len(m.Payload) != 0 {
		t.Fatalf("empty fetch returned %q", m.Payload)
	}
	if st := s.Stats(); st.Fetches != 3 || st.CommandsDelivered != 2 || st.Reports != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestControlChannel(t *testing.T) {
	s := startSim(t, Config{Control: "127.0.0.1:0"})
	if s.ControlAddr() == "" {
		t.Fatal("no control address")
	}
	if _, err := SendControl(s.ControlAddr(), ControlRequest{Op: "command", ProductKey: vec.ProductKey, DeviceKey: vec.DeviceKey, Payload: []byte("ctl")}, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := SendControl(s.ControlAddr(), ControlRequest{Op: "command", ProductKey: "x", DeviceKey: "y"}, 2*time.Second); err == nil || !strings.Contains(err.Error(), "unknown device") {
		t.Fatalf("unknown device: %v", err)
	}
	if _, err := SendControl(s.ControlAddr(), ControlRequest{Op: "bogus"}, 2*time.Second); err == nil {
		t.Fatal("bogus op accepted")
	}
	c := newRawClient(t, s.Addr())
	m := c.auth(vec)
	if p, _ := optValue(m, OptionCommandPayload); string(p) != "ctl" {
		t.Fatalf("command from the control channel not announced: %+v", m.Options)
	}
	resp, err := SendControl(s.ControlAddr(), ControlRequest{Op: "stats"}, 2*time.Second)
	if err != nil || resp.Stats == nil || resp.Stats.Auths != 1 || resp.Stats.CommandsDelivered != 1 {
		t.Fatalf("stats %+v %v", resp, err)
	}
	var body struct{ Token string }
	if err := json.Unmarshal(m.Payload, &body); err != nil || body.Token == "" {
		t.Fatalf("auth payload %q: no token", m.Payload)
	}
	wantCode(t, c.report(vec, body.Token, 1, []byte("x")), codes.Changed, "report before end-session")
	if _, err := SendControl(s.ControlAddr(), ControlRequest{Op: "end-session", ProductKey: vec.ProductKey, DeviceKey: vec.DeviceKey}, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	wantCode(t, c.report(vec, body.Token, 2, []byte("x")), codes.Unauthorized, "report with the token of an ended session")
	if _, err := Start(Config{Control: "0.0.0.0:0"}); err == nil {
		t.Fatal("a non-loopback control address was accepted")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{SignMode: "sometimes"},
		{CommandStyle: "push"},
		{DropRequests: 1.5},
		{FailRate: -0.1},
		{Delay: -time.Second},
		{Devices: []Device{{ProductKey: "a", DeviceKey: "b"}}},
		{Devices: []Device{vec, vec}},
		{Listen: "256.0.0.1:1"},
	} {
		if s, err := Start(cfg); err == nil {
			_ = s.Close()
			t.Errorf("Start(%+v) succeeded", cfg)
		}
	}
}

func TestReadDevices(t *testing.T) {
	ds, err := ReadDevices(strings.NewReader("# comment\npk:dk:se:cret\n\n pk:dk2:s \n"))
	if err != nil || len(ds) != 2 || ds[0].Secret != "se:cret" || ds[1].DeviceKey != "dk2" {
		t.Fatalf("%+v %v", ds, err)
	}
	ds, err = ReadDevices(strings.NewReader(`[{"productKey":"p","deviceKey":"d","secret":"s"}]`))
	if err != nil || len(ds) != 1 || ds[0] != (Device{"p", "d", "s"}) {
		t.Fatalf("%+v %v", ds, err)
	}
	if _, err := ReadDevices(strings.NewReader("pk:dk\n")); err == nil {
		t.Fatal("accepted a line without secret")
	}
	_, err = ParseDevice("pk:dk:")
	if err == nil {
		t.Fatal("accepted an empty secret")
	}
	if _, err := ReadDevices(strings.NewReader(`[{"productKey":"p"}]`)); err == nil {
		t.Fatal("accepted a JSON device without keys")
	}
}

func TestNoRecordsStillLogs(t *testing.T) {
	var log testutil.SyncBuffer
	s := startSim(t, Config{NoRecords: true, Log: &log})
	c := newRawClient(t, s.Addr())
	tok := c.login(vec)
	data, mid := c.encode(codes.POST, upRaw(vec), signOpt(t, vec, nil, tok, 1), []byte("kept on disk"))
	r, err := c.exchange(data, mid, time.Second, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, decode(t, r), codes.Changed, "report")
	if n := len(s.Records()); n != 0 || s.Stats().Reports != 1 {
		t.Fatalf("%d records kept, stats %+v", n, s.Stats())
	}
	if !strings.Contains(log.String(), `"sequence":1`) {
		t.Fatalf("log %q", log.String())
	}
}
