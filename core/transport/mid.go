// SPDX-License-Identifier: Apache-2.0

package transport

import (
	"sync"
	"time"
)

// ExchangeLifetime is RFC 7252's EXCHANGE_LIFETIME (§4.8.2) with the default
// transmission parameters: how long a server keeps recognising a Message ID
// from one endpoint as a duplicate, and so how long a Message ID must not be
// used again towards the same server from the same socket.
const ExchangeLifetime = 247 * time.Second

// MIDsPerLifetime is how many new messages one socket may send to one server
// within ExchangeLifetime: every 16-bit Message ID once. A Conn that needs
// more moves to a fresh socket (a new source port is a new endpoint for the
// server's deduplication), see Conn.Do.
const MIDsPerLifetime = 1 << 16

// midGroup is how many consecutive Message IDs share one recorded issue time.
// Recording per group keeps the allocator at 2 KB instead of 512 KB per
// socket; the price is that a Message ID counts as issued when the last one
// of its group was, which delays reuse by at most one group's span.
const midGroup = 256

// midAllocator hands out the Message IDs of one socket: consecutive, from a
// random start, and never one that was issued less than ExchangeLifetime ago.
// It is safe for concurrent use, so that sockets shared by several clients
// can share it too.
type midAllocator struct {
	mu    sync.Mutex
	now   func() time.Time
	base  time.Time
	next  uint16
	count uint64 // Message IDs issued so far
	// last[g] is when a Message ID of group g was last issued, as time since
	// base plus 1 (0: never).
	last [1 << 16 / midGroup]time.Duration
}

// newMIDAllocator starts at the group of start (start rounded down to a
// multiple of midGroup, so that every group is issued whole: a partly issued
// first group would need its own bookkeeping). The random part of the first
// Message ID is thus 8 bits; the 8 random bytes of every token are what
// protect against forged answers.
func newMIDAllocator(start uint16, now func() time.Time) *midAllocator {
	if now == nil {
		now = time.Now
	}
	return &midAllocator{now: now, base: now(), next: start &^ (midGroup - 1)}
}

// take returns the next Message ID, or false when it was issued less than
// ExchangeLifetime ago (the socket has used all 65,536 within the lifetime:
// sending it again would make the server answer from its deduplication
// cache). Nothing is consumed when it returns false.
func (a *midAllocator) take() (uint16, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now().Sub(a.base) + 1
	if a.blockedLocked(now) {
		return 0, false
	}
	g := a.next / midGroup
	mid := a.next
	a.next++
	a.count++
	a.last[g] = now
	return mid, true
}

// issued reports how many Message IDs take has handed out.
func (a *midAllocator) issued() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.count
}

// exhausted reports whether take would fail now: the socket has issued all
// 65,536 Message IDs within ExchangeLifetime.
func (a *midAllocator) exhausted() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.blockedLocked(a.now().Sub(a.base) + 1)
}

// blockedLocked says whether the next Message ID was issued less than
// ExchangeLifetime before now (time since base plus 1). On entering a group,
// last[g] is from the previous round: the time its last Message ID went out.
// Once that is old enough, so is every other of the group, and within the
// group every later one is newer still.
func (a *midAllocator) blockedLocked(now time.Duration) bool {
	if a.next%midGroup != 0 {
		return false
	}
	l := a.last[a.next/midGroup]
	return l != 0 && now-l < ExchangeLifetime
}
