// SPDX-License-Identifier: Apache-2.0

package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

// echoServer answers every CON with its own payload. Every third new
// request is answered separately (an empty ACK, then a CON response), so
// that separate responses must find their exchange among many on a socket.
// It records, per source address, the token each Message ID first came with.
type echoServer struct {
	pc      net.PacketConn
	silent  atomic.Bool // drop everything
	mu      sync.Mutex
	mids    map[string]map[uint16]string // source address -> MID -> token
	reused  []string                     // MIDs seen again with another token
	answers map[string][]byte            // token -> datagram sent, for retransmissions
}

func newEchoServer(t *testing.T) *echoServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	e := &echoServer{pc: pc, mids: map[string]map[uint16]string{}, answers: map[string][]byte{}}
	go e.serve(t)
	return e
}

func (e *echoServer) addr() string { return e.pc.LocalAddr().String() }

func (e *echoServer) serve(t *testing.T) {
	buf := make([]byte, 2048)
	var serverMID uint16
	for n := 0; ; n++ {
		k, addr, err := e.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if e.silent.Load() {
			continue
		}
		var m message.Message
		m.Options = make(message.Options, 0, 16)
		if _, err := coder.DefaultCoder.Decode(buf[:k], &m); err != nil || m.Type != message.Confirmable {
			continue
		}
		src, mid, tok := addr.String(), uint16(m.MessageID), string(m.Token)
		e.mu.Lock()
		if e.mids[src] == nil {
			e.mids[src] = map[uint16]string{}
		}
		if old, ok := e.mids[src][mid]; ok && old != tok {
			e.reused = append(e.reused, fmt.Sprintf("%s MID %#x: tokens %x and %x", src, mid, old, tok))
		}
		e.mids[src][mid] = tok
		e.mu.Unlock()
		if n%3 == 2 {
			serverMID++
			empty := encode(t, message.Message{Type: message.Acknowledgement, MessageID: m.MessageID, Code: codes.Empty})
			sep := encode(t, message.Message{Type: message.Confirmable, MessageID: int32(serverMID), Token: m.Token,
				Code: codes.Changed, Payload: m.Payload})
			e.pc.WriteTo(empty, addr)
			e.pc.WriteTo(sep, addr)
			continue
		}
		e.pc.WriteTo(ack(t, &m, codes.Changed, string(m.Payload)), addr)
	}
}

func (e *echoServer) sources() (int, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.mids), append([]string(nil), e.reused...)
}

// Many Conns to one server share one socket: every request gets its own
// answer (never another's), and no Message ID is used twice from one source
// address for different messages.
func TestSharedSocketManyConns(t *testing.T) {
	srv := newEchoServer(t)
	const conns, each = 40, 30
	p := Params{AckTimeout: 2 * time.Second, MaxRetransmit: 4}
	cs := make([]*Conn, conns)
	for i := range cs {
		cs[i] = New(srv.addr(), p)
		defer cs[i].Close()
	}
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range each {
				want := fmt.Sprintf("conn %d message %d", i, k)
				r, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1, Payload: []byte(want)})
				if err != nil {
					errs <- fmt.Errorf("%s: %w", want, err)
					return
				}
				if string(r.Payload) != want {
					errs <- fmt.Errorf("%s: got the answer %q", want, r.Payload)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	n, reused := srv.sources()
	if len(reused) > 0 {
		t.Errorf("Message IDs reused from one endpoint: %v", reused)
	}
	// Conns that start at once may each open a socket before the first is
	// in the pool; far fewer than one each is the point.
	if n > conns/4 {
		t.Errorf("%d Conns used %d source addresses", conns, n)
	}
	if got := shared.sockets(srv.addr()); got != n {
		t.Errorf("pool holds %d sockets for the server, the server saw %d sources", got, n)
	}
}

