// SPDX-License-Identifier: Apache-2.0

package transport

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// sock is a connected UDP socket to one server, shared by the Conns of the
// process that talk to that server (see pool.go), together with the system
// calls an exchange makes on it: write, read in Go's netpoller (until a
// deadline), and, where the platform has it (sock_linux.go), wait for a
// datagram blocking the calling thread for up to spinWait.
type sock struct {
	conn        *net.UDPConn
	deadlineSet bool          // a read deadline is left on conn (guarded by the reader role, see demux.go)
	mids        *midAllocator // shared by every Conn on the socket: (endpoint, Message ID) stays unique
	sockSys                   // the platform's part

	// Pool bookkeeping, guarded by sockPool.mu.
	key     string // the server's resolved address
	members int    // Conns assigned to this socket
	inPool  bool   // new Conns may still be assigned to it (not failed, not released)
	retired bool   // a stale answer came on it: assign no new Conns

	// Demultiplexing (demux.go), guarded by mu.
	mu      sync.Mutex
	reader  *waiter            // the exchange reading the socket for everyone, if any
	solo    *waiter            // the only exchange in progress, or nil (then byMID and byToken hold them all)
	byMID   map[uint16]*waiter // exchanges in progress by their current Message ID
	byToken map[uint64]*waiter // and by token
	err     error              // set once when the socket fails; it is then never used again
	dead    atomic.Bool        // err is set (read without mu)
}

// spinWait is how long a wait on a dedicated thread may block that thread
// before it waits in Go's netpoller (and so how late a Close may be noticed).
const spinWait = 2 * time.Millisecond

// read waits in Go's netpoller until a datagram arrives or until deadline
// (os.ErrDeadlineExceeded), and reads it into b. closed (the reading Conn's
// flag) is checked after the deadline is set, so that a Close that
// interrupts the wait by moving the deadline (Conn.Close) is never missed.
func (s *sock) read(b []byte, deadline time.Time, closed *atomic.Bool) (int, error) {
	if err := s.conn.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	s.deadlineSet = true
	if closed.Load() {
		return 0, ErrClosed
	}
	return s.readPoll(b)
}

// clearDeadline removes a deadline left by read, which would make the next
// wait on the thread fail at once. It reports whether none is left.
func (s *sock) clearDeadline() bool {
	if s.deadlineSet {
		if s.conn.SetReadDeadline(time.Time{}) != nil {
			return false
		}
		s.deadlineSet = false
	}
	return true
}
