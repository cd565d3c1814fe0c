// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/libenos/libenos/internal/sim"
)

// openFDs counts the process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count descriptors: %v", err)
	}
	return len(ents) - 1 // ReadDir's own
}

// scaleClients is how many clients TestManyClientsFewDescriptors runs:
// 10,000, or ENOS_SCALE_CLIENTS.
func scaleClients(t *testing.T) int {
	if v := os.Getenv("ENOS_SCALE_CLIENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("ENOS_SCALE_CLIENTS=%q", v)
		}
		return n
	}
	if testing.Short() {
		return 1000
	}
	return 10000
}

// 10,000 clients of one process authenticate and report against one
// simulator under a descriptor limit of 256: they share a few sockets, so
// every report succeeds and the descriptors stay few. The test also logs the
// memory an idle authenticated client costs (not a pass/fail criterion).
func TestManyClientsFewDescriptors(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts descriptors in /proc/self/fd")
	}
	n := scaleClients(t)
	devs := make([]sim.Device, n)
	for i := range devs {
		devs[i] = sim.Device{ProductKey: tPK, DeviceKey: fmt.Sprintf("dev%05d", i), Secret: tSecret}
	}
	s := startSim(t, sim.Config{Devices: devs})

	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	lim := old
	lim.Cur = 256
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)

	runtime.GC()
	fdsBefore := openFDs(t)
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)

	clients := make([]*Client, n)
	for i := range clients {
		c, err := New(Config{Server: s.Addr(), ProductKey: tPK, DeviceKey: devs[i].DeviceKey, DeviceSecret: tSecret,
			AckTimeout: 2 * time.Second, MaxRetransmit: 4})
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = c
	}
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
	}()

	// Authenticate and report from a few workers, each client once.
	const workers = 32
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ctx := context.Background()
				if err := reportQ(clients[i], ctx, []byte(`{"n":`+strconv.Itoa(i)+`}`)); err != nil {
					errs <- fmt.Errorf("client %d: %w", i, err)
					return
				}
			}
		}()
	}
	maxFDs := 0
	for i := range clients {
		select {
		case err := <-errs:
			close(next)
			wg.Wait()
			t.Fatal(err)
		case next <- i:
		}
		if i%500 == 0 {
			maxFDs = max(maxFDs, openFDs(t))
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	fds := openFDs(t)
	maxFDs = max(maxFDs, fds)
	if got := len(s.Records()); got != n {
		t.Fatalf("simulator recorded %d reports, want %d", got, n)
	}
	if maxFDs-fdsBefore > 64 {
		t.Fatalf("%d clients hold up to %d descriptors (%d before them), want at most 64", n, maxFDs-fdsBefore, fdsBefore)
	}

	runtime.GC()
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	goroutines := runtime.NumGoroutine()
	if p := os.Getenv("ENOS_SCALE_HEAPPROFILE"); p != "" { // where an idle client's bytes go
		if f, err := os.Create(p); err == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	for i, c := range clients {
		c.Close()
		clients[i] = nil
	}
	runtime.GC()
	var m2 runtime.MemStats
	runtime.ReadMemStats(&m2)
	// What the simulator keeps per device stays after the clients are gone.
	live := int64(m1.HeapAlloc+m1.StackInuse) - int64(m2.HeapAlloc+m2.StackInuse)
	t.Logf("%d idle authenticated clients: %d descriptors (peak %d), %d bytes of heap and stacks each, %d goroutines",
		n, fds-fdsBefore, maxFDs-fdsBefore, live/int64(n), goroutines)
}
