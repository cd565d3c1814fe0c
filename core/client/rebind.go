// SPDX-License-Identifier: Apache-2.0

package client

import "github.com/libenos/libenos/core/logging"

// logRebinds reports the transport's moves to a fresh socket since it read
// the counters stale and rebinds before an exchange. A move after a stale
// answer (EnOS answered from its deduplication cache for an earlier message
// with the same Message ID from the same socket) is worth a warning: it
// means Message IDs were reused too early, by this or an earlier process on
// the same source port. A move because the socket used all its Message IDs
// within EXCHANGE_LIFETIME is routine for a busy client or a busy process
// (the socket is shared).
func (c *Client) logRebinds(stale, rebinds uint64) {
	if c.conn.Rebinds() == rebinds {
		return
	}
	if n := c.conn.StaleAnswers() - stale; n > 0 {
		c.logf(logging.Warn, "EnOS answered %d time(s) from its duplicate cache for an earlier message with the same Message ID: sent again from a fresh socket", n)
		return
	}
	c.logf(logging.Info, "65,536 Message IDs used within 247 s on this socket (shared by the clients of the process): moved to another socket")
}
