// SPDX-License-Identifier: Apache-2.0

package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

// fakeServer is a raw UDP peer whose behaviour each test scripts: handle gets
// every decoded datagram and returns the datagrams to send back.
type fakeServer struct {
	t    *testing.T
	pc   net.PacketConn
	mu   sync.Mutex
	seen [][]byte
}

func newFakeServer(t *testing.T, handle func(n int, m *message.Message) [][]byte) *fakeServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, pc: pc}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for n := 0; ; n++ {
			k, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			d := append([]byte(nil), buf[:k]...)
			s.mu.Lock()
			s.seen = append(s.seen, d)
			s.mu.Unlock()
			m := message.Message{Options: make(message.Options, 0, 16)}
			if _, err := coder.DefaultCoder.Decode(d, &m); err != nil {
				continue
			}
			for _, out := range handle(n, &m) {
				pc.WriteTo(out, addr)
			}
		}
	}()
	return s
}

func (s *fakeServer) addr() string { return s.pc.LocalAddr().String() }

func (s *fakeServer) datagrams() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.seen...)
}

// encode encodes m into a buffer large enough for oversized datagrams too.
func encode(t *testing.T, m message.Message) []byte {
	buf := make([]byte, 4096)
	n, err := coder.DefaultCoder.Encode(m, buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

func ack(t *testing.T, req *message.Message, code codes.Code, payload string, opts ...message.Option) []byte {
	return encode(t, message.Message{Type: message.Acknowledgement, MessageID: req.MessageID, Token: req.Token,
		Code: code, Payload: []byte(payload), Options: opts})
}

var fast = Params{AckTimeout: 40 * time.Millisecond, MaxRetransmit: 3}

func TestPiggybackedResponse(t *testing.T) {
	var mu sync.Mutex
	var got struct {
		path, sign string
		typ        message.Type
		cf         message.MediaType
	}
	srv := newFakeServer(t, func(n int, m *message.Message) [][]byte {
		mu.Lock()
		defer mu.Unlock()
		got.path, _ = m.Options.Path()
		got.sign, _ = m.Options.GetString(OptionSign)
		got.typ = m.Type
		got.cf, _ = m.Options.ContentFormat()
		return [][]byte{ack(t, m, codes.Changed, "ok",
			message.Option{ID: OptionCommandTopic, Value: []byte("/topic/sys/p/d/thing/model/down_raw")},
			message.Option{ID: OptionCommandPayload, Value: []byte{1, 2}})}
	})
	c := New(srv.addr(), fast)
	defer c.Close()
	r, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/topic/sys/p/d/thing/model/up_raw", ContentFormat: 50, Payload: []byte("x"), Sign: []byte("ABCD")})
	if err != nil {
		t.Fatal(err)
	}
	if r.Code != codes.Changed || string(r.Payload) != "ok" || r.Retransmissions != 0 {
		t.Errorf("response %+v", r)
	}
	if r.CommandTopic != "/topic/sys/p/d/thing/model/down_raw" || !r.HasCommandData || string(r.CommandPayload) != "\x01\x02" {
		t.Errorf("command options %+v", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if got.path != "/topic/sys/p/d/thing/model/up_raw" || got.sign != "ABCD" || got.typ != message.Confirmable || got.cf != 50 {
		t.Errorf("server saw %+v", got)
	}
}

func TestRetransmitsLostRequestsIdentically(t *testing.T) {
	srv := newFakeServer(t, func(n int, m *message.Message) [][]byte {
		if n < 2 {
			return nil // lost
		}
		return [][]byte{ack(t, m, codes.Changed, "")}
	})
	c := New(srv.addr(), fast)
	defer c.Close()
	start := time.Now()
	r, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Retransmissions != 2 || c.Retransmissions() != 2 {
		t.Errorf("retransmissions %d / %d, want 2", r.Retransmissions, c.Retransmissions())
	}
	// Back-off: at least 40 ms + 80 ms before the third transmission.
	if el := time.Since(start); el < 120*time.Millisecond {
		t.Errorf("answered after %v: retransmitted faster than the back-off", el)
	}
	d := srv.datagrams()
	if len(d) != 3 || string(d[0]) != string(d[1]) || string(d[1]) != string(d[2]) {
		t.Errorf("retransmissions differ from the original: %x", d)
	}
	// The next request uses a new Message ID and token.
	if _, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1}); err != nil {
		t.Fatal(err)
	}
	d = srv.datagrams()
	if string(d[3][2:4]) == string(d[0][2:4]) || string(d[3][4:12]) == string(d[0][4:12]) {
		t.Error("a new request reused the Message ID or token")
	}
}

func TestTimeoutAfterWindow(t *testing.T) {
	srv := newFakeServer(t, func(int, *message.Message) [][]byte { return nil })
	c := New(srv.addr(), fast)
	defer c.Close()
	start := time.Now()
	_, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1})
	el := time.Since(start)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if n := len(srv.datagrams()); n != fast.MaxRetransmit+1 {
		t.Errorf("sent %d datagrams, want %d", n, fast.MaxRetransmit+1)
	}
	// 40+80+160+320 = 600 ms at least; the window is 900 ms.
	if el < 600*time.Millisecond || el > fast.Window()+200*time.Millisecond {
		t.Errorf("gave up after %v; window %v", el, fast.Window())
	}
}

