// SPDX-License-Identifier: Apache-2.0

package testutil

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

func TestSyncBuffer(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				_, _ = b.Write([]byte("x"))
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if got := b.String(); got != strings.Repeat("x", 400) {
		t.Fatalf("got %d bytes", len(got))
	}
}

func TestRawEnos(t *testing.T) {
	conn, err := net.Dial("udp", RawEnos(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exchange := func(typ message.Type, code codes.Code, path string, mid int32, tok []byte) (message.Message, bool) {
		t.Helper()
		var o message.Options
		for _, seg := range strings.Split(strings.Trim(path, "/"), "/") {
			o = append(o, message.Option{ID: message.URIPath, Value: []byte(seg)})
		}
		buf := make([]byte, 512)
		n, err := coder.DefaultCoder.Encode(message.Message{Type: typ, Code: code, MessageID: mid, Token: tok, Options: o, Payload: []byte{1}}, buf)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write(buf[:n]); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, err = conn.Read(buf)
		if err != nil {
			return message.Message{}, false
		}
		var m message.Message
		if _, err := coder.DefaultCoder.Decode(buf[:n], &m); err != nil {
			t.Fatal(err)
		}
		return m, true
	}
	check := func(m message.Message, ok bool, code codes.Code, mid int32, tok string, payload string) {
		t.Helper()
		if !ok {
			t.Fatal("no answer")
		}
		if m.Type != message.Acknowledgement || m.Code != code || m.MessageID != mid || string(m.Token) != tok ||
			len(m.Options) != 0 || string(m.Payload) != payload {
			t.Fatalf("got %v %v mid %d token %q options %v payload %q", m.Type, m.Code, m.MessageID, m.Token, m.Options, m.Payload)
		}
	}
	m, ok := exchange(message.Confirmable, codes.POST, "/auth/pk/dk", 7, []byte{1, 2, 3})
	check(m, ok, codes.Content, 7, "\x01\x02\x03", `{"token":"`+RawEnosToken+`"}`)
	m, ok = exchange(message.Confirmable, codes.POST, "/topic/sys/pk/dk/thing/model/up_raw", 8, []byte("12345678"))
	check(m, ok, codes.Changed, 8, "12345678", "")
	m, ok = exchange(message.Confirmable, codes.GET, "/auth/pk/dk", 9, nil)
	check(m, ok, codes.Changed, 9, "", "")
	if _, ok := exchange(message.NonConfirmable, codes.POST, "/topic/a", 10, nil); ok {
		t.Fatal("a NON was answered")
	}
}
