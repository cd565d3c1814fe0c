// SPDX-License-Identifier: Apache-2.0

//go:build !nodtls

package transport

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"time"

	piondtls "github.com/pion/dtls/v3"
	dtlsnet "github.com/pion/dtls/v3/pkg/net"
	coapdtls "github.com/plgd-dev/go-coap/v3/dtls"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/net/blockwise"
	"github.com/plgd-dev/go-coap/v3/options"
	"github.com/plgd-dev/go-coap/v3/pkg/runner/periodic"
	udpClient "github.com/plgd-dev/go-coap/v3/udp/client"
)

// DTLSAvailable says whether this build carries DTLS (the nodtls build tag
// leaves it out).
const DTLSAvailable = true

// DTLSConn is a CoAP client endpoint for one server over DTLS 1.2 with a
// pre-shared key. The handshake is pion/dtls's and the CoAP exchange
// (CON retransmission, Block1/Block2) is go-coap's DTLS client; this type adds
// what a device needs around them: one exchange at a time, every exchange
// bounded by the retransmission window, errors sorted into refused
// handshake, silence and ICMP, and a session that died on the server's side
// re-established once, transparently.
type DTLSConn struct {
	server    string
	params    Params
	blockSize int // params' block size, checked by NewDTLS; -1 when block-wise is off
	psk       PSK

	xmu sync.Mutex // one exchange at a time

	mu     sync.Mutex // guards the fields below; never held while blocking
	cc     *udpClient.Conn
	wire   *watchedConn
	stop   func() // releases cc's share of a retransmission runner
	closed bool
	// abort cancels a handshake in progress (Close must not wait for it).
	abort context.CancelFunc
}

// errSessionDead: the DTLS session ended under an exchange.
var errSessionDead = errors.New("DTLS session ended")

// NewDTLS returns a DTLSConn for server ("host:port"). It does no I/O: the
// handshake happens on the first exchange, or on Handshake.
func NewDTLS(server string, p Params, psk PSK) (*DTLSConn, error) {
	bs, err := p.blockSize()
	if err != nil {
		return nil, err
	}
	return &DTLSConn{server: server, params: p, blockSize: bs, psk: PSK{Identity: psk.Identity, Key: append([]byte(nil), psk.Key...)}}, nil
}

// Close ends the session; an exchange in progress returns ErrClosed.
func (d *DTLSConn) Close() error {
	d.mu.Lock()
	d.closed = true
	if d.abort != nil {
		d.abort()
	}
	d.mu.Unlock()
	d.drop()
	return nil
}

// SetPSK ends any current session and uses psk for the next handshake.
func (d *DTLSConn) SetPSK(psk PSK) {
	d.xmu.Lock()
	defer d.xmu.Unlock()
	d.drop()
	d.mu.Lock()
	d.psk = PSK{Identity: psk.Identity, Key: append([]byte(nil), psk.Key...)}
	d.mu.Unlock()
}

// Handshake ends any current session and runs a new handshake now, bounded
// by the retransmission window (or ctx's deadline, if earlier).
func (d *DTLSConn) Handshake(ctx context.Context) error {
	d.xmu.Lock()
	defer d.xmu.Unlock()
	d.drop()
	_, err := d.handshake(ctx)
	return err
}

// Do runs one request over the session, handshaking first when there is
// none. When the exchange fails on a session that was already established
// (no answer, or the session ended: the server restarted, an address
// changed, an alert), Do runs a new handshake and sends the request once
// more: a server that lost its session drops our records without a word. The
// request is never signed and carries no token: the handshake authenticates.
func (d *DTLSConn) Do(ctx context.Context, req *Request) (Response, error) {
	if len(req.Payload) > MaxPayload {
		return Response{}, ErrTooBig
	}
	if req.Again != nil {
		return Response{}, ErrStale // no retransmission across calls over DTLS
	}
	d.xmu.Lock()
	defer d.xmu.Unlock()
	cc := d.current()
	fresh := cc == nil
	if fresh {
		d.drop() // a session that ended by itself: release what it held
		var err error
		if cc, err = d.handshake(ctx); err != nil {
			return Response{}, err
		}
	}
	resp, err := d.exchange(ctx, cc, req)
	if err == nil || fresh || ctx.Err() != nil || !(errors.Is(err, ErrTimeout) || errors.Is(err, errSessionDead)) {
		if errors.Is(err, errSessionDead) {
			err = ErrTimeout // no retry left: the server did not answer
		}
		return resp, err
	}
	d.drop()
	if cc, err = d.handshake(ctx); err != nil {
		return Response{}, err
	}
	resp, err = d.exchange(ctx, cc, req)
	if errors.Is(err, errSessionDead) {
		err = ErrTimeout
	}
	return resp, err
}

