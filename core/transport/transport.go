// SPDX-License-Identifier: Apache-2.0

// Package transport sends CoAP confirmable requests over UDP the way RFC 7252
// asks for: one exchange at a time, retransmission with exponential back-off,
// matching by Message ID and token. It uses go-coap's message codec but not its
// client: the exchange runs on the calling goroutine, so an idle client costs
// no goroutine and, since the Conns of a process share their sockets to a
// server (pool.go, demux.go), no socket; a lost server returns after the
// retransmission window, and an ICMP error surfaces as a network error
// instead of killing the connection for good (as go-coap's connected UDP
// client does).
package transport

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

// Options EnOS defines beyond RFC 7252 (docs/protocol.md §3, §5).
const (
	OptionCommandTopic   message.OptionID = 2100 // elective: topic of a waiting command
	OptionSign           message.OptionID = 2101 // critical: the message signature
	OptionCommandPayload message.OptionID = 2102 // elective: the command itself
)

// MaxDatagram is the largest datagram sent or accepted (Ethernet MTU less IP
// and UDP headers). go-coap's own default drops anything larger silently.
const MaxDatagram = 1472

// MaxPayload is the largest request payload Do accepts, block-wise or not:
// anything larger returns ErrTooBig without sending.
const MaxPayload = 64 * 1024

// DefaultBlockSize is the Block1 block size used when Params.BlockSize is 0:
// the largest RFC 7959 size short of BERT, and go-coap's default.
const DefaultBlockSize = 1024

// ackRandomFactor is RFC 7252's ACK_RANDOM_FACTOR.
const ackRandomFactor = 1.5

// Params are the RFC 7252 transmission parameters and the RFC 7959 block size.
type Params struct {
	AckTimeout    time.Duration // > 0
	MaxRetransmit int           // >= 0
	// BlockSize is the Block1 block size for request payloads: 0 means
	// DefaultBlockSize (1024), -1 turns block-wise transfer off (a request that
	// does not fit one datagram then fails with ErrTooBig), any other value
	// must be a power of two from 16 to 1024. A payload no larger than the
	// block size goes in one plain message, without Block1.
	BlockSize int
}

// Validate reports whether BlockSize is one of the allowed values.
func (p Params) Validate() error {
	_, err := p.blockSize()
	return err
}

// blockSize returns the block size in bytes, or -1 when block-wise is off.
func (p Params) blockSize() (int, error) {
	switch b := p.BlockSize; {
	case b == 0:
		return DefaultBlockSize, nil
	case b == -1:
		return -1, nil
	case b >= 16 && b <= 1024 && b&(b-1) == 0:
		return b, nil
	}
	return 0, ErrBlockSize
}

// Window is RFC 7252's MAX_TRANSMIT_WAIT: the longest one exchange can take.
func (p Params) Window() time.Duration {
	return time.Duration(float64(p.AckTimeout) * ackRandomFactor * float64(int64(1)<<(p.MaxRetransmit+1)-1))
}

// Request is one CoAP request. Path is split into Uri-Path options at '/'.
//
// A payload larger than the block size (Params.BlockSize) goes as an RFC 7959
// Block1 transfer. Every block carries the same Uri-Path, Content-Format and
// Sign: EnOS's documentation says nothing about signing blocks, and one
// signature (one sequence number) for the whole transfer keeps one sequence
// per message, as for a request sent in one datagram.
type Request struct {
	Code          codes.Code // codes.POST or codes.GET
	Path          string
	ContentFormat int    // -1: no Content-Format option
	Payload       []byte // at most MaxPayload bytes
	Sign          []byte // option 2101, on every block; empty sends none (copied: the caller may reuse it after Do)

	// Again, when set, makes Do send that earlier exchange again instead of
	// encoding this request: the same datagram, Message ID and token, which a
	// server answers from its deduplication cache if it saw the message
	// before. Do returns ErrStale when Again can no longer be sent as a
	// retransmission (see Conn.CanResend).
	Again *Exchange
	// Keep asks Do to set Sent to the exchange it sent when that exchange
	// failed (single-datagram requests only; nil for block-wise transfers):
	// only an unanswered message is worth sending again, and an answered
	// exchange then costs no copy of its datagram.
	Keep bool
	Sent *Exchange
}

