package client

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

// TestEndlessAnnouncementsAreBounded: a server whose every answer announces
// one more command (a lone option 2100, earlier documentation's style) cannot
// hold a client: one report triggers at most maxFetches command fetches and
// then returns (docs/protocol.md §5, "bounded fetching").
func TestEndlessAnnouncementsAreBounded(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	var gets atomic.Int32
	down := "/topic/sys/" + tPK + "/" + tDK + "/thing/model/down_raw"
	go func() {
		buf := make([]byte, 2048)
		out := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			m := message.Message{Options: make(message.Options, 0, 16)}
			if _, err := coder.DefaultCoder.Decode(buf[:n], &m); err != nil || m.Type != message.Confirmable {
				continue
			}
			resp := message.Message{Type: message.Acknowledgement, MessageID: m.MessageID, Token: m.Token, Code: codes.Changed}
			path, _ := m.Options.Path()
			switch {
			case strings.HasPrefix(path, "/auth/"):
				resp.Code = codes.Content
				resp.Payload = []byte(`{"token":"8GjM3fXkD2oQ"}`)
			case m.Code == codes.GET:
				gets.Add(1)
				resp.Code = codes.Content
				resp.Payload = []byte("command")
			}
			if !strings.HasPrefix(path, "/auth/") {
				resp.Options = message.Options{{ID: 2100, Value: []byte(down)}}
			}
			k, err := coder.DefaultCoder.Encode(resp, out)
			if err != nil {
				continue
			}
			_, _ = pc.WriteTo(out[:k], from)
		}
	}()

	c := newClient(t, pc.LocalAddr().String(), func(c *Config) { c.CommandQueue = 1000 })
	if err := c.Report(context.Background(), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if g := gets.Load(); g != maxFetches {
		t.Fatalf("one report caused %d command fetches, want the bound %d", g, maxFetches)
	}
	if got := c.Stats().Commands; got != maxFetches {
		t.Fatalf("%d commands delivered, want %d", got, maxFetches)
	}
}