func (d *DTLSConn) current() *udpClient.Conn {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cc != nil {
		select {
		case <-d.cc.Done():
			return nil // ended (alert, ICMP): the caller handshakes again
		default:
		}
	}
	return d.cc
}

// drop ends the current session, if any.
func (d *DTLSConn) drop() {
	d.mu.Lock()
	cc, wire, stop := d.cc, d.wire, d.stop
	d.cc, d.wire, d.stop = nil, nil, nil
	d.mu.Unlock()
	if cc != nil {
		_ = cc.Close()
		stop()
	}
	if wire != nil {
		_ = wire.Close()
	}
}

// handshake dials the server and runs a DTLS handshake with the PSK.
func (d *DTLSConn) handshake(ctx context.Context) (*udpClient.Conn, error) {
	hctx, cancel := context.WithDeadline(ctx, time.Now().Add(d.params.Window()))
	defer cancel()
	d.mu.Lock()
	closed := d.closed
	d.abort = cancel
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.abort = nil
		d.mu.Unlock()
	}()
	if closed {
		return nil, ErrClosed
	}
	nc, err := (&net.Dialer{}).DialContext(hctx, "udp", d.server)
	if err != nil {
		return nil, &NetError{Err: err}
	}
	// A server that answered our first flight and still has not completed
	// the handshake a few flight intervals later has refused our key: it
	// cannot verify our Finished message and drops it without a word (see
	// refusedAfter). Waiting for the whole window would say the same, later.
	wire := &watchedConn{Conn: nc, onFirst: func() {
		time.AfterFunc(refusedAfter(d.params), cancel)
	}}
	d.mu.Lock()
	psk := d.psk
	d.mu.Unlock()
	key := psk.Key
	conn, err := piondtls.Client(dtlsnet.PacketConnFromConn(wire), nc.RemoteAddr(), &piondtls.Config{
		PSK:             func([]byte) ([]byte, error) { return key, nil },
		PSKIdentityHint: []byte(psk.Identity),
		CipherSuites:    []piondtls.CipherSuiteID{piondtls.TLS_PSK_WITH_AES_128_CCM_8, piondtls.TLS_PSK_WITH_AES_128_CBC_SHA256},
		FlightInterval:  max(d.params.AckTimeout, 10*time.Millisecond), // pion retransmits handshake flights on this, doubling
	})
	if err != nil {
		_ = nc.Close()
		return nil, err
	}
	err = conn.HandshakeContext(hctx)
	if err != nil {
		_ = conn.Close()
		_ = nc.Close()
		return nil, d.handshakeError(ctx, wire, err)
	}
	bs := d.blockSize
	sz := blockwise.SZX1024
	if bs > 0 {
		sz = blockwise.SZX(szx(bs))
	}
	runner, stop := sharedRunner(retransmitTick(d.params.AckTimeout))
	cc := coapdtls.Client(conn,
		options.WithErrors(func(error) {}), // never print from a library
		// go-coap retransmits only on its periodic runner's ticks (4 s by default).
		options.WithPeriodicRunner(runner),
		options.WithTransmission(1, d.params.AckTimeout, uint32(d.params.MaxRetransmit)),
		options.WithMTU(MaxDatagram),
		options.WithMaxMessageSize(MaxPayload+1024),
		options.WithBlockwise(bs > 0, sz, d.params.Window()),
		options.WithCloseSocket(),
	)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		_ = cc.Close()
		stop()
		_ = nc.Close()
		return nil, ErrClosed
	}
	d.cc, d.wire, d.stop = cc, wire, stop
	return cc, nil
}

// refusedAfter is how long a handshake may go on after the server's first
// answer: 12 ACK timeouts (at least four flights of ours, pion doubling its
// retransmission interval from one ACK timeout), within the window; 24 s
// with the defaults instead of the window's 93 s. A server that answered
// once is there; one that has not completed the handshake after four of our
// final flights refused our key, unless the path lost all four (with 20 %
// loss each way, under 2 % of handshakes: then ErrHandshake is wrong, and the
// next request tries again).
func refusedAfter(p Params) time.Duration {
	return min(12*p.AckTimeout, p.Window())
}

// runners are go-coap periodic runners shared by every session with the same
// tick: one goroutine and one timer for all of them, instead of one per idle
// client waking up ten times a second. A runner stops when its last session
// is released.
var runners struct {
	mu sync.Mutex
	m  map[time.Duration]*runner
}

type runner struct {
	run  periodic.Func
	stop chan struct{}
	refs int
}

