// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/libenos/libenos/internal/sim"
)

// A blocking Report made after asynchronous reports were accepted goes out
// after them: "one client's requests (asynchronous and blocking) go out in
// the order they were accepted".
func TestAsyncThenBlockingKeepsOrder(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr())
	const n = 50
	var wg sync.WaitGroup
	wg.Add(n)
	for i := range n {
		if err := c.ReportAsync([]byte(fmt.Sprint(i)), func(_ Outcome, err error) {
			if err != nil {
				t.Errorf("report %d: %v", i, err)
			}
			wg.Done()
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Report(context.Background(), []byte("blocking")); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	got := payloads(s.Records())
	if len(got) != n+1 {
		t.Fatalf("%d records, want %d", len(got), n+1)
	}
	for i := range n {
		if got[i] != fmt.Sprint(i) {
			t.Fatalf("record %d is %q: the blocking report did not wait for the %d accepted before it (records %v)", i, got[i], n, got)
		}
	}
	if got[n] != "blocking" {
		t.Fatalf("last record %q, want the blocking report", got[n])
	}
}

// A done function that makes a blocking request of its own client, with
// InOwnCallback, does not wait for the requests queued behind it.
func TestAsyncBlockingInOwnDone(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr())
	const n = 10
	inner := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(n)
	for i := range n {
		if err := c.ReportAsync([]byte(fmt.Sprint(i)), func(Outcome, error) {
			if i == 0 {
				_, err := c.Report(InOwnCallback(context.Background()), []byte("inner"))
				inner <- err
			}
			wg.Done()
		}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-inner:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a blocking report in a done function waited for the requests behind it")
	}
	wg.Wait()
}
