// SPDX-License-Identifier: Apache-2.0

package transport

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// TestBlock1RetransmittedSeparateResponses: a server answers every block with
// an empty ACK and a separate CON response, and sends every earlier separate
// response again (same Message ID, as RFC 7252 retransmission does) before
// each new one, both as CON and as NON. The client must take each as the
// duplicate it is: acknowledge it, not take a 2.31 for block 0 as the answer
// to block 1, and finish the transfer once.
func TestBlock1RetransmittedSeparateResponses(t *testing.T) {
	var mu sync.Mutex
	var body []byte
	var sent [][]byte // every separate response so far
	blocks := 0
	acked := map[int32]int{} // server MID -> empty ACKs received
	srv := newFakeServer(t, func(n int, m *message.Message) [][]byte {
		mu.Lock()
		defer mu.Unlock()
		if m.Type == message.Acknowledgement {
			acked[m.MessageID]++
			return nil
		}
		b := readBlock(m)
		blocks++
		if off := b.num * (16 << b.szx); off == len(body) {
			body = append(body, b.payload...)
		}
		out := [][]byte{encode(t, message.Message{Type: message.Acknowledgement, MessageID: m.MessageID, Code: codes.Empty})}
		for _, old := range sent {
			out = append(out, old)
			nonCopy := append([]byte(nil), old...)
			nonCopy[0] = nonCopy[0]&^0x30 | byte(message.NonConfirmable)<<4
			out = append(out, nonCopy)
		}
		code, opt := codes.Continue, block1Opt(b.num, true, b.szx)
		if !b.more {
			code, opt = codes.Changed, block1Opt(b.num, false, b.szx)
		}
		sep := encode(t, message.Message{Type: message.Confirmable, MessageID: int32(1000 + b.num), Token: m.Token,
			Code: code, Options: message.Options{opt}})
		sent = append(sent, sep)
		return append(out, sep)
	})
	c := New(srv.addr(), Params{AckTimeout: 200e6, MaxRetransmit: 3, BlockSize: 1024})
	defer c.Close()
	want := pattern(3000)
	r, err := c.Do(context.Background(), &Request{Code: codes.POST, Path: "/topic/x/up_raw", ContentFormat: -1, Payload: want})
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if r.Code != codes.Changed {
		t.Fatalf("response %v", r.Code)
	}
	// Every separate CON, the duplicates included, is acknowledged (the
	// last ACKs may still be on their way).
	wantAcks := map[int32]int{1000: 3, 1001: 2, 1002: 1}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		missing := ""
		for mid, times := range wantAcks {
			if acked[mid] < times {
				missing = fmt.Sprintf("separate response MID %d acknowledged %d times, sent %d times", mid, acked[mid], times)
			}
		}
		gotBlocks, gotBody := blocks, bytes.Equal(body, want)
		mu.Unlock()
		if !gotBody || gotBlocks != 3 {
			t.Fatalf("server got %d block datagrams (want 3), body intact: %v", gotBlocks, gotBody)
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(missing)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
