// SPDX-License-Identifier: Apache-2.0

package sim

import (
	"net/netip"
	"sync"
	"time"
)

// exchangeKey is RFC 7252's deduplication key: the sender's endpoint and the
// request's Message ID.
type exchangeKey struct {
	from netip.AddrPort
	mid  uint16
}

type exchange struct {
	at       int64  // unix nanoseconds of the first sighting
	response []byte // the encoded answer; nil while the request is being handled
	waiting  int    // duplicates that arrived while it was handled: each gets the answer
}

// exchangeCache remembers every request for EXCHANGE_LIFETIME so that a
// retransmission gets the cached answer instead of being judged again
// (RFC 7252 §4.5).
//
// It keeps two generations of maps and drops the older one whole every
// ExchangeLifetime, so its cost per datagram is one map look-up whatever the
// number of endpoints or requests so far. go-coap's server, which this replaces,
// scanned an endpoint's whole cache on every datagram, and so slowed down as a
// long run from one endpoint went on. An entry lives between one and two
// lifetimes; lookups ignore entries older than one.
type exchangeCache struct {
	lifetime int64

	mu        sync.Mutex
	current   map[exchangeKey]exchange // by value: no heap object per request for the GC to visit
	previous  map[exchangeKey]exchange
	rotatedAt int64
}

func newExchangeCache(lifetime time.Duration, now time.Time) *exchangeCache {
	return &exchangeCache{
		lifetime:  int64(lifetime),
		current:   make(map[exchangeKey]exchange),
		previous:  make(map[exchangeKey]exchange),
		rotatedAt: now.UnixNano(),
	}
}

// begin records the first sighting of k and returns (nil, false), or, for a
// duplicate within the lifetime, returns the cached answer and true. A
// duplicate of a request still being handled gets nil: finish counts it, so
// that the answer goes out once more for it when ready.
func (c *exchangeCache) begin(k exchangeKey, now time.Time) (response []byte, duplicate bool) {
	t := now.UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	if t-c.rotatedAt >= c.lifetime {
		c.previous, c.current = c.current, make(map[exchangeKey]exchange, len(c.current))
		c.rotatedAt = t
	}
	gen := c.current
	e, ok := gen[k]
	if !ok {
		gen = c.previous
		e, ok = gen[k]
	}
	if ok && t-e.at < c.lifetime {
		if e.response == nil {
			e.waiting++
			gen[k] = e
		}
		return e.response, true
	}
	c.current[k] = exchange{at: t}
	return nil, false
}

// finish stores the answer to k's request for its retransmissions and
// returns how many duplicates arrived while it was handled.
func (c *exchangeCache) finish(k exchangeKey, response []byte) (waiting int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	gen := c.current
	e, ok := gen[k]
	if !ok {
		gen = c.previous // rotated while the request was handled
		if e, ok = gen[k]; !ok {
			return 0
		}
	}
	waiting = e.waiting
	gen[k] = exchange{at: e.at, response: response}
	return waiting
}

// size is the number of remembered exchanges (both generations).
func (c *exchangeCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.current) + len(c.previous)
}