// A shared socket closed under its Conns: the exchanges waiting on it end
// with a NetError at once (not after their retransmission window), the pool
// drops it, and the next exchanges go out from a new socket.
func TestSharedSocketClosedUnderIt(t *testing.T) {
	srv := newEchoServer(t)
	p := Params{AckTimeout: 30 * time.Second, MaxRetransmit: 4} // a hang would be obvious
	a, b := New(srv.addr(), p), New(srv.addr(), p)
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	for _, c := range []*Conn{a, b} {
		if _, err := c.Do(ctx, &Request{Code: codes.POST, Path: "/a", ContentFormat: -1}); err != nil {
			t.Fatal(err)
		}
	}
	if a.sock != b.sock {
		t.Fatal("two Conns to one server got different sockets")
	}
	old := a.sock
	srv.silent.Store(true)
	done := make(chan error, 2)
	for _, c := range []*Conn{a, b} {
		go func() {
			_, err := c.Do(ctx, &Request{Code: codes.POST, Path: "/a", ContentFormat: -1})
			done <- err
		}()
	}
	// Wait until both exchanges are registered on the socket, then close it.
	for {
		old.mu.Lock()
		n := old.waitingLocked()
		old.mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	old.conn.Close()
	for range 2 {
		select {
		case err := <-done:
			var ne *NetError
			if !errors.As(err, &ne) {
				t.Fatalf("exchange on the closed socket: %v, want a NetError", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("an exchange still waits on a closed socket")
		}
	}
	if shared.sockets(srv.addr()) != 0 {
		t.Fatal("the closed socket is still in the pool")
	}
	srv.silent.Store(false)
	for _, c := range []*Conn{a, b} {
		r, err := c.Do(ctx, &Request{Code: codes.POST, Path: "/a", ContentFormat: -1, Payload: []byte("again")})
		if err != nil || string(r.Payload) != "again" {
			t.Fatalf("after the loss: %q, %v", r.Payload, err)
		}
	}
	if a.sock == old || a.sock != b.sock {
		t.Fatal("not moved to one new shared socket")
	}
	// Closed before an exchange: the request goes out from a new socket.
	old = a.sock
	old.conn.Close()
	if r, err := a.Do(ctx, &Request{Code: codes.POST, Path: "/a", ContentFormat: -1, Payload: []byte("x")}); err != nil || string(r.Payload) != "x" {
		t.Fatalf("closed while idle: %q, %v", r.Payload, err)
	}
	if a.sock == old {
		t.Fatal("still on the closed socket")
	}
}

// Closing one Conn wakes its own exchange at once, whether it was reading
// the socket or waiting for the reader, and leaves the other Conns alone.
func TestSharedSocketCloseOne(t *testing.T) {
	srv := newEchoServer(t)
	p := Params{AckTimeout: 30 * time.Second, MaxRetransmit: 4}
	a, b, keep := New(srv.addr(), p), New(srv.addr(), p), New(srv.addr(), p)
	defer keep.Close()
	ctx := context.Background()
	for _, c := range []*Conn{a, b, keep} {
		if _, err := c.Do(ctx, &Request{Code: codes.POST, Path: "/a", ContentFormat: -1}); err != nil {
			t.Fatal(err)
		}
	}
	s := a.sock
	srv.silent.Store(true)
	done := make(chan error, 2)
	for _, c := range []*Conn{a, b} {
		go func() {
			_, err := c.Do(ctx, &Request{Code: codes.POST, Path: "/a", ContentFormat: -1})
			done <- err
		}()
	}
	for {
		s.mu.Lock()
		n, reading := s.waitingLocked(), s.reader != nil
		s.mu.Unlock()
		if n == 2 && reading {
			break
		}
		time.Sleep(time.Millisecond)
	}
	// One of the two reads, the other follows: close both.
	a.Close()
	b.Close()
	for range 2 {
		select {
		case err := <-done:
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("closed Conn's exchange: %v, want ErrClosed", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a closed Conn's exchange still waits")
		}
	}
	srv.silent.Store(false)
	if r, err := keep.Do(ctx, &Request{Code: codes.POST, Path: "/a", ContentFormat: -1, Payload: []byte("k")}); err != nil || string(r.Payload) != "k" {
		t.Fatalf("the remaining Conn: %q, %v", r.Payload, err)
	}
	if keep.sock != s {
		t.Fatal("the remaining Conn lost its socket")
	}
}

// More messages than there are Message IDs, from several Conns sharing
// sockets, to a server that deduplicates by (endpoint, Message ID): every
// request gets its own answer, so no socket reused a Message ID, and the
// pool opened another socket when the first ran out.
func TestSharedSocketsMoreThan65536(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 66,000 requests")
	}
	srv := newDedupServer(t)
	const conns = 8
	const total = MIDsPerLifetime + 500
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for range conns {
		c := New(srv.addr(), Params{AckTimeout: 2 * time.Second, MaxRetransmit: 2})
		defer c.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > total {
					return
				}
				p := fmt.Sprint(i)
				r, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1, Payload: []byte(p)})
				if err != nil {
					errs <- fmt.Errorf("request %d: %w", i, err)
					return
				}
				if string(r.Payload) != p {
					errs <- fmt.Errorf("request %d got the answer of %q", i, r.Payload)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	handled, cached, endpoints := srv.counts()
	if handled != total || endpoints < 2 {
		t.Fatalf("server handled %d of %d requests (%d from its cache) from %d endpoints", handled, total, cached, endpoints)
	}
	if endpoints > conns+1 {
		t.Fatalf("%d Conns used %d endpoints", conns, endpoints)
	}
}

// A server named by host name shares the sockets of the same server named by
// address: the pool is keyed by the resolved address.
func TestSharedSocketByResolvedAddress(t *testing.T) {
	srv := newEchoServer(t)
	_, port, _ := net.SplitHostPort(srv.addr())
	a, b := New(srv.addr(), fast), New(net.JoinHostPort("localhost", port), fast)
	defer a.Close()
	defer b.Close()
	for _, c := range []*Conn{a, b} {
		if r, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1, Payload: []byte("n")}); err != nil || string(r.Payload) != "n" {
			t.Fatalf("%s: %q %v", c.server, r.Payload, err)
		}
	}
	if a.sock != b.sock {
		t.Fatal("127.0.0.1 and localhost got different sockets")
	}
}

// Conns closing while others on the same socket are in the middle of
// exchanges (some of them reading for everyone): every Do returns, the closed
// ones with ErrClosed, the others with their own answer, and no answer waits
// unread: with a 30 s ACK timeout, a retransmission on loopback means an
// answer sat in the socket or in an exchange's queue until the timeout (as
// when an exchange became the reader with an answer already passed on to it).
func TestSharedSocketCloseUnderLoad(t *testing.T) {
	srv := newEchoServer(t)
	p := Params{AckTimeout: 30 * time.Second, MaxRetransmit: 4}
	const conns = 30
	cs := make([]*Conn, conns)
	for i := range cs {
		cs[i] = New(srv.addr(), p)
		defer cs[i].Close()
	}
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				want := fmt.Sprintf("%d/%d", i, k)
				r, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1, Payload: []byte(want)})
				if errors.Is(err, ErrClosed) && i%2 == 1 {
					return
				}
				if err != nil || string(r.Payload) != want {
					errs <- fmt.Errorf("%s: %q, %v", want, r.Payload, err)
					return
				}
				if i%2 == 0 && k == 50 {
					return
				}
			}
		}()
	}
	for i := 1; i < conns; i += 2 {
		time.Sleep(time.Millisecond)
		cs[i].Close()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(120 * time.Second):
		t.Fatal("exchanges still running two minutes after their Conns closed or finished")
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var retrans uint64
	for _, c := range cs {
		retrans += c.Retransmissions()
	}
	if retrans > 0 {
		t.Errorf("%d retransmissions: an answer waited unread for the ACK timeout", retrans)
	}
}