func TestICMPIsNetworkErrorAndRecovers(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close() // now nothing listens: the kernel answers ICMP port unreachable
	c := New(addr, Params{AckTimeout: time.Second, MaxRetransmit: 4})
	defer c.Close()
	start := time.Now()
	_, err = c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1})
	var ne *NetError
	if !errors.As(err, &ne) {
		t.Fatalf("err = %v, want NetError", err)
	}
	if el := time.Since(start); el > 1500*time.Millisecond {
		t.Errorf("ICMP error took %v to surface", el)
	}
	// The server comes back on the same port: the next exchange works.
	pc2, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	defer pc2.Close()
	go func() {
		buf := make([]byte, 2048)
		n, from, err := pc2.ReadFrom(buf)
		if err != nil {
			return
		}
		m := message.Message{Options: make(message.Options, 0, 8)}
		if _, err := coder.DefaultCoder.Decode(buf[:n], &m); err == nil {
			pc2.WriteTo(ack(t, &m, codes.Changed, ""), from)
		}
	}()
	if _, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1}); err != nil {
		t.Fatalf("after the server came back: %v", err)
	}
}

func TestSeparateResponseIsAcknowledged(t *testing.T) {
	var acks sync.WaitGroup
	acks.Add(1)
	srv := newFakeServer(t, func(n int, m *message.Message) [][]byte {
		switch {
		case n == 0:
			empty := encode(t, message.Message{Type: message.Acknowledgement, MessageID: m.MessageID, Code: codes.Empty})
			sep := encode(t, message.Message{Type: message.Confirmable, MessageID: 777, Token: m.Token, Code: codes.Content, Payload: []byte("late")})
			return [][]byte{empty, sep}
		case m.Type == message.Acknowledgement && m.MessageID == 777:
			acks.Done()
		}
		return nil
	})
	c := New(srv.addr(), fast)
	defer c.Close()
	r, err := c.Do(context.Background(), &Request{Code: codes.GET, Path: "/a", ContentFormat: -1})
	if err != nil || string(r.Payload) != "late" {
		t.Fatalf("r=%+v err=%v", r, err)
	}
	done := make(chan struct{})
	go func() { acks.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("the separate response was never acknowledged")
	}
}

func TestIgnoresGarbageAndStaleAnswers(t *testing.T) {
	srv := newFakeServer(t, func(n int, m *message.Message) [][]byte {
		wrongToken := *m
		wrongToken.Token = []byte("zzzzzzzz")
		otherMID := *m
		otherMID.MessageID = (m.MessageID + 1) & 0xffff
		return [][]byte{
			{0xff, 0x00}, {}, []byte("hello world, not coap"), {0x40, 0x45, 0x00}, // garbage
			ack(t, &wrongToken, codes.Changed, "wrong token"),
			ack(t, &otherMID, codes.Changed, "wrong mid"),
			ack(t, m, codes.Changed, "right"),
		}
	})
	c := New(srv.addr(), fast)
	defer c.Close()
	r, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1})
	if err != nil || string(r.Payload) != "right" {
		t.Fatalf("r=%+v err=%v", r, err)
	}
}

