// SPDX-License-Identifier: Apache-2.0

package sim

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libenos/libenos/core/sign"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/options"
	"github.com/plgd-dev/go-coap/v3/pkg/runner/periodic"
	"github.com/plgd-dev/go-coap/v3/udp"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

// Loss is real: the raw client must retransmit, the server answers every
// retransmission with its cached response, and records each message once.
func TestDropsRawClient(t *testing.T) {
	s := startSim(t, Config{DropRequests: 0.3, DropResponses: 0.3, Seed: 3})
	c := newRawClient(t, s.Addr())
	tok := c.login(vec)
	const n = 30
	for seq := uint32(1); seq <= n; seq++ {
		data, mid := c.encode(codes.POST, upRaw(vec), signOpt(t, vec, nil, tok, seq), []byte(fmt.Sprint(seq)))
		resp, err := c.exchange(data, mid, 60*time.Millisecond, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		// A retransmission that was judged again would see its own sequence
		// as a replay and get 4.01.
		wantCode(t, decode(t, resp), codes.Changed, fmt.Sprint("report ", seq))
	}
	recs := s.Records()
	if len(recs) != n {
		t.Fatalf("%d records, want %d", len(recs), n)
	}
	for i, r := range recs {
		if r.Sequence != uint32(i+1) {
			t.Fatalf("record %d has sequence %d", i, r.Sequence)
		}
	}
	st := s.Stats()
	if st.DroppedRequests == 0 || st.DroppedResponses == 0 || st.Duplicates == 0 {
		t.Fatalf("no loss happened: %+v", st)
	}
	t.Logf("stats %+v", st)
}

// The same through go-coap's own client with its retransmission machinery.
func TestDropsGoCoapClient(t *testing.T) {
	s := startSim(t, Config{DropRequests: 0.25, DropResponses: 0.25, Seed: 11})
	stop := make(chan struct{})
	defer close(stop)
	cc, err := udp.Dial(s.Addr(),
		options.WithPeriodicRunner(periodic.New(stop, 20*time.Millisecond)),
		options.WithTransmission(1, 100*time.Millisecond, 8),
		options.WithErrors(func(error) {}),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := cc.Post(ctx, "/auth/"+vec.ProductKey+"/"+vec.DeviceKey, message.AppJSON, bytes.NewReader(authPayload(t, vec, 3600)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := resp.ReadBody()
	if resp.Code() != codes.Content {
		t.Fatalf("auth: %v", resp.Code())
	}
	tok := string(bytes.TrimSuffix(bytes.TrimPrefix(body, []byte(`{"token":"`)), []byte(`"}`)))
	sg, _ := sign.NewSigner(vec.Secret, nil)
	const n = 15
	for seq := uint32(1); seq <= n; seq++ {
		v, _ := sg.Sign(tok, seq)
		resp, err := cc.Post(ctx, upRaw(vec), message.AppOctets, bytes.NewReader([]byte("r")), message.Option{ID: OptionSign, Value: []byte(v)})
		if err != nil {
			t.Fatalf("report %d: %v", seq, err)
		}
		if resp.Code() != codes.Changed {
			t.Fatalf("report %d: %v", seq, resp.Code())
		}
	}
	if got := len(s.Records()); got != n {
		t.Fatalf("%d records, want %d", got, n)
	}
	if st := s.Stats(); st.DroppedRequests+st.DroppedResponses == 0 {
		t.Fatalf("no loss: %+v", st)
	}
}

func TestDelayJitter(t *testing.T) {
	s := startSim(t, Config{Delay: 150 * time.Millisecond, Jitter: 50 * time.Millisecond})
	c := newRawClient(t, s.Addr())
	for i := 0; i < 3; i++ {
		data, mid := c.encode(codes.POST, "/auth/"+vec.ProductKey+"/"+vec.DeviceKey, nil, authPayload(t, vec, 60))
		start := time.Now()
		resp, err := c.exchange(data, mid, 2*time.Second, 4*time.Second)
		rtt := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, decode(t, resp), codes.Content, "delayed auth")
		if rtt < 150*time.Millisecond || rtt > 1500*time.Millisecond {
			t.Fatalf("rtt %v outside [150ms, 1.5s]", rtt)
		}
	}
}

// garbage returns hostile datagrams: random bytes, truncated and oversized
// CoAP, absurd option lengths, unknown critical options, huge payloads.
func garbage(t testing.TB, valid []byte) [][]byte {
	rng := mrand.New(mrand.NewPCG(1, 2))
	var out [][]byte
	for i := 0; i < 300; i++ {
		b := make([]byte, rng.IntN(200))
		for j := range b {
			b[j] = byte(rng.UintN(256))
		}
		if len(b) > 0 && i%2 == 0 {
			b[0] = 0x40 | b[0]&0x3f // version 1, so it gets past the first check
		}
		out = append(out, b)
	}
	for i := 0; i < len(valid); i++ {
		out = append(out, valid[:i])
	}
	hdr := []byte{0x40, 0x02, 0x12, 0x34}
	out = append(out,
		append(append([]byte{}, hdr...), 0xEE, 0xFF, 0xFF, 0xFF, 0xFF), // delta and length 65804, nothing follows
		append(append([]byte{}, hdr...), 0xBE, 0xFF, 0xFF, 'a'),        // Uri-Path claiming 65804 bytes
		append(append([]byte{}, hdr...), 0xFF),                         // payload marker, no payload
		[]byte{0x4F, 0x02, 0, 1},                                       // token length 15
		[]byte{0x40, 0x02, 0, 2, 0xE0, 0x06, 0xD7, 0x01},               // unknown critical option 2011+... with no value
		[]byte{0x40, 0x00, 0, 3},                                       // CON ping
		[]byte{0x70, 0x00, 0, 4},                                       // RST
		[]byte{0x80, 0x02, 0, 5},                                       // version 2
		bytes.Repeat([]byte{0xFF}, 1500),
		make([]byte, 65000),
	)
	huge := message.Message{Code: codes.POST, MessageID: 77, Type: message.Confirmable, Token: []byte{1},
		Options: message.Options{{ID: message.URIPath, Value: []byte("topic")}, {ID: message.URIPath, Value: []byte("sys")}},
		Payload: bytes.Repeat([]byte("x"), 60000)}
	buf := make([]byte, 70000)
	n, err := coder.DefaultCoder.Encode(huge, buf)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, buf[:n])
	// A 2101 of absurd length (above its MaxLen) in an otherwise valid request.
	long := message.Message{Code: codes.POST, MessageID: 78, Type: message.Confirmable, Token: []byte{2},
		Options: message.Options{{ID: message.URIPath, Value: []byte("topic")}, {ID: OptionSign, Value: bytes.Repeat([]byte("A"), 5000)}}}
	n, err = coder.DefaultCoder.Encode(long, buf)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, append([]byte(nil), buf[:n]...))
	return out
}

func blast(t *testing.T, s *Server) {
	c := newRawClient(t, s.Addr())
	valid, _ := c.encode(codes.POST, "/auth/"+vec.ProductKey+"/"+vec.DeviceKey, nil, authPayload(t, vec, 3600))
	ra, _ := net.ResolveUDPAddr("udp", s.Addr())
	var socks []*net.UDPConn
	for i := 0; i < 4; i++ {
		u, err := net.DialUDP("udp", nil, ra)
		if err != nil {
			t.Fatal(err)
		}
		defer u.Close()
		socks = append(socks, u)
	}
	for i, g := range garbage(t, valid) {
		_, _ = socks[i%len(socks)].Write(g)
		_, _ = c.conn.Write(g) // also on the socket that then has to work
	}
	time.Sleep(100 * time.Millisecond)
	tok := c.login(vec)
	wantCode(t, c.report(vec, tok, 1, []byte("still alive")), codes.Changed, "after garbage")
	c2 := newRawClient(t, s.Addr())
	c2.login(dev2)
}

func TestGarbage(t *testing.T) {
	t.Run("direct", func(t *testing.T) { blast(t, startSim(t, Config{})) })
	t.Run("relay", func(t *testing.T) { blast(t, startSim(t, Config{DropRequests: 0.0001, Delay: time.Millisecond})) })
	t.Run("unknown", func(t *testing.T) {
		s := startSim(t, Config{SignMode: SignUnknown})
		c := newRawClient(t, s.Addr())
		valid, _ := c.encode(codes.POST, "/auth/a/b", nil, nil)
		for _, g := range garbage(t, valid) {
			_, _ = c.conn.Write(g)
		}
		wantCode(t, c.auth(vec), codes.Content, "after garbage")
	})
}

// FuzzRequest feeds arbitrary datagrams through go-coap's decoder and the
// simulator's request parsing and judging (parseRequest, handle).
func FuzzRequest(f *testing.F) {
	authSign, _ := sign.AuthSign(vec.ProductKey, vec.DeviceKey, vec.Secret, 3600)
	sg, _ := sign.NewSigner(vec.Secret, nil)
	sig, _ := sg.Sign("tok", 1)
	enc := func(code codes.Code, path []string, sign string, payload string) []byte {
		var o message.Options
		for _, p := range path {
			o = append(o, message.Option{ID: message.URIPath, Value: []byte(p)})
		}
		if sign != "" {
			o = append(o, message.Option{ID: OptionSign, Value: []byte(sign)})
		}
		m := message.Message{Code: code, MessageID: 1, Type: message.Confirmable, Token: []byte{1, 2}, Options: o, Payload: []byte(payload)}
		buf := make([]byte, 2048)
		n, _ := coder.DefaultCoder.Encode(m, buf)
		return buf[:n]
	}
	f.Add(enc(codes.POST, []string{"auth", vec.ProductKey, vec.DeviceKey}, "", `{"secureMode":2,"lifetime":3600,"sign":"`+authSign+`"}`))
	f.Add(enc(codes.POST, []string{"auth", vec.ProductKey, vec.DeviceKey}, "", `{"secureMode":2,"lifetime":1e3,"sign":[]}`))
	signedReport := enc(codes.POST, []string{"topic", "sys", vec.ProductKey, vec.DeviceKey, "thing", "model", "up_raw"}, sig, "\x01\x02")
	f.Add(signedReport)
	f.Add(enc(codes.GET, []string{"topic", "ext", "session", vec.ProductKey, vec.DeviceKey}, "00", ""))
	f.Add([]byte{0x40, 0x02, 0, 1, 0xff})
	f.Add([]byte{0x44, 0x01, 0x12, 0x34, 1, 2, 3, 4, 0xBE, 0xFF, 0xFF})
	// JSON thing-model requests, judged against a model.
	thingPath := func(p ...string) []string {
		return append([]string{"topic", "sys", vec.ProductKey, vec.DeviceKey, "thing"}, p...)
	}
	f.Add(enc(codes.POST, thingPath("measurepoint", "post"), sig,
		`{"id":"1","version":"1.0","method":"thing.measurepoint.post","params":{"measurepoints":{"temp":1.5,"state":{"value":2,"quality":9}},"time":5}}`))
	f.Add(enc(codes.POST, thingPath("event", "overheat", "post"), sig,
		`{"id":"2","version":"1.0","method":"thing.event.overheat.post","params":{"events":{"level":1}}}`))
	f.Add(enc(codes.POST, thingPath("attribute", "update"), sig,
		`{"id":"3","version":"1.0","method":"thing.attribute.update","params":{"attributes":{"name":"x","rated":1}}}`))
	f.Add(enc(codes.POST, thingPath("attribute", "query"), sig,
		`{"id":"4","version":"1.0","method":"thing.attribute.query","params":{"attributes":[]}}`))

	model, err := ReadModel(strings.NewReader(testModel))
	if err != nil {
		f.Fatal(err)
	}
	s, err := Start(Config{Devices: []Device{vec, dev2}, Model: model})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	// The signed seed must reach the accepted path, or the fuzzing misses it.
	s.setSession(vec, "tok")
	sm := message.Message{Options: make(message.Options, 0, 16)}
	if _, err := coder.DefaultCoder.Decode(signedReport, &sm); err != nil {
		f.Fatal(err)
	}
	if resp := s.handle(parseRequest(sm.Code, sm.Options, sm.Payload)); resp.code != codes.Changed {
		f.Fatalf("signed report seed: got %v (%q), want 2.04", resp.code, resp.payload)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m := message.Message{Options: make(message.Options, 0, 16)}
		if _, err := coder.DefaultCoder.Decode(data, &m); err != nil {
			return
		}
		// A fresh live session per input, so that signed paths get exercised
		// whatever the inputs before did (an auth replaces the session, an
		// accepted report raises its last sequence).
		s.setSession(vec, "tok")
		resp := s.handle(parseRequest(m.Code, m.Options, m.Payload))
		if resp.code < codes.Created || resp.code > codes.ProxyingNotSupported {
			t.Fatalf("response code %v", resp.code)
		}
		if resp.format == message.AppJSON && !json.Valid(resp.payload) {
			t.Fatalf("JSON response %q is not JSON", resp.payload)
		}
		// The response must be encodable.
		out := message.Message{Code: resp.code, MessageID: 1, Type: message.Acknowledgement, Options: resp.opts, Payload: resp.payload}
		buf := make([]byte, 70000)
		if _, err := coder.DefaultCoder.Encode(out, buf); err != nil {
			t.Fatalf("encode response: %v", err)
		}
	})
}

