// SPDX-License-Identifier: Apache-2.0

package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/mux"
	coapNet "github.com/plgd-dev/go-coap/v3/net"
	"github.com/plgd-dev/go-coap/v3/net/blockwise"
	"github.com/plgd-dev/go-coap/v3/options"
	"github.com/plgd-dev/go-coap/v3/udp"
	udpClient "github.com/plgd-dev/go-coap/v3/udp/client"
	udpServer "github.com/plgd-dev/go-coap/v3/udp/server"
)

// pattern returns n bytes that differ from block to block, so that a block
// sent twice or out of place shows.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// coapServer is a real go-coap server (Block1 reassembly on, as by default)
// whose handler reports every body it receives on /up.
type coapServer struct {
	addr   string
	bodies chan []byte
	mu     sync.Mutex
	block1 []uint32 // Block1 option of every request seen, in order
}

func newCoapServer(t *testing.T, opts ...udpServer.Option) *coapServer {
	t.Helper()
	cs := &coapServer{bodies: make(chan []byte, 16)}
	r := mux.NewRouter()
	r.SetErrorHandler(func(error) {})
	if err := r.Handle("/up", mux.HandlerFunc(func(w mux.ResponseWriter, m *mux.Message) {
		var body []byte
		if m.Body() != nil {
			b, err := m.ReadBody()
			if err != nil {
				t.Errorf("ReadBody: %v", err)
			}
			body = append([]byte{}, b...)
		}
		cs.bodies <- body
		_ = w.SetResponse(codes.Changed, message.TextPlain, bytes.NewReader([]byte("done")))
	})); err != nil {
		t.Fatal(err)
	}
	l, err := coapNet.NewListenUDP("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	all := append([]udpServer.Option{
		options.WithMux(r),
		options.WithErrors(func(error) {}),
		options.WithRequestMonitor(func(_ *udpClient.Conn, req *pool.Message) (bool, error) {
			if v, err := req.GetOptionUint32(message.Block1); err == nil {
				cs.mu.Lock()
				cs.block1 = append(cs.block1, v)
				cs.mu.Unlock()
			}
			return false, nil
		}),
	}, opts...)
	s := udp.NewServer(all...)
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(l) }()
	t.Cleanup(func() { s.Stop(); <-done; _ = l.Close() })
	cs.addr = l.LocalAddr().String()
	return cs
}

func (cs *coapServer) blocks() []uint32 {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return append([]uint32(nil), cs.block1...)
}

func TestBlock1AgainstGoCoap(t *testing.T) {
	srv := newCoapServer(t)
	c := New(srv.addr, fast)
	defer c.Close()
	for _, n := range []int{1, 1024, 1025, 5000, MaxPayload} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			before := len(srv.blocks())
			want := pattern(n)
			r, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/up", ContentFormat: int(message.AppOctets), Payload: want})
			if err != nil {
				t.Fatal(err)
			}
			if r.Code != codes.Changed || string(r.Payload) != "done" {
				t.Fatalf("response %v %q", r.Code, r.Payload)
			}
			select {
			case got := <-srv.bodies:
				if !bytes.Equal(got, want) {
					t.Fatalf("handler got %d bytes, want %d intact", len(got), n)
				}
			case <-time.After(time.Second):
				t.Fatal("the handler never ran")
			}
			blocks := srv.blocks()[before:]
			wantBlocks := 0
			if n > 1024 {
				wantBlocks = (n + 1023) / 1024
			}
			if len(blocks) != wantBlocks {
				t.Errorf("server saw %d Block1 requests, want %d", len(blocks), wantBlocks)
			}
		})
	}
}

func TestBlock1AdaptsToSmallerServerBlocks(t *testing.T) {
	srv := newCoapServer(t, options.WithBlockwise(true, blockwise.SZX64, 10*time.Second))
	c := New(srv.addr, fast)
	defer c.Close()
	want := pattern(1024 + 200)
	r, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/up", ContentFormat: -1, Payload: want})
	if err != nil {
		t.Fatal(err)
	}
	if r.Code != codes.Changed {
		t.Fatalf("code %v", r.Code)
	}
	if got := <-srv.bodies; !bytes.Equal(got, want) {
		t.Fatalf("handler got %d bytes, want %d intact", len(got), len(want))
	}
	// Block 0 goes at 1024 bytes before the server can ask; go-coap answers
	// 2.31 with SZX 64 (2), so the rest goes in 64-byte blocks numbered from
	// 1024/64 = 16 on.
	blocks := srv.blocks()
	if len(blocks) != 1+(200+63)/64 {
		t.Fatalf("server saw %d blocks: %x", len(blocks), blocks)
	}
	if blocks[0] != 0<<4|1<<3|6 {
		t.Errorf("block 0 = %#x", blocks[0])
	}
	for i, b := range blocks[1:] {
		more := uint32(1 << 3)
		if i == len(blocks)-2 {
			more = 0
		}
		if want := uint32(16+i)<<4 | more | 2; b != want {
			t.Errorf("block %d = %#x, want %#x", i+1, b, want)
		}
	}
}

