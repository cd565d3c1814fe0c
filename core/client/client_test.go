// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/libenos/libenos/internal/sim"
)

const (
	tPK     = "MuGsF6W4"
	tDK     = "15bBZlRknc"
	tSecret = "sMgTXBUvDNeWGAJWnDcT"
)

func startSim(t *testing.T, cfg sim.Config) *sim.Server {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Devices == nil {
		cfg.Devices = []sim.Device{{ProductKey: tPK, DeviceKey: tDK, Secret: tSecret}}
	}
	s, err := sim.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newClient(t *testing.T, server string, mod ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{Server: server, ProductKey: tPK, DeviceKey: tDK, DeviceSecret: tSecret,
		AckTimeout: 50 * time.Millisecond, MaxRetransmit: 4}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func wantCode(t *testing.T, err error, code Code) {
	t.Helper()
	if CodeOf(err) != code {
		t.Fatalf("err = %v (code %d), want code %d", err, CodeOf(err), code)
	}
}

// errOf keeps the error of Report's (Outcome, error).
func errOf(_ Outcome, err error) error { return err }

// wantQueued(t)(c.Report(...)) fails unless the report went to the offline
// queue: a success (nil error) with a cause.
func wantQueued(t *testing.T) func(Outcome, error) {
	return func(o Outcome, err error) {
		t.Helper()
		if err != nil || !o.Queued || o.Cause == nil {
			t.Fatalf("Report = %v, %v; want queued with a cause and no error", o, err)
		}
	}
}

// wantDelivered(t)(c.Report(...)) fails unless EnOS acknowledged the report.
func wantDelivered(t *testing.T) func(Outcome, error) {
	return func(o Outcome, err error) {
		t.Helper()
		if err != nil || o.Queued {
			t.Fatalf("Report = %v, %v; want delivered", o, err)
		}
	}
}

func payloads(recs []sim.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, string(r.Payload))
	}
	return out
}

