package client

import (
	"context"
	"fmt"
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
		wantCode(t, c.Report(context.Background(), []byte("queued")), CodeQueued)
		const workers = 8
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		started := make(chan struct{}, workers)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					err := c.Report(context.Background(), []byte(fmt.Sprint(i)))
					if i == 0 {
						started <- struct{}{}
					}
					if CodeOf(err) != CodeQueued {
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
