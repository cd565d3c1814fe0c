// SPDX-License-Identifier: Apache-2.0

// The simulator's UDP plumbing: datagrams in, go-coap's codec, the protocol
// logic, datagrams out. No state per endpoint: one deduplication cache and one
// Block1 assembler for all peers, so 100,000 devices cost no more per datagram
// than one, and a long run from one endpoint does not slow down.

package sim

import (
	"errors"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	coapClient "github.com/plgd-dev/go-coap/v3/net/client"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

// maxDatagram is the largest UDP payload; bigger never arrives whole.
const maxDatagram = 65535

type udpServer struct {
	s       *Server
	conn    *net.UDPConn
	cache   *exchangeCache
	blocks  *blockAssembler
	nextMID atomic.Uint32 // Message IDs of NON responses
	closing atomic.Bool
	wg      sync.WaitGroup
}

func listenUDP(s *Server, addr string) (*udpServer, error) {
	la, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", la)
	if err != nil {
		return nil, err
	}
	_ = conn.SetReadBuffer(4 << 20)
	_ = conn.SetWriteBuffer(4 << 20)
	now := time.Now()
	u := &udpServer{s: s, conn: conn, cache: newExchangeCache(ExchangeLifetime, now), blocks: newBlockAssembler(ExchangeLifetime, now)}
	// One reader per CPU: datagrams of different peers are handled in
	// parallel (signature checks dominate); one peer sends one request at a
	// time (RFC 7252 NSTART 1), so its order does not depend on the readers.
	readers := min(runtime.GOMAXPROCS(0), 4)
	u.wg.Add(readers)
	for range readers {
		go u.read()
	}
	return u, nil
}

func (u *udpServer) addr() string { return u.conn.LocalAddr().String() }

func (u *udpServer) close() {
	u.closing.Store(true)
	_ = u.conn.Close()
	u.wg.Wait()
}

func (u *udpServer) read() {
	defer u.wg.Done()
	buf := make([]byte, maxDatagram+1)
	m := message.Message{Options: make(message.Options, 0, 16)}
	for {
		n, from, err := u.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if u.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. an ICMP error from an earlier send
		}
		if u.s.chance(u.s.cfg.DropRequests) {
			u.s.count(func(st *Stats) { st.DroppedRequests++ })
			continue
		}
		u.datagram(buf[:n], from, &m)
	}
}

// datagram handles one datagram from a peer. m is the reader's scratch message.
func (u *udpServer) datagram(data []byte, from netip.AddrPort, m *message.Message) {
	if err := decodeDatagram(data, m); err != nil {
		// RFC 7252 §4.2: a CON that cannot be parsed is answered with RST
		// when its header can be read; anything else is silently dropped.
		if len(data) >= 4 && data[0]>>6 == 1 && message.Type(data[0]>>4&3) == message.Confirmable {
			u.send(encodeReset(int32(data[2])<<8|int32(data[3])), from)
		}
		return
	}
	switch {
	case m.Type == message.Acknowledgement || m.Type == message.Reset:
		return // the simulator sends no CON of its own
	case m.Code == codes.Empty || m.Code >= 32:
		if m.Type == message.Confirmable {
			u.send(encodeReset(m.MessageID), from) // CoAP ping, or a response sent as a request
		}
		return
	}
	key := exchangeKey{from: from, mid: uint16(m.MessageID)}
	if cached, dup := u.cache.begin(key, time.Now()); dup {
		u.s.count(func(st *Stats) { st.Duplicates++ })
		if cached != nil {
			u.send(cached, from)
		}
		return
	}
	resp, ok := u.respond(m, from)
	if !ok {
		return // a NON the simulator must not answer
	}
	out := u.encode(m, resp)
	for range 1 + u.cache.finish(key, out) {
		u.send(out, from)
	}
}