// Exchange is one sent single-datagram CON message, kept so that it can be
// sent again later as a retransmission of the same message.
type Exchange struct {
	mid      uint16
	token    [8]byte
	datagram []byte
	first    time.Time
	sock     *sock // deduplication is per endpoint: only this socket may resend it
}

// Response is the answer to a Request; every slice is owned by the caller.
type Response struct {
	Code            codes.Code
	Payload         []byte
	CommandTopic    string // option 2100, "" if absent
	CommandPayload  []byte // option 2102
	HasCommandData  bool   // option 2102 was present (possibly empty)
	Retransmissions int    // datagrams sent again, summed over all blocks

	block1    uint32 // option 27 of the response (control usage), if hasBlock1
	hasBlock1 bool
	partial   bool // a Block2 response that is not whole
}

// Errors of an exchange. Network and timeout errors wrap the cause.
var (
	ErrClosed  = errors.New("connection closed")
	ErrTimeout = errors.New("no answer within the retransmission window")
	ErrReset   = errors.New("server answered with a CoAP reset")
	ErrTooBig  = errors.New("request is too large (above MaxPayload, or no room for a block)")
	// ErrBlockwise: the server broke the Block1 sequence (2.31 Continue to the
	// final block, or a 2.31 acknowledging a block that was not sent).
	ErrBlockwise = errors.New("server broke the block-wise transfer")
	// ErrBlock2: the response came in several Block2 blocks. libenos does not
	// fetch the rest (EnOS keeps payloads under ~1 KB), and a first block
	// alone must not pass for the whole response.
	ErrBlock2 = errors.New("response is block-wise (Block2), which is not supported")
	// ErrBlockSize: Params.BlockSize is not 0, -1 or a power of two in 16..1024.
	// ErrStale: Request.Again can no longer be sent as a retransmission.
	ErrStale     = errors.New("earlier exchange is too old, or its socket is gone")
	ErrBlockSize = errors.New("block size must be 0, -1 or a power of two from 16 to 1024")
)

// NetError is a failure to resolve, send or receive (an ICMP error included).
type NetError struct{ Err error }

func (e *NetError) Error() string { return "network: " + e.Err.Error() }
func (e *NetError) Unwrap() error { return e.Err }

// Conn is a CoAP client endpoint for one server. It is assigned a socket
// from the process's pool on its first exchange (Conns talking to the same
// server share a few sockets, see pool.go) and keeps it until the socket's
// Message IDs run out or it fails; after a network error the next exchange
// resolves the server again, so a server that comes back (or changes
// address) is reached again.
type Conn struct {
	server string
	params Params

	xmu     sync.Mutex    // one exchange at a time
	sc      *scratch      // the exchange's buffers, from scratchPool (guarded by xmu; nil while idle)
	recent  *recentMIDs   // separate responses received on the current socket; nil until the first (guarded by xmu)
	streak  time.Duration // pollRead: start of the current streak of waits (since epoch), guarded by xmu
	pollEnd time.Duration // pollRead: end of the last wait (since epoch), guarded by xmu

	smu       sync.Mutex // guards sock and needFresh; never held while blocking
	sock      *sock
	needFresh bool        // the next socket must be a new one (after a stale answer)
	closed    atomic.Bool // set under smu, read without it
	waiting   *waiter     // the exchange in progress on sock (guarded by sock.mu)

	retransmissions atomic.Uint64
	staleAnswers    atomic.Uint64 // ACKs to our Message ID with another token
	rebinds         atomic.Uint64 // moves to a fresh socket for Message ID reasons
	conflictSeen    bool          // this Do already moved socket after a stale answer (guarded by xmu)
}

// scratch holds what one exchange works in. An idle Conn holds none: they
// come from scratchPool for the length of a Do.
type scratch struct {
	sendBuf []byte
	recvBuf []byte
	in      message.Message
	encOpts message.Options // encode's scratch
	encBuf  []byte          // encode's option values
	resp    Response        // the response (see do)
}

var scratchPool = sync.Pool{New: func() any {
	return &scratch{
		sendBuf: make([]byte, MaxDatagram),
		recvBuf: make([]byte, MaxDatagram+1), // +1 detects oversized datagrams
		in:      message.Message{Options: make(message.Options, 0, 16)},
		encOpts: make(message.Options, 0, 12),
	}
}}

