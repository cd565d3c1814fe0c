// SPDX-License-Identifier: Apache-2.0

package sim

import (
	"net/netip"
	"sync"
	"time"

	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// maxBlockwiseBody bounds a request body assembled from Block1 blocks.
const maxBlockwiseBody = 1 << 20

// Bounds on what unfinished transfers hold all together, so that peers that
// start transfers from many endpoints and paths and never finish them cannot
// grow the simulator's memory without limit: past maxBlockTransfers a new
// transfer is refused with 5.03, and a block that would take the bytes held
// past maxBlockwiseHeld is refused with 4.13 (its transfer is dropped).
const (
	maxBlockTransfers = 10000
	maxBlockwiseHeld  = 64 << 20
)

// blockKey identifies one Block1 transfer: RFC 7959 §2.3 lets the token change
// from block to block, so blocks are matched by endpoint, method and path.
type blockKey struct {
	from netip.AddrPort
	code codes.Code
	path string
}

type assembly struct {
	body []byte
}

// blockAssembler collects Block1 request bodies (RFC 7959 §2.5). A transfer
// left unfinished is forgotten after one to two ExchangeLifetimes, by the same
// two-generation scheme as exchangeCache.
type blockAssembler struct {
	lifetime int64
	maxHeld  int64 // maxBlockwiseHeld (lowered by tests)

	mu        sync.Mutex
	current   map[blockKey]*assembly
	previous  map[blockKey]*assembly
	rotatedAt int64
	held      int64 // body bytes of all unfinished transfers
}

func newBlockAssembler(lifetime time.Duration, now time.Time) *blockAssembler {
	return &blockAssembler{
		lifetime:  int64(lifetime),
		maxHeld:   maxBlockwiseHeld,
		current:   make(map[blockKey]*assembly),
		previous:  make(map[blockKey]*assembly),
		rotatedAt: now.UnixNano(),
	}
}

// blockResult is what add decided about one block.
type blockResult struct {
	complete bool       // body holds the whole request body: handle it
	body     []byte     // the assembled body (complete only)
	errCode  codes.Code // non-zero: answer this code and abandon the transfer
	errText  string
}

// add takes block num (of size bytes, more following if more) of the transfer k.
func (b *blockAssembler) add(k blockKey, num uint32, more bool, size int, payload []byte, now time.Time) blockResult {
	if more && len(payload) != size {
		return blockResult{errCode: codes.BadRequest, errText: "a Block1 block other than the last must be exactly the block size"}
	}
	if len(payload) > size {
		return blockResult{errCode: codes.BadRequest, errText: "Block1 block larger than its block size"}
	}
	t := now.UnixNano()
	b.mu.Lock()
	defer b.mu.Unlock()
	if t-b.rotatedAt >= b.lifetime {
		for _, old := range b.previous { // abandoned for a lifetime or more
			b.held -= int64(len(old.body))
		}
		b.previous, b.current = b.current, make(map[blockKey]*assembly, len(b.current))
		b.rotatedAt = t
	}
	a := b.current[k]
	if a == nil {
		if a = b.previous[k]; a != nil {
			delete(b.previous, k)
			b.current[k] = a
		}
	}
	if num == 0 {
		if a != nil { // a restart of the transfer
			b.drop(k, a)
		}
		if len(b.current)+len(b.previous) >= maxBlockTransfers {
			return blockResult{errCode: codes.ServiceUnavailable, errText: "too many unfinished Block1 transfers"}
		}
		a = &assembly{}
		b.current[k] = a
	}
	offset := int64(num) * int64(size)
	if a == nil || offset != int64(len(a.body)) {
		if a != nil {
			b.drop(k, a)
		}
		return blockResult{errCode: codes.RequestEntityIncomplete, errText: "Block1 block out of sequence"}
	}
	if len(a.body)+len(payload) > maxBlockwiseBody {
		b.drop(k, a)
		return blockResult{errCode: codes.RequestEntityTooLarge, errText: "request body over 1 MiB"}
	}
	if b.held+int64(len(payload)) > b.maxHeld {
		b.drop(k, a)
		return blockResult{errCode: codes.RequestEntityTooLarge, errText: "too many bytes in unfinished Block1 transfers"}
	}
	a.body = append(a.body, payload...)
	b.held += int64(len(payload))
	if more {
		return blockResult{}
	}
	b.drop(k, a)
	return blockResult{complete: true, body: a.body}
}

// drop forgets transfer k (a) and the bytes it holds.
func (b *blockAssembler) drop(k blockKey, a *assembly) {
	delete(b.current, k)
	b.held -= int64(len(a.body))
}

// pending is the number of unfinished transfers.
func (b *blockAssembler) pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.current) + len(b.previous)
}
