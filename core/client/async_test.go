// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libenos/libenos/internal/sim"
)

// Asynchronous and blocking reports from many goroutines keep each client's
// accepted order, and every done function runs exactly once.
func TestAsyncOrderAndExactlyOnce(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr())
	const n = 200
	var mu sync.Mutex
	calls := make([]int, n)
	var order []int
	var wg sync.WaitGroup
	wg.Add(n)
	for i := range n {
		err := c.ReportAsync([]byte(fmt.Sprint(i)), func(_ Outcome, err error) {
			if err != nil {
				t.Errorf("report %d: %v", i, err)
			}
			mu.Lock()
			calls[i]++
			order = append(order, i)
			mu.Unlock()
			wg.Done()
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	for i, k := range calls {
		if k != 1 {
			t.Fatalf("done of report %d ran %d times", i, k)
		}
	}
	for i, r := range payloads(s.Records()) {
		if r != fmt.Sprint(i) || order[i] != i {
			t.Fatalf("record %d is %q, done order %v: not the order accepted", i, r, order[:i+1])
		}
	}
	if got := outstanding.Load(); got != 0 {
		t.Fatalf("%d requests still counted outstanding", got)
	}
}

// Close ends what is waiting with CodeClosed; WaitAsync returns after the last
// done; later requests are refused without a call.
func TestAsyncClose(t *testing.T) {
	silent, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	c := newClient(t, silent.LocalAddr().String(), func(c *Config) { c.AckTimeout = time.Second })
	const n = 100
	var mu sync.Mutex
	codes := map[Code]int{}
	for range n {
		if err := c.ReportAsync([]byte("x"), func(_ Outcome, err error) {
			mu.Lock()
			codes[CodeOf(err)]++
			mu.Unlock()
		}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c.WaitAsync()
	mu.Lock()
	if codes[CodeClosed] != n {
		t.Fatalf("outcomes %v, want %d x CodeClosed", codes, n)
	}
	mu.Unlock()
	wantCode(t, c.ReportAsync(nil, func(Outcome, error) { t.Error("done called for a refused request") }), CodeClosed)
}

// Past MaxOutstanding the answer is CodeBusy, and nothing is accepted.
func TestAsyncBusy(t *testing.T) {
	silent, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	c := newClient(t, silent.LocalAddr().String(), func(c *Config) { c.AckTimeout = time.Second })
	var done sync.WaitGroup
	accepted := 0
	for {
		done.Add(1)
		err := c.ReportAsync(nil, func(Outcome, error) { done.Done() })
		if err != nil {
			done.Done()
			wantCode(t, err, CodeBusy)
			break
		}
		accepted++
		if accepted > MaxOutstanding {
			t.Fatalf("more than MaxOutstanding (%d) accepted", MaxOutstanding)
		}
	}
	if accepted != MaxOutstanding {
		t.Fatalf("busy after %d, want %d", accepted, MaxOutstanding)
	}
	_ = c.Close()
	done.Wait()
}

// The bound is the process's, not a client's: 16 clients submitting from 16
// goroutines at once get exactly MaxOutstanding accepted between them, each
// refusal is CodeBusy, and every accepted request is called back once.
func TestAsyncBusyAcrossClients(t *testing.T) {
	silent, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	const n = 16
	var clients [n]*Client
	for i := range clients {
		clients[i] = newClient(t, silent.LocalAddr().String(), func(c *Config) { c.AckTimeout = time.Second })
	}
	var accepted, calls atomic.Int64
	var submit sync.WaitGroup
	for _, c := range clients {
		submit.Add(1)
		go func() {
			defer submit.Done()
			for {
				err := c.ReportAsync(nil, func(Outcome, error) { calls.Add(1) })
				if err != nil {
					if CodeOf(err) != CodeBusy {
						t.Errorf("refusal %v, want CodeBusy", err)
					}
					return
				}
				accepted.Add(1)
			}
		}()
	}
	submit.Wait()
	if got := accepted.Load(); got != MaxOutstanding {
		t.Fatalf("%d accepted across %d clients, want %d", got, n, MaxOutstanding)
	}
	for _, c := range clients {
		_ = c.Close()
		c.WaitAsync()
	}
	if got := calls.Load(); got != MaxOutstanding {
		t.Fatalf("%d callbacks for %d accepted requests", got, MaxOutstanding)
	}
}

// A panic in a request becomes CodeInternal for that request; the client and
// the process go on.
func TestAsyncPanicIsAnError(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr())
	got := make(chan error, 2)
	if err := c.Go(func(context.Context) (Outcome, error) { panic("boom") }, func(_ Outcome, err error) { got <- err }); err != nil {
		t.Fatal(err)
	}
	if err := c.ReportAsync([]byte("after"), func(_ Outcome, err error) { got <- err }); err != nil {
		t.Fatal(err)
	}
	wantCode(t, <-got, CodeInternal)
	if err := <-got; err != nil {
		t.Fatalf("report after the panic: %v", err)
	}
}
