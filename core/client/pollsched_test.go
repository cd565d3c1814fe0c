// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/libenos/libenos/internal/sim"
)

// Clients with automatic polling cost no goroutine each while idle: one
// scheduler serves them all, and each still gets its commands. Closing them
// ends every poll and, with the last, the scheduler.
func TestAutoPollSharedScheduler(t *testing.T) {
	const n = 200
	devs := make([]sim.Device, n)
	for i := range devs {
		devs[i] = sim.Device{ProductKey: tPK, DeviceKey: fmt.Sprintf("poll%03d", i), Secret: tSecret}
	}
	s := startSim(t, sim.Config{Devices: devs})
	// An hour: no poll runs while the goroutines are counted.
	before := runtime.NumGoroutine()
	idle := make([]*Client, n)
	for i := range idle {
		idle[i] = newClient(t, s.Addr(), func(c *Config) { c.DeviceKey = devs[i].DeviceKey; c.PollInterval = time.Hour })
	}
	if g := runtime.NumGoroutine() - before; g > 2 {
		t.Errorf("%d idle polling clients added %d goroutines", n, g)
	}
	for _, c := range idle {
		c.Close()
	}
	// Short intervals: every client polls and receives its command.
	cs := make([]*Client, 20)
	for i := range cs {
		cs[i] = newClient(t, s.Addr(), func(c *Config) { c.DeviceKey = devs[i].DeviceKey; c.PollInterval = 20 * time.Millisecond })
		if err := s.QueueCommand(tPK, devs[i].DeviceKey, "", []byte(fmt.Sprint("cmd", i))); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, c := range cs {
		cmd, err := c.WaitCommand(ctx)
		if err != nil || string(cmd.Payload) != fmt.Sprint("cmd", i) {
			t.Fatalf("client %d: %+v %v", i, cmd, err)
		}
	}
	for _, c := range cs {
		c.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		polls.mu.Lock()
		left, running := len(polls.due), polls.running
		polls.mu.Unlock()
		if left == 0 && !running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after every client closed: %d entries, scheduler running %v", left, running)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