// New returns a Conn for server ("host:port"). It does no I/O and holds no
// buffer: an idle Conn is a few hundred bytes.
//
// Tokens and Message ID starting points come from math/rand/v2's global
// generator (ChaCha8, seeded by the runtime from the system's entropy): a
// token must be unpredictable to an off-path attacker, and a generator per
// Conn would cost every idle client its state.
func New(server string, p Params) *Conn {
	return &Conn{server: server, params: p}
}

// Retransmissions counts every datagram sent again since New.
func (c *Conn) Retransmissions() uint64 { return c.retransmissions.Load() }

// StaleAnswers counts ACKs that carried the Message ID of a request in
// progress but another token: the server answered from its deduplication
// cache for an earlier message with that Message ID from the same endpoint.
// Each one made the Conn move to a fresh socket and send the request again.
func (c *Conn) StaleAnswers() uint64 { return c.staleAnswers.Load() }

// Rebinds counts the moves to a fresh socket (a new source port, so a new
// endpoint for the server) made because the socket's Message IDs ran out
// within ExchangeLifetime or because of a stale answer.
func (c *Conn) Rebinds() uint64 { return c.rebinds.Load() }

// Close gives the Conn's socket back to the pool (the last Conn on a socket
// closes it); an exchange in progress returns ErrClosed.
func (c *Conn) Close() error {
	c.smu.Lock()
	c.closed.Store(true)
	s := c.sock
	c.sock = nil
	c.smu.Unlock()
	if s != nil {
		s.interrupt(c)
		shared.release(s)
	}
	return nil
}

// socket returns the Conn's socket, assigning one from the pool when it has
// none or its socket failed.
func (c *Conn) socket(ctx context.Context) (*sock, error) {
	c.smu.Lock()
	if c.closed.Load() {
		c.smu.Unlock()
		return nil, ErrClosed
	}
	old := c.sock
	if old != nil && !old.dead.Load() {
		c.smu.Unlock()
		return old, nil
	}
	c.sock = nil
	fresh := c.needFresh
	c.smu.Unlock()
	if old != nil {
		shared.release(old)
	}
	// Without the lock: resolving a name may take a while.
	s, err := shared.acquire(ctx, c.server, fresh)
	if err != nil {
		return nil, err
	}
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.closed.Load() {
		shared.release(s)
		return nil, ErrClosed
	}
	c.sock, c.needFresh = s, false
	c.recent = nil // the Message IDs it holds are another endpoint's
	return s, nil
}

// drop moves the Conn off s: its next exchange gets another socket, a new
// one when fresh is set.
func (c *Conn) drop(s *sock, fresh bool) {
	c.smu.Lock()
	mine := c.sock == s
	if mine {
		c.sock = nil
		c.needFresh = fresh
	}
	c.smu.Unlock()
	if mine {
		shared.release(s)
	}
}

func (c *Conn) isClosed() bool { return c.closed.Load() }

// Do runs one request: it sends req as a CON and waits for the response,
// retransmitting on RFC 7252's schedule. It returns within Params.Window (or
// ctx's deadline, if earlier). A payload larger than the block size goes as a
// Block1 transfer (see Params.BlockSize): one exchange per block, each with its
// own Message ID and the same token, bounded by Window per block; the response
// to the final block is the response, and any answer other than 2.31 Continue
// to an earlier block ends the transfer and is returned as the response.
//
// Message IDs come from the socket's allocator (shared by every Conn on the
// socket), which never reuses one within ExchangeLifetime; when the socket has
// none left, Do moves to another socket of the pool that has some (or a new
// one), and when the server answers one of ours with another token (a stale
// answer from its deduplication cache), to a fresh socket; either way it
// sends the request again from the start, within the same deadline. When the
// socket fails before the request was sent, Do sends it from another socket;
// after, it returns a NetError. Separate responses are
// deduplicated by Message ID (RFC 7252 §4.5): a repeated one is acknowledged
// again and otherwise ignored.
func (c *Conn) Do(ctx context.Context, req *Request) (Response, error) {
	bs, err := c.params.blockSize()
	if err != nil {
		return Response{}, err
	}
	if len(req.Payload) > MaxPayload {
		return Response{}, ErrTooBig
	}
	c.xmu.Lock()
	defer c.xmu.Unlock()
	c.sc = scratchPool.Get().(*scratch)
	defer func() {
		c.sc.resp = Response{}
		scratchPool.Put(c.sc)
		c.sc = nil
	}()
	r, err := c.do(ctx, req, bs)
	if err != nil {
		return Response{}, err
	}
	return *r, nil
}

