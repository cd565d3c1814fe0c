// SPDX-License-Identifier: Apache-2.0

//go:build !nodtls

package client

import (
	"context"
	"github.com/libenos/libenos/core/state"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libenos/libenos/internal/sim"
)

const tProductSecret = "pRoDuCtSeCrEt-0123456789"

func startDTLSSim(t *testing.T, cfg sim.Config) *sim.Server {
	t.Helper()
	if cfg.DTLSListen == "" {
		cfg.DTLSListen = "127.0.0.1:0"
	}
	return startSim(t, cfg)
}

func dtlsClient(t *testing.T, server string, mod ...func(*Config)) *Client {
	t.Helper()
	return newClient(t, server, append([]func(*Config){func(c *Config) {
		c.Security = SecurityDTLS
		c.AckTimeout = 100 * time.Millisecond
		c.MaxRetransmit = 3
	}}, mod...)...)
}

func TestDTLSReportAndPublish(t *testing.T) {
	s := startDTLSSim(t, sim.Config{})
	c := dtlsClient(t, s.DTLSAddr())
	ctx := context.Background()
	for _, p := range []string{"a", "b", "c"} {
		if err := reportQ(c, ctx, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	r, err := c.Publish(ctx, "/sys/"+tPK+"/"+tDK+"/thing/measurepoint/post", []byte(`{}`))
	if err != nil || r.Code != 68 {
		t.Fatalf("publish: %v %+v", err, r)
	}
	recs := s.Records()
	if got := payloads(recs); len(got) != 4 || got[0] != "a" || got[2] != "c" {
		t.Fatalf("records %q", got)
	}
	if st := s.Stats(); st.Auths != 0 || st.Handshakes != 1 {
		t.Fatalf("over DTLS: want no /auth and one handshake, got %+v", st)
	}
	if _, err := c.NextSignature(ctx, 200); CodeOf(err) != CodeInvalid {
		t.Fatalf("NextSignature over DTLS: %v", err)
	}
	// The same device over plain UDP is not affected by the DTLS endpoint.
	u := newClient(t, s.Addr())
	if err := reportQ(u, ctx, []byte("udp")); err != nil {
		t.Fatal(err)
	}
}

func TestDTLSDefaultPort(t *testing.T) {
	c, err := New(Config{Server: "127.0.0.1", ProductKey: tPK, DeviceKey: tDK, DeviceSecret: tSecret, Security: SecurityDTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.Config().Server; got != "127.0.0.1:5684" {
		t.Fatalf("server %q, want port 5684", got)
	}
}

func TestDTLSWrongKeyIsAuth(t *testing.T) {
	s := startDTLSSim(t, sim.Config{})
	c := dtlsClient(t, s.DTLSAddr(), func(c *Config) { c.DeviceSecret = "not-the-secret" })
	wantCode(t, reportQ(c, context.Background(), []byte("x")), CodeAuth)
	// An identity the server does not know is refused too.
	c2 := dtlsClient(t, s.DTLSAddr(), func(c *Config) { c.DeviceKey = "unknown" })
	wantCode(t, reportQ(c2, context.Background(), []byte("x")), CodeAuth)
	if n := len(s.Records()); n != 0 {
		t.Fatalf("%d records", n)
	}
}

func TestDTLSNoAnswerIsTimeoutICMPIsNetwork(t *testing.T) {
	hole, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer hole.Close()
	c := dtlsClient(t, hole.LocalAddr().String())
	wantCode(t, reportQ(c, context.Background(), []byte("x")), CodeTimeout)

	pc, _ := net.ListenPacket("udp", "127.0.0.1:0")
	addr := pc.LocalAddr().String()
	pc.Close()
	c2 := dtlsClient(t, addr)
	wantCode(t, reportQ(c2, context.Background(), []byte("x")), CodeNetwork)
}

func TestDTLSServerRestartResumesTransparently(t *testing.T) {
	s := startDTLSSim(t, sim.Config{})
	addr := s.DTLSAddr()
	c := dtlsClient(t, addr)
	ctx := context.Background()
	if err := reportQ(c, ctx, []byte("a")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := sim.Start(sim.Config{Listen: "127.0.0.1:0", DTLSListen: addr, Devices: []sim.Device{{ProductKey: tPK, DeviceKey: tDK, Secret: tSecret}}})
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	defer s2.Close()
	// The new server has no session: it drops our records; the client
	// handshakes again and sends the report once more, within one call.
	if err := reportQ(c, ctx, []byte("b")); err != nil {
		t.Fatal(err)
	}
	if got := payloads(s2.Records()); len(got) != 1 || got[0] != "b" {
		t.Fatalf("records %q", got)
	}
	if st := c.Stats(); st.Reauths != 0 && st.Auths < 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestDTLSSessionEndedByServerIsReestablished(t *testing.T) {
	s := startDTLSSim(t, sim.Config{ExpireAfter: 2})
	c := dtlsClient(t, s.DTLSAddr())
	for i := 0; i < 5; i++ {
		if err := reportQ(c, context.Background(), []byte{'0' + byte(i)}); err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
	}
	if got := payloads(s.Records()); len(got) != 5 {
		t.Fatalf("records %q", got)
	}
	if st := s.Stats(); st.Handshakes < 3 {
		t.Fatalf("want a handshake per ended session, stats %+v", st)
	}
}

func TestDTLSCommandsByGet(t *testing.T) {
	s := startDTLSSim(t, sim.Config{CommandStyle: sim.CommandGet})
	for i := 0; i < 3; i++ {
		if err := s.QueueCommand(tPK, tDK, "", []byte{'c', '0' + byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	c := dtlsClient(t, s.DTLSAddr())
	if err := reportQ(c, context.Background(), []byte("r")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		cmd, ok := c.NextCommand()
		if !ok || string(cmd.Payload) != string([]byte{'c', '0' + byte(i)}) {
			t.Fatalf("command %d: %v %+v", i, ok, cmd)
		}
		if _, err := c.Reply(context.Background(), cmd.Topic, []byte("done")); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.PendingCommands(tPK, tDK); n != 0 {
		t.Fatalf("%d commands left", n)
	}
}

func TestDTLSOfflineQueueDeliversLater(t *testing.T) {
	pc, _ := net.ListenPacket("udp", "127.0.0.1:0")
	addr := pc.LocalAddr().String()
	pc.Close()
	dir := t.TempDir()
	c := dtlsClient(t, addr, func(c *Config) { c.StateDir = dir; c.RetryInterval = 50 * time.Millisecond })
	ctx := context.Background()
	for _, p := range []string{"q1", "q2"} {
		wantCode(t, reportQ(c, ctx, []byte(p)), codeQueued)
	}
	s, err := sim.Start(sim.Config{Listen: "127.0.0.1:0", DTLSListen: addr, Devices: []sim.Device{{ProductKey: tPK, DeviceKey: tDK, Secret: tSecret}}})
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	defer s.Close()
	deadline := time.Now().Add(30 * time.Second)
	for len(s.Records()) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := payloads(s.Records()); len(got) != 2 || got[0] != "q1" || got[1] != "q2" {
		t.Fatalf("records %q", got)
	}
}

func TestDTLSActivationPersistsAndHappensOnce(t *testing.T) {
	s := startDTLSSim(t, sim.Config{Products: []sim.Product{{ProductKey: tPK, Secret: tProductSecret}}})
	dir := t.TempDir()
	activating := func(c *Config) { c.DeviceSecret = ""; c.ProductSecret = tProductSecret; c.StateDir = dir }
	c := dtlsClient(t, s.DTLSAddr(), activating)
	if err := reportQ(c, context.Background(), []byte("first")); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Activations != 1 {
		t.Fatalf("activations %d", st.Activations)
	}
	fi, err := os.Lstat(filepath.Join(dir, "device-secret"))
	if err != nil || fi.Mode().Perm() != 0o600 || !fi.Mode().IsRegular() {
		t.Fatalf("device secret file: %v %v", fi, err)
	}
	c.Close()
	// The session file exists with its room reserved (a full disk cannot
	// stop a later save), but DTLS mode stores no session in it: no token,
	// no sequence. Any identity reads an empty file as "no session".
	st, err := state.Open(dir, "any")
	if err != nil {
		t.Fatal(err)
	}
	_, ok, err := st.Load()
	st.Close()
	if ok || err != nil {
		t.Fatalf("a UDP session was written in DTLS mode: ok %v, err %v", ok, err)
	}

	// A restart with the same state directory connects with secureMode 2 and
	// the saved secret: no second activation.
	c2 := dtlsClient(t, s.DTLSAddr(), activating)
	if err := reportQ(c2, context.Background(), []byte("second")); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Activations != 1 {
		t.Fatalf("activated again: %d", st.Activations)
	}
	if got := payloads(s.Records()); len(got) != 2 {
		t.Fatalf("records %q", got)
	}
}

func TestDTLSActivationWrongProductSecretIsAuth(t *testing.T) {
	s := startDTLSSim(t, sim.Config{Products: []sim.Product{{ProductKey: tPK, Secret: tProductSecret}}})
	dir := t.TempDir()
	c := dtlsClient(t, s.DTLSAddr(), func(c *Config) { c.DeviceSecret = ""; c.ProductSecret = "wrong"; c.StateDir = dir })
	wantCode(t, reportQ(c, context.Background(), []byte("x")), CodeAuth)
	if _, err := os.Lstat(filepath.Join(dir, "device-secret")); !os.IsNotExist(err) {
		t.Fatalf("a secret was saved: %v", err)
	}
}

func TestDTLSActivationRefusesPlantedLinkAndCorruptFile(t *testing.T) {
	s := startDTLSSim(t, sim.Config{Products: []sim.Product{{ProductKey: tPK, Secret: tProductSecret}}})
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(t.TempDir(), "elsewhere"), filepath.Join(dir, "device-secret")); err != nil {
		t.Fatal(err)
	}
	c := dtlsClient(t, s.DTLSAddr(), func(c *Config) { c.DeviceSecret = ""; c.ProductSecret = tProductSecret; c.StateDir = dir })
	wantCode(t, reportQ(c, context.Background(), []byte("x")), CodeState)
	if st := s.Stats(); st.Activations != 0 {
		t.Fatalf("activated over an unreadable secret file")
	}
}

func TestDTLSConfigValidation(t *testing.T) {
	base := Config{Server: "127.0.0.1", ProductKey: tPK, DeviceKey: tDK, Security: SecurityDTLS}
	for name, cfg := range map[string]Config{
		"no secret":               base,
		"activation w/o statedir": func() Config { c := base; c.ProductSecret = "p"; return c }(),
		"bad security":            func() Config { c := base; c.DeviceSecret = "s"; c.Security = 7; return c }(),
		"product secret w/o dtls": func() Config {
			c := base
			c.DeviceSecret = "s"
			c.Security = SecurityNone
			c.ProductSecret = "p"
			return c
		}(),
	} {
		if _, err := New(cfg); CodeOf(err) != CodeInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestParseActivation(t *testing.T) {
	ok := `{"id":"1","version":"1.0","method":"thing.activate.info","params":{"assetId":"a","productKey":"` + tPK + `","deviceKey":"` + tDK + `","deviceSecret":"s3cr3t"}}`
	if s, err := ParseActivation([]byte(ok), tPK, tDK); err != nil || s != "s3cr3t" {
		t.Fatalf("%q %v", s, err)
	}
	for _, bad := range []string{
		``, `[]`, `{}`, `{"params":{}}`, `{"params":{"deviceSecret":""}}`,
		`{"method":"thing.other","params":{"deviceSecret":"x"}}`,
		`{"params":{"deviceKey":"other","deviceSecret":"x"}}`,
		`{"params":{"deviceSecret":"a\nb"}}`,
	} {
		if _, err := ParseActivation([]byte(bad), tPK, tDK); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// switchProxy forwards one client's datagrams to a target that can be
// switched: to the client, a switch looks like a server that restarted
// without a word (kill -9) or a NAT that rebound, since the new target knows
// no DTLS session and drops its records silently.
type switchProxy struct {
	pc     net.PacketConn
	mu     chan struct{}
	up     net.Conn
	client net.Addr
}

func newSwitchProxy(t *testing.T, target string) *switchProxy {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &switchProxy{pc: pc, mu: make(chan struct{}, 1)}
	p.switchTo(t, target)
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			p.mu <- struct{}{}
			p.client = from
			up := p.up
			<-p.mu
			_, _ = up.Write(buf[:n])
		}
	}()
	t.Cleanup(func() { pc.Close(); p.up.Close() })
	return p
}

func (p *switchProxy) addr() string { return p.pc.LocalAddr().String() }

func (p *switchProxy) switchTo(t *testing.T, target string) {
	up, err := net.Dial("udp", target)
	if err != nil {
		t.Fatal(err)
	}
	p.mu <- struct{}{}
	old := p.up
	p.up = up
	<-p.mu
	if old != nil {
		old.Close()
	}
	go func() {
		buf := make([]byte, 2048)
		for {
			n, err := up.Read(buf)
			if err != nil {
				return
			}
			p.mu <- struct{}{}
			to := p.client
			<-p.mu
			if to != nil {
				_, _ = p.pc.WriteTo(buf[:n], to)
			}
		}
	}()
}

func TestDTLSSilentSessionLossIsReestablished(t *testing.T) {
	a := startDTLSSim(t, sim.Config{})
	b := startDTLSSim(t, sim.Config{})
	p := newSwitchProxy(t, a.DTLSAddr())
	c := dtlsClient(t, p.addr())
	ctx := context.Background()
	if err := reportQ(c, ctx, []byte("a")); err != nil {
		t.Fatal(err)
	}
	p.switchTo(t, b.DTLSAddr())
	if err := reportQ(c, ctx, []byte("b")); err != nil {
		t.Fatal(err)
	}
	if got := payloads(b.Records()); len(got) != 1 || got[0] != "b" {
		t.Fatalf("records of the new server %q", got)
	}
	if got := payloads(a.Records()); len(got) != 1 {
		t.Fatalf("records of the old server %q", got)
	}
	if st := b.Stats(); st.Handshakes != 1 {
		t.Fatalf("new server: %+v", st)
	}
}

// Close must not wait for a handshake that gets no answer (up to a window).
func TestDTLSCloseDuringHandshake(t *testing.T) {
	hole, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer hole.Close()
	c := dtlsClient(t, hole.LocalAddr().String(), func(c *Config) { c.AckTimeout = 2 * time.Second; c.MaxRetransmit = 4 })
	done := make(chan error, 1)
	go func() { done <- reportQ(c, context.Background(), []byte("x")) }()
	buf := make([]byte, 2048)
	_ = hole.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := hole.ReadFrom(buf); err != nil { // the ClientHello: the handshake is under way
		t.Fatal(err)
	}
	start := time.Now()
	c.Close()
	select {
	case err := <-done:
		wantCode(t, err, CodeClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("Report still blocked 10 s after Close")
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("Close took %v", el)
	}
}

func TestDTLSLargePayloadBlockwise(t *testing.T) {
	s := startDTLSSim(t, sim.Config{})
	c := dtlsClient(t, s.DTLSAddr())
	big := make([]byte, 5000)
	for i := range big {
		big[i] = byte(i)
	}
	if err := reportQ(c, context.Background(), big); err != nil {
		t.Fatal(err)
	}
	recs := s.Records()
	if len(recs) != 1 || string(recs[0].Payload) != string(big) {
		t.Fatalf("%d records", len(recs))
	}
	off := dtlsClient(t, s.DTLSAddr(), func(c *Config) { c.BlockSize = -1 })
	wantCode(t, reportQ(off, context.Background(), big), CodeInvalid)
}

// Close must end an exchange waiting on an established session at once.
func TestDTLSCloseDuringExchange(t *testing.T) {
	s := startDTLSSim(t, sim.Config{})
	hole, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer hole.Close()
	p := newSwitchProxy(t, s.DTLSAddr())
	c := dtlsClient(t, p.addr(), func(c *Config) { c.AckTimeout = 2 * time.Second; c.MaxRetransmit = 4 })
	if err := reportQ(c, context.Background(), []byte("a")); err != nil {
		t.Fatal(err)
	}
	p.switchTo(t, hole.LocalAddr().String())
	done := make(chan error, 1)
	go func() { done <- reportQ(c, context.Background(), []byte("b")) }()
	buf := make([]byte, 2048)
	_ = hole.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := hole.ReadFrom(buf); err != nil { // the report is on its way
		t.Fatal(err)
	}
	c.Close()
	select {
	case err := <-done:
		wantCode(t, err, CodeClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("Report still blocked 10 s after Close")
	}
}

func TestDTLSOverLossyPath(t *testing.T) {
	s := startDTLSSim(t, sim.Config{Seed: 3, DropRequests: 0.2, DropResponses: 0.2})
	c := dtlsClient(t, s.DTLSAddr(), func(c *Config) { c.AckTimeout = 50 * time.Millisecond; c.MaxRetransmit = 6 })
	for i := 0; i < 20; i++ {
		if err := reportQ(c, context.Background(), []byte{'a' + byte(i)}); err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
	}
	if got := payloads(s.Records()); len(got) != 20 {
		t.Fatalf("%d records: %q", len(got), got)
	}
}

// With the default timing a wrong key must not take the whole window (93 s).
func TestDTLSWrongKeyWithinRefusalBound(t *testing.T) {
	s := startDTLSSim(t, sim.Config{})
	c := dtlsClient(t, s.DTLSAddr(), func(c *Config) { c.DeviceSecret = "wrong"; c.AckTimeout = 500 * time.Millisecond; c.MaxRetransmit = 4 })
	start := time.Now()
	wantCode(t, reportQ(c, context.Background(), []byte("x")), CodeAuth)
	if el, window := time.Since(start), c.Window(); el > window/2 {
		t.Fatalf("took %v of a %v window", el, window)
	}
}

func TestDTLSSimEndSessionIsReestablished(t *testing.T) {
	s := startDTLSSim(t, sim.Config{})
	c := dtlsClient(t, s.DTLSAddr())
	ctx := context.Background()
	if err := reportQ(c, ctx, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := s.EndSession(tPK, tDK); err != nil {
		t.Fatal(err)
	}
	if err := reportQ(c, ctx, []byte("b")); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Handshakes != 2 || st.Reports != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// Activation succeeds but the secret cannot be kept (here a directory sits
// under the temporary file's name, so the atomic write fails): the report
// fails with CodeState and a state error is counted, and nothing claims to be
// saved. The secret EnOS handed out is not used for a report that could not
// be recorded as activated.
func TestDTLSActivationSecretCannotBeSaved(t *testing.T) {
	s := startDTLSSim(t, sim.Config{Products: []sim.Product{{ProductKey: tPK, Secret: tProductSecret}}})
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "device-secret.tmp", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	c := dtlsClient(t, s.DTLSAddr(), func(c *Config) { c.DeviceSecret = ""; c.ProductSecret = tProductSecret; c.StateDir = dir })
	err := reportQ(c, context.Background(), []byte("x"))
	wantCode(t, err, CodeState)
	if !strings.Contains(err.Error(), "cannot save the device secret") {
		t.Fatalf("err = %v", err)
	}
	if st := s.Stats(); st.Activations != 1 || st.Reports != 0 {
		t.Fatalf("activations %d, reports %d; want 1, 0", st.Activations, st.Reports)
	}
	if c.Stats().StateErrors == 0 {
		t.Fatal("the failed save was not counted in state_errors")
	}
	if _, err := os.Lstat(filepath.Join(dir, "device-secret")); !os.IsNotExist(err) {
		t.Fatalf("a device-secret file exists: %v", err)
	}
}
