// SPDX-License-Identifier: Apache-2.0

package transport

import (
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// TestMIDAllocatorNeverReusesWithinLifetime issues Message IDs with a fake
// clock: all 65,536 go out in order from the start, the next one is refused
// until the first was issued ExchangeLifetime ago, and no Message ID ever
// comes back sooner than that.
func TestMIDAllocatorNeverReusesWithinLifetime(t *testing.T) {
	for _, start := range []uint16{0, 1, 255, 256, 0x8000, 0xfff0, 0xffff} {
		clk := &fakeClock{t: time.Unix(1000, 0)}
		a := newMIDAllocator(start, clk.now)
		lastIssued := make([]time.Time, MIDsPerLifetime) // by MID; zero: never
		want := start &^ (midGroup - 1)
		for i := 0; i < MIDsPerLifetime; i++ {
			mid, ok := a.take()
			if !ok || mid != want {
				t.Fatalf("start %#x, take %d = %#x, %v; want %#x", start, i, mid, ok, want)
			}
			lastIssued[mid] = clk.t
			want++
			clk.advance(time.Millisecond) // 65,536 ms: well within the lifetime
		}
		if mid, ok := a.take(); ok {
			t.Fatalf("start %#x: MID %#x reused %v after its first use", start, mid, clk.t.Sub(lastIssued[mid]))
		}
		if a.issued() != MIDsPerLifetime {
			t.Fatalf("issued = %d", a.issued())
		}
		// Walk the clock on; every MID handed out must be at least a lifetime old.
		refused := 0
		for i := 0; i < 3*MIDsPerLifetime; i++ {
			mid, ok := a.take()
			if !ok {
				refused++
				clk.advance(100 * time.Millisecond)
				continue
			}
			if prev := lastIssued[mid]; !prev.IsZero() && clk.t.Sub(prev) < ExchangeLifetime {
				t.Fatalf("start %#x: MID %#x reused after %v", start, mid, clk.t.Sub(prev))
			}
			lastIssued[mid] = clk.t
			clk.advance(time.Millisecond)
		}
		if refused == 0 {
			t.Fatalf("start %#x: never paced", start)
		}
	}
}

// TestMIDAllocatorReusesAfterLifetime: at a rate below the ceiling, Message
// IDs wrap without ever being refused.
func TestMIDAllocatorReusesAfterLifetime(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	a := newMIDAllocator(0x1234, clk.now)
	// 65,536 per 247 s is ~3.77 ms per MID; 4 ms is slower than the ceiling
	// once the group granularity (256 MIDs) is allowed for.
	step := 4 * time.Millisecond
	for i := 0; i < 3*MIDsPerLifetime; i++ {
		if _, ok := a.take(); !ok {
			t.Fatalf("take %d refused at a rate below the ceiling", i)
		}
		clk.advance(step)
	}
}
