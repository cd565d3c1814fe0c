// Package transport sends CoAP confirmable requests over UDP the way RFC 7252
// asks for: one exchange at a time, retransmission with exponential back-off,
// matching by Message ID and token. It uses go-coap's message codec but not its
// client: the exchange runs on the calling goroutine, so an idle client costs
// one socket and no goroutine, a lost server returns after the retransmission
// window, and an ICMP error surfaces as a network error instead of killing the
// connection for good (see shared/engineering-notes.md).
package transport

import (
	"context"
	crand "crypto/rand"
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

// Options EnOS defines beyond RFC 7252 (protocol.md §3, §5).
const (
	OptionCommandTopic   message.OptionID = 2100 // elective: topic of a waiting command
	OptionSign           message.OptionID = 2101 // critical: the message signature
	OptionCommandPayload message.OptionID = 2102 // elective: the command itself
)

// MaxDatagram is the largest datagram sent or accepted (Ethernet MTU less IP
// and UDP headers). go-coap's own default drops anything larger silently.
const MaxDatagram = 1472

// ackRandomFactor is RFC 7252's ACK_RANDOM_FACTOR.
const ackRandomFactor = 1.5

// Params are the RFC 7252 transmission parameters.
type Params struct {
	AckTimeout    time.Duration // > 0
	MaxRetransmit int           // >= 0
}

// Window is RFC 7252's MAX_TRANSMIT_WAIT: the longest one exchange can take.
func (p Params) Window() time.Duration {
	return time.Duration(float64(p.AckTimeout) * ackRandomFactor * float64(int64(1)<<(p.MaxRetransmit+1)-1))
}

// Request is one CoAP request. Path is split into Uri-Path options at '/'.
type Request struct {
	Code          codes.Code // codes.POST or codes.GET
	Path          string
	ContentFormat int // -1: no Content-Format option
	Payload       []byte
	Sign          string // option 2101; "" sends none
}

// Response is the answer to a Request; every slice is owned by the caller.
type Response struct {
	Code            codes.Code
	Payload         []byte
	CommandTopic    string // option 2100, "" if absent
	CommandPayload  []byte // option 2102
	HasCommandData  bool   // option 2102 was present (possibly empty)
	Retransmissions int
}

// Errors of an exchange. Network and timeout errors wrap the cause.
var (
	ErrClosed  = errors.New("connection closed")
	ErrTimeout = errors.New("no answer within the retransmission window")
	ErrReset   = errors.New("server answered with a CoAP reset")
	ErrTooBig  = errors.New("request does not fit one datagram")
)

// NetError is a failure to resolve, send or receive (an ICMP error included).
type NetError struct{ Err error }

func (e *NetError) Error() string { return "network: " + e.Err.Error() }
func (e *NetError) Unwrap() error { return e.Err }

// Conn is a CoAP client endpoint for one server. The socket is opened on the
// first exchange and re-opened after a network error, so a server that comes
// back (or changes address) is reached again.
type Conn struct {
	server string
	params Params

	xmu     sync.Mutex // one exchange at a time
	rnd     *rand.Rand
	mid     uint16
	sendBuf []byte
	recvBuf []byte
	optBuf  []byte
	in      message.Message

	smu    sync.Mutex // guards sock and closed; never held while blocking
	sock   *net.UDPConn
	closed bool

	retransmissions atomic.Uint64
}

// New returns a Conn for server ("host:port"). It does no I/O.
func New(server string, p Params) *Conn {
	var seed [16]byte
	_, _ = crand.Read(seed[:])
	rnd := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	return &Conn{
		server:  server,
		params:  p,
		rnd:     rnd,
		mid:     uint16(rnd.Uint32()),
		sendBuf: make([]byte, MaxDatagram),
		recvBuf: make([]byte, MaxDatagram+1), // +1 detects oversized datagrams
		optBuf:  make([]byte, 0, 256),
		in:      message.Message{Options: make(message.Options, 0, 16)},
	}
}

// Retransmissions counts every datagram sent again since New.
func (c *Conn) Retransmissions() uint64 { return c.retransmissions.Load() }

// Close closes the socket; an exchange in progress returns ErrClosed.
func (c *Conn) Close() error {
	c.smu.Lock()
	defer c.smu.Unlock()
	c.closed = true
	if c.sock != nil {
		_ = c.sock.Close()
		c.sock = nil
	}
	return nil
}

func (c *Conn) socket(ctx context.Context) (*net.UDPConn, error) {
	c.smu.Lock()
	if c.closed {
		c.smu.Unlock()
		return nil, ErrClosed
	}
	if s := c.sock; s != nil {
		c.smu.Unlock()
		return s, nil
	}
	c.smu.Unlock()
	// Dial without the lock: resolving a name may take a while.
	nc, err := (&net.Dialer{}).DialContext(ctx, "udp", c.server)
	if err != nil {
		return nil, &NetError{Err: err}
	}
	s := nc.(*net.UDPConn)
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.closed {
		_ = s.Close()
		return nil, ErrClosed
	}
	c.sock = s
	return s, nil
}

// drop forgets a socket after a network error so that the next exchange dials again.
func (c *Conn) drop(s *net.UDPConn) {
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.sock == s {
		_ = s.Close()
		c.sock = nil
	}
}

func (c *Conn) isClosed() bool {
	c.smu.Lock()
	defer c.smu.Unlock()
	return c.closed
}

// Do runs one exchange: it sends req as a CON and waits for the response,
// retransmitting on RFC 7252's schedule. It returns within Params.Window (or
// ctx's deadline, if earlier).
func (c *Conn) Do(ctx context.Context, req *Request) (*Response, error) {
	c.xmu.Lock()
	defer c.xmu.Unlock()

	s, err := c.socket(ctx)
	if err != nil {
		return nil, err
	}
	c.mid++
	mid := c.mid
	var token [8]byte
	binary.LittleEndian.PutUint64(token[:], c.rnd.Uint64())
	n, err := c.encode(req, mid, token[:])
	if err != nil {
		return nil, err
	}
	datagram := c.sendBuf[:n]

	end := time.Now().Add(c.params.Window())
	if d, ok := ctx.Deadline(); ok && d.Before(end) {
		end = d
	}
	timeout := time.Duration(float64(c.params.AckTimeout) * (1 + (ackRandomFactor-1)*c.rnd.Float64()))
	acked := false // an empty ACK came: stop retransmitting, wait for the separate response
	sent := 0
	var sentAt time.Time
	for {
		if !acked {
			if _, err := s.Write(datagram); err != nil {
				return nil, c.ioError(s, err)
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
		resp, err := c.await(ctx, s, wait, mid, token[:], &acked)
		if err != nil {
			return nil, err
		}
		if resp != nil {
			resp.Retransmissions = sent - 1
			return resp, nil
		}
		if !time.Now().Before(end) || (!acked && sent > c.params.MaxRetransmit) {
			return nil, ErrTimeout
		}
		timeout *= 2
	}
}

// await reads datagrams until the response to (mid, token) arrives or until
// the deadline; it returns (nil, nil) on the deadline.
func (c *Conn) await(ctx context.Context, s *net.UDPConn, deadline time.Time, mid uint16, token []byte, acked *bool) (*Response, error) {
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
		if err := s.SetReadDeadline(wake); err != nil {
			return nil, c.ioError(s, err)
		}
		n, err := s.Read(c.recvBuf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if !time.Now().Before(deadline) {
					return nil, nil
				}
				continue
			}
			return nil, c.ioError(s, err)
		}
		if n > MaxDatagram {
			continue // oversized: not a CoAP message we can trust
		}
		if resp := c.match(s, c.recvBuf[:n], mid, token, acked); resp != nil {
			if resp == errReset {
				return nil, ErrReset
			}
			return resp, nil
		}
	}
}

var errReset = &Response{} // sentinel from match

// match decodes one datagram and returns the response it carries for (mid,
// token), errReset for a matching RST, or nil for anything else (duplicates,
// stale answers, garbage).
func (c *Conn) match(s *net.UDPConn, dgram []byte, mid uint16, token []byte, acked *bool) *Response {
	m := &c.in
	m.Options = m.Options[:0]
	if _, err := coder.DefaultCoder.Decode(dgram, m); err != nil {
		return nil
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
			return nil
		}
		return response(m)
	case message.Reset:
		if uint16(m.MessageID) == mid {
			return errReset
		}
		return nil
	case message.Confirmable, message.NonConfirmable:
		if m.Type == message.Confirmable && m.Code >= codes.Created {
			// A separate response (ours or a late duplicate): acknowledge it so the
			// server stops retransmitting.
			c.sendEmptyACK(s, uint16(m.MessageID))
		}
		if m.Code < codes.Created || string(m.Token) != string(token) {
			return nil
		}
		return response(m)
	}
	return nil
}

