// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/libenos/libenos/internal/sim"
)

// One flipped byte in the third of 100 queued reports: after a restart the
// other 99 are delivered in order, and the loss is counted in state_errors.
func TestCorruptQueuedReportCostsOnlyItself(t *testing.T) {
	// A socket that never answers holds the address until EnOS "comes back".
	hole, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := hole.LocalAddr().String()
	dir := t.TempDir()
	a := newClient(t, addr, withState(dir), func(c *Config) {
		c.AckTimeout = 200 * time.Millisecond // only the first report waits for it
		c.MaxRetransmit = 1
		c.RetryInterval = 30 * time.Second // the worker waits; nothing leaves the queue
	})
	for i := 0; i < 100; i++ {
		wantCode(t, reportQ(a, context.Background(), []byte(fmt.Sprintf("report-%03d", i))), codeQueued)
	}
	a.Close()
	hole.Close()

	logs, _ := filepath.Glob(filepath.Join(dir, "queue.*.log"))
	if len(logs) != 1 {
		t.Fatalf("logs %v", logs)
	}
	b, err := os.ReadFile(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	off := 0
	for i := 0; i < 2; i++ { // skip records 0 and 1
		off += 9 + int(binary.BigEndian.Uint32(b[off+1:off+5]))
	}
	b[off+20] ^= 0x01 // a byte of record 2's topic
	if err := os.WriteFile(logs[0], b, 0o600); err != nil {
		t.Fatal(err)
	}

	s, err := sim.Start(sim.Config{Listen: addr, Devices: []sim.Device{{ProductKey: tPK, DeviceKey: tDK, Secret: tSecret}}})
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	defer s.Close()
	c := newClient(t, addr, withState(dir))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := payloads(s.Records())
	if len(got) != 99 {
		t.Fatalf("%d of 100 queued reports delivered, want 99", len(got))
	}
	for i, p := range got {
		want := i
		if i >= 2 {
			want++
		}
		if p != fmt.Sprintf("report-%03d", want) {
			t.Fatalf("delivered #%d is %q, want report-%03d", i, p, want)
		}
	}
	if st := c.Stats(); st.StateErrors != 1 || st.QueueDelivered != 99 {
		t.Errorf("StateErrors %d QueueDelivered %d, want 1 and 99", st.StateErrors, st.QueueDelivered)
	}
}
