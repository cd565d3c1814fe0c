// SPDX-License-Identifier: Apache-2.0

package client

import (
	"runtime"
	"testing"
	"time"

	"github.com/libenos/libenos/internal/sim"
)

// Clients whose asynchronous requests are done keep no goroutine: the drain
// goroutine ends when the queue is empty.
func TestAsyncIdleClientsHaveNoGoroutine(t *testing.T) {
	s := startSim(t, sim.Config{})
	time.Sleep(100 * time.Millisecond)
	before := runtime.NumGoroutine()
	const n = 50
	done := make(chan struct{}, n)
	for range n {
		c := newClient(t, s.Addr())
		if err := c.ReportAsync([]byte("x"), func(Outcome, error) { done <- struct{}{} }); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		<-done
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before+5 {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines for %d idle clients (before %d)\n%s", g, n, before, buf[:runtime.Stack(buf, true)])
	}
}