func TestResetIsAnError(t *testing.T) {
	srv := newFakeServer(t, func(n int, m *message.Message) [][]byte {
		return [][]byte{encode(t, message.Message{Type: message.Reset, MessageID: m.MessageID, Code: codes.Empty})}
	})
	c := New(srv.addr(), fast)
	defer c.Close()
	if _, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1}); !errors.Is(err, ErrReset) {
		t.Fatalf("err = %v, want ErrReset", err)
	}
}

func TestCloseInterruptsExchange(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{{"goroutine", context.Background()}, {"dedicated thread", OnDedicatedThread(context.Background())}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeServer(t, func(int, *message.Message) [][]byte { return nil })
			c := New(srv.addr(), Params{AckTimeout: 5 * time.Second, MaxRetransmit: 4})
			done := make(chan error, 1)
			go func() {
				runtime.LockOSThread() // as a call from C runs
				_, err := c.Do(tc.ctx, &Request{Code: codes.POST, Path: "/a", ContentFormat: -1})
				done <- err
			}()
			time.Sleep(100 * time.Millisecond)
			c.Close()
			select {
			case err := <-done:
				if !errors.Is(err, ErrClosed) {
					t.Errorf("err = %v, want ErrClosed", err)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("Close did not interrupt the exchange")
			}
			if _, err := c.Do(tc.ctx, &Request{Code: codes.POST, Path: "/a", ContentFormat: -1}); !errors.Is(err, ErrClosed) {
				t.Errorf("after Close: %v", err)
			}
		})
	}
}

// TestGoroutineWaitsHoldNoThread: on Linux the socket is in blocking mode for
// the dedicated-thread wait, so every other read must still wait in the
// netpoller: many goroutines waiting for answers must not each block an OS
// thread in recvfrom (which a plain net.UDPConn.Read on that socket would do).
func TestGoroutineWaitsHoldNoThread(t *testing.T) {
	srv := newFakeServer(t, func(int, *message.Message) [][]byte { return nil })
	const n = 200
	conns := make([]*Conn, n)
	for i := range conns {
		conns[i] = New(srv.addr(), Params{AckTimeout: 5 * time.Second, MaxRetransmit: 1})
		defer conns[i].Close()
	}
	threads := pprof.Lookup("threadcreate").Count()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			if _, err := c.Do(ctx, &Request{Code: codes.POST, Path: "/a", ContentFormat: -1}); err == nil {
				t.Error("an answer from a silent server")
			}
		})
	}
	wg.Wait()
	if grown := pprof.Lookup("threadcreate").Count() - threads; grown > 20 {
		t.Errorf("%d goroutines waiting started %d OS threads", n, grown)
	}
}

func TestContextCancel(t *testing.T) {
	srv := newFakeServer(t, func(int, *message.Message) [][]byte { return nil })
	c := New(srv.addr(), Params{AckTimeout: 5 * time.Second, MaxRetransmit: 4})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Do(ctx, &Request{Code: codes.POST, Path: "/a", ContentFormat: -1})
	if err == nil || time.Since(start) > time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
	// A deadline is folded into the exchange's end (ErrTimeout above); a plain
	// cancellation has none, and must be noticed while waiting.
	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{{"goroutine", context.Background()}, {"dedicated thread", OnDedicatedThread(context.Background())}} {
		t.Run("cancel/"+tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(tc.ctx)
			defer cancel()
			timer := time.AfterFunc(50*time.Millisecond, cancel)
			defer timer.Stop()
			start := time.Now()
			_, err := c.Do(ctx, &Request{Code: codes.POST, Path: "/a", ContentFormat: -1})
			el := time.Since(start)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
			if el > time.Second {
				t.Errorf("returned %v after the start, cancelled after 50 ms", el)
			}
		})
	}
}

func TestTooBig(t *testing.T) {
	p := fast
	p.BlockSize = -1 // block-wise off
	c := New("127.0.0.1:9", p)
	defer c.Close()
	_, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1, Payload: make([]byte, MaxDatagram)})
	if !errors.Is(err, ErrTooBig) {
		t.Fatalf("err = %v, want ErrTooBig", err)
	}
}