// respond turns a decoded request into its answer; ok is false when none is
// to be sent.
func (u *udpServer) respond(m *message.Message, from netip.AddrPort) (resp response, ok bool) {
	if unknown := coapClient.GetUnknownCriticalOptions(m.Options); len(unknown) > 0 {
		// RFC 7252 §5.4.1: a CON gets 4.02, a NON is rejected silently.
		return textResponse(codes.BadOption, coapClient.FormatUnknownCriticalOptionsDiagnostic(unknown)), m.Type == message.Confirmable
	}
	raw, err := m.Options.GetUint32(message.Block1)
	if err != nil {
		var payload []byte
		if len(m.Payload) > 0 {
			payload = append([]byte(nil), m.Payload...) // data is the reader's buffer; records keep the body
		}
		return u.s.handle(parseRequest(m.Code, m.Options, payload)), true
	}
	num, more, szx := raw>>4, raw>>3&1 == 1, raw&7
	if szx == 7 {
		return textResponse(codes.BadRequest, "Block1 SZX 7 (BERT) is not for UDP"), true
	}
	size := 16 << szx
	req := parseRequest(m.Code, m.Options, nil)
	k := blockKey{from: from, code: m.Code, path: strings.Join(req.path, "/")}
	r := u.blocks.add(k, num, more, size, m.Payload, time.Now()) // add copies the block
	switch {
	case r.errCode != 0:
		resp = textResponse(r.errCode, r.errText)
	case !r.complete:
		resp = response{code: codes.Continue}
	default:
		req.payload = r.body
		resp = u.s.handle(req)
	}
	// Echo the block (RFC 7959 §2.3): in a 2.31 with M set, in the final
	// response with the received M.
	resp.opts = append(resp.opts, message.Option{ID: message.Block1, Value: encodeBlock(num, more && !r.complete && r.errCode == 0, szx)})
	return resp, true
}

// encode builds the answer to m: a piggybacked ACK to a CON, a NON to a NON.
func (u *udpServer) encode(m *message.Message, resp response) []byte {
	out := message.Message{Token: m.Token, Code: resp.code, Payload: resp.payload, MessageID: m.MessageID, Type: message.Acknowledgement}
	if m.Type == message.NonConfirmable {
		out.Type = message.NonConfirmable
		out.MessageID = int32(uint16(u.nextMID.Add(1)))
	}
	opts := resp.opts
	if resp.payload != nil {
		opts = append(opts, message.Option{ID: message.ContentFormat, Value: encodeUint(uint32(resp.format))})
	}
	slices.SortStableFunc(opts, func(a, b message.Option) int { return int(a.ID) - int(b.ID) })
	out.Options = opts
	size, err := coder.DefaultCoder.Size(out)
	if err != nil {
		u.s.logError("cannot encode a %v response: %v", resp.code, err)
		return encodeReset(m.MessageID)
	}
	buf := make([]byte, size)
	if _, err := coder.DefaultCoder.Encode(out, buf); err != nil {
		u.s.logError("cannot encode a %v response: %v", resp.code, err)
		return encodeReset(m.MessageID)
	}
	return buf
}

// send writes a datagram to a peer through the configured wire faults: lost
// with probability DropResponses, held back by Delay + U[0, Jitter).
func (u *udpServer) send(datagram []byte, to netip.AddrPort) {
	d, drop := u.s.responseFault()
	if drop {
		return
	}
	if d <= 0 {
		_, _ = u.conn.WriteToUDPAddrPort(datagram, to)
		return
	}
	time.AfterFunc(d, func() {
		if !u.closing.Load() {
			_, _ = u.conn.WriteToUDPAddrPort(datagram, to)
		}
	})
}

// decodeDatagram decodes a datagram into m, growing m's option slice as needed (the
// codec only fills the capacity it is given).
func decodeDatagram(data []byte, m *message.Message) error {
	for {
		_, err := coder.DefaultCoder.Decode(data, m)
		if !errors.Is(err, message.ErrOptionsTooSmall) {
			return err
		}
		m.Options = make(message.Options, 0, 2*cap(m.Options)+1)
	}
}

// responseFault decides the wire faults of one response datagram: drop it
// (counted) with probability DropResponses, else hold it back by Delay +
// U[0, Jitter).
func (s *Server) responseFault() (delay time.Duration, drop bool) {
	if s.chance(s.cfg.DropResponses) {
		s.count(func(st *Stats) { st.DroppedResponses++ })
		return 0, true
	}
	delay = s.cfg.Delay
	if j := s.cfg.Jitter; j > 0 {
		s.rngMu.Lock()
		delay += time.Duration(s.rng.Int64N(int64(j)))
		s.rngMu.Unlock()
	}
	return delay, false
}

func encodeReset(mid int32) []byte {
	return []byte{0x70, 0, byte(mid >> 8), byte(mid)}
}

// encodeUint is CoAP's minimal-length unsigned integer option value.
func encodeUint(v uint32) []byte {
	switch {
	case v == 0:
		return nil
	case v < 1<<8:
		return []byte{byte(v)}
	case v < 1<<16:
		return []byte{byte(v >> 8), byte(v)}
	case v < 1<<24:
		return []byte{byte(v >> 16), byte(v >> 8), byte(v)}
	}
	return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

func encodeBlock(num uint32, more bool, szx uint32) []byte {
	v := num<<4 | szx
	if more {
		v |= 8
	}
	return encodeUint(v)
}
