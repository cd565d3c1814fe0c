// SPDX-License-Identifier: Apache-2.0

package client

import "sync/atomic"

// Stats counts what a Client did since New.
type Stats struct {
	Sent            uint64 // requests EnOS acknowledged with 2.xx
	Failed          uint64 // exchanges that failed or were rejected
	Retransmissions uint64 // datagrams sent again
	Auths           uint64 // authentication attempts
	Reauths         uint64 // authentications after the first session (expiry, 4.01, rollover)
	Commands        uint64 // commands received
	CommandsDropped uint64 // commands received while the command queue was full
	StateErrors     uint64 // session files found corrupt or foreign, and failed saves
	Queued          uint64 // reports waiting in the offline queue now
	QueuedBytes     uint64 // their size on disk
	QueuedTotal     uint64 // reports ever put in the offline queue
	QueueDelivered  uint64 // queued reports delivered later
	QueueDropped    uint64 // queued reports EnOS refused for good (logged)
	QueueRetries    uint64 // deliveries of the queue that failed and wait for a retry (server out of reach, ...)
}

type statCounters struct {
	sent, failed, auths, reauths, commands, commandsDropped, stateErrors atomic.Uint64
}

// Stats returns the counters; safe from any goroutine.
func (c *Client) Stats() Stats {
	st := Stats{
		Sent:            c.stats.sent.Load(),
		Failed:          c.stats.failed.Load(),
		Retransmissions: c.conn.Retransmissions(),
		Auths:           c.stats.auths.Load(),
		Reauths:         c.stats.reauths.Load(),
		Commands:        c.stats.commands.Load(),
		CommandsDropped: c.stats.commandsDropped.Load(),
		StateErrors:     c.stats.stateErrors.Load(),
	}
	if o := c.offlineQueue; o != nil {
		n, b := o.q.Len()
		st.Queued, st.QueuedBytes = uint64(n), uint64(b)
		o.mu.Lock()
		st.QueuedTotal, st.QueueDelivered, st.QueueDropped, st.QueueRetries = o.queuedTotal, o.delivered, o.dropped, o.retries
		o.mu.Unlock()
	}
	return st
}
