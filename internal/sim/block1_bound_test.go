// SPDX-License-Identifier: Apache-2.0

package sim

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// Hostile peers that start Block1 transfers from many endpoints and paths and
// never finish them cannot make the simulator hold unbounded memory: past the
// bound on unfinished transfers a new one is refused (5.03), and one that
// would take the bytes held past their bound is refused (4.13) and dropped.
func TestBlockAssemblerBoundsHostileTransfers(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	b := newBlockAssembler(time.Minute, t0)
	block := bytes.Repeat([]byte("h"), 16)
	refused := 0
	for i := range maxBlockTransfers + 100 {
		k := blockKey{from: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(1+i%60000)), code: codes.POST, path: fmt.Sprint("p/", i)}
		if r := b.add(k, 0, true, 16, block, t0); r.errCode == codes.ServiceUnavailable {
			refused++
		} else if r.errCode != 0 {
			t.Fatalf("transfer %d: %+v", i, r)
		}
	}
	if n := b.pending(); n > maxBlockTransfers {
		t.Fatalf("%d unfinished transfers held, bound %d", n, maxBlockTransfers)
	}
	if refused != 100 {
		t.Fatalf("%d transfers refused, want the 100 past the bound", refused)
	}

	// Bytes: a lower bound for the test, same code path as the default.
	b = newBlockAssembler(time.Minute, t0)
	b.maxHeld = 257 << 10 // four transfers of 64 KiB and one block
	big := bytes.Repeat([]byte("z"), 1024)
	tooLarge := 0
	for i := range 8 {
		k := blockKey{from: netip.MustParseAddrPort("127.0.0.1:1000"), code: codes.POST, path: fmt.Sprint("big/", i)}
		for num := uint32(0); num < 64; num++ {
			r := b.add(k, num, true, 1024, big, t0)
			if r.errCode == codes.RequestEntityTooLarge {
				tooLarge++
				break
			}
			if r.errCode != 0 {
				t.Fatalf("transfer %d block %d: %+v", i, num, r)
			}
		}
		if b.held > b.maxHeld {
			t.Fatalf("%d bytes held, bound %d", b.held, b.maxHeld)
		}
	}
	if tooLarge == 0 {
		t.Fatal("no transfer refused although 8 x 64 KiB exceed the 256 KiB bound")
	}
	// What was refused or finished no longer counts.
	k := blockKey{from: netip.MustParseAddrPort("127.0.0.1:1000"), code: codes.POST, path: "big/0"}
	if r := b.add(k, 64, false, 1024, []byte("end"), t0); !r.complete {
		t.Fatalf("finishing transfer 0: %+v", r)
	}
	// Rotation drops abandoned transfers and their bytes.
	b.add(blockKey{path: "x"}, 0, true, 16, block, t0.Add(time.Minute))
	b.add(blockKey{path: "x"}, 0, true, 16, block, t0.Add(3*time.Minute))
	if b.held != 16 || b.pending() != 1 {
		t.Fatalf("after two rotations %d bytes in %d transfers held, want 16 in 1", b.held, b.pending())
	}
}