// do is Do with xmu held and the response in c.sc.resp, so that an
// exchange allocates nothing for it.
func (c *Conn) do(ctx context.Context, req *Request, bs int) (*Response, error) {
	start := time.Now()
	c.conflictSeen = false
	lost := 0
	for moves := 0; ; moves++ {
		s, err := c.socket(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := c.send(ctx, s, req, bs, start)
		if gone, ok := err.(*socketGone); ok { // returned as it is, never wrapped
			// The socket failed before the request left: nothing reached
			// the server, so it goes from another socket instead.
			if lost++; lost > 2 {
				return nil, &NetError{Err: gone.err}
			}
			continue
		}
		if !errors.Is(err, errRebind) {
			return resp, err
		}
		if moves-lost >= 2 {
			// Cannot happen: a fresh socket has every Message ID free, and a
			// second stale answer in one Do is ignored (see await).
			return nil, ErrTimeout
		}
		// A new source port is a new endpoint for the server, whose
		// deduplication then knows none of our Message IDs. After a stale
		// answer, the socket is retired and the next one is new; when its
		// Message IDs ran out, the pool picks one that has some left.
		c.rebinds.Add(1)
		if c.conflictSeen {
			shared.retire(s)
		}
		c.drop(s, c.conflictSeen)
	}
}

// socketGone: the socket failed before the exchange sent anything.
type socketGone struct{ err error }

func (e *socketGone) Error() string { return "socket failed before sending: " + e.err.Error() }

// errRebind: the exchange cannot go on from this socket (its Message IDs
// ran out within ExchangeLifetime, or the server answered from its
// deduplication cache for an earlier message); do moves to a fresh socket
// and sends the request again from the start.
var errRebind = errors.New("message ID in use at the server: move to a fresh socket")

// send runs req on s, started at start (the deadlines count from there).
func (c *Conn) send(ctx context.Context, s *sock, req *Request, bs int, start time.Time) (*Response, error) {
	if a := req.Again; a != nil {
		if !c.canResend(a, s) {
			return nil, ErrStale
		}
		req.Sent = a
		c.retransmissions.Add(1) // its first datagram here is a retransmission too
		resp, sent, err := c.exchange(ctx, s, a.datagram, a.mid, a.token[:], c.deadline(ctx, start, 1))
		_, gone := err.(*socketGone)
		if errors.Is(err, errRebind) || gone {
			// The server's cache holds another message under this Message
			// ID: this one cannot be sent as a retransmission any more.
			return nil, ErrStale
		}
		if err != nil {
			return nil, err
		}
		resp.Retransmissions = sent
		return resp, nil
	}
	var token [8]byte
	binary.LittleEndian.PutUint64(token[:], rand.Uint64())
	if bs < 0 || len(req.Payload) <= bs {
		n, err := c.encode(req, req.Payload, 0, token[:], nil)
		if err == nil {
			mid, ok := s.mids.take()
			if !ok {
				return nil, errRebind
			}
			binary.BigEndian.PutUint16(c.sc.sendBuf[2:4], mid)
			now := time.Now()
			resp, sent, err := c.exchange(ctx, s, c.sc.sendBuf[:n], mid, token[:], c.deadline(ctx, start, 1))
			if err == nil && resp.Code == codes.Continue {
				// 2.31 asks for the next block of a transfer this request
				// is not: nothing was delivered.
				err = ErrBlockwise
			}
			if err != nil {
				// Keep only what went on the wire: a datagram never sent (the
				// socket failed first) has nothing for the server to deduplicate.
				if req.Keep && sent > 0 && !errors.Is(err, errRebind) && !errors.Is(err, ErrBlockwise) {
					// c.sc.sendBuf still holds the datagram: nothing in an
					// exchange writes to it.
					req.Sent = &Exchange{mid: mid, token: token, datagram: append([]byte(nil), c.sc.sendBuf[:n]...), first: now, sock: s}
				}
				return nil, err
			}
			resp.Retransmissions = sent - 1
			return resp, nil
		}
		if bs < 0 || !errors.Is(err, ErrTooBig) {
			return nil, err
		}
		// Path and Sign leave too little room: fall back to smaller blocks.
	}
	return c.doBlock1(ctx, s, req, token[:], bs, start)
}

// CanResend says whether e can still be sent again as a retransmission: from
// the same socket, and soon enough that the server's deduplication still
// knows the Message ID after a full window of retransmissions.
func (c *Conn) CanResend(e *Exchange) bool {
	c.smu.Lock()
	s := c.sock
	c.smu.Unlock()
	return c.canResend(e, s)
}

func (c *Conn) canResend(e *Exchange, s *sock) bool {
	return e != nil && s != nil && e.sock == s && time.Since(e.first)+c.params.Window() < ExchangeLifetime
}

// deadline is the end of n exchanges started at start, or ctx's deadline if earlier.
func (c *Conn) deadline(ctx context.Context, start time.Time, n int) time.Time {
	end := start.Add(time.Duration(n) * c.params.Window())
	if d, ok := ctx.Deadline(); ok && d.Before(end) {
		end = d
	}
	return end
}

// doBlock1 sends req.Payload as an RFC 7959 Block1 transfer starting with
// blocks of size bytes. Each 2.31 Continue must acknowledge the block just
// sent, so every exchange moves forward and a transfer takes at most one
// exchange per block (at the smallest size the server asked for).
func (c *Conn) doBlock1(ctx context.Context, s *sock, req *Request, token []byte, size int, start time.Time) (*Response, error) {
	total := len(req.Payload)
	blocks := func() int { return (total + size - 1) / size }
	end := c.deadline(ctx, start, blocks())
	off := 0 // always a multiple of size: sizes only shrink, by powers of two
	retrans := 0
	for {
		num := off / size
		n := min(size, total-off)
		more := off+n < total
		blk := &block1{num: num, more: more, szx: szx(size), size1: -1}
		if off == 0 {
			blk.size1 = total
		}
		dn, err := c.encode(req, req.Payload[off:off+n], 0, token, blk)
		if errors.Is(err, ErrTooBig) && size > 16 {
			size /= 2 // Path and Sign leave too little room for this block size
			end = c.deadline(ctx, start, blocks())
			continue
		}
		if err != nil {
			return nil, err
		}
		mid, ok := s.mids.take()
		if !ok {
			// Out of Message IDs mid-transfer: the transfer starts again
			// from a fresh socket (a server keeps a transfer per endpoint).
			return nil, errRebind
		}
		binary.BigEndian.PutUint16(c.sc.sendBuf[2:4], mid)
		blockEnd := c.deadline(ctx, time.Now(), 1)
		if end.Before(blockEnd) {
			blockEnd = end
		}
		resp, sent, err := c.exchange(ctx, s, c.sc.sendBuf[:dn], mid, token, blockEnd)
		if err != nil {
			return nil, err
		}
		retrans += sent - 1
		resp.Retransmissions = retrans
		if resp.Code != codes.Continue {
			// The final response, or an error (4.13, 4.08, 4.01...) that ends
			// the transfer early: either way the caller gets it.
			return resp, nil
		}
		if !more {
			return nil, ErrBlockwise // 2.31 to the final block: nothing left to send
		}
		if resp.hasBlock1 {
			rszx := int(resp.block1 & 7)
			rnum := int(resp.block1 >> 4)
			if rszx < 7 { // 7 is BERT (RFC 8323), not for UDP: ignore its size
				rsize := 16 << rszx
				// The server acknowledges our block either with our number or
				// (RFC 7959 §2.5, Figure 5) with its offset counted in its size.
				if rnum != num && rnum*rsize != off {
					return nil, ErrBlockwise
				}
				if rsize < size {
					size = rsize // honour the server's smaller block size
					end = c.deadline(ctx, start, blocks())
				}
			} else if rnum != num {
				return nil, ErrBlockwise
			}
		}
		off += n
	}
}

// exchange sends datagram (a CON with mid and token) and waits for its
// response until end, retransmitting on RFC 7252's schedule. It returns the
// response and the number of transmissions.
//
// The exchange is registered on s before the first transmission, so that an
// answer read by another exchange on the same socket reaches this one.
func (c *Conn) exchange(ctx context.Context, s *sock, datagram []byte, mid uint16, token []byte, end time.Time) (*Response, int, error) {
	w := waiters.Get().(*waiter)
	defer waiters.Put(w)
	if err := s.register(w, c, mid, token); err != nil {
		return nil, 0, &socketGone{err: err}
	}
	defer s.unregister(w)
	timeout := time.Duration(float64(c.params.AckTimeout) * (1 + (ackRandomFactor-1)*rand.Float64()))
	acked := false // an empty ACK came: stop retransmitting, wait for the separate response
	sent := 0
	var sentAt time.Time
	for {
		if !acked {
			if err := s.write(datagram); err != nil {
				err = c.ioError(s, err)
				var ne *NetError
				if sent == 0 && errors.As(err, &ne) {
					return nil, 0, &socketGone{err: ne.Err}
				}
				return nil, sent, err
			}
			if sent > 0 {
				c.retransmissions.Add(1)
			}
			sent++
			sentAt = time.Now()
		}
		wait := end
		if !acked && sentAt.Add(timeout).Before(end) {
			wait = sentAt.Add(timeout)
		}
		resp, err := c.await(ctx, s, w, wait, mid, token, &acked)
		if err != nil {
			return nil, sent, err
		}
		if resp != nil && resp.partial {
			return nil, sent, ErrBlock2
		}
		if resp != nil {
			return resp, sent, nil
		}
		if !time.Now().Before(end) || (!acked && sent > c.params.MaxRetransmit) {
			return nil, sent, ErrTimeout
		}
		timeout *= 2
	}
}

type dedicatedKey struct{}

// OnDedicatedThread marks ctx as belonging to a caller whose goroutine has an
// OS thread of its own, as every call from C through cgo does. Waiting for an
// answer then starts with a short blocking recvfrom(2) on that thread: parking a
// goroutine locked to its thread in the netpoller costs a hand-off between
// two OS threads (futex wake-ups, context switches) per exchange, which
// dominated the CPU cost of a report from C (BENCHMARKS.md). Go callers with
// many goroutines should not use it: each waiting exchange would hold a thread.
func OnDedicatedThread(ctx context.Context) context.Context {
	return context.WithValue(ctx, dedicatedKey{}, true)
}

func onDedicatedThread(ctx context.Context) bool {
	v, _ := ctx.Value(dedicatedKey{}).(bool)
	return v
}

// await reads datagrams until the response to (mid, token) arrives or until
// the deadline; it returns (nil, nil) on the deadline. It reads the socket
// itself when no other exchange does, and otherwise takes what the reader
// passes on to w (demux.go).
func (c *Conn) await(ctx context.Context, s *sock, w *waiter, deadline time.Time, mid uint16, token []byte, acked *bool) (*Response, error) {
	defer s.resign(w)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if c.isClosed() {
			return nil, ErrClosed
		}
		// Wake up at least every 100 ms to notice a cancelled ctx.
		wake := deadline
		if ctx.Done() != nil {
			if t := time.Now().Add(100 * time.Millisecond); t.Before(wake) {
				wake = t
			}
		}
		dgram, err := c.receive(ctx, s, w, wake)
		if err != nil {
			return nil, err
		}
		if dgram == nil {
			if !time.Now().Before(deadline) {
				return nil, nil
			}
			continue // woken early: look again
		}
		if resp := c.match(s, dgram, mid, token, acked); resp != nil {
			switch resp {
			case errReset:
				return nil, ErrReset
			case errStaleAnswer:
				c.staleAnswers.Add(1)
				if c.conflictSeen {
					// Already on a fresh socket in this Do, where the server
					// knows none of our Message IDs: a forgery, ignore it.
					continue
				}
				c.conflictSeen = true
				return nil, errRebind
			}
			return resp, nil
		}
	}
}