func TestBlockSizeParam(t *testing.T) {
	srv := newCoapServer(t)
	p := fast
	p.BlockSize = 256
	c := New(srv.addr, p)
	defer c.Close()
	want := pattern(1000)
	if _, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/up", ContentFormat: -1, Payload: want}); err != nil {
		t.Fatal(err)
	}
	if got := <-srv.bodies; !bytes.Equal(got, want) {
		t.Fatal("body differs")
	}
	if b := srv.blocks(); len(b) != 4 || b[3] != 3<<4|4 {
		t.Errorf("blocks %x", b)
	}
	for _, bad := range []int{-2, 1, 8, 100, 2048, 4096} {
		p.BlockSize = bad
		if err := p.Validate(); !errors.Is(err, ErrBlockSize) {
			t.Errorf("BlockSize %d: %v", bad, err)
		}
		c := New(srv.addr, p)
		if _, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/up", ContentFormat: -1}); !errors.Is(err, ErrBlockSize) {
			t.Errorf("Do with BlockSize %d: %v", bad, err)
		}
		c.Close()
	}
}

// blockReq is what a fake server reads from one Block1 request.
type blockReq struct {
	num, szx  int
	more      bool
	size1     int // -1 if absent
	sign      string
	path      string
	cf        int
	mid       int32
	token     string
	payload   []byte
	hasBlock1 bool
}

func readBlock(m *message.Message) blockReq {
	r := blockReq{size1: -1, cf: -1, mid: m.MessageID, token: string(m.Token), payload: append([]byte{}, m.Payload...)}
	if v, err := m.Options.GetUint32(message.Block1); err == nil {
		r.hasBlock1 = true
		r.num, r.more, r.szx = int(v>>4), v&8 != 0, int(v&7)
	}
	if v, err := m.Options.GetUint32(message.Size1); err == nil {
		r.size1 = int(v)
	}
	r.sign, _ = m.Options.GetString(OptionSign)
	r.path, _ = m.Options.Path()
	if cf, err := m.Options.ContentFormat(); err == nil {
		r.cf = int(cf)
	}
	return r
}

func block1Opt(num int, more bool, szx int) message.Option {
	v := uint32(num)<<4 | uint32(szx)
	if more {
		v |= 8
	}
	b := make([]byte, 4)
	n, err := message.EncodeUint32(b, v)
	if err != nil {
		panic(err)
	}
	return message.Option{ID: message.Block1, Value: b[:n]}
}

// TestBlock1LostMiddleBlock: a reassembling fake server loses the first
// transmission of block 2; the client retransmits it identically.
func TestBlock1LostMiddleBlock(t *testing.T) {
	var mu sync.Mutex
	var seen []blockReq
	var body []byte
	lost := false
	srv := newFakeServer(t, func(n int, m *message.Message) [][]byte {
		mu.Lock()
		defer mu.Unlock()
		b := readBlock(m)
		seen = append(seen, b)
		if b.num == 2 && !lost {
			lost = true
			return nil
		}
		if off := b.num * (16 << b.szx); off == len(body) {
			body = append(body, b.payload...)
		}
		if b.more {
			return [][]byte{ack(t, m, codes.Continue, "", block1Opt(b.num, true, b.szx))}
		}
		return [][]byte{ack(t, m, codes.Changed, "all", block1Opt(b.num, false, b.szx))}
	})
	c := New(srv.addr(), fast)
	defer c.Close()
	want := pattern(5000)
	r, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/topic/x/up_raw", ContentFormat: 42, Payload: want, Sign: []byte("ABCDEF")})
	if err != nil {
		t.Fatal(err)
	}
	if r.Code != codes.Changed || string(r.Payload) != "all" || r.Retransmissions != 1 {
		t.Errorf("response %v %q retransmissions %d", r.Code, r.Payload, r.Retransmissions)
	}
	mu.Lock()
	defer mu.Unlock()
	if !bytes.Equal(body, want) {
		t.Fatalf("server reassembled %d bytes, want %d intact", len(body), len(want))
	}
	if len(seen) != 6 {
		t.Fatalf("server saw %d datagrams, want 5 blocks + 1 retransmission", len(seen))
	}
	d := srv.datagrams()
	if !bytes.Equal(d[2], d[3]) {
		t.Error("the retransmitted block differs from the original")
	}
	mids := map[int32]bool{}
	for i, b := range seen {
		if i != 3 {
			if mids[b.mid] {
				t.Errorf("datagram %d reuses Message ID %d", i, b.mid)
			}
			mids[b.mid] = true
		}
		if b.token != seen[0].token || b.sign != "ABCDEF" || b.path != "/topic/x/up_raw" || b.cf != 42 || !b.hasBlock1 || b.szx != 6 {
			t.Errorf("datagram %d: %+v", i, b)
		}
		if (b.size1 >= 0) != (b.num == 0) || (b.num == 0 && b.size1 != 5000) {
			t.Errorf("datagram %d (block %d): Size1 %d", i, b.num, b.size1)
		}
	}
}

