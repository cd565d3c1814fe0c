// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libenos/libenos/internal/sim"
)

func withState(dir string) func(*Config) {
	return func(c *Config) { c.StateDir = dir; c.RetryInterval = 20 * time.Millisecond }
}

func TestSessionSurvivesRestart(t *testing.T) {
	s := startSim(t, sim.Config{})
	dir := t.TempDir()
	a := newClient(t, s.Addr(), withState(dir))
	for i := 0; i < 3; i++ {
		wantDelivered(t)(a.Report(context.Background(), []byte("a")))
	}
	a.Close()
	b := newClient(t, s.Addr(), withState(dir))
	wantDelivered(t)(b.Report(context.Background(), []byte("b")))
	if n := s.AuthCount(tPK, tDK); n != 1 {
		t.Errorf("%d authentications: the restarted client did not resume", n)
	}
	recs := s.Records()
	if last := recs[len(recs)-1]; last.Sequence <= 3 {
		t.Errorf("resumed at sequence %d: may reuse a sequence", last.Sequence)
	}
	if st := s.Stats(); st.Rejections != 0 {
		t.Errorf("%d rejections", st.Rejections)
	}
}

func TestStateDirIsLocked(t *testing.T) {
	dir := t.TempDir()
	newClient(t, "127.0.0.1:1", withState(dir))
	_, err := New(Config{Server: "127.0.0.1:1", ProductKey: tPK, DeviceKey: tDK, DeviceSecret: tSecret, StateDir: dir})
	wantCode(t, err, CodeState)
}