// receive returns the next datagram for w's exchange, or nil when there is
// none by wake or w was poked. It takes first what the reader passed on to
// w (a separate response right after its empty ACK, say, routed while w was
// busy), then reads the socket if no other exchange does, or else waits for
// the reader to pass something on.
func (c *Conn) receive(ctx context.Context, s *sock, w *waiter, wake time.Time) ([]byte, error) {
	select {
	case d := <-w.ch:
		return d, nil
	default:
	}
	reader, err := s.lead(w)
	if err != nil {
		return nil, &NetError{Err: err}
	}
	if !reader {
		d := time.Until(wake)
		if d <= 0 {
			return nil, nil
		}
		w.timer.Reset(d)
		select {
		case dgram := <-w.ch:
			w.timer.Stop()
			return dgram, nil
		case <-w.poke: // the reader left, the Conn closed or the socket failed
			w.timer.Stop()
		case <-w.timer.C:
		}
		return nil, nil
	}
	for {
		n, err, ok := 0, error(nil), false
		if onDedicatedThread(ctx) {
			n, err, ok = c.pollRead(s, wake)
		}
		if !ok {
			n, err = s.read(c.sc.recvBuf, wake, &c.closed)
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, nil
			}
			return nil, c.ioError(s, err)
		}
		if n > MaxDatagram {
			continue // oversized: not a CoAP message we can trust
		}
		if s.route(w, c.sc.recvBuf[:n]) {
			return c.sc.recvBuf[:n], nil
		}
		// Another exchange's, passed on: read on.
	}
}

