// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"

	"github.com/libenos/libenos/core/logging"
)

// TestStaleAnswerIsLoggedAndRecovered: EnOS answering the client's first
// socket from its duplicate cache (our Message ID, another token) must not
// make the report time out: it is sent again from a fresh socket, and the
// host hears about it with a warning.
func TestStaleAnswerIsLoggedAndRecovered(t *testing.T) {
	var mu sync.Mutex
	var warnings []string
	logging.SetHandler(func(l logging.Level, m string) {
		if l == logging.Warn {
			mu.Lock()
			warnings = append(warnings, m)
			mu.Unlock()
		}
	}, logging.Warn)
	defer logging.SetHandler(nil, logging.Off)

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		out := make([]byte, 2048)
		first := ""
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			m := message.Message{Options: make(message.Options, 0, 16)}
			if _, err := coder.DefaultCoder.Decode(buf[:n], &m); err != nil || m.Type != message.Confirmable {
				continue
			}
			if first == "" {
				first = from.String()
			}
			resp := message.Message{Type: message.Acknowledgement, MessageID: m.MessageID, Token: m.Token, Code: codes.Changed}
			if path, _ := m.Options.Path(); strings.HasPrefix(path, "/auth/") {
				resp.Code, resp.Payload = codes.Content, []byte(`{"token":"tok"}`)
			}
			if from.String() == first {
				resp.Token = []byte("old-tokn")
			}
			if k, err := coder.DefaultCoder.Encode(resp, out); err == nil {
				pc.WriteTo(out[:k], from)
			}
		}
	}()
	c := newClient(t, pc.LocalAddr().String())
	if _, err := c.Report(context.Background(), []byte("r")); err != nil {
		t.Fatalf("Report: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(warnings) != 1 || !strings.Contains(warnings[0], "duplicate cache") {
		t.Fatalf("warnings %q; want one about the duplicate cache", warnings)
	}
}
