// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/libenos/libenos/core/logging"
	"github.com/libenos/libenos/core/sign"
	"github.com/libenos/libenos/core/state"
	"github.com/libenos/libenos/core/transport"
)

// contentJSON is CoAP Content-Format 50, application/json.
const contentJSON = 50

// Client is one device's connection to EnOS.
type Client struct {
	cfg        Config
	conn       *transport.Conn
	dtls       *transport.DTLSConn // nil unless Config.Security is SecurityDTLS (dtls.go)
	authPath   string
	reportPath string
	downPath   string // GET here polls for commands
	inbox      *inbox

	// fifoLock lets one request at a time proceed, in call order: Go serves
	// blocked channel senders in order, so concurrent callers get it in the
	// order they asked for it.
	fifoLock chan struct{}
	closed   atomic.Bool
	// lastActive is when a request last completed (UnixNano), for the poller.
	lastActive atomic.Int64
	// signLen is the longest option-2101 value of the current session (0: not
	// signing, or no session yet), for the size check that runs before the
	// fifoLock is taken. Written with fifoLock held.
	signLen atomic.Int64

	// Guarded by fifoLock.
	signer       *sign.Signer
	sess         session
	no2101       bool    // auto mode: EnOS does not know option 2101 (see confirmNo2101): never sign again
	no2101Votes  int     // 4.02s to signed requests in a row whose unsigned resend EnOS accepted
	sessGen      uint64  // counts sessions: an exchange is resent only within its session; > 0: the next authentication is a re-authentication
	signScratch  []byte  // from signBufs while fifoLock is held and a request was signed; nil otherwise
	signBuf      *[]byte // signScratch's pool entry
	pendingFetch string  // a lone 2100 announced a command to GET
	activated    bool    // DTLS with a product secret: the device secret is known (activation.go)

	// Persistence (nil without a state directory); guarded by fifoLock.
	store        *state.Store
	reserved     uint32    // sequences up to here are reserved on disk
	savedSeen    time.Time // lastSeen as last saved
	offlineQueue *offline  // the offline queue, with a state directory
	persist      persistState

	// life ends when the client closes; background work runs under it.
	// closing is closed first, when Close starts: nothing new begins after
	// it, while an exchange of the queue worker in flight may still finish
	// (see Close).
	life     context.Context
	lifeDone context.CancelFunc
	closing  chan struct{}
	poller   sync.WaitGroup // automatic polls running (pollsched.go)
	pollAt   *pollEntry     // place in the poll scheduler; nil without PollInterval

	// async holds accepted asynchronous requests (async.go); key names the
	// client to CallbackProbe and WaitAsyncFrom.
	async asyncQueue
	key   atomic.Uint64

	stats statCounters

	thingIDs atomic.Uint64 // the last thing-model message id (thing.go)
}

// session is what one authentication gives: a token and a sequence counter.
type session struct {
	valid    bool
	token    string
	signing  bool
	seq      uint32    // last sequence used
	lastSeen time.Time // last answer from EnOS: the lifetime slides from here
}

// New validates cfg, applies defaults and returns a Client. It does no I/O.
func New(cfg Config) (*Client, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	signer, err := sign.NewSigner(cfg.DeviceSecret, cfg.SignIV)
	if err != nil {
		return nil, &Error{Code: CodeInvalid, Msg: "sign IV", Err: err}
	}
	c := &Client{
		cfg:        cfg,
		conn:       transport.New(cfg.Server, cfg.params()),
		authPath:   "/auth/" + cfg.ProductKey + "/" + cfg.DeviceKey,
		reportPath: "/topic/sys/" + cfg.ProductKey + "/" + cfg.DeviceKey + "/thing/model/up_raw",
		downPath:   "/topic/sys/" + cfg.ProductKey + "/" + cfg.DeviceKey + "/thing/model/down_raw",
		inbox:      newInbox(cfg.CommandQueue),
		fifoLock:   make(chan struct{}, 1),
		signer:     signer,
	}
	// Background work (queue worker, poller) never waits for asynchronous requests.
	c.life, c.lifeDone = context.WithCancel(skipAsyncWait(context.Background()))
	c.closing = make(chan struct{})
	if cfg.Security == SecurityDTLS {
		if c.dtls, err = newDTLSConn(cfg); err != nil {
			c.lifeDone()
			return nil, err
		}
	}
	if cfg.StateDir != "" {
		if err := c.openState(); err != nil {
			c.lifeDone()
			return nil, err
		}
		if err := c.openQueue(); err != nil {
			c.lifeDone()
			c.store.Close()
			return nil, err
		}
	}
	if cfg.PollInterval > 0 {
		c.pollAt = &pollEntry{c: c, index: -1}
		polls.schedule(c.pollAt, time.Now().Add(cfg.PollInterval))
	}
	return c, nil
}