func TestBlock1ErrorEndsTransfer(t *testing.T) {
	for _, code := range []codes.Code{codes.RequestEntityTooLarge, codes.RequestEntityIncomplete, codes.Unauthorized} {
		t.Run(code.String(), func(t *testing.T) {
			var mu sync.Mutex
			count := 0
			srv := newFakeServer(t, func(n int, m *message.Message) [][]byte {
				mu.Lock()
				count++
				mu.Unlock()
				b := readBlock(m)
				if b.num == 2 {
					return [][]byte{ack(t, m, code, "no")}
				}
				return [][]byte{ack(t, m, codes.Continue, "", block1Opt(b.num, true, b.szx))}
			})
			c := New(srv.addr(), fast)
			defer c.Close()
			r, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1, Payload: pattern(5000)})
			if err != nil {
				t.Fatal(err)
			}
			if r.Code != code || string(r.Payload) != "no" {
				t.Errorf("response %v %q", r.Code, r.Payload)
			}
			time.Sleep(2 * fast.AckTimeout)
			mu.Lock()
			defer mu.Unlock()
			if count != 3 {
				t.Errorf("sent %d blocks, want 3", count)
			}
		})
	}
}

// TestBlock1ContinueForever: a server that answers 2.31 to everything, never
// reassembling, costs one exchange per block and an error.
func TestBlock1ContinueForever(t *testing.T) {
	for _, tc := range []struct {
		name  string
		num   func(b blockReq) int
		sends int
	}{
		{"echo", func(b blockReq) int { return b.num }, 5},
		{"always block 0", func(blockReq) int { return 0 }, 2},
		{"ahead", func(b blockReq) int { return b.num + 1 }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			count := 0
			srv := newFakeServer(t, func(n int, m *message.Message) [][]byte {
				mu.Lock()
				count++
				mu.Unlock()
				b := readBlock(m)
				return [][]byte{ack(t, m, codes.Continue, "", block1Opt(tc.num(b), true, b.szx))}
			})
			c := New(srv.addr(), fast)
			defer c.Close()
			start := time.Now()
			_, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1, Payload: pattern(5000)})
			if !errors.Is(err, ErrBlockwise) {
				t.Fatalf("err = %v, want ErrBlockwise", err)
			}
			if el := time.Since(start); el > time.Second {
				t.Errorf("took %v", el)
			}
			mu.Lock()
			defer mu.Unlock()
			if count != tc.sends {
				t.Errorf("sent %d blocks, want %d", count, tc.sends)
			}
		})
	}
}

// TestBlock1ServerShrinksMidTransfer: the server asks for 256-byte blocks
// while acknowledging block 1 with its offset in its own size (RFC 7959 §2.5).
func TestBlock1ServerShrinksMidTransfer(t *testing.T) {
	var mu sync.Mutex
	var body []byte
	var nums []int
	srv := newFakeServer(t, func(n int, m *message.Message) [][]byte {
		mu.Lock()
		defer mu.Unlock()
		b := readBlock(m)
		nums = append(nums, b.num<<4|b.szx)
		if off := b.num * (16 << b.szx); off == len(body) {
			body = append(body, b.payload...)
		}
		if !b.more {
			return [][]byte{ack(t, m, codes.Changed, "")}
		}
		if b.num == 1 && b.szx == 6 {
			return [][]byte{ack(t, m, codes.Continue, "", block1Opt(4, true, 4))} // offset 1024 = 4×256
		}
		return [][]byte{ack(t, m, codes.Continue, "", block1Opt(b.num, true, b.szx))}
	})
	c := New(srv.addr(), fast)
	defer c.Close()
	want := pattern(3000)
	if _, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1, Payload: want}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !bytes.Equal(body, want) {
		t.Fatalf("reassembled %d bytes", len(body))
	}
	// 0/1024, 1/1024, then 256-byte blocks from offset 2048: 8, 9, 10, 11.
	wantNums := []int{0<<4 | 6, 1<<4 | 6, 8<<4 | 4, 9<<4 | 4, 10<<4 | 4, 11<<4 | 4}
	if fmt.Sprint(nums) != fmt.Sprint(wantNums) {
		t.Errorf("blocks %x, want %x", nums, wantNums)
	}
}