func TestCorruptStateMeansFreshAuth(t *testing.T) {
	s := startSim(t, sim.Config{})
	dir := t.TempDir()
	a := newClient(t, s.Addr(), withState(dir))
	wantDelivered(t)(a.Report(context.Background(), []byte("a")))
	a.Close()
	if err := os.WriteFile(filepath.Join(dir, "session"), []byte("libenos-session 1 00\n{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := newClient(t, s.Addr(), withState(dir))
	wantDelivered(t)(b.Report(context.Background(), []byte("b")))
	if b.Stats().StateErrors != 1 || s.AuthCount(tPK, tDK) != 2 {
		t.Errorf("stats %+v, auths %d", b.Stats(), s.AuthCount(tPK, tDK))
	}
	// Another device's secret on the same directory: not resumed either.
	b.Close()
	c := newClient(t, s.Addr(), withState(dir), func(c *Config) { c.DeviceSecret = "other" })
	if c.sess.valid {
		t.Error("a session saved under another secret was resumed")
	}
}

func TestOfflineQueueDeliversInOrderAfterOutage(t *testing.T) {
	s := startSim(t, sim.Config{})
	addr := s.Addr()
	c := newClient(t, addr, withState(t.TempDir()), func(c *Config) { c.AckTimeout = 20 * time.Millisecond; c.MaxRetransmit = 1 })
	wantDelivered(t)(c.Report(context.Background(), []byte("0")))
	s.Close()
	for i := 1; i <= 5; i++ {
		wantQueued(t)(c.Report(context.Background(), []byte(fmt.Sprint(i))))
	}
	if st := c.Stats(); st.Queued != 5 {
		t.Fatalf("stats %+v", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	wantCode(t, c.Flush(ctx), CodeTimeout)
	cancel()
	if st := c.Stats(); st.QueueRetries == 0 {
		t.Errorf("the queue's failed deliveries are not counted: %+v", st)
	}

	s2, err := sim.Start(sim.Config{Listen: addr, Devices: []sim.Device{{ProductKey: tPK, DeviceKey: tDK, Secret: tSecret}}})
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	defer s2.Close()
	// New reports go behind the queued ones.
	if o, err := c.Report(context.Background(), []byte("6")); err != nil || !o.Queued || !errors.Is(o.Cause, ErrQueuedBehind) {
		t.Fatalf("Report behind the queue = %v, %v; want queued behind", o, err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(payloads(s2.Records()), ","); got != "1,2,3,4,5,6" {
		t.Fatalf("delivered %s", got)
	}
	if st := c.Stats(); st.Queued != 0 || st.QueueDelivered != 6 || st.QueuedTotal != 6 {
		t.Errorf("stats %+v", st)
	}
	// Queue empty again: reports go straight out.
	wantDelivered(t)(c.Report(context.Background(), []byte("7")))
}

func TestQueuedReportsSurviveRestart(t *testing.T) {
	// A socket that never answers holds the address until EnOS "comes back"
	// (a simulator closed before any traffic kept its port bound, so this
	// test was always skipped).
	hole, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := hole.LocalAddr().String()
	dir := t.TempDir()
	a := newClient(t, addr, withState(dir), func(c *Config) { c.AckTimeout = 20 * time.Millisecond; c.MaxRetransmit = 1 })
	for i := 0; i < 3; i++ {
		wantQueued(t)(a.Report(context.Background(), []byte(fmt.Sprint(i))))
	}
	a.Close()
	hole.Close()
	s := simAt(t, addr)
	b := newClient(t, addr, withState(dir))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(payloads(s.Records()), ","); got != "0,1,2" {
		t.Fatalf("delivered %s", got)
	}
}

func TestQueueFull(t *testing.T) {
	hole := startSim(t, sim.Config{})
	addr := hole.Addr()
	hole.Close()
	c := newClient(t, addr, withState(t.TempDir()), func(c *Config) {
		c.AckTimeout = 20 * time.Millisecond
		c.MaxRetransmit = 1
		c.QueueMaxCount = 2
	})
	wantQueued(t)(c.Report(context.Background(), []byte("1")))
	wantQueued(t)(c.Report(context.Background(), []byte("2")))
	wantCode(t, errOf(c.Report(context.Background(), []byte("3"))), CodeFull)
}

func TestRejectedReportIsNotQueued(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr(), withState(t.TempDir()), func(c *Config) { c.SignMode = SignNever })
	wantCode(t, errOf(c.Report(context.Background(), []byte("x"))), CodeRejected)
	if c.Stats().Queued != 0 {
		t.Error("a refused report was queued")
	}
}

func TestServerErrorsAreQueuedAndRetried(t *testing.T) {
	s := startSim(t, sim.Config{Seed: 3, FailRate: 0.5})
	c := newClient(t, s.Addr(), withState(t.TempDir()))
	const n = 20
	for i := 0; i < n; i++ {
		if _, err := c.Report(context.Background(), []byte(fmt.Sprint(i))); err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := payloads(s.Records())
	if len(got) != n {
		t.Fatalf("%d records", len(got))
	}
	for i, p := range got {
		if p != fmt.Sprint(i) {
			t.Fatalf("out of order: %v", got)
		}
	}
}

func TestAutoPoll(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr(), func(c *Config) { c.PollInterval = 30 * time.Millisecond })
	queueCommands(t, s, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := 0; i < 2; i++ {
		cmd, err := c.WaitCommand(ctx)
		if err != nil || string(cmd.Payload) != fmt.Sprintf("cmd%d", i) {
			t.Fatalf("%+v %v", cmd, err)
		}
	}
}

func TestFlushEndsWhenClosed(t *testing.T) {
	hole := startSim(t, sim.Config{})
	addr := hole.Addr()
	hole.Close()
	c := newClient(t, addr, withState(t.TempDir()), func(c *Config) { c.AckTimeout = 10 * time.Millisecond; c.MaxRetransmit = 1 })
	wantQueued(t)(c.Report(context.Background(), []byte("1")))
	done := make(chan error, 1)
	go func() { done <- c.Flush(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		wantCode(t, err, CodeClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Flush without a deadline did not end when the client closed")
	}
}

// TestRetriedReportsAreNotDoubled: when an answer is lost, the server has
// recorded the report but the client times out and queues it. Retries of a
// queued report resend the same CoAP message, which the server answers from
// its deduplication cache, so each report is recorded once.
func TestRetriedReportsAreNotDoubled(t *testing.T) {
	s := startSim(t, sim.Config{Seed: 5, DropResponses: 0.5})
	c := newClient(t, s.Addr(), withState(t.TempDir()), func(c *Config) { c.AckTimeout = 20 * time.Millisecond; c.MaxRetransmit = -1 })
	const n = 30
	for i := 0; i < n; i++ {
		if _, err := c.Report(context.Background(), []byte(fmt.Sprint(i))); err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := payloads(s.Records())
	if len(got) != n {
		t.Fatalf("%d records for %d reports: %v", len(got), n, got)
	}
	for i, p := range got {
		if p != fmt.Sprint(i) {
			t.Fatalf("out of order: %v", got)
		}
	}
	if st := c.Stats(); st.QueuedTotal == 0 {
		t.Errorf("nothing was queued: the test did not test anything (%+v)", st)
	}
}
