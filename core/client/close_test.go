// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libenos/libenos/internal/sim"
)

// TestReportsRacingCloseReturnClosed: with a state directory and reports
// going into the queue, reports racing Close used to fail with CodeState
// ("file already closed"): they had passed the closed check and appended to a
// queue file Close had just closed. Every call that loses the race returns
// CodeClosed, as documented.
func TestReportsRacingCloseReturnClosed(t *testing.T) {
	s := startSim(t, sim.Config{})
	g := startGate(t, s.Addr())
	g.setOpen(false)
	for round := 0; round < 5; round++ {
		c := newClient(t, g.Addr(), withState(t.TempDir()), func(c *Config) { c.AckTimeout = 10 * time.Millisecond; c.MaxRetransmit = -1 })
		wantCode(t, reportQ(c, context.Background(), []byte("queued")), codeQueued)
		const workers = 8
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		started := make(chan struct{}, workers)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					err := reportQ(c, context.Background(), []byte(fmt.Sprint(i)))
					if i == 0 {
						started <- struct{}{}
					}
					if CodeOf(err) != codeQueued {
						errs <- err
						return
					}
				}
			}()
		}
		for w := 0; w < workers; w++ {
			<-started
		}
		c.Close()
		wg.Wait()
		close(errs)
		for err := range errs {
			if CodeOf(err) != CodeClosed {
				t.Fatalf("round %d: a report racing Close returned %v (code %d), want CodeClosed", round, err, CodeOf(err))
			}
		}
	}
}

// TestCloseDuringQueuedRetryDoesNotDouble: a queued report's retry reaches
// EnOS, which records it; its answer is on the way when the host calls Close.
// Close used to cut the exchange off at once: the report stayed queued and
// the next client on the directory sent it again as a new message, which
// EnOS recorded a second time. Close now waits (bounded by 1.5 × the ACK
// timeout) for the answer of the queued exchange in flight and records it.
func TestCloseDuringQueuedRetryDoesNotDouble(t *testing.T) {
	s := startSim(t, sim.Config{})
	g := startGate(t, s.Addr())
	dir := t.TempDir()
	cfg := func(c *Config) { c.AckTimeout = time.Second; c.MaxRetransmit = -1 }
	c := newClient(t, g.Addr(), withState(dir), cfg)
	ctx := context.Background()
	if err := reportQ(c, ctx, []byte("first")); err != nil {
		t.Fatal(err)
	}
	g.setOpen(false)
	wantCode(t, reportQ(c, ctx, []byte("report-X")), codeQueued)
	marker := []byte("report-X")
	g.mu.Lock()
	seen := 0
	for _, d := range g.seen {
		if strings.Contains(string(d), "report-X") {
			seen++
		}
	}
	// EnOS answers again, but slowly: the answer to the retry is held back
	// for 150 ms, well inside the retry's 1..1.5 s timeout and Close's 1.5 s
	// wait.
	g.delay = 150 * time.Millisecond
	g.open = true
	g.mu.Unlock()
	g.waitSeen(marker, seen+1, 10*time.Second) // the worker's retry went through to EnOS
	start := time.Now()
	c.Close()
	took := time.Since(start)
	if took > 5*time.Second {
		t.Errorf("Close took %v", took)
	}

	c2 := newClient(t, g.Addr(), withState(dir), cfg)
	fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := c2.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(payloads(s.Records()), ","); got != "first,report-X" {
		t.Fatalf("EnOS recorded %s, want first,report-X", got)
	}
}

// TestCloseWaitIsBounded: Close's wait for the queue worker's exchange is
// bounded by 1.5 × the ACK timeout, not by the retransmission window (93 s
// here): during an outage Close returns within about 3 s, and the report
// stays queued for the next client.
func TestCloseWaitIsBounded(t *testing.T) {
	s := startSim(t, sim.Config{})
	g := startGate(t, s.Addr())
	g.setOpen(false)
	dir := t.TempDir()
	a := newClient(t, g.Addr(), withState(dir), func(c *Config) { c.AckTimeout = 10 * time.Millisecond; c.MaxRetransmit = -1 })
	wantCode(t, reportQ(a, context.Background(), []byte("report-Q")), codeQueued)
	a.Close()
	seen := len(g.seenSnapshot())
	// Default transmission parameters: 2 s ACK timeout, window 93 s. The
	// worker starts on the queued report at once.
	b := newClient(t, g.Addr(), withState(dir), func(c *Config) { c.AckTimeout = 0; c.MaxRetransmit = 0 })
	// Its first exchange is the authentication (client a never had a session).
	g.waitSeen([]byte("auth"), countContaining(g.seenSnapshot()[:seen], "auth")+1, 10*time.Second)
	start := time.Now()
	b.Close()
	if took := time.Since(start); took > 3*time.Second+2*time.Second {
		t.Fatalf("Close took %v with an exchange in flight, want about 3 s at most", took)
	}
	c := newClient(t, g.Addr(), withState(dir))
	if n := c.Stats().Queued; n != 1 {
		t.Fatalf("%d reports queued after close, want 1", n)
	}
}

func (g *gate) seenSnapshot() [][]byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([][]byte(nil), g.seen...)
}

func countContaining(ds [][]byte, marker string) int {
	n := 0
	for _, d := range ds {
		if strings.Contains(string(d), marker) {
			n++
		}
	}
	return n
}