// Sentinels from match.
var (
	errReset       = &Response{}
	errStaleAnswer = &Response{} // an ACK to our Message ID with another token
)

// match decodes one datagram and returns the response it carries for (mid,
// token), errReset for a matching RST, errStaleAnswer for a piggybacked
// response to mid with another token (the server answered an earlier
// message with that Message ID from its deduplication cache), or nil for
// anything else (duplicates, late answers, garbage).
func (c *Conn) match(s *sock, dgram []byte, mid uint16, token []byte, acked *bool) *Response {
	m := &c.sc.in
	m.Options = m.Options[:0]
	if _, err := coder.DefaultCoder.Decode(dgram, m); err != nil {
		if !errors.Is(err, message.ErrOptionsTooSmall) {
			return nil
		}
		// More options than c.in holds: decode once more into a throw-away
		// message (a datagram cannot hold more options than bytes), so that
		// one odd response does not grow c.in for good.
		m = &message.Message{Options: make(message.Options, 0, len(dgram))}
		if _, err := coder.DefaultCoder.Decode(dgram, m); err != nil {
			return nil
		}
	}
	switch m.Type {
	case message.Acknowledgement:
		if uint16(m.MessageID) != mid {
			return nil
		}
		if m.Code == codes.Empty {
			*acked = true
			return nil
		}
		if string(m.Token) != string(token) {
			return errStaleAnswer
		}
		return c.response(m)
	case message.Reset:
		if uint16(m.MessageID) == mid {
			return errReset
		}
		return nil
	case message.Confirmable, message.NonConfirmable:
		if m.Code < codes.Created {
			return nil // a request: a client serves none
		}
		if m.Type == message.Confirmable {
			// A separate response (ours or a late duplicate): acknowledge it so the
			// server stops retransmitting.
			s.sendEmptyACK(uint16(m.MessageID))
		}
		if string(m.Token) != string(token) {
			return nil
		}
		// Only a response with our token is remembered: others cannot be
		// taken for an answer anyway, and must not push ours out.
		if c.recent == nil {
			c.recent = new(recentMIDs)
		}
		if c.recent.seen(uint16(m.MessageID)) {
			return nil // a duplicate of a response already taken
		}
		return c.response(m)
	}
	return nil
}

