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

	mu        sync.Mutex
	current   map[blockKey]*assembly
	previous  map[blockKey]*assembly
	rotatedAt int64
}

func newBlockAssembler(lifetime time.Duration, now time.Time) *blockAssembler {
	return &blockAssembler{
		lifetime:  int64(lifetime),
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
		a = &assembly{}
		b.current[k] = a
	}
	offset := int64(num) * int64(size)
	if a == nil || offset != int64(len(a.body)) {
		delete(b.current, k)
		return blockResult{errCode: codes.RequestEntityIncomplete, errText: "Block1 block out of sequence"}
	}
	if len(a.body)+len(payload) > maxBlockwiseBody {
		delete(b.current, k)
		return blockResult{errCode: codes.RequestEntityTooLarge, errText: "request body over 1 MiB"}
	}
	a.body = append(a.body, payload...)
	if more {
		return blockResult{}
	}
	delete(b.current, k)
	return blockResult{complete: true, body: a.body}
}

// pending is the number of unfinished transfers.
func (b *blockAssembler) pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.current) + len(b.previous)
}
