// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/libenos/libenos/core/state"
	"github.com/libenos/libenos/internal/sim"
	"github.com/libenos/libenos/internal/testutil"
)

func simAt(t *testing.T, addr string) *sim.Server {
	t.Helper()
	s, err := sim.Start(sim.Config{Listen: addr, Devices: []sim.Device{{ProductKey: tPK, DeviceKey: tDK, Secret: tSecret}}})
	if err != nil {
		t.Fatalf("cannot listen on %s again: %v", addr, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// The offline queue fills a small file system: it must refuse reports
// (CodeFull) while some room is left, and once EnOS is back it must drain
// with a bounded number of authentications (it used to re-authenticate
// forever, failing to save each new session).
func TestFullDiskQueueStopsBeforeFullAndDrains(t *testing.T) {
	fs := testutil.Tmpfs(t, 1<<20)
	dir := filepath.Join(fs, "state")
	hole, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := hole.LocalAddr().String()
	c := newClient(t, addr, withState(dir), func(c *Config) {
		c.AckTimeout = 200 * time.Millisecond // only the first report waits for it; a short one makes a loaded machine time out while draining
		c.MaxRetransmit = 1
		c.QueueMaxCount = 1 << 20
		c.QueueMaxBytes = 1 << 30 // only the file system bounds the queue
	})
	payload := strings.Repeat("x", 2000)
	queued := 0
	var last error
	for i := 0; i < 1000; i++ {
		last = reportQ(c, context.Background(), []byte(fmt.Sprintf("%04d %s", i, payload)))
		if CodeOf(last) != codeQueued {
			break
		}
		queued++
	}
	if CodeOf(last) != CodeFull || !strings.Contains(last.Error(), "file system") {
		t.Fatalf("after %d queued reports: %v (code %d), want CodeFull naming the file system", queued, last, CodeOf(last))
	}
	if free := testutil.FreeBytes(t, fs); free < 64<<10 {
		t.Errorf("the queue left only %d bytes free", free)
	}
	if queued < 100 {
		t.Errorf("only %d reports queued in 1 MiB", queued)
	}

	hole.Close()
	s := simAt(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatalf("flush: %v (stats %+v)", err, c.Stats())
	}
	recs := s.Records()
	if len(recs) != queued {
		for i, r := range recs {
			t.Logf("%d: %.5q seq %d", i, r.Payload, r.Sequence)
		}
		t.Logf("stats %+v auths %d", c.Stats(), s.AuthCount(tPK, tDK))
		t.Fatalf("%d of %d queued reports delivered", len(recs), queued)
	}
	for i, r := range recs {
		if !strings.HasPrefix(string(r.Payload), fmt.Sprintf("%04d ", i)) {
			t.Fatalf("record %d is %.10q: out of order", i, r.Payload)
		}
	}
	if n := s.AuthCount(tPK, tDK); n > 2 {
		t.Errorf("%d authentications to drain the queue", n)
	}
	// Room again: new reports go straight through.
	if err := reportQ(c, context.Background(), []byte("after")); err != nil {
		t.Fatal(err)
	}
}

// Online with nothing queued, a full file system must not stop reports: the
// sequence reservation is saved in place. A restart on the full file system
// resumes without reusing a sequence.
func TestReportsKeepWorkingOnAFullDisk(t *testing.T) {
	fs := testutil.Tmpfs(t, 512<<10)
	dir := filepath.Join(fs, "state")
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr(), withState(dir))
	if err := reportQ(c, context.Background(), []byte("first")); err != nil {
		t.Fatal(err)
	}
	testutil.FillFS(t, fs)
	for i := 0; i < 3*seqBlock; i++ { // three reservations
		if err := reportQ(c, context.Background(), []byte("x")); err != nil {
			t.Fatalf("report %d on a full file system: %v", i, err)
		}
	}
	c.Close()
	c2 := newClient(t, s.Addr(), withState(dir))
	if err := reportQ(c2, context.Background(), []byte("after restart")); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Rejections != 0 || s.AuthCount(tPK, tDK) != 1 {
		t.Errorf("%d rejections, %d authentications; want 0 and 1 (resumed)", st.Rejections, s.AuthCount(tPK, tDK))
	}
}

// A session file of libenos 1.0 on a full file system: the first save after
// authenticating must replace the file and fails (no space). Reports must keep
// working (one more authentication, then a session kept in memory only), and
// after a restart no sequence may be reused.
func TestReportsKeepWorkingWhenTheSessionCannotBeSaved(t *testing.T) {
	fs := testutil.Tmpfs(t, 512<<10)
	dir := filepath.Join(fs, "state")
	os.Mkdir(dir, 0o700)
	// A 1.0 session file (another device's: not resumed).
	os.WriteFile(filepath.Join(dir, "session"), []byte("libenos-session 1 00\n{}"), 0o600)
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr(), withState(dir))
	filler := testutil.FillFS(t, fs)
	for i := 0; i < 3*seqBlock; i++ {
		if err := reportQ(c, context.Background(), []byte("x")); err != nil {
			t.Fatalf("report %d with saves failing: %v", i, err)
		}
	}
	if n := s.AuthCount(tPK, tDK); n != 2 {
		t.Errorf("%d authentications, want 2 (the first session abandoned once)", n)
	}
	if c.Stats().StateErrors < 2 { // the corrupt 1.0 file, the failed save
		t.Errorf("StateErrors %d", c.Stats().StateErrors)
	}
	c.Close()
	os.Remove(filler)
	c2 := newClient(t, s.Addr(), withState(dir))
	for i := 0; i < 10; i++ {
		if err := reportQ(c2, context.Background(), []byte("after restart")); err != nil {
			t.Fatal(err)
		}
	}
	// A resumed session that reused a sequence gets 4.01 (a rejection).
	if st := s.Stats(); st.Rejections != 0 {
		t.Errorf("%d rejections: a sequence was reused", st.Rejections)
	}
}

// A saved session whose next reservation cannot be saved is abandoned for a
// memory-only one (a failed save may still have reached the disk, so the
// session must not go past what is known to be reserved). Reports keep
// working, with one more authentication, and a restart reuses no sequence.
func TestSessionIsAbandonedWhenItsReservationCannotBeSaved(t *testing.T) {
	dir := t.TempDir()
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr(), withState(dir))
	for i := 0; i < 10; i++ {
		if err := reportQ(c, context.Background(), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	var fails atomic.Int32
	c.persist.failSaves = func() error { fails.Add(1); return syscall.EIO }
	for i := 0; i < 3*seqBlock; i++ {
		if err := reportQ(c, context.Background(), []byte("x")); err != nil {
			t.Fatalf("report %d with saves failing: %v", i, err)
		}
	}
	if n := s.AuthCount(tPK, tDK); n != 2 {
		t.Errorf("%d authentications, want 2", n)
	}
	if fails.Load() != 1 {
		t.Errorf("%d failed saves: a memory-only session must not try to save", fails.Load())
	}
	// A signature for a host's own request works as well.
	if _, err := c.NextSignature(context.Background(), 1024); err != nil {
		t.Fatal(err)
	}
	cfg := c.Config()
	c.Close()
	// On disk: the first session, reserved up to the last sequence it signed
	// (256: sequences 1..256, then the save for 257.. failed); the
	// memory-only one was never written.
	st, err := state.Open(dir, state.Identity(cfg.Server, cfg.ProductKey, cfg.DeviceKey, cfg.DeviceSecret, string(cfg.SignIV)))
	if err != nil {
		t.Fatal(err)
	}
	saved, ok, err := st.Load()
	st.Close()
	if err != nil || !ok || saved.Reserved != seqBlock {
		t.Fatalf("saved %+v ok=%v err=%v, want the first session reserved up to %d", saved, ok, err, seqBlock)
	}
	if recs := s.Records(); recs[seqBlock-1].Sequence != seqBlock || recs[seqBlock].Sequence != 1 {
		t.Fatalf("the first session signed up to %d, the next started at %d", recs[seqBlock-1].Sequence, recs[seqBlock].Sequence)
	}
	// A restart resumes the first session after its reservation (the
	// simulator, which forgot that token, answers 4.01: one authentication).
	c2 := newClient(t, s.Addr(), withState(dir))
	for i := 0; i < 10; i++ {
		if err := reportQ(c2, context.Background(), []byte("after restart")); err != nil {
			t.Fatal(err)
		}
	}
}
