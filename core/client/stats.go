package client

import "sync/atomic"

// Stats counts what a Client did since New.
type Stats struct {
	Sent            uint64 // requests EnOS acknowledged with 2.xx
	Failed          uint64 // exchanges that failed or were rejected
	Retransmissions uint64 // datagrams sent again
	Auths           uint64 // authentication attempts
	Commands        uint64 // commands received
	CommandsDropped uint64 // commands received while the command queue was full
}

type statCounters struct {
	sent, failed, auths, commands, commandsDropped atomic.Uint64
}

// Stats returns the counters; safe from any goroutine.
func (c *Client) Stats() Stats {
	return Stats{
		Sent:            c.stats.sent.Load(),
		Failed:          c.stats.failed.Load(),
		Retransmissions: c.conn.Retransmissions(),
		Auths:           c.stats.auths.Load(),
		Commands:        c.stats.commands.Load(),
		CommandsDropped: c.stats.commandsDropped.Load(),
	}
}