// Config returns the configuration with defaults applied.
func (c *Client) Config() Config { return c.cfg }

// Window is the longest one CoAP exchange can take (RFC 7252 MAX_TRANSMIT_WAIT).
func (c *Client) Window() time.Duration {
	return c.cfg.params().Window()
}

func (c *Client) acquire(ctx context.Context) error {
	if c.closed.Load() {
		return errClosed
	}
	if _, err := c.awaitEarlierAsync(ctx); err != nil {
		return err
	}
	select {
	case c.fifoLock <- struct{}{}:
	case <-ctx.Done():
		return ctxError(ctx.Err())
	case <-c.closing:
		return errClosed
	}
	if c.closed.Load() {
		<-c.fifoLock
		return errClosed
	}
	return nil
}

func (c *Client) release() {
	if p := c.signBuf; p != nil {
		*p = c.signScratch[:0] // keep a grown buffer
		c.signScratch, c.signBuf = nil, nil
		signBufs.Put(p)
	}
	<-c.fifoLock
}

// signBufs holds option-2101 signature buffers: one per request in progress,
// not one per client.
var signBufs = sync.Pool{New: func() any { b := make([]byte, 0, 128); return &b }}

// authPayload is the body of POST /auth. It depends only on the config, and
// is built when needed rather than kept: authentication is rare, and every
// idle client would hold it.
func (c *Client) authPayload() ([]byte, error) {
	authSign, err := sign.AuthSign(c.cfg.ProductKey, c.cfg.DeviceKey, c.cfg.DeviceSecret, c.cfg.Lifetime)
	if err != nil {
		return nil, &Error{Code: CodeInvalid, Msg: "auth sign", Err: err}
	}
	return []byte(`{"secureMode":2,"lifetime":` + strconv.Itoa(c.cfg.Lifetime) + `,"sign":"` + authSign + `"}`), nil
}

var errClosed = errorf(CodeClosed, "client is closed")

// Close ends the client: an exchange in progress returns CodeClosed, and so
// does every later call. Close is idempotent.
//
// With an offline queue, an exchange of the queue worker in flight is first
// given up to closeWait to get its answer (the worker records a delivery
// before it stops): cutting it off would leave a report that EnOS may have
// recorded in the queue, to be sent again as a new message after a restart.
func (c *Client) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.closeAsync()
	close(c.closing)
	if c.offlineQueue != nil {
		c.settleQueue(c.closeWait())
	}
	c.lifeDone()
	c.inbox.stop()
	err := c.conn.Close()
	if c.dtls != nil {
		_ = c.dtls.Close()
	}
	if c.pollAt != nil {
		polls.remove(c.pollAt)
	}
	c.poller.Wait()
	if c.offlineQueue != nil {
		c.stopQueue()
	}
	if c.store != nil {
		// Wait for an exchange in progress (it ends at once: the socket is
		// closed), then record the session's last contact for a restart.
		c.fifoLock <- struct{}{}
		if c.sess.valid {
			_ = c.saveState(c.reserved)
		}
		_ = c.store.Close()
		<-c.fifoLock
	}
	return err
}

// Authenticate authenticates now, ending any current session.
func (c *Client) Authenticate(ctx context.Context) error {
	if err := c.acquire(ctx); err != nil {
		return err
	}
	defer c.release()
	return c.authenticate(ctx)
}

// Report posts payload to /topic/sys/{pk}/{dk}/thing/model/up_raw and returns
// once EnOS acknowledged it with 2.xx, authenticating first when needed.
//
// With a state directory, a report that cannot be delivered now (network
// error, timeout, 5.xx) is written to the offline queue and Report returns
// Outcome{Queued: true} and a nil error: the data is safe on disk and will be
// delivered in order by a background worker (Flush waits for it). While
// anything is queued, new reports go behind it. An error means the report was
// not accepted: CodeFull, for one, means the queue is full.
func (c *Client) Report(ctx context.Context, payload []byte) (Outcome, error) {
	if c.offlineQueue != nil {
		// Checked before the queue can take it; request checks the rest.
		if err := c.checkRequestSize(c.reportPath, len(payload)); err != nil {
			return Outcome{}, err
		}
		return c.reportOffline(ctx, payload)
	}
	_, err := c.request(ctx, codes.POST, c.reportPath, payload, nil)
	return Outcome{}, err
}

// Publish posts payload to an MQTT-style topic ("/sys/{pk}/{dk}/thing/..."; a
// leading "/topic" is accepted too) and returns EnOS's response. A 4.xx/5.xx
// answer is returned as an *Error with Code CodeRejected and the Response too.
func (c *Client) Publish(ctx context.Context, topic string, payload []byte) (*Response, error) {
	path, err := topicPath(topic)
	if err != nil {
		return nil, err
	}
	r, err := c.request(ctx, codes.POST, path, payload, nil)
	if r.Code == 0 { // no answer
		return nil, err
	}
	return &r, err
}