func TestReportAuthenticatesLazilyAndSequences(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr())
	if s.Stats().Auths != 0 {
		t.Fatal("New did I/O")
	}
	for i := 0; i < 5; i++ {
		if _, err := c.Report(context.Background(), []byte(fmt.Sprintf("m%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	recs := s.Records()
	if got := strings.Join(payloads(recs), ","); got != "m0,m1,m2,m3,m4" {
		t.Fatalf("recorded %s", got)
	}
	for i, r := range recs {
		if r.Sequence != uint32(i+1) || r.Topic != "/sys/"+tPK+"/"+tDK+"/thing/model/up_raw" {
			t.Errorf("record %d: seq %d topic %s", i, r.Sequence, r.Topic)
		}
	}
	if n := s.AuthCount(tPK, tDK); n != 1 {
		t.Errorf("%d authentications, want 1", n)
	}
	if st := c.Stats(); st.Sent != 5 || st.Auths != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestPublishAnyTopicReturnsReply(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr())
	topic := "/sys/" + tPK + "/" + tDK + "/thing/measurepoint/post"
	r, err := c.Publish(context.Background(), topic, []byte(`{"id":"1"}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Code != 68 || CodeString(r.Code) != "2.04" {
		t.Errorf("code %d", r.Code)
	}
	if _, err := c.Publish(context.Background(), "/topic"+topic, []byte("2")); err != nil {
		t.Fatal(err)
	}
	recs := s.Records()
	if len(recs) != 2 || recs[0].Topic != topic || recs[1].Topic != topic || recs[1].Sequence != 2 {
		t.Fatalf("records %+v", recs)
	}
	for _, bad := range []string{"", "sys/x", "/sys//x", "/sys/a b", "/sys/a?b", "/sys/a#"} {
		_, err := c.Publish(context.Background(), bad, nil)
		wantCode(t, err, CodeInvalid)
	}
}

func TestWrongSecretIsAuthError(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr(), func(c *Config) { c.DeviceSecret = "Not-The-Secret-42" })
	_, err := c.Report(context.Background(), []byte("x"))
	wantCode(t, err, CodeAuth)
	if strings.Contains(err.Error(), "Not-The-Secret-42") {
		t.Error("the error message echoes the secret")
	}
	wantCode(t, errOf(c.Report(context.Background(), []byte("x"))), CodeAuth)
	if st := s.Stats(); st.AuthFailures != 2 || st.Reports != 0 {
		t.Errorf("sim stats %+v, want exactly one auth attempt per call (no retry loop)", st)
	}
}

func TestReauthenticatesOnForcedExpiry(t *testing.T) {
	s := startSim(t, sim.Config{ExpireAfter: 3})
	c := newClient(t, s.Addr())
	for i := 0; i < 10; i++ {
		if _, err := c.Report(context.Background(), []byte(fmt.Sprint(i))); err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
	}
	if got := len(s.Records()); got != 10 {
		t.Fatalf("%d records", got)
	}
	if n := s.AuthCount(tPK, tDK); n < 4 || c.Stats().Reauths != uint64(n-1) {
		t.Errorf("%d authentications for 10 reports expiring every 3; stats %+v", n, c.Stats())
	}
}

func TestReauthenticatesWhenServerForgetsSession(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr())
	if _, err := c.Report(context.Background(), []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := s.EndSession(tPK, tDK); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Report(context.Background(), []byte("b")); err != nil {
		t.Fatal(err)
	}
	recs := s.Records()
	if len(recs) != 2 || recs[1].Sequence != 1 {
		t.Fatalf("after re-auth the sequence restarts at 1: %+v", recs)
	}
}

func TestLifetimeIdleReauth(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr(), func(c *Config) { c.Lifetime = 30 })
	if _, err := c.Report(context.Background(), []byte("a")); err != nil {
		t.Fatal(err)
	}
	// Pretend the session has been idle for most of its lifetime.
	c.sess.lastSeen = time.Now().Add(-28 * time.Second)
	if _, err := c.Report(context.Background(), []byte("b")); err != nil {
		t.Fatal(err)
	}
	if n := s.AuthCount(tPK, tDK); n != 2 {
		t.Errorf("%d authentications, want 2 (renewed before the lifetime ran out)", n)
	}
}

func TestSequenceRolloverReauthenticates(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr())
	if _, err := c.Report(context.Background(), []byte("a")); err != nil {
		t.Fatal(err)
	}
	c.sess.seq = 2147483646
	if _, err := c.Report(context.Background(), []byte("b")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Report(context.Background(), []byte("c")); err != nil {
		t.Fatal(err)
	}
	recs := s.Records()
	if len(recs) != 3 || recs[1].Sequence != 2147483647 || recs[2].Sequence != 1 {
		t.Fatalf("records %+v", recs)
	}
}

func TestSignModeUnknownFallsBack(t *testing.T) {
	s := startSim(t, sim.Config{SignMode: "unknown"})
	c := newClient(t, s.Addr())
	for i := 0; i < 3; i++ {
		if _, err := c.Report(context.Background(), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	// With SignAlways the server's 4.02 is reported, not worked around.
	c2 := newClient(t, s.Addr(), func(c *Config) { c.SignMode = SignAlways })
	_, err := c2.Report(context.Background(), []byte("x"))
	wantCode(t, err, CodeRejected)
	var e *Error
	if !errors.As(err, &e) || CodeString(e.CoAP) != "4.02" {
		t.Errorf("err = %v", err)
	}
}

func TestSignNeverIsRefusedByStrictServer(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr(), func(c *Config) { c.SignMode = SignNever })
	wantCode(t, errOf(c.Report(context.Background(), []byte("x"))), CodeRejected)
}

func TestCustomIV(t *testing.T) {
	iv := make([]byte, 16)
	s := startSim(t, sim.Config{SignIV: iv})
	good := newClient(t, s.Addr(), func(c *Config) { c.SignIV = iv })
	if _, err := good.Report(context.Background(), []byte("x")); err != nil {
		t.Fatal(err)
	}
	bad := newClient(t, s.Addr())
	wantCode(t, errOf(bad.Report(context.Background(), []byte("x"))), CodeRejected)
}

func TestLossIsRetransmittedAndRecordedOnce(t *testing.T) {
	s := startSim(t, sim.Config{Seed: 7, DropRequests: 0.2, DropResponses: 0.2})
	c := newClient(t, s.Addr(), func(c *Config) { c.AckTimeout = 20 * time.Millisecond; c.MaxRetransmit = 8 })
	const n = 60
	for i := 0; i < n; i++ {
		if _, err := c.Report(context.Background(), []byte(fmt.Sprint(i))); err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
	}
	recs := s.Records()
	if len(recs) != n {
		t.Fatalf("%d records for %d reports", len(recs), n)
	}
	for i, r := range recs {
		if string(r.Payload) != fmt.Sprint(i) {
			t.Fatalf("record %d is %q: out of order or doubled", i, r.Payload)
		}
	}
	if c.Stats().Retransmissions == 0 {
		t.Error("40% loss needed no retransmission")
	}
}

func TestConcurrentCallersKeepSequencesValid(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr())
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 12; i++ {
				if _, err := c.Report(context.Background(), []byte("x")); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := s.Stats(); st.Reports != 96 || st.Rejections != 0 {
		t.Errorf("sim stats %+v", st)
	}
}

func TestUnreachableServer(t *testing.T) {
	pc, _ := net.ListenPacket("udp", "127.0.0.1:0")
	addr := pc.LocalAddr().String()
	pc.Close()
	c := newClient(t, addr)
	wantCode(t, errOf(c.Report(context.Background(), []byte("x"))), CodeNetwork)

	// A black hole: a socket that never answers.
	hole, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer hole.Close()
	c2 := newClient(t, hole.LocalAddr().String(), func(c *Config) { c.AckTimeout = 20 * time.Millisecond; c.MaxRetransmit = 2 })
	start := time.Now()
	wantCode(t, errOf(c2.Report(context.Background(), []byte("x"))), CodeTimeout)
	if el := time.Since(start); el > c2.Window()+100*time.Millisecond {
		t.Errorf("took %v, window %v", el, c2.Window())
	}
}

func TestServerRestartRecovers(t *testing.T) {
	s := startSim(t, sim.Config{})
	addr := s.Addr()
	c := newClient(t, addr)
	if _, err := c.Report(context.Background(), []byte("a")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	wantCode(t, errOf(c.Report(context.Background(), []byte("b"))), CodeNetwork)
	s2, err := sim.Start(sim.Config{Listen: addr, Devices: []sim.Device{{ProductKey: tPK, DeviceKey: tDK, Secret: tSecret}}})
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	defer s2.Close()
	// The new server knows no session: 4.01, re-authentication, success.
	if _, err := c.Report(context.Background(), []byte("c")); err != nil {
		t.Fatal(err)
	}
	if recs := s2.Records(); len(recs) != 1 || string(recs[0].Payload) != "c" {
		t.Fatalf("records %+v", recs)
	}
}

func TestNextSignature(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr())
	_, err := c.NextSignature(context.Background(), 10)
	wantCode(t, err, CodeBuffer)
	sig, err := c.NextSignature(context.Background(), 200)
	if err != nil || sig.Sequence != 1 || len(sig.Value) == 0 {
		t.Fatalf("sig %+v err %v", sig, err)
	}
	_, err = c.NextSignature(context.Background(), 10)
	wantCode(t, err, CodeBuffer)
	sig, _ = c.NextSignature(context.Background(), 200)
	if sig.Sequence != 2 {
		t.Fatalf("a too-small buffer consumed a sequence: %+v", sig)
	}
	// A report afterwards continues the sequence.
	if _, err := c.Report(context.Background(), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if recs := s.Records(); len(recs) != 1 || recs[0].Sequence != 3 {
		t.Fatalf("records %+v", recs)
	}
}

func TestClose(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr())
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	wantCode(t, errOf(c.Report(context.Background(), nil)), CodeClosed)
	_, err := c.NextSignature(context.Background(), 100)
	wantCode(t, err, CodeClosed)
	wantCode(t, c.Authenticate(context.Background()), CodeClosed)
}

func TestConfigValidation(t *testing.T) {
	base := Config{Server: "127.0.0.1", ProductKey: "pk", DeviceKey: "dk", DeviceSecret: "s"}
	c, err := New(base)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Config()
	if got.Server != "127.0.0.1:5683" || got.Lifetime != 3600 || got.AckTimeout != 2*time.Second || got.MaxRetransmit != 4 {
		t.Errorf("defaults %+v", got)
	}
	for server, want := range map[string]string{"[::1]:99": "[::1]:99", "::1": "[::1]:5683", "host.example": "host.example:5683", "h:1": "h:1"} {
		cfg := base
		cfg.Server = server
		c, err := New(cfg)
		if err != nil || c.Config().Server != want {
			t.Errorf("server %q: %v %v", server, c, err)
		}
	}
	noRetry := base
	noRetry.MaxRetransmit = -1
	if c, _ := New(noRetry); c.Config().MaxRetransmit != 0 {
		t.Error("negative max retransmit does not mean none")
	}
	bad := []func(*Config){
		func(c *Config) { c.Server = "" },
		func(c *Config) { c.Server = "h:0" },
		func(c *Config) { c.Server = "h:70000" },
		func(c *Config) { c.Server = "h:x" },
		func(c *Config) { c.Server = "a b" },
		func(c *Config) { c.ProductKey = "" },
		func(c *Config) { c.ProductKey = "a/b" },
		func(c *Config) { c.DeviceKey = ".." },
		func(c *Config) { c.DeviceKey = strings.Repeat("k", 256) },
		func(c *Config) { c.DeviceKey = "a\x00" },
		func(c *Config) { c.DeviceSecret = "" },
		func(c *Config) { c.Lifetime = 29 },
		func(c *Config) { c.Lifetime = 86401 },
		func(c *Config) { c.AckTimeout = -1 },
		func(c *Config) { c.AckTimeout = time.Hour },
		func(c *Config) { c.MaxRetransmit = 11 },
		func(c *Config) { c.SignMode = 3 },
		func(c *Config) { c.SignIV = []byte{1} },
	}
	for i, m := range bad {
		cfg := base
		m(&cfg)
		if _, err := New(cfg); CodeOf(err) != CodeInvalid {
			t.Errorf("case %d: err = %v", i, err)
		}
	}
}

func TestParseToken(t *testing.T) {
	for in, want := range map[string]string{`{"token":"abc"}`: "abc", `{"data":{"token":"x"}}`: "x", `{"token":""}`: "", ``: "", `{}`: ""} {
		tok, ok, err := parseToken([]byte(in))
		if err != nil || tok != want || ok != (want != "") {
			t.Errorf("%q: %q %v %v", in, tok, ok, err)
		}
	}
	for _, in := range []string{"garbage", `{"token":5}`, `[1]`, `{"token":"a"`} {
		if _, _, err := parseToken([]byte(in)); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestLargePayloadsGoBlockwise(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr())
	big := make([]byte, 5000)
	for i := range big {
		big[i] = byte(i)
	}
	if _, err := c.Report(context.Background(), big); err != nil {
		t.Fatal(err)
	}
	if recs := s.Records(); len(recs) != 1 || string(recs[0].Payload) != string(big) {
		t.Fatalf("%d records", len(recs))
	}
	wantCode(t, errOf(c.Report(context.Background(), make([]byte, MaxPayload+1))), CodeInvalid)
	off := newClient(t, s.Addr(), func(c *Config) { c.BlockSize = -1 })
	wantCode(t, errOf(off.Report(context.Background(), big)), CodeInvalid)
	if _, err := off.Report(context.Background(), big[:900]); err != nil {
		t.Fatal(err)
	}
	_, err := New(Config{Server: "h", ProductKey: "p", DeviceKey: "d", DeviceSecret: "s", BlockSize: 100})
	wantCode(t, err, CodeInvalid)
}

// no2101Enos is a raw UDP fake of an EnOS that hands out a token on
// authentication but does not know option 2101 (later EnOS documentation):
// POST /auth/... gets 2.05 {"token":...}, a request carrying option 2101 gets
// 4.02 Bad Option, anything else 2.04. It counts what it saw.
type no2101Enos struct {
	addr                string
	auths, signed, rest atomic.Int32
}

func startNo2101Enos(t *testing.T) *no2101Enos {
	t.Helper()
	e := &no2101Enos{}
	e.addr = startFakeEnos(t, func(m *message.Message, path string, _ net.Addr, resp *message.Message) {
		switch {
		case m.Code == codes.POST && strings.HasPrefix(path, "/auth/"):
			e.auths.Add(1)
			resp.Code = codes.Content
			resp.Payload = []byte(`{"token":"8GjM3fXkD2oQ"}`)
		case m.Options.HasOption(message.OptionID(2101)):
			e.signed.Add(1)
			resp.Code = codes.BadOption
		default:
			e.rest.Add(1)
		}
	})
	return e
}

// TestSignAutoTurnsSigningOffOn402 is the auto-mode fallback itself: EnOS
// gives a token, so the client signs, but EnOS answers the signed request
// 4.02; the client then resends unsigned. After two such requests in a row
// (one 4.02 alone may be forged) it never signs again, not even in a later
// session.
func TestSignAutoTurnsSigningOffOn402(t *testing.T) {
	e := startNo2101Enos(t)
	c := newClient(t, e.addr)
	ctx := context.Background()
	if _, err := c.Report(ctx, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if si, _ := c.Session(ctx); !si.Signing {
		t.Fatalf("session after one 4.02 %+v: one signal turned signing off", si)
	}
	if a, s, r := e.auths.Load(), e.signed.Load(), e.rest.Load(); a != 1 || s != 1 || r != 1 {
		t.Fatalf("server saw %d auths, %d signed, %d unsigned requests; want 1, 1, 1", a, s, r)
	}
	if _, err := c.Report(ctx, []byte("a2")); err != nil {
		t.Fatal(err)
	}
	si, err := c.Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !si.Authenticated || si.Token != "8GjM3fXkD2oQ" || si.Signing {
		t.Fatalf("session after the second 4.02 %+v, want authenticated with the token and not signing", si)
	}
	if a, s, r := e.auths.Load(), e.signed.Load(), e.rest.Load(); a != 1 || s != 2 || r != 2 {
		t.Fatalf("server saw %d auths, %d signed, %d unsigned requests; want 1, 2, 2", a, s, r)
	}
	if _, err := c.Report(ctx, []byte("b")); err != nil {
		t.Fatal(err)
	}
	// A new session (the token still comes) does not sign again.
	if err := c.Authenticate(ctx); err != nil {
		t.Fatal(err)
	}
	if si, _ := c.Session(ctx); !si.Authenticated || si.Signing {
		t.Fatalf("session after re-authentication %+v, want not signing", si)
	}
	for _, p := range []string{"c", "d"} {
		if _, err := c.Report(ctx, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if a, s, r := e.auths.Load(), e.signed.Load(), e.rest.Load(); a != 2 || s != 2 || r != 5 {
		t.Fatalf("server saw %d auths, %d signed, %d unsigned requests; want 2, 2, 5", a, s, r)
	}
	if st := c.Stats(); st.Reauths != 1 {
		t.Errorf("stats %+v, want 1 re-authentication", st)
	}
	// SignAlways reports the 4.02 instead of working around it.
	c2 := newClient(t, e.addr, func(c *Config) { c.SignMode = SignAlways })
	_, err = c2.Report(ctx, []byte("x"))
	wantCode(t, err, CodeRejected)
	var ce *Error
	if !errors.As(err, &ce) || CodeString(ce.CoAP) != "4.02" {
		t.Errorf("err = %v", err)
	}
}