// TestBlock1TimeoutBounded: a server that goes silent after block 0 costs one
// retransmission window, not one per remaining block.
func TestBlock1TimeoutBounded(t *testing.T) {
	srv := newFakeServer(t, func(n int, m *message.Message) [][]byte {
		if b := readBlock(m); b.num == 0 {
			return [][]byte{ack(t, m, codes.Continue, "", block1Opt(0, true, b.szx))}
		}
		return nil
	})
	c := New(srv.addr(), fast)
	defer c.Close()
	start := time.Now()
	_, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1, Payload: pattern(5000)})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
	if el := time.Since(start); el > fast.Window()+300*time.Millisecond {
		t.Errorf("took %v, window %v", el, fast.Window())
	}
	// A ctx deadline shorter than the window wins.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := c.Do(ctx, &Request{Code: codes.POST, Path: "/a", ContentFormat: -1, Payload: pattern(5000)}); err == nil {
		t.Fatal("no error")
	}
	if el := time.Since(start); el > 400*time.Millisecond {
		t.Errorf("ctx deadline ignored: %v", el)
	}
}

// TestBlock1LongPathShrinksBlocks: when Uri-Path and Sign leave no room for a
// 1024-byte block, the client picks a smaller block size instead of failing.
func TestBlock1LongPathShrinksBlocks(t *testing.T) {
	var mu sync.Mutex
	var body []byte
	srv := newFakeServer(t, func(n int, m *message.Message) [][]byte {
		mu.Lock()
		defer mu.Unlock()
		b := readBlock(m)
		body = append(body, b.payload...)
		if b.more {
			return [][]byte{ack(t, m, codes.Continue, "", block1Opt(b.num, true, b.szx))}
		}
		return [][]byte{ack(t, m, codes.Changed, "")}
	})
	c := New(srv.addr(), fast)
	defer c.Close()
	path := "/" + string(bytes.Repeat([]byte("p"), 200)) + "/" + string(bytes.Repeat([]byte("q"), 200))
	sign := string(bytes.Repeat([]byte("S"), 96))
	want := pattern(1024) // fits BlockSize, not one datagram with this path
	if _, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: path, ContentFormat: -1, Payload: want, Sign: []byte(sign)}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !bytes.Equal(body, want) {
		t.Fatalf("got %d bytes", len(body))
	}
	for _, d := range srv.datagrams() {
		if len(d) > MaxDatagram {
			t.Errorf("sent a %d-byte datagram", len(d))
		}
	}
}

func TestMaxPayload(t *testing.T) {
	c := New("127.0.0.1:9", fast)
	defer c.Close()
	_, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1, Payload: make([]byte, MaxPayload+1)})
	if !errors.Is(err, ErrTooBig) {
		t.Fatalf("err = %v, want ErrTooBig", err)
	}
}

func TestBlock2ResponseIsRefusedNotTruncated(t *testing.T) {
	for _, v := range [][]byte{{0x0a}, {0x1a}, {0, 0, 0, 0}} { // M=1 block 0; block 1; malformed
		srv := newFakeServer(t, func(n int, m *message.Message) [][]byte {
			return [][]byte{ack(t, m, codes.Content, "first block", message.Option{ID: message.Block2, Value: v})}
		})
		c := New(srv.addr(), fast)
		_, err := c.Do(context.Background(), &Request{Code: codes.GET, Path: "/a", ContentFormat: -1})
		c.Close()
		if !errors.Is(err, ErrBlock2) {
			t.Errorf("Block2 %x: err = %v, want ErrBlock2", v, err)
		}
	}
	// A whole response in one block (NUM 0, M 0) is fine.
	srv := newFakeServer(t, func(n int, m *message.Message) [][]byte {
		return [][]byte{ack(t, m, codes.Content, "all", message.Option{ID: message.Block2, Value: []byte{0x06}})}
	})
	c := New(srv.addr(), fast)
	defer c.Close()
	if r, err := c.Do(context.Background(), &Request{Code: codes.GET, Path: "/a", ContentFormat: -1}); err != nil || string(r.Payload) != "all" {
		t.Fatalf("%v %v", r, err)
	}
}

// TestContinueToSingleDatagramIsNotADelivery: 2.31 Continue asks for the next
// block; to a request sent whole (no Block1) it says nothing was processed.
func TestContinueToSingleDatagramIsNotADelivery(t *testing.T) {
	srv := newFakeServer(t, func(n int, m *message.Message) [][]byte {
		return [][]byte{ack(t, m, codes.Continue, "")}
	})
	c := New(srv.addr(), fast)
	defer c.Close()
	r, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1, Payload: []byte("small")})
	if !errors.Is(err, ErrBlockwise) {
		t.Fatalf("Do = %v, %v; want ErrBlockwise", r.Code, err)
	}
}