func (c *Conn) sendEmptyACK(s *net.UDPConn, mid uint16) {
	var b [4]byte
	b[0] = 1<<6 | byte(message.Acknowledgement)<<4
	binary.BigEndian.PutUint16(b[2:], mid)
	_, _ = s.Write(b[:])
}

func response(m *message.Message) *Response {
	r := &Response{Code: m.Code}
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
		}
	}
	return r
}

func (c *Conn) ioError(s *net.UDPConn, err error) error {
	if c.isClosed() || errors.Is(err, net.ErrClosed) {
		return ErrClosed
	}
	c.drop(s)
	return &NetError{Err: err}
}

func (c *Conn) encode(req *Request, mid uint16, token []byte) (int, error) {
	opts := make(message.Options, 0, 12)
	buf := c.optBuf[:cap(c.optBuf)]
	used := 0
	var err error
	var n int
	for {
		opts, n, err = opts.SetPath(buf[used:], req.Path)
		if errors.Is(err, message.ErrTooSmall) {
			buf = make([]byte, 2*len(buf)+len(req.Path))
			c.optBuf = buf[:0]
			opts = opts[:0]
			continue
		}
		break
	}
	if err != nil {
		return 0, err
	}
	used += n
	if req.ContentFormat >= 0 {
		opts, n, err = opts.SetContentFormat(buf[used:], message.MediaType(req.ContentFormat))
		if err != nil {
			return 0, err
		}
		used += n
	}
	if req.Sign != "" {
		opts = opts.Add(message.Option{ID: OptionSign, Value: []byte(req.Sign)})
	}
	msg := message.Message{
		Token:     token,
		Options:   opts,
		Code:      req.Code,
		Payload:   req.Payload,
		MessageID: int32(mid),
		Type:      message.Confirmable,
	}
	n, err = coder.DefaultCoder.Encode(msg, c.sendBuf)
	if errors.Is(err, message.ErrTooSmall) {
		return 0, ErrTooBig
	}
	return n, err
}
