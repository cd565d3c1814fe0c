// SPDX-License-Identifier: Apache-2.0

package transport

import "time"

// recentSize is how many separate responses a socket remembers. A server
// retransmits a separate response for at most MAX_TRANSMIT_SPAN (45 s with
// the defaults) and one exchange runs at a time, so the few last ones are
// the only ones it can still be sending; 64 leaves room for a server that
// answers each block of a long transfer separately.
const recentSize = 64

// recentMIDs remembers the Message IDs of the separate responses (CON and
// NON) a socket received, for RFC 7252 §4.5 deduplication: a server that
// does not see our ACK in time sends the same response again, and within a
// Block1 transfer, where every block has the same token, the copy of the
// 2.31 for block 0 would otherwise pass for the answer to block 1.
type recentMIDs struct {
	mid  [recentSize]uint16
	at   [recentSize]time.Duration // since epoch; 0: empty slot
	next int
}

// seen reports whether mid arrived within ExchangeLifetime, and remembers it
// (now) when it did not.
func (r *recentMIDs) seen(mid uint16) bool {
	now := time.Since(epoch) + 1
	for i := range r.mid {
		if r.at[i] != 0 && r.mid[i] == mid && now-r.at[i] < ExchangeLifetime {
			return true
		}
	}
	r.mid[r.next], r.at[r.next] = mid, now
	r.next = (r.next + 1) % recentSize
	return false
}
