// SPDX-License-Identifier: Apache-2.0

package logging

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLevels(t *testing.T) {
	var got []string
	Logf(Info, "silent %d", 1) // no handler: nothing happens
	SetHandler(func(l Level, m string) { got = append(got, m) }, Warn)
	defer SetHandler(nil, Off)
	Logf(Error, "e%d", 1)
	Logf(Warn, "w")
	Logf(Info, "i")
	Logf(Debug, "d")
	if len(got) != 2 || got[0] != "e1" || got[1] != "w" {
		t.Fatalf("got %q", got)
	}
	if Enabled(Info) || !Enabled(Error) {
		t.Fatal("Enabled disagrees with the level")
	}
	SetHandler(nil, Debug)
	Logf(Error, "after removal")
	if len(got) != 2 {
		t.Fatal("a removed handler was called")
	}
}

// SetHandler returns only once the handler it replaces has returned, and the
// replaced handler is never called again: a C host frees its user pointer
// right after enos_set_log_handler.
func TestSetHandlerWaitsForTheRunningHandler(t *testing.T) {
	defer SetHandler(nil, Off)
	entered := make(chan struct{})
	release := make(chan struct{})
	var returned, calledAfter atomic.Bool
	var replaced, started atomic.Bool
	SetHandler(func(Level, string) {
		if replaced.Load() {
			calledAfter.Store(true)
		}
		if !started.Swap(true) { // the first call blocks until released
			entered <- struct{}{}
			<-release
		}
		returned.Store(true)
	}, Debug)
	go Logf(Error, "slow")
	<-entered

	done := make(chan struct{})
	go func() {
		SetHandler(nil, Off)
		replaced.Store(true)
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("SetHandler returned while the old handler was running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-done
	if !returned.Load() {
		t.Fatal("SetHandler returned before the old handler did")
	}
	Logf(Error, "after")
	if calledAfter.Load() {
		t.Fatal("the replaced handler was called after SetHandler returned")
	}
}

// Loggers and setters at once (run with -race): no call reaches a handler
// after its replacement returned, and every setter returns.
func TestSetHandlerConcurrent(t *testing.T) {
	defer SetHandler(nil, Off)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					Logf(Info, "m%d", i)
				}
			}
		}()
	}
	for round := 0; round < 200; round++ {
		var retired atomic.Bool
		var late atomic.Int64
		SetHandler(func(Level, string) {
			if retired.Load() {
				late.Add(1)
			}
		}, Debug)
		SetHandler(nil, Off)
		retired.Store(true)
		if late.Load() != 0 {
			t.Fatalf("round %d: handler called after its replacement", round)
		}
	}
	close(stop)
	wg.Wait()
}
