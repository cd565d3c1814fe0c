// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/libenos/libenos/internal/sim"
)

// TestReportsKeepCallOrderAroundAnOutage: thread 1's report A goes out while
// EnOS is silent and ends up queued; thread 2's report B, called while A was
// still being decided, used to get fifoLock right after A's exchange gave up
// and go straight out, ahead of A (EnOS recorded B, A). Real UDP: a relay
// that is silent and opens the moment it sees B, as an EnOS that comes back
// at just that instant would. Once anything is queued, later reports go
// behind it, including those that were waiting for their turn.
func TestReportsKeepCallOrderAroundAnOutage(t *testing.T) {
	s := startSim(t, sim.Config{})
	g := startGate(t, s.Addr())
	// The window (at least 200 ms × 7 = 1.4 s) leaves B ample time to start
	// waiting for its turn while A is in flight.
	c := newClient(t, g.Addr(), withState(t.TempDir()), func(c *Config) { c.AckTimeout = 200 * time.Millisecond; c.MaxRetransmit = 2 })
	ctx := context.Background()
	if err := reportQ(c, ctx, []byte("first")); err != nil {
		t.Fatal(err)
	}
	g.setOpen(false)
	g.openWhenSeen([]byte("report-B"))
	errA := make(chan error, 1)
	go func() { errA <- reportQ(c, ctx, []byte("report-A")) }()
	g.waitSeen([]byte("report-A"), 1, 10*time.Second)
	errB := make(chan error, 1)
	go func() { errB <- reportQ(c, ctx, []byte("report-B")) }()
	wantCode(t, <-errA, codeQueued)
	if err := <-errB; err != nil {
		wantCode(t, err, codeQueued)
	}
	g.setOpen(true)
	fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := c.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(payloads(s.Records()), ","); got != "first,report-A,report-B" {
		t.Fatalf("EnOS recorded %s, want first,report-A,report-B", got)
	}
}
