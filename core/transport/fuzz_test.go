// SPDX-License-Identifier: Apache-2.0

package transport

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

// The exchange FuzzMatch pretends to be waiting for.
const (
	fuzzMID   = 0x1234
	fuzzToken = "tok-8byt"
)

// FuzzMatch feeds arbitrary datagrams to the response matcher: it must never
// panic and never return a response (or a reset) that is not for fuzzMID and
// fuzzToken. The seed corpus is in testdata/fuzz/FuzzMatch.
func FuzzMatch(f *testing.F) {
	// A socket for the empty ACKs match sends to separate responses; nobody reads them.
	sink, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	defer sink.Close()
	nc, err := net.Dial("udp", sink.LocalAddr().String())
	if err != nil {
		f.Fatal(err)
	}
	s, err := newSock(nc.(*net.UDPConn))
	if err != nil {
		f.Fatal(err)
	}
	defer s.conn.Close()
	c := New(sink.LocalAddr().String(), fast)
	defer c.Close()
	c.sc = scratchPool.Get().(*scratch) // what Do gives match

	f.Fuzz(func(t *testing.T, dgram []byte) {
		acked := false
		resp := c.match(s, dgram, fuzzMID, []byte(fuzzToken), &acked)
		if resp == nil && !acked {
			return
		}
		// Whatever match accepted must decode, independently, to our exchange.
		m := message.Message{Options: make(message.Options, 0, len(dgram))}
		if _, err := coder.DefaultCoder.Decode(dgram, &m); err != nil {
			t.Fatalf("accepted an undecodable datagram: resp=%+v acked=%v", resp, acked)
		}
		if acked && (m.Type != message.Acknowledgement || m.MessageID != fuzzMID || m.Code != codes.Empty) {
			t.Fatalf("took %v %v MID %#x as the empty ACK", m.Type, m.Code, m.MessageID)
		}
		switch {
		case resp == nil:
		case resp == errReset:
			if m.Type != message.Reset || m.MessageID != fuzzMID {
				t.Fatalf("took %v MID %#x as a reset", m.Type, m.MessageID)
			}
		case resp == errStaleAnswer:
			if m.Type != message.Acknowledgement || m.MessageID != fuzzMID || m.Code == codes.Empty || string(m.Token) == fuzzToken {
				t.Fatalf("took %v %v MID %#x token %x as a stale answer", m.Type, m.Code, m.MessageID, m.Token)
			}
		default:
			if string(m.Token) != fuzzToken {
				t.Fatalf("accepted token %x", m.Token)
			}
			switch m.Type {
			case message.Acknowledgement:
				if m.MessageID != fuzzMID {
					t.Fatalf("accepted ACK MID %#x", m.MessageID)
				}
			case message.Confirmable, message.NonConfirmable:
				if m.Code < codes.Created {
					t.Fatalf("accepted a %v request as a response", m.Code)
				}
			default:
				t.Fatalf("accepted a %v", m.Type)
			}
			if resp.Code != m.Code || !bytes.Equal(resp.Payload, m.Payload) {
				t.Fatalf("response %v %x from %v %x", resp.Code, resp.Payload, m.Code, m.Payload)
			}
			// The response owns its bytes: scribbling over the datagram changes nothing.
			p := append([]byte(nil), resp.Payload...)
			for i := range dgram {
				dgram[i] ^= 0xff
			}
			if !bytes.Equal(p, resp.Payload) {
				t.Fatal("the response aliases the receive buffer")
			}
		}
	})
}

// TestHostileServer: a server that answers every request with garbage,
// huge options and oversized datagrams before (or instead of) the answer.
func TestHostileServer(t *testing.T) {
	big := func(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }
	garbage := func(m *message.Message) [][]byte {
		wrongToken := *m
		wrongToken.Token = []byte("zzzzzzzz")
		otherMID := *m
		otherMID.MessageID = (m.MessageID + 1) & 0xffff
		oversized := encode(t, message.Message{Type: message.Acknowledgement, MessageID: m.MessageID, Token: m.Token,
			Code: codes.Changed, Payload: big(1600, 'o')})
		return [][]byte{
			nil, {0x40}, {0xff, 0xff, 0xff, 0xff}, big(1472, 0xff), big(3000, 0x41),
			// Option headers announcing absurd lengths (nibble 14: 269+65535 bytes) with nothing behind them.
			{0x68, 0x44, byte(m.MessageID >> 8), byte(m.MessageID), 't', 'o', 'k', 'e', 'n', '-', '-', '-', 0xee, 0xff, 0xff, 0xff, 0xff},
			// Truncated copy of a right answer.
			ack(t, m, codes.Changed, "truncated")[:6],
			ack(t, &wrongToken, codes.Changed, "wrong token",
				message.Option{ID: OptionCommandTopic, Value: big(1000, 't')}),
			ack(t, &otherMID, codes.Changed, "wrong mid",
				message.Option{ID: OptionCommandPayload, Value: big(1400, 'p')}),
			oversized, // > MaxDatagram: dropped even though it matches
			encode(t, message.Message{Type: message.Reset, MessageID: (m.MessageID + 7) & 0xffff, Code: codes.Empty}),
			encode(t, message.Message{Type: message.Confirmable, MessageID: 9, Token: m.Token, Code: codes.POST, Payload: []byte("a request, not an answer")}),
		}
	}
	t.Run("answer after garbage", func(t *testing.T) {
		srv := newFakeServer(t, func(n int, m *message.Message) [][]byte {
			if m.Type != message.Confirmable {
				return nil
			}
			return append(garbage(m), ack(t, m, codes.Changed, "right",
				message.Option{ID: OptionCommandTopic, Value: big(1000, 'T')}))
		})
		c := New(srv.addr(), fast)
		defer c.Close()
		r, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1})
		if err != nil {
			t.Fatal(err)
		}
		if string(r.Payload) != "right" || r.CommandTopic != string(big(1000, 'T')) || r.HasCommandData {
			t.Fatalf("got %v %q, topic %d bytes", r.Code, r.Payload, len(r.CommandTopic))
		}
	})
	t.Run("huge 2102 in the answer", func(t *testing.T) {
		srv := newFakeServer(t, func(n int, m *message.Message) [][]byte {
			if m.Type != message.Confirmable {
				return nil
			}
			return append(garbage(m), ack(t, m, codes.Changed, "",
				message.Option{ID: OptionCommandPayload, Value: big(1400, 'P')}))
		})
		c := New(srv.addr(), fast)
		defer c.Close()
		r, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1})
		if err != nil {
			t.Fatal(err)
		}
		if !r.HasCommandData || !bytes.Equal(r.CommandPayload, big(1400, 'P')) {
			t.Fatalf("2102 of %d bytes", len(r.CommandPayload))
		}
	})
	t.Run("only garbage", func(t *testing.T) {
		srv := newFakeServer(t, func(n int, m *message.Message) [][]byte {
			if m.Type != message.Confirmable {
				return nil
			}
			return garbage(m)
		})
		c := New(srv.addr(), fast)
		defer c.Close()
		start := time.Now()
		_, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1})
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v, want ErrTimeout", err)
		}
		if el := time.Since(start); el > fast.Window()+300*time.Millisecond {
			t.Errorf("took %v", el)
		}
		// Garbage during a block-wise transfer is ignored the same way.
		_, err = c.Do(context.Background(), &Request{Code: codes.POST, Path: "/a", ContentFormat: -1, Payload: pattern(3000)})
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("block-wise: err = %v, want ErrTimeout", err)
		}
	})
}
