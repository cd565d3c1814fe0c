// SPDX-License-Identifier: Apache-2.0

package transport

import (
	"net"
	"time"
)

// sock is the client's connected UDP socket together with the system calls an
// exchange makes on it: write, read in Go's netpoller (until a deadline), and,
// where the platform has it (sock_linux.go), wait for a datagram blocking the
// calling thread for up to spinWait.
type sock struct {
	conn        *net.UDPConn
	deadlineSet bool // a read deadline is left on conn (guarded by Conn.xmu)
	mids        *midAllocator
	recent      *recentMIDs // separate responses received; nil until the first (guarded by Conn.xmu)
	sockSys                 // the platform's part
}

// spinWait is how long a wait on a dedicated thread may block that thread
// before it waits in Go's netpoller (and so how late a Close may be noticed).
const spinWait = 2 * time.Millisecond

// read waits in Go's netpoller until a datagram arrives or until deadline
// (os.ErrDeadlineExceeded), and reads it into b.
func (s *sock) read(b []byte, deadline time.Time) (int, error) {
	if err := s.conn.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	s.deadlineSet = true
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
