// SPDX-License-Identifier: Apache-2.0

package client

import (
	"bytes"
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

// separateRepeater is an EnOS that answers each block of a Block1 report with
// an empty ACK and then a separate CON response, and, before every new
// separate response, sends each earlier one of the same transfer again with
// its Message ID (an RFC 7252 retransmission, as when our ACK is slow). It
// records each report once its last block arrives.
type separateRepeater struct {
	pc net.PacketConn

	mu      sync.Mutex
	nextMID int32
	bodies  map[string][]byte   // token -> reassembled so far
	sent    map[string][][]byte // token -> separate responses so far
	records [][]byte
}

func newSeparateRepeater(t *testing.T) *separateRepeater {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &separateRepeater{pc: pc, nextMID: 5000, bodies: map[string][]byte{}, sent: map[string][][]byte{}}
	t.Cleanup(func() { pc.Close() })
	go s.serve(t)
	return s
}

func (s *separateRepeater) serve(t *testing.T) {
	buf := make([]byte, 2048)
	out := make([]byte, 2048)
	write := func(m message.Message, to net.Addr) []byte {
		k, err := coder.DefaultCoder.Encode(m, out)
		if err != nil {
			t.Error(err)
			return nil
		}
		d := append([]byte(nil), out[:k]...)
		s.pc.WriteTo(d, to)
		return d
	}
	for {
		n, from, err := s.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		m := message.Message{Options: make(message.Options, 0, 16)}
		if _, err := coder.DefaultCoder.Decode(buf[:n], &m); err != nil || m.Type != message.Confirmable {
			continue
		}
		path, _ := m.Options.Path()
		if len(path) > 6 && path[:6] == "/auth/" {
			write(message.Message{Type: message.Acknowledgement, MessageID: m.MessageID, Token: m.Token,
				Code: codes.Content, Payload: []byte(`{"token":"tok"}`)}, from)
			continue
		}
		write(message.Message{Type: message.Acknowledgement, MessageID: m.MessageID, Code: codes.Empty}, from)
		s.mu.Lock()
		tok := string(m.Token)
		more, num, szx := false, 0, 6
		v, err := m.Options.GetUint32(message.Block1)
		if err == nil {
			more, num, szx = v&8 != 0, int(v>>4), int(v&7)
		}
		if num*(16<<szx) == len(s.bodies[tok]) {
			s.bodies[tok] = append(s.bodies[tok], m.Payload...)
		}
		for _, old := range s.sent[tok] {
			s.pc.WriteTo(old, from)
		}
		code := codes.Continue
		if !more {
			code = codes.Changed
			s.records = append(s.records, s.bodies[tok])
		}
		var opts message.Options
		if err == nil {
			bv := make([]byte, 4)
			k, _ := message.EncodeUint32(bv, v&^8|map[bool]uint32{true: 8}[more])
			opts = message.Options{{ID: message.Block1, Value: bv[:k]}}
		}
		s.nextMID++
		d := write(message.Message{Type: message.Confirmable, MessageID: s.nextMID, Token: m.Token, Code: code, Options: opts}, from)
		s.sent[tok] = append(s.sent[tok], d)
		s.mu.Unlock()
	}
}

func (s *separateRepeater) recorded() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.records...)
}

// TestBlockwiseReportWithRepeatedSeparateResponsesRecordedOnce: with a state
// directory, a 3,000-byte report to a server that repeats its separate
// responses is delivered at once and recorded once, not failed ("broke the
// block-wise transfer"), queued and sent again.
func TestBlockwiseReportWithRepeatedSeparateResponsesRecordedOnce(t *testing.T) {
	srv := newSeparateRepeater(t)
	c := newClient(t, srv.pc.LocalAddr().String(), withState(t.TempDir()))
	payload := bytes.Repeat([]byte("0123456789"), 300)
	if out, err := c.Report(context.Background(), payload); err != nil || out.Queued {
		t.Fatalf("Report: %v, %v (want delivered now)", out, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	recs := srv.recorded()
	if len(recs) != 1 || !bytes.Equal(recs[0], payload) {
		t.Fatalf("server recorded %d reports; want the report once, intact", len(recs))
	}
}