// sharedRunner returns the runner for tick and the function that releases it
// (call it once, after the session using it closed: a closed session's check
// returns false and leaves the runner by itself).
func sharedRunner(tick time.Duration) (periodic.Func, func()) {
	runners.mu.Lock()
	defer runners.mu.Unlock()
	if runners.m == nil {
		runners.m = make(map[time.Duration]*runner)
	}
	r := runners.m[tick]
	if r == nil {
		r = &runner{stop: make(chan struct{})}
		r.run = periodic.New(r.stop, tick)
		runners.m[tick] = r
	}
	r.refs++
	var once sync.Once
	return r.run, func() {
		once.Do(func() {
			runners.mu.Lock()
			defer runners.mu.Unlock()
			if r.refs--; r.refs == 0 {
				close(r.stop)
				delete(runners.m, tick)
			}
		})
	}
}

// retransmitTick is how often go-coap checks for retransmissions: a tenth of
// the ACK timeout, within 10..100 ms.
func retransmitTick(ack time.Duration) time.Duration {
	return min(max(ack/10, 10*time.Millisecond), 100*time.Millisecond)
}

// handshakeError sorts a failed handshake into refused, silent and unreachable.
func (d *DTLSConn) handshakeError(ctx context.Context, wire *watchedConn, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if d.closedNow() {
		return ErrClosed
	}
	var alert interface{ IsFatalOrCloseNotify() bool }
	switch {
	case errors.As(err, &alert):
		return ErrHandshake
	case wire.readError() != nil:
		return &NetError{Err: wire.readError()}
	case wire.answered():
		return ErrHandshake
	}
	return ErrTimeout
}

// exchange sends req on cc and waits for its response within the window.
func (d *DTLSConn) exchange(ctx context.Context, cc *udpClient.Conn, req *Request) (Response, error) {
	bs := d.blockSize
	n := 1
	if bs > 0 && len(req.Payload) > bs {
		n = (len(req.Payload) + bs - 1) / bs
	}
	end := time.Now().Add(time.Duration(n) * d.params.Window())
	ectx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	msg := cc.AcquireMessage(ectx)
	defer cc.ReleaseMessage(msg)
	token, err := message.GetToken()
	if err != nil {
		return Response{}, err
	}
	msg.SetCode(req.Code)
	msg.SetToken(token)
	msg.SetType(message.Confirmable)
	if err := msg.SetPath(req.Path); err != nil {
		return Response{}, ErrTooBig
	}
	if req.ContentFormat >= 0 {
		msg.SetContentFormat(message.MediaType(req.ContentFormat))
	}
	if len(req.Payload) > 0 {
		msg.SetBody(bytes.NewReader(req.Payload))
	}
	if bs < 0 {
		if sz, _ := msg.BodySize(); sz > 0 && int(sz)+len(req.Path)+64 > MaxDatagram {
			return Response{}, ErrTooBig
		}
	}
	m, err := cc.Do(msg)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return Response{}, ctx.Err()
		case d.closedNow():
			return Response{}, ErrClosed
		}
		d.mu.Lock()
		wire := d.wire
		d.mu.Unlock()
		if wire != nil && wire.readError() != nil {
			err := wire.readError()
			d.drop()
			return Response{}, &NetError{Err: err}
		}
		if ectx.Err() != nil {
			return Response{}, ErrTimeout
		}
		return Response{}, errSessionDead
	}
	defer cc.ReleaseMessage(m)
	r := Response{Code: m.Code()}
	if body, err := m.ReadBody(); err == nil && len(body) > 0 {
		r.Payload = append([]byte(nil), body...)
	}
	for _, o := range m.Options() {
		switch o.ID {
		case OptionCommandTopic:
			r.CommandTopic = string(o.Value)
		case OptionCommandPayload:
			r.CommandPayload = append([]byte{}, o.Value...)
			r.HasCommandData = true
		}
	}
	return r, nil
}

func (d *DTLSConn) closedNow() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// watchedConn is the UDP socket under a DTLS session. It remembers whether the
// server ever answered (a handshake that got answers but never completed was
// refused), and the first read error (an ICMP error: the server is
// unreachable).
type watchedConn struct {
	net.Conn
	onFirst func() // called once, on the first datagram from the server
	mu      sync.Mutex
	got     bool
	readErr error
}

func (w *watchedConn) Read(b []byte) (int, error) {
	n, err := w.Conn.Read(b)
	w.mu.Lock()
	if err == nil {
		if !w.got && w.onFirst != nil {
			w.onFirst()
		}
		w.got = true
	} else if w.readErr == nil && !errors.Is(err, net.ErrClosed) && !isTimeout(err) {
		w.readErr = err
	}
	w.mu.Unlock()
	return n, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (w *watchedConn) answered() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.got
}

func (w *watchedConn) readError() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.readErr
}