// setSession gives d a new live session with token (test helper).
func (s *Server) setSession(d Device, token string) {
	st := s.devices[d.ProductKey+"/"+d.DeviceKey]
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sess = &session{token: token, lifetime: time.Hour, lastSeen: time.Now()}
}

// 10,000 registered devices report concurrently from one process, one socket
// each (like a gateway with one endpoint per device). Under -race or -short it
// runs 2,000; `go test -run TestScale ./internal/sim/` runs all 10,000 (~1 s).
func TestScale(t *testing.T) {
	n := 10000
	if testing.Short() || raceEnabled {
		n = 2000 // the race detector makes 10,000 slow; run without -race for the full count
	}
	devs := make([]Device, n)
	for i := range devs {
		devs[i] = Device{ProductKey: "scalePK", DeviceKey: fmt.Sprintf("dev%05d", i), Secret: fmt.Sprintf("secret-%d", i)}
	}
	s := startSim(t, Config{Devices: devs})
	ra, _ := net.ResolveUDPAddr("udp", s.Addr())
	socks := make([]*net.UDPConn, n)
	for i := range socks {
		u, err := net.DialUDP("udp", nil, ra)
		if err != nil {
			t.Fatalf("socket %d: %v", i, err)
		}
		defer u.Close()
		socks[i] = u
	}
	start := time.Now()
	var wg sync.WaitGroup
	work := make(chan int)
	errs := make(chan error, n)
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1500)
			for i := range work {
				if err := scaleDevice(socks[i], devs[i], buf); err != nil {
					errs <- fmt.Errorf("device %d: %w", i, err)
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := len(s.Records()); got != n {
		t.Fatalf("%d records, want %d", got, n)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("%d devices: auth + report each in %v; heap in use %d MiB, %d goroutines",
		n, time.Since(start), ms.HeapInuse>>20, runtime.NumGoroutine())
}

// scaleDevice authenticates and reports once over its own socket, with a
// minimal retransmission loop.
func scaleDevice(u *net.UDPConn, d Device, buf []byte) error {
	ex := func(mid uint16, code codes.Code, path []string, opts message.Options, payload []byte) (message.Message, error) {
		var o message.Options
		for _, p := range path {
			o = append(o, message.Option{ID: message.URIPath, Value: []byte(p)})
		}
		o = append(o, opts...)
		req := message.Message{Code: code, MessageID: int32(mid), Type: message.Confirmable, Token: []byte{byte(mid)}, Options: o, Payload: payload}
		out := make([]byte, 1024)
		n, err := coder.DefaultCoder.Encode(req, out)
		if err != nil {
			return message.Message{}, err
		}
		for try := 0; try < 8; try++ {
			if _, err := u.Write(out[:n]); err != nil {
				return message.Message{}, err
			}
			_ = u.SetReadDeadline(time.Now().Add(time.Second))
			for {
				k, err := u.Read(buf)
				if err != nil {
					break
				}
				m := message.Message{Options: make(message.Options, 0, 8)}
				if _, err := coder.DefaultCoder.Decode(buf[:k], &m); err == nil && uint16(m.MessageID) == mid {
					return m, nil
				}
			}
		}
		return message.Message{}, fmt.Errorf("no response")
	}
	as, _ := sign.AuthSign(d.ProductKey, d.DeviceKey, d.Secret, 3600)
	m, err := ex(1, codes.POST, []string{"auth", d.ProductKey, d.DeviceKey}, nil, []byte(`{"secureMode":2,"lifetime":3600,"sign":"`+as+`"}`))
	if err != nil {
		return err
	}
	if m.Code != codes.Content || len(m.Payload) < 12 {
		return fmt.Errorf("auth: %v %q", m.Code, m.Payload)
	}
	tok := string(m.Payload[10 : len(m.Payload)-2])
	sg, _ := sign.NewSigner(d.Secret, nil)
	v, _ := sg.Sign(tok, 1)
	var p [4]byte
	binary.BigEndian.PutUint32(p[:], 42)
	m, err = ex(2, codes.POST, []string{"topic", "sys", d.ProductKey, d.DeviceKey, "thing", "model", "up_raw"}, message.Options{{ID: OptionSign, Value: []byte(v)}}, p[:])
	if err != nil {
		return err
	}
	if m.Code != codes.Changed {
		return fmt.Errorf("report: %v %q", m.Code, m.Payload)
	}
	return nil
}