// sendEmptyACK acknowledges the CON with Message ID mid (from its own
// buffer: c.sc.sendBuf may hold a datagram to send again).
func (s *sock) sendEmptyACK(mid uint16) {
	var b [4]byte
	b[0] = 1<<6 | byte(message.Acknowledgement)<<4
	binary.BigEndian.PutUint16(b[2:], mid)
	_ = s.write(b[:])
}

func (c *Conn) response(m *message.Message) *Response {
	r := &c.sc.resp
	*r = Response{Code: m.Code}
	if len(m.Payload) > 0 {
		r.Payload = append([]byte(nil), m.Payload...)
	}
	for _, o := range m.Options {
		switch o.ID {
		case OptionCommandTopic:
			r.CommandTopic = string(o.Value)
		case OptionCommandPayload:
			r.CommandPayload = append([]byte{}, o.Value...)
			r.HasCommandData = true
		case message.Block1:
			if len(o.Value) <= 3 { // RFC 7959: 0..3 bytes; ignore anything else
				r.block1, _, _ = message.DecodeUint32(o.Value)
				r.hasBlock1 = true
			}
		case message.Block2:
			if len(o.Value) > 3 {
				r.partial = true // malformed: not a whole response either
			} else if v, _, _ := message.DecodeUint32(o.Value); v&0x08 != 0 || v>>4 != 0 {
				r.partial = true // more blocks follow, or not the first block
			}
		}
	}
	return r
}

