// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"net"
	"sync"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"

	"github.com/libenos/libenos/core/transport"
)

// announcer is a hostile EnOS: it authenticates anyone, answers every other
// request (POST 2.04, GET 2.05 with a payload) and puts the lone option 2100
// announce() returns on every answer, so that a client that follows every
// announcement never stops.
type announcer struct {
	pc       net.PacketConn
	announce func() string

	mu    sync.Mutex
	posts int
	gets  []string // paths of the GETs
}

func newAnnouncer(t *testing.T, announce func() string) *announcer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &announcer{pc: pc, announce: announce}
	t.Cleanup(func() { pc.Close() })
	go a.serve()
	return a
}

func (a *announcer) addr() string { return a.pc.LocalAddr().String() }

func (a *announcer) serve() {
	buf := make([]byte, 2048)
	out := make([]byte, 2048)
	for {
		n, from, err := a.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		m := message.Message{Options: make(message.Options, 0, 16)}
		if _, err := coder.DefaultCoder.Decode(buf[:n], &m); err != nil || m.Type != message.Confirmable {
			continue
		}
		path, _ := m.Options.Path()
		resp := message.Message{Type: message.Acknowledgement, MessageID: m.MessageID, Token: m.Token, Code: codes.Changed}
		switch {
		case m.Code == codes.POST && len(path) > 5 && path[:6] == "/auth/":
			resp.Code, resp.Payload = codes.Content, []byte(`{"token":"tok"}`)
		case m.Code == codes.GET:
			a.mu.Lock()
			a.gets = append(a.gets, path)
			a.mu.Unlock()
			resp.Code, resp.Payload = codes.Content, []byte("cmd")
		default:
			a.mu.Lock()
			a.posts++
			a.mu.Unlock()
		}
		if resp.Payload == nil || m.Code == codes.GET { // not an authentication
			if topic := a.announce(); topic != "" {
				resp.Options = message.Options{{ID: transport.OptionCommandTopic, Value: []byte(topic)}}
			}
		}
		if k, err := coder.DefaultCoder.Encode(resp, out); err == nil {
			a.pc.WriteTo(out[:k], from)
		}
	}
}

func (a *announcer) counts() (posts int, gets []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.posts, append([]string(nil), a.gets...)
}

// TestLoneCommandTopicOnEveryResponseIsBounded: a server that announces a
// command on every answer must not turn one report into dozens of GETs, nor
// one poll into thousands: each call makes a bounded number of exchanges,
// and what is left is fetched by the next call.
func TestLoneCommandTopicOnEveryResponseIsBounded(t *testing.T) {
	srv := newAnnouncer(t, func() string { return "/topic" + downRaw })
	c := newClient(t, srv.addr())
	ctx := context.Background()
	if err := c.Authenticate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Report(ctx, []byte("r")); err != nil {
		t.Fatal(err)
	}
	posts, gets := srv.counts()
	if posts != 1 || len(gets) != 1 {
		t.Fatalf("one report made %d POSTs and %d GETs; want 1 and 1", posts, len(gets))
	}
	n, err := c.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, gets2 := srv.counts()
	if made := len(gets2) - len(gets); made > 8 || n != made {
		t.Fatalf("one poll made %d GETs (bound 8) and delivered %d commands", made, n)
	}
	// The announcement left over is fetched by the next call.
	if _, err := c.Report(ctx, []byte("r")); err != nil {
		t.Fatal(err)
	}
	_, gets3 := srv.counts()
	if len(gets3) != len(gets2)+1 {
		t.Fatalf("the next report made %d GETs, want 1", len(gets3)-len(gets2))
	}
	for _, p := range gets3 {
		if p != "/topic"+downRaw {
			t.Fatalf("GET %s", p)
		}
	}
}

// TestFetchOnlyAnnouncedTopicPaths: a lone 2100 makes the client GET exactly
// the announced path, and only when it is a well-formed path under /topic/;
// anything else (another resource, a path without /topic, dot segments) is
// ignored rather than fetched.
func TestFetchOnlyAnnouncedTopicPaths(t *testing.T) {
	reboot := "/sys/" + tPK + "/" + tDK + "/thing/service/reboot"
	for _, bad := range []string{
		"/auth/" + tPK + "/" + tDK,
		downRaw,            // no /topic prefix
		"topic" + downRaw,  // no leading slash
		"/topic/../auth/x", // dot segment
		"/topicx/a",
		"/topic",
		"/topic/",
		"/topic//x",
		"/topic/a?b",
	} {
		t.Run(bad, func(t *testing.T) {
			srv := newAnnouncer(t, func() string { return bad })
			c := newClient(t, srv.addr())
			if _, err := c.Report(context.Background(), []byte("r")); err != nil {
				t.Fatal(err)
			}
			if _, gets := srv.counts(); len(gets) != 0 {
				t.Fatalf("announcement %q made the client GET %v", bad, gets)
			}
			if _, ok := c.NextCommand(); ok {
				t.Fatal("a command was delivered")
			}
		})
	}
	once := sync.Once{}
	srv := newAnnouncer(t, func() string {
		topic := ""
		once.Do(func() { topic = "/topic" + reboot })
		return topic
	})
	c := newClient(t, srv.addr())
	if _, err := c.Report(context.Background(), []byte("r")); err != nil {
		t.Fatal(err)
	}
	_, gets := srv.counts()
	cmd, ok := c.NextCommand()
	if len(gets) != 1 || gets[0] != "/topic"+reboot || !ok || cmd.Topic != reboot || string(cmd.Payload) != "cmd" {
		t.Fatalf("GETs %v, command %+v %v", gets, cmd, ok)
	}
}
