// SPDX-License-Identifier: Apache-2.0

package sim

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libenos/libenos/core/sign"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

// The test vector device of docs/protocol.md §8.
var vec = Device{ProductKey: "MuGsF6W4", DeviceKey: "15bBZlRknc", Secret: "sMgTXBUvDNeWGAJWnDcT"}

var dev2 = Device{ProductKey: "pk2", DeviceKey: "dk2", Secret: "secret-two"}

func startSim(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.Devices == nil {
		cfg.Devices = []Device{vec, dev2}
	}
	s, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// rawClient is the tests' own minimal CoAP client: datagrams encoded with
// go-coap's coder on a plain UDP socket, so tests control every byte, MID and
// retransmission. It is deliberately not libenos's client.
type rawClient struct {
	t    testing.TB
	conn *net.UDPConn
	mid  uint16
	tok  uint32
	mu   sync.Mutex
}

func newRawClient(t testing.TB, addr string) *rawClient {
	t.Helper()
	ra, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp", nil, ra)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &rawClient{t: t, conn: c, mid: uint16(time.Now().UnixNano())}
}

type opt struct {
	id  message.OptionID
	val []byte
}

// encode builds a CON request. Options must be given in increasing ID order.
func (c *rawClient) encode(code codes.Code, path string, opts []opt, payload []byte) (data []byte, mid uint16) {
	c.mu.Lock()
	c.mid++
	c.tok++
	mid = c.mid
	tok := []byte(fmt.Sprintf("%08x", c.tok))[:8]
	c.mu.Unlock()
	var o message.Options
	for _, seg := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		o = append(o, message.Option{ID: message.URIPath, Value: []byte(seg)})
	}
	for _, x := range opts {
		o = append(o, message.Option{ID: x.id, Value: x.val})
	}
	m := message.Message{Token: tok, Code: code, Options: o, Payload: payload, MessageID: int32(mid), Type: message.Confirmable}
	buf := make([]byte, 4096)
	n, err := coder.DefaultCoder.Encode(m, buf)
	if err != nil {
		c.t.Fatalf("encode: %v", err)
	}
	return buf[:n], mid
}

// exchange sends data, retransmitting every `every` until a response with the
// MID arrives or total passes. It returns the raw response datagram.
func (c *rawClient) exchange(data []byte, mid uint16, every, total time.Duration) ([]byte, error) {
	deadline := time.Now().Add(total)
	buf := make([]byte, 65536)
	for time.Now().Before(deadline) {
		if _, err := c.conn.Write(data); err != nil {
			return nil, err
		}
		next := time.Now().Add(every)
		for {
			_ = c.conn.SetReadDeadline(next)
			n, err := c.conn.Read(buf)
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					break
				}
				return nil, err
			}
			m := message.Message{Options: make(message.Options, 0, 32)}
			if _, err := coder.DefaultCoder.Decode(buf[:n], &m); err != nil {
				continue
			}
			if uint16(m.MessageID) == mid && m.Type == message.Acknowledgement {
				return append([]byte(nil), buf[:n]...), nil
			}
		}
	}
	return nil, fmt.Errorf("no response to MID %d within %v", mid, total)
}

func decode(t testing.TB, data []byte) message.Message {
	t.Helper()
	m := message.Message{Options: make(message.Options, 0, 32)}
	if _, err := coder.DefaultCoder.Decode(data, &m); err != nil {
		t.Fatalf("decode response: %v", err)
	}
	return m
}

// do sends one request (retransmitting as needed) and decodes the response.
func (c *rawClient) do(code codes.Code, path string, opts []opt, payload []byte) message.Message {
	c.t.Helper()
	data, mid := c.encode(code, path, opts, payload)
	resp, err := c.exchange(data, mid, 300*time.Millisecond, 5*time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	return decode(c.t, resp)
}

func authPayload(t testing.TB, d Device, lifetime int) []byte {
	t.Helper()
	s, err := sign.AuthSign(d.ProductKey, d.DeviceKey, d.Secret, lifetime)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(fmt.Sprintf(`{"secureMode":2,"lifetime":%d,"sign":"%s"}`, lifetime, s))
}

func (c *rawClient) auth(d Device) message.Message {
	c.t.Helper()
	return c.do(codes.POST, "/auth/"+d.ProductKey+"/"+d.DeviceKey, []opt{{message.ContentFormat, []byte{50}}}, authPayload(c.t, d, 3600))
}

// login authenticates and returns the token.
func (c *rawClient) login(d Device) string {
	c.t.Helper()
	m := c.auth(d)
	if m.Code != codes.Content {
		c.t.Fatalf("auth %s: got %v, want 2.05", d.DeviceKey, m.Code)
	}
	var body struct{ Token string }
	if err := json.Unmarshal(m.Payload, &body); err != nil || body.Token == "" {
		c.t.Fatalf("auth payload %q: no token", m.Payload)
	}
	return body.Token
}

func signOpt(t testing.TB, d Device, iv []byte, token string, seq uint32) []opt {
	t.Helper()
	sg, err := sign.NewSigner(d.Secret, iv)
	if err != nil {
		t.Fatal(err)
	}
	v, err := sg.Sign(token, seq)
	if err != nil {
		t.Fatal(err)
	}
	return []opt{{OptionSign, []byte(v)}}
}

func upRaw(d Device) string {
	return "/topic/sys/" + d.ProductKey + "/" + d.DeviceKey + "/thing/model/up_raw"
}

func (c *rawClient) report(d Device, token string, seq uint32, payload []byte) message.Message {
	c.t.Helper()
	return c.do(codes.POST, upRaw(d), signOpt(c.t, d, nil, token, seq), payload)
}

func wantCode(t testing.TB, m message.Message, want codes.Code, what string) {
	t.Helper()
	if m.Code != want {
		t.Fatalf("%s: got %v (%q), want %v", what, m.Code, m.Payload, want)
	}
}

func optValue(m message.Message, id message.OptionID) ([]byte, bool) {
	for _, o := range m.Options {
		if o.ID == id {
			return o.Value, true
		}
	}
	return nil, false
}
