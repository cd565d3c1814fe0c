// SPDX-License-Identifier: Apache-2.0

//go:build !linux || 386

package transport

import "net"

// sockSys has no fast path here: every wait is in Go's netpoller.
type sockSys struct{}

func newSock(conn *net.UDPConn) (*sock, error) { return &sock{conn: conn}, nil }

func (s *sock) write(b []byte) error {
	_, err := s.conn.Write(b)
	return err
}

func (s *sock) readPoll(b []byte) (int, error) { return s.conn.Read(b) }

// recvWait is not available: the caller waits in the netpoller.
func (s *sock) recvWait([]byte) (int, error, bool) { return 0, nil, false }

func (s *sock) canWait() bool { return false }
