// SPDX-License-Identifier: Apache-2.0

package client

import (
	"net"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

// startFakeEnos serves CoAP on a loopback UDP socket for tests that need an
// EnOS that misbehaves in one precise way, and returns its address; it stops
// when the test ends. Every confirmable request is decoded and handed to
// answer with its Uri-Path and sender, and resp set to a piggybacked 2.04 ACK
// carrying the request's Message ID and token; answer changes resp as the test
// needs, and the result is sent back. Requests are handled one at a time, in
// order, on one goroutine.
func startFakeEnos(t *testing.T, answer func(req *message.Message, path string, from net.Addr, resp *message.Message)) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		out := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			m := message.Message{Options: make(message.Options, 0, 16)} // Decode needs room for the options
			if _, err := coder.DefaultCoder.Decode(buf[:n], &m); err != nil || m.Type != message.Confirmable {
				continue
			}
			resp := message.Message{Type: message.Acknowledgement, MessageID: m.MessageID, Token: m.Token, Code: codes.Changed}
			path, _ := m.Options.Path()
			answer(&m, path, from, &resp)
			if k, err := coder.DefaultCoder.Encode(resp, out); err == nil {
				_, _ = pc.WriteTo(out[:k], from)
			}
		}
	}()
	return pc.LocalAddr().String()
}
