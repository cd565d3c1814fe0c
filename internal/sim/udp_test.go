// SPDX-License-Identifier: Apache-2.0

package sim

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// The cache answers a retransmission within EXCHANGE_LIFETIME, forgets it
// after, and drops whole generations so it never grows past two lifetimes of
// traffic.
func TestExchangeCacheLifetime(t *testing.T) {
	const life = 100 * time.Second
	t0 := time.Unix(1_000_000, 0)
	c := newExchangeCache(life, t0)
	k := exchangeKey{from: netip.MustParseAddrPort("127.0.0.1:1000"), mid: 7}

	if _, dup := c.begin(k, t0); dup {
		t.Fatal("first sighting reported as a duplicate")
	}
	if resp, dup := c.begin(k, t0.Add(time.Second)); !dup || resp != nil {
		t.Fatalf("retransmission while handled: dup %v resp %q, want dup and no answer yet", dup, resp)
	}
	if waiting := c.finish(k, []byte("answer")); waiting != 1 {
		t.Fatalf("finish: %d waiting duplicates, want 1", waiting)
	}
	// Across one rotation (at t0+life the current map becomes the previous).
	if resp, dup := c.begin(k, t0.Add(life-time.Nanosecond)); !dup || string(resp) != "answer" {
		t.Fatalf("retransmission at lifetime-1ns: dup %v resp %q", dup, resp)
	}
	other := exchangeKey{from: k.from, mid: 8}
	c.begin(other, t0.Add(life)) // rotates: k now lives in the previous generation
	if resp, dup := c.begin(k, t0.Add(life)); dup {
		t.Fatalf("MID reused after exactly one lifetime was taken as a duplicate (resp %q)", resp)
	}
	// Two more rotations drop what is not refreshed: k, idle since t0+life.
	c.begin(other, t0.Add(3*life))
	c.begin(other, t0.Add(5*life))
	_, inCurrent := c.current[k]
	_, inPrevious := c.previous[k]
	if inCurrent || inPrevious {
		t.Fatal("an exchange idle for two lifetimes is still remembered")
	}
	if n := c.size(); n > 2 {
		t.Fatalf("%d exchanges remembered, want at most other's two", n)
	}
}

// The same MID from another endpoint is another exchange.
func TestExchangeCacheEndpoints(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	c := newExchangeCache(time.Minute, t0)
	a := exchangeKey{from: netip.MustParseAddrPort("127.0.0.1:1000"), mid: 1}
	b := exchangeKey{from: netip.MustParseAddrPort("127.0.0.1:1001"), mid: 1}
	c.begin(a, t0)
	if _, dup := c.begin(b, t0); dup {
		t.Fatal("same MID from another port taken as a duplicate")
	}
}

func TestBlockAssembler(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	b := newBlockAssembler(time.Minute, t0)
	k := blockKey{from: netip.MustParseAddrPort("127.0.0.1:1000"), code: codes.POST, path: "topic/x"}
	if r := b.add(k, 1, true, 16, bytes.Repeat([]byte("b"), 16), t0); r.errCode != codes.RequestEntityIncomplete {
		t.Fatalf("block 1 without block 0: %+v, want 4.08", r)
	}
	if r := b.add(k, 0, true, 16, []byte("short"), t0); r.errCode != codes.BadRequest {
		t.Fatalf("short non-final block: %+v, want 4.00", r)
	}
	if r := b.add(k, 0, true, 16, bytes.Repeat([]byte("a"), 16), t0); r.errCode != 0 || r.complete {
		t.Fatalf("block 0: %+v", r)
	}
	if r := b.add(k, 2, false, 16, []byte("c"), t0); r.errCode != codes.RequestEntityIncomplete {
		t.Fatalf("block 2 after block 0: %+v, want 4.08", r)
	}
	if n := b.pending(); n != 0 {
		t.Fatalf("%d transfers pending after an out-of-sequence block, want 0", n)
	}
	b.add(k, 0, true, 32, bytes.Repeat([]byte("a"), 32), t0)
	// RFC 7959 lets the client continue with a smaller size: block 2 of 16 is offset 32.
	b.add(k, 2, true, 16, bytes.Repeat([]byte("b"), 16), t0)
	r := b.add(k, 3, false, 16, []byte("end"), t0)
	if !r.complete || string(r.body) != string(bytes.Repeat([]byte("a"), 32))+string(bytes.Repeat([]byte("b"), 16))+"end" {
		t.Fatalf("final block: %+v", r)
	}
	// Too large.
	big := bytes.Repeat([]byte("z"), 1024)
	for num := uint32(0); ; num++ {
		r := b.add(k, num, true, 1024, big, t0)
		if r.errCode == codes.RequestEntityTooLarge {
			if int(num)*1024 < maxBlockwiseBody {
				t.Fatalf("4.13 at %d bytes, under the %d limit", num*1024, maxBlockwiseBody)
			}
			break
		}
		if r.errCode != 0 || num > 2000 {
			t.Fatalf("block %d: %+v", num, r)
		}
	}
}