func TestAgainResendsTheSameMessage(t *testing.T) {
	srv := newFakeServer(t, func(n int, m *message.Message) [][]byte {
		if n < fast.MaxRetransmit+1 {
			return nil // the first exchange times out
		}
		return [][]byte{ack(t, m, codes.Changed, "late")}
	})
	c := New(srv.addr(), fast)
	defer c.Close()
	req := &Request{Code: codes.POST, Path: "/a", ContentFormat: -1, Sign: []byte("S1"), Keep: true}
	if _, err := c.Do(context.Background(), req); !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
	if req.Sent == nil || !c.CanResend(req.Sent) {
		t.Fatal("no reusable exchange kept")
	}
	before := len(srv.datagrams())
	again := &Request{Again: req.Sent}
	r, err := c.Do(context.Background(), again)
	if err != nil || string(r.Payload) != "late" || r.Retransmissions != 1 {
		t.Fatalf("resend: %+v %v", r, err)
	}
	d := srv.datagrams()
	if string(d[before]) != string(d[0]) {
		t.Fatal("the resent datagram differs from the original")
	}
	// Without Keep nothing is kept; a stale exchange is refused.
	plain := &Request{Code: codes.POST, Path: "/a", ContentFormat: -1}
	c.Do(context.Background(), plain)
	if plain.Sent != nil {
		t.Error("Sent set without Keep")
	}
	// An answered exchange is not kept either: only a failed one is worth resending.
	answered := &Request{Code: codes.POST, Path: "/a", ContentFormat: -1, Keep: true}
	if _, err := c.Do(context.Background(), answered); err != nil {
		t.Fatal(err)
	}
	if answered.Sent != nil {
		t.Error("Sent set for an answered exchange")
	}
	old := *req.Sent
	old.first = time.Now().Add(-ExchangeLifetime)
	if _, err := c.Do(context.Background(), &Request{Again: &old}); !errors.Is(err, ErrStale) {
		t.Errorf("stale exchange: %v", err)
	}
}

// TestDedicatedThreadWait: callers from C wait in recvfrom on their thread; the
// fast path and the netpoller path must mix on one Conn (the offline worker
// and the poller are goroutines), and ICMP errors and slow answers still work.
func TestDedicatedThreadWait(t *testing.T) {
	ded := OnDedicatedThread(context.Background())
	srv := newFakeServer(t, func(n int, m *message.Message) [][]byte {
		switch n {
		case 1: // answered after the 2 ms wait on the thread gave up: the netpoller takes over
			time.Sleep(20 * time.Millisecond)
		case 3: // lost: a retransmission follows
			return nil
		}
		return [][]byte{ack(t, m, codes.Changed, fmt.Sprint(n))}
	})
	c := New(srv.addr(), fast)
	defer c.Close()
	// The server answers with the number of the datagram it answers: the
	// fourth exchange's first datagram (3) is lost, its retransmission is 4.
	want := []string{"0", "1", "2", "4"}
	for i, ctx := range []context.Context{ded, ded, context.Background(), ded} {
		r, err := c.Do(ctx, &Request{Code: codes.POST, Path: "/a", ContentFormat: -1})
		if err != nil {
			t.Fatalf("exchange %d: %v", i, err)
		}
		if string(r.Payload) != want[i] {
			t.Errorf("exchange %d: payload %q, want %q", i, r.Payload, want[i])
		}
		if i == 0 && runtime.GOOS == "linux" && runtime.GOARCH != "386" && !c.sock.canWait() {
			t.Error("no fast path on Linux: SO_RCVTIMEO or the switch to blocking mode failed")
		}
	}
	if c.Retransmissions() != 1 {
		t.Errorf("retransmissions %d, want 1", c.Retransmissions())
	}
	pc, _ := net.ListenPacket("udp", "127.0.0.1:0")
	addr := pc.LocalAddr().String()
	pc.Close()
	c2 := New(addr, Params{AckTimeout: time.Second, MaxRetransmit: 2})
	defer c2.Close()
	var ne *NetError
	if _, err := c2.Do(ded, &Request{Code: codes.POST, Path: "/a", ContentFormat: -1}); !errors.As(err, &ne) {
		t.Fatalf("ICMP on the fast path: %v", err)
	}
}
