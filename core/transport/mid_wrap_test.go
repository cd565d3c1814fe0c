// SPDX-License-Identifier: Apache-2.0

package transport

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

// dedupServer is a UDP CoAP server that deduplicates the way RFC 7252 §4.5
// asks: a CON whose (source endpoint, Message ID) it has seen is answered
// from its cache, whatever its token. Its entries never expire during a test
// (a test is far shorter than EXCHANGE_LIFETIME). Every new request is
// answered 2.04 with the request's payload, piggybacked.
type dedupServer struct {
	pc net.PacketConn

	mu        sync.Mutex
	cache     map[dedupKey][]byte
	endpoints map[string]bool
	handled   int // new requests (not answered from the cache)
	cached    int // requests answered from the cache
}

type dedupKey struct {
	from string
	mid  uint16
}

func newDedupServer(t testing.TB) *dedupServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &dedupServer{pc: pc, cache: map[dedupKey][]byte{}, endpoints: map[string]bool{}}
	t.Cleanup(func() { pc.Close() })
	go s.serve()
	return s
}

func (s *dedupServer) addr() string { return s.pc.LocalAddr().String() }

func (s *dedupServer) serve() {
	buf := make([]byte, 2048)
	out := make([]byte, 2048)
	m := message.Message{Options: make(message.Options, 0, 16)}
	for {
		n, from, err := s.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		m.Options = m.Options[:0]
		if _, err := coder.DefaultCoder.Decode(buf[:n], &m); err != nil || m.Type != message.Confirmable {
			continue
		}
		key := dedupKey{from.String(), uint16(m.MessageID)}
		s.mu.Lock()
		s.endpoints[key.from] = true
		if r, ok := s.cache[key]; ok {
			s.cached++
			s.mu.Unlock()
			s.pc.WriteTo(r, from)
			continue
		}
		s.handled++
		s.mu.Unlock()
		k, err := coder.DefaultCoder.Encode(message.Message{Type: message.Acknowledgement, MessageID: m.MessageID,
			Token: m.Token, Code: codes.Changed, Payload: m.Payload}, out)
		if err != nil {
			continue
		}
		r := append([]byte(nil), out[:k]...)
		s.mu.Lock()
		s.cache[key] = r
		s.mu.Unlock()
		s.pc.WriteTo(r, from)
	}
}

func (s *dedupServer) counts() (handled, cached, endpoints int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handled, s.cached, len(s.endpoints)
}

// TestMoreThan65536SequentialRequests sends more requests than there are
// Message IDs, back to back, to a server that deduplicates by (endpoint,
// Message ID): every one must get its own answer. A client that wraps its
// Message IDs on one socket gets the cached answer of a request 65,536
// earlier (another token) and times out.
func TestMoreThan65536SequentialRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 66,000 requests")
	}
	srv := newDedupServer(t)
	// A generous window: a wrong answer times out, a slow machine does not.
	c := New(srv.addr(), Params{AckTimeout: 500 * time.Millisecond, MaxRetransmit: 2})
	defer c.Close()
	const total = MIDsPerLifetime + 500
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < total; i++ {
		p := strconv.Itoa(i)
		r, err := c.Do(ctx, &Request{Code: codes.POST, Path: "/a", ContentFormat: -1, Payload: []byte(p)})
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if string(r.Payload) != p {
			t.Fatalf("request %d got the answer of %q", i, r.Payload)
		}
	}
	handled, cached, endpoints := srv.counts()
	t.Logf("%d requests in %v, %d endpoints, %d answered from the cache", total, time.Since(start), endpoints, cached)
	if handled != total || endpoints < 2 {
		t.Fatalf("server handled %d of %d requests from %d endpoints", handled, total, endpoints)
	}
}

// TestStaleAnswerMovesToFreshSocket: a server whose deduplication cache holds
// another message under our Message ID (from an earlier process on the same
// source port, say) answers with that message's token. The Conn must not wait
// for the window to run out: it moves to a fresh socket and sends again, and
// counts it. A second such answer in the same request (a fresh socket cannot
// collide) is ignored as a forgery.
func TestStaleAnswerMovesToFreshSocket(t *testing.T) {
	var mu sync.Mutex
	first := ""
	var endpoints []string
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			m := message.Message{Options: make(message.Options, 0, 8)}
			if _, err := coder.DefaultCoder.Decode(buf[:n], &m); err != nil || m.Type != message.Confirmable {
				continue
			}
			mu.Lock()
			if first == "" {
				first = from.String()
			}
			endpoints = append(endpoints, from.String())
			stale := from.String() == first
			mu.Unlock()
			tok := m.Token
			if stale {
				tok = []byte("old-tokn")
			}
			pc.WriteTo(encode(t, message.Message{Type: message.Acknowledgement, MessageID: m.MessageID, Token: tok,
				Code: codes.Changed, Payload: m.Payload}), from)
		}
	}()
	// A long ACK timeout: a client that waits for a retransmission instead
	// of moving socket shows up as a second datagram from the first endpoint.
	c := New(pc.LocalAddr().String(), Params{AckTimeout: 10 * time.Second, MaxRetransmit: 1})
	defer c.Close()
	r, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1, Payload: []byte("x")})
	if err != nil || string(r.Payload) != "x" {
		t.Fatalf("r=%+v err=%v", r, err)
	}
	mu.Lock()
	if len(endpoints) != 2 || endpoints[0] == endpoints[1] {
		t.Errorf("server saw %v; want the request once from each of two endpoints", endpoints)
	}
	mu.Unlock()
	if c.StaleAnswers() != 1 || c.Rebinds() != 1 {
		t.Errorf("StaleAnswers %d, Rebinds %d; want 1, 1", c.StaleAnswers(), c.Rebinds())
	}
}

// TestStaleAnswersForeverEndInTimeout: a server that always answers with
// another token makes the Conn move socket once, then wait out the window;
// it never loops.
func TestStaleAnswersForeverEndInTimeout(t *testing.T) {
	srv := newFakeServer(t, func(n int, m *message.Message) [][]byte {
		wrong := *m
		wrong.Token = []byte("zzzzzzzz")
		return [][]byte{ack(t, &wrong, codes.Changed, "stale")}
	})
	c := New(srv.addr(), fast)
	defer c.Close()
	if _, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1}); !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if c.Rebinds() != 1 || c.StaleAnswers() < 2 {
		t.Fatalf("Rebinds %d, StaleAnswers %d; want 1, >= 2", c.Rebinds(), c.StaleAnswers())
	}
}