// A Block1 report over the wire, with every block sent twice (a client whose
// ACKs were lost): each duplicate gets the cached answer, the transfer
// completes and the report is recorded once.
func TestBlock1Retransmitted(t *testing.T) {
	s := startSim(t, Config{})
	c := newRawClient(t, s.Addr())
	tok := c.login(vec)
	body := bytes.Repeat([]byte("0123456789abcdef"), 10) // 160 bytes in 64-byte blocks
	sig := signOpt(t, vec, nil, tok, 1)[0]
	for num := 0; num*64 < len(body); num++ {
		end := min((num+1)*64, len(body))
		more := end < len(body)
		v := uint32(num)<<4 | 2 // SZX 2 = 64 bytes
		if more {
			v |= 8
		}
		data, mid := c.encode(codes.POST, upRaw(vec), []opt{{message.Block1, encodeUint(v)}, {OptionSign, sig.val}}, body[num*64:end])
		first, err := c.exchange(data, mid, time.Second, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		again, err := c.exchange(data, mid, time.Second, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatalf("block %d: retransmission answered %x, original %x", num, again, first)
		}
		want := codes.Continue
		if !more {
			want = codes.Changed
		}
		wantCode(t, decode(t, first), want, fmt.Sprint("block ", num))
	}
	recs := s.Records()
	if len(recs) != 1 || !bytes.Equal(recs[0].Payload, body) {
		t.Fatalf("records %d (want 1 with the whole body)", len(recs))
	}
	if st := s.Stats(); st.Duplicates != 3 {
		t.Fatalf("%d duplicates counted, want 3", st.Duplicates)
	}
}

// A CON ping is answered with RST; an unknown critical option with 4.02.
func TestPingAndUnknownCritical(t *testing.T) {
	s := startSim(t, Config{})
	c := newRawClient(t, s.Addr())
	if _, err := c.conn.Write([]byte{0x40, 0x00, 0x12, 0x34}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.conn.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], []byte{0x70, 0x00, 0x12, 0x34}) {
		t.Fatalf("ping: got %x (%v), want RST 70001234", buf[:n], err)
	}
	m := c.do(codes.POST, "/auth/x", []opt{{2011, []byte("v")}}, nil)
	wantCode(t, m, codes.BadOption, "unknown critical option 2011")
}

// readDatagram waits up to d for one datagram on c's socket; nil when none came.
func readDatagram(t *testing.T, c *rawClient, d time.Duration) []byte {
	t.Helper()
	buf := make([]byte, 2048)
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	n, err := c.conn.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// A NON request gets a NON answer with a Message ID of the server's own; a NON
// with an unknown critical option is rejected silently (RFC 7252 §5.4.1).
func TestNonConfirmable(t *testing.T) {
	s := startSim(t, Config{})
	c := newRawClient(t, s.Addr())
	data, mid := c.encode(codes.POST, "/auth/"+vec.ProductKey+"/"+vec.DeviceKey, nil, authPayload(t, vec, 3600))
	data[0] = data[0]&^0x30 | 0x10 // type NON
	if _, err := c.conn.Write(data); err != nil {
		t.Fatal(err)
	}
	got := readDatagram(t, c, 5*time.Second)
	if got == nil {
		t.Fatal("no answer to a NON request")
	}
	m := decode(t, got)
	if m.Type != message.NonConfirmable || uint16(m.MessageID) == mid || m.Code != codes.Content {
		t.Fatalf("answer type %v MID %d code %v; want a NON 2.05 with a MID other than %d", m.Type, m.MessageID, m.Code, mid)
	}

	data, _ = c.encode(codes.POST, "/auth/x", []opt{{2011, []byte("v")}}, nil)
	data[0] = data[0]&^0x30 | 0x10
	if _, err := c.conn.Write(data); err != nil {
		t.Fatal(err)
	}
	if got := readDatagram(t, c, 300*time.Millisecond); got != nil {
		t.Fatalf("a NON with an unknown critical option was answered: %x", got)
	}
}

// A CON that cannot be parsed but whose header can gets RST with its MID; a
// Block1 option with SZX 7 (BERT, not for UDP) gets 4.00.
func TestMalformedRequests(t *testing.T) {
	s := startSim(t, Config{})
	c := newRawClient(t, s.Addr())
	bad := []byte{0x40, 0x02, 0x12, 0x35, 0xBE, 0xFF, 0xFF, 'a'} // Uri-Path claiming 65804 bytes
	if _, err := c.conn.Write(bad); err != nil {
		t.Fatal(err)
	}
	if got := readDatagram(t, c, 5*time.Second); !bytes.Equal(got, []byte{0x70, 0x00, 0x12, 0x35}) {
		t.Fatalf("unparsable CON: got %x, want RST 70001235", got)
	}
	m := c.do(codes.POST, upRaw(vec), []opt{{message.Block1, encodeUint(0<<4 | 8 | 7)}}, bytes.Repeat([]byte("x"), 32))
	wantCode(t, m, codes.BadRequest, "Block1 SZX 7")
}
