// SPDX-License-Identifier: Apache-2.0

package transport

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
)

// Receiving on a shared socket: leader and followers.
//
// Every exchange in progress on a socket registers a waiter under its
// Message ID and token. Whichever waiter finds the socket without a reader
// becomes the reader and reads the socket itself, exactly as a lone client
// does (on Linux, a blocking recvfrom on the caller's own thread): a single
// client pays a lock and two map updates per exchange and nothing else.
// A datagram for another exchange (an ACK or RST by Message ID, a separate
// response by token) is copied to that waiter's channel; a separate response
// nobody waits for is acknowledged, as a lone client does. When the reader's
// exchange ends or it stops to retransmit, it wakes another waiter, which
// becomes the reader in turn. No goroutine reads on anyone's behalf, so an
// idle socket costs none.

// waiterQueue is how many datagrams a waiter can hold before the reader
// drops more for it (as a full socket buffer would).
const waiterQueue = 8

// waiter is one exchange in progress on a socket.
type waiter struct {
	ch    chan []byte   // datagrams for this exchange
	poke  chan struct{} // look again: the reader left, the Conn closed or the socket failed (1 slot: pokes coalesce)
	timer *time.Timer
	mid   uint16
	token uint64
	conn  *Conn
}

var waiters = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &waiter{ch: make(chan []byte, waiterQueue), poke: make(chan struct{}, 1), timer: t}
}}

func tokenKey(token []byte) uint64 {
	if len(token) != 8 {
		return 0
	}
	return binary.LittleEndian.Uint64(token)
}

// register makes datagrams for (mid, token) reach w. It fails when the
// socket failed.
func (s *sock) register(w *waiter, c *Conn, mid uint16, token []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	w.mid, w.token, w.conn = mid, tokenKey(token), c
	s.addLocked(w)
	c.waiting = w
	return nil
}

// unregister undoes register and empties w's channel for its next use.
func (s *sock) unregister(w *waiter) {
	s.mu.Lock()
	s.removeLocked(w)
	if s.reader == w {
		s.reader = nil
	}
	if s.reader == nil {
		// Wake another waiter to read: w may have taken the last poke
		// with it (it ended without looking at its channel again).
		s.wakeOneLocked(w)
	}
	w.conn.waiting = nil
	s.mu.Unlock()
	for {
		select {
		case <-w.ch:
			continue
		case <-w.poke:
			continue
		default:
		}
		break
	}
	w.conn = nil
}

// lead makes w the reader if there is none; it reports whether w reads.
// An exchange with datagrams passed on to it does not become the reader: the
// previous reader may have passed them on after w last looked, and as the
// reader w would not look at its queue again.
func (s *sock) lead(w *waiter) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return false, s.err
	}
	if s.reader == nil && len(w.ch) == 0 {
		s.reader = w
	}
	return s.reader == w, nil
}

// resign ends w's turn as reader and wakes another waiter to take it.
func (s *sock) resign(w *waiter) {
	s.mu.Lock()
	if s.reader == w {
		s.resignLocked()
	}
	s.mu.Unlock()
}

func (s *sock) resignLocked() {
	r := s.reader
	s.reader = nil
	s.wakeOneLocked(r)
}

// wakeOneLocked pokes a waiter other than not, if there is one, to become
// the reader.
func (s *sock) wakeOneLocked(not *waiter) {
	if s.solo != nil || len(s.byToken) == 0 {
		return // nobody else: a lone client pays no map iteration
	}
	for _, w := range s.byToken {
		if w != not {
			poke(w)
			return
		}
	}
}

// poke wakes w to look again (once, however often it is poked meanwhile).
// Pokes have their own channel so that they never take the room of a
// datagram.
func poke(w *waiter) {
	select {
	case w.poke <- struct{}{}:
	default:
	}
}

// route hands dgram, read by the reader me, to the exchange it belongs to.
// It returns true when that exchange is me's own (the caller then matches
// it); otherwise the datagram was passed on (copied) or dropped.
func (s *sock) route(me *waiter, dgram []byte) bool {
	if len(dgram) < 4 || dgram[0]>>6 != 1 {
		return false
	}
	typ := message.Type(dgram[0] >> 4 & 3)
	tkl := int(dgram[0] & 0xf)
	mid := binary.BigEndian.Uint16(dgram[2:4])
	s.mu.Lock()
	var w *waiter
	switch typ {
	case message.Acknowledgement, message.Reset:
		w = s.withMIDLocked(mid)
	default:
		if tkl == 8 && len(dgram) >= 12 {
			w = s.withTokenLocked(tokenKey(dgram[4:12]))
		}
	}
	if w == me {
		s.mu.Unlock()
		return true
	}
	if w != nil {
		select {
		case w.ch <- append([]byte(nil), dgram...):
		default: // its queue is full: dropped, as by a full socket buffer
		}
		s.mu.Unlock()
		return false
	}
	s.mu.Unlock()
	if typ == message.Confirmable && dgram[1] >= 2<<5 {
		// A separate response nobody waits for (a late duplicate): ACK it so
		// that the server stops retransmitting.
		s.sendEmptyACK(mid)
	}
	return false
}

// fail records err as the socket's end (once) and wakes every waiter.
func (s *sock) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	s.err = err
	s.dead.Store(true)
	if s.solo != nil {
		poke(s.solo)
	}
	for _, w := range s.byToken {
		poke(w)
	}
}

// failed returns the error the socket failed with, or nil.
func (s *sock) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// interrupt wakes c's exchange waiting on s, if any (Conn.Close): the reader
// by moving the read deadline to now, a follower through its channel.
func (s *sock) interrupt(c *Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := c.waiting
	if w == nil {
		return
	}
	if s.reader == w {
		_ = s.conn.SetReadDeadline(time.Now())
		return
	}
	poke(w)
}

// The registry of exchanges: a lone exchange is kept in solo, without a map
// update; with more than one, every one is in byMID and byToken.

func (s *sock) addLocked(w *waiter) {
	if s.solo == nil && len(s.byToken) == 0 {
		s.solo = w
		return
	}
	if s.byMID == nil {
		s.byMID = make(map[uint16]*waiter)
		s.byToken = make(map[uint64]*waiter)
	}
	if o := s.solo; o != nil {
		s.byMID[o.mid], s.byToken[o.token] = o, o
		s.solo = nil
	}
	s.byMID[w.mid], s.byToken[w.token] = w, w
}

func (s *sock) removeLocked(w *waiter) {
	if s.solo == w {
		s.solo = nil
		return
	}
	if s.byMID[w.mid] == w {
		delete(s.byMID, w.mid)
	}
	if s.byToken[w.token] == w {
		delete(s.byToken, w.token)
	}
}

func (s *sock) withMIDLocked(mid uint16) *waiter {
	if s.solo != nil {
		if s.solo.mid == mid {
			return s.solo
		}
		return nil
	}
	return s.byMID[mid]
}

func (s *sock) withTokenLocked(token uint64) *waiter {
	if s.solo != nil {
		if s.solo.token == token {
			return s.solo
		}
		return nil
	}
	return s.byToken[token]
}

// waitingLocked counts the exchanges registered.
func (s *sock) waitingLocked() int {
	if s.solo != nil {
		return 1
	}
	return len(s.byToken)
}