// NextSignature consumes the next sequence of the session (authenticating
// first when needed) and returns its option-2101 signature, for hosts that
// send CoAP themselves. If the signature is longer than room characters, it
// returns CodeBuffer and consumes nothing.
func (c *Client) NextSignature(ctx context.Context, room int) (Signature, error) {
	if err := c.acquire(ctx); err != nil {
		return Signature{}, err
	}
	defer c.release()
	if c.dtls != nil {
		return Signature{}, errorf(CodeInvalid, "over DTLS requests carry no signature (option 2101)")
	}
	if c.needsAuth() {
		if err := c.authenticate(ctx); err != nil {
			return Signature{}, err
		}
	}
	if n := sign.SignLen(len(c.sess.token), c.sess.seq+1); n > room {
		return Signature{}, errorf(CodeBuffer, "signature needs %d characters, buffer holds %d", n, room)
	}
	seq, err := c.signNext()
	if errors.Is(err, errSessionAbandoned) { // see persist.go
		if err := c.authenticate(ctx); err != nil {
			return Signature{}, err
		}
		if n := sign.SignLen(len(c.sess.token), c.sess.seq+1); n > room {
			return Signature{}, errorf(CodeBuffer, "signature needs %d characters, buffer holds %d", n, room)
		}
		seq, err = c.signNext()
	}
	if err != nil {
		return Signature{}, err
	}
	return Signature{Value: string(c.signScratch), Sequence: seq}, nil
}

// signNext consumes the next sequence of the session and puts its option-2101
// signature in c.signScratch. Called with fifoLock held, after needsAuth said
// no, so the sequence is in 1..sign.MaxSequence.
func (c *Client) signNext() (uint32, error) {
	seq, err := c.nextSeq()
	if err != nil {
		return 0, err
	}
	c.sess.seq = seq
	if c.signBuf == nil {
		c.signBuf = signBufs.Get().(*[]byte)
		c.signScratch = (*c.signBuf)[:0]
	}
	c.signScratch, err = c.signer.AppendSign(c.signScratch[:0], c.sess.token, seq)
	if err != nil {
		return 0, &Error{Code: CodeInternal, Msg: "sign", Err: err}
	}
	return seq, nil
}

// needsAuth says whether the next request must be preceded by an authentication.
func (c *Client) needsAuth() bool {
	s := &c.sess
	if !s.valid || s.seq >= sign.MaxSequence {
		return true
	}
	// The lifetime slides from the last exchange; renew a tenth early so a
	// request never arrives just after EnOS dropped the session.
	life := time.Duration(c.cfg.Lifetime) * time.Second
	return time.Since(s.lastSeen) > life-life/10
}

// request sends one signed request, authenticating first when needed and
// once more when EnOS answers 4.01; in auto sign mode a 4.02 turns signing off.
func (c *Client) request(ctx context.Context, method codes.Code, path string, payload []byte, memo *resend) (Response, error) {
	if err := c.checkRequestSize(path, len(payload)); err != nil {
		return Response{}, err
	}
	if err := c.acquire(ctx); err != nil {
		return Response{}, err
	}
	defer c.release()
	resp, err := c.requestLocked(ctx, method, path, payload, memo)
	if err == nil {
		c.fetchCommands(ctx)
	}
	return resp, err
}