// errSocketClosed: the shared socket was closed while the Conn was not.
var errSocketClosed = errors.New("socket closed")

// ioError takes s out of the pool after an error on it: every exchange on it
// ends with a NetError and its Conns move to other sockets.
func (c *Conn) ioError(s *sock, err error) error {
	if c.isClosed() {
		return ErrClosed
	}
	if errors.Is(err, net.ErrClosed) {
		if serr := s.failed(); serr != nil && serr != ErrClosed {
			err = serr
		} else {
			err = errSocketClosed
		}
	}
	shared.fail(s, err)
	return &NetError{Err: err}
}

// block1 describes one block of a Block1 transfer.
type block1 struct {
	num   int
	more  bool
	szx   int
	size1 int // Size1 option (total payload size), -1 for none
}

// szx is RFC 7959's SZX of a power-of-two block size 16..1024.
func szx(size int) int {
	n := 0
	for s := size >> 5; s > 0; s >>= 1 {
		n++
	}
	return n
}

// encode writes req as a CON carrying payload (the whole payload, or one block
// of it when blk is not nil) into c.sc.sendBuf. A message larger than MaxDatagram
// returns ErrTooBig.
func (c *Conn) encode(req *Request, payload []byte, mid uint16, token []byte, blk *block1) (int, error) {
	// Both are reused across exchanges (encode runs under xmu): they only live
	// until Encode has copied them into c.sc.sendBuf.
	opts := c.sc.encOpts[:0]
	// One buffer for every option value; Uri-Path segments are at most the
	// path's length plus 4 bytes of Content-Format, Block1 and Size1 values,
	// and the Sign.
	need := len(req.Path) + 16 + len(req.Sign)
	if cap(c.sc.encBuf) < need {
		c.sc.encBuf = make([]byte, need)
	}
	buf := c.sc.encBuf[:need]
	defer func() { c.sc.encOpts = opts[:0] }() // keep a grown slice
	used := 0
	var err error
	var n int
	opts, n, err = opts.SetPath(buf, req.Path)
	if err != nil {
		if errors.Is(err, message.ErrTooSmall) {
			return 0, ErrTooBig
		}
		return 0, err
	}
	used += n
	// AddUint32 encodes a minimal big-endian uint, 0 as an empty value; buf
	// has room for every value (see need), so it does not fail.
	if req.ContentFormat >= 0 {
		if opts, n, err = opts.AddUint32(buf[used:], message.ContentFormat, uint32(req.ContentFormat)); err != nil {
			return 0, err
		}
		used += n
	}
	if blk != nil {
		bv := uint32(blk.num)<<4 | uint32(blk.szx)
		if blk.more {
			bv |= 1 << 3
		}
		if opts, n, err = opts.AddUint32(buf[used:], message.Block1, bv); err != nil {
			return 0, err
		}
		used += n
		if blk.size1 >= 0 {
			if opts, n, err = opts.AddUint32(buf[used:], message.Size1, uint32(blk.size1)); err != nil {
				return 0, err
			}
			used += n
		}
	}
	if len(req.Sign) > 0 {
		v := buf[used : used+copy(buf[used:], req.Sign)]
		opts = opts.Add(message.Option{ID: OptionSign, Value: v})
	}
	msg := message.Message{
		Token:     token,
		Options:   opts,
		Code:      req.Code,
		Payload:   payload,
		MessageID: int32(mid),
		Type:      message.Confirmable,
	}
	n, err = coder.DefaultCoder.Encode(msg, c.sc.sendBuf)
	if errors.Is(err, message.ErrTooSmall) {
		return 0, ErrTooBig
	}
	return n, err
}