// requestLocked is request with fifoLock held. With a memo, the request is
// one that may be retried later (a queued report): its exchange is kept in
// memo, and when memo already holds one from this session that can still be
// sent as a retransmission, that same message goes out again instead of a new
// one, so that a server that received it already answers from its
// deduplication cache instead of recording it twice. The Response is by value
// (Code 0 when there was no answer), so that a report allocates none.
func (c *Client) requestLocked(ctx context.Context, method codes.Code, path string, payload []byte, memo *resend) (Response, error) {
	freshAuth := false
	try402 := try402None
	for {
		if c.needsAuth() {
			if err := c.authenticate(ctx); err != nil {
				return Response{}, err
			}
			freshAuth = true
		}
		req := transport.Request{Code: method, Path: path, ContentFormat: -1, Payload: payload, Keep: memo != nil}
		if memo != nil && memo.ex != nil && memo.gen == c.sessGen && c.conn.CanResend(memo.ex) {
			req.Again = memo.ex
		}
		signed := c.sess.signing && try402 != try402Unsigned
		if signed && req.Again == nil {
			if _, err := c.signNext(); errors.Is(err, errSessionAbandoned) {
				continue // authenticate again (persist.go)
			} else if err != nil {
				return Response{}, err
			}
			req.Sign = c.signScratch
		}
		tr, err := c.do(ctx, &req)
		if memo != nil {
			// Only an unanswered message is worth sending again: an answered
			// one would get the same (cached) answer.
			memo.ex, memo.gen = nil, c.sessGen
			if CodeOf(err) == CodeTimeout {
				memo.ex = req.Sent
			}
		}
		if req.Again != nil && errors.Is(err, transport.ErrStale) {
			continue // send it as a new message after all
		}
		if err != nil {
			c.logf(logging.Debug, "%v %s: %v", method, path, err)
			return Response{}, err
		}
		resp := Response{Code: uint8(tr.Code), Payload: tr.Payload}
		if logging.Enabled(logging.Debug) { // guard here: boxing the arguments allocates even when logf returns at once
			c.logf(logging.Debug, "%v %s: sequence %d, %s, %d retransmissions", method, path, c.sess.seq, CodeString(resp.Code), tr.Retransmissions)
		}
		c.sess.lastSeen = time.Now()
		c.lastActive.Store(c.sess.lastSeen.UnixNano())
		c.touchState()
		switch {
		case resp.Code>>5 == 2:
			c.stats.sent.Add(1)
			switch {
			case try402 == try402Unsigned:
				c.confirmNo2101()
			case signed:
				c.no2101Votes = 0 // EnOS takes option 2101 after all
			}
			c.takeCommands(ctx, &req, &tr)
			return resp, nil
		case resp.Code == uint8(codes.Unauthorized) && !freshAuth:
			// Token expired, or EnOS lost the session: authenticate again and
			// resend with a new sequence.
			c.logf(logging.Info, "EnOS answered 4.01 to %s: session ended", path)
			c.sess.valid = false
			continue
		case resp.Code == uint8(codes.BadOption) && signed && c.cfg.SignMode == SignAuto && try402 == try402None:
			// The server may not know option 2101 (later EnOS
			// documentation): try this request unsigned.
			c.logf(logging.Info, "EnOS answered 4.02 to a signed request to %s: trying it without option 2101", path)
			try402 = try402Unsigned
			continue
		case try402 == try402Unsigned:
			// EnOS refuses the request unsigned: the 4.02 was not its
			// verdict on option 2101 (forged, or spurious). Sign again.
			c.logf(logging.Warn, "EnOS answered %s to an unsigned request after a 4.02: keeps signing", CodeString(resp.Code))
			c.no2101Votes = 0
			try402 = try402SignedAgain
			continue
		}
		c.stats.failed.Add(1)
		return resp, &Error{Code: CodeRejected, CoAP: resp.Code,
			Msg: "EnOS answered " + CodeString(resp.Code) + " to " + path + detail(resp.Payload), Hint: c.rejectionHint(resp.Code, path, signed, freshAuth)}
	}
}

// do runs one exchange and turns transport errors into Codes.
func (c *Client) do(ctx context.Context, req *transport.Request) (transport.Response, error) {
	if c.dtls != nil {
		return c.doDTLS(ctx, req)
	}
	stale, rebinds := c.conn.StaleAnswers(), c.conn.Rebinds()
	r, err := c.conn.Do(ctx, req)
	c.logRebinds(stale, rebinds)
	if err != nil {
		c.stats.failed.Add(1)
		return r, transportError(ctx, req.Path, err)
	}
	return r, nil
}

// Session returns the current session. It waits for a request in progress.
func (c *Client) Session(ctx context.Context) (SessionInfo, error) {
	if err := c.acquire(ctx); err != nil {
		return SessionInfo{}, err
	}
	defer c.release()
	s := c.sess
	return SessionInfo{Authenticated: s.valid, Token: s.token, Signing: s.signing, Sequence: s.seq}, nil
}

// Where one request stands in auto mode's answer to a 4.02 Bad Option.
const (
	try402None        = iota
	try402Unsigned    // resending without option 2101 after a 4.02
	try402SignedAgain // EnOS refused the unsigned resend: signed once more, whatever comes is final
)

// no2101Needed is how many consistent signals turn signing off: a 4.02 to a
// signed request whose unsigned resend EnOS then accepted, that many times in
// a row (a signed request accepted in between starts the count again). One
// forged or spurious 4.02 must not turn signing off for the client's life.
const no2101Needed = 2

// confirmNo2101 counts one consistent signal that EnOS does not know option
// 2101, and turns signing off for the client's life at no2101Needed.
func (c *Client) confirmNo2101() {
	c.no2101Votes++
	if c.no2101Votes < no2101Needed {
		return
	}
	c.logf(logging.Warn, "EnOS answered 4.02 to %d signed requests in a row and took them unsigned: it does not know option 2101; no longer signing", c.no2101Votes)
	c.no2101 = true
	c.sess.signing = false
	c.signLen.Store(0)
}
