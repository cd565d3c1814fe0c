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
	authPath   string
	reportPath string
	downPath   string // GET here polls for commands
	inbox      *inbox

	// turn is a FIFO lock: Go serves blocked channel senders in order, so
	// concurrent callers get their turn in the order they asked for it.
	turn   chan struct{}
	closed atomic.Bool
	// lastActive is when a request last completed (UnixNano), for the poller.
	lastActive atomic.Int64

	// Guarded by turn.
	signer       *sign.Signer
	sess         session
	no2101       bool    // auto mode saw 4.02 for option 2101: never sign again
	sessGen      uint64  // counts sessions: an exchange is resent only within its session; > 0: the next authentication is a re-authentication
	signScratch  []byte  // from signBufs while the turn is held and a request was signed; nil otherwise
	signBuf      *[]byte // signScratch's pool entry
	pendingFetch string  // a lone 2100 announced a command to GET

	// Persistence (nil without a state directory); guarded by turn.
	store     *state.Store
	reserved  uint32    // sequences up to here are reserved on disk
	savedSeen time.Time // lastSeen as last saved
	off       *offline  // the offline queue, with a state directory

	// life ends when the client closes; background work runs under it.
	life     context.Context
	lifeDone context.CancelFunc
	poller   sync.WaitGroup // automatic polls running (pollsched.go)
	pollAt   *pollEntry     // place in the poll scheduler; nil without PollInterval

	// async holds accepted asynchronous requests (async.go).
	async asyncQueue

	stats statCounters
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
	if _, err := sign.AuthSign(cfg.ProductKey, cfg.DeviceKey, cfg.DeviceSecret, cfg.Lifetime); err != nil {
		return nil, &Error{Code: CodeInvalid, Msg: "auth sign", Err: err}
	}
	c := &Client{
		cfg:        cfg,
		conn:       transport.New(cfg.Server, cfg.params()),
		authPath:   "/auth/" + cfg.ProductKey + "/" + cfg.DeviceKey,
		reportPath: "/topic/sys/" + cfg.ProductKey + "/" + cfg.DeviceKey + "/thing/model/up_raw",
		downPath:   "/topic/sys/" + cfg.ProductKey + "/" + cfg.DeviceKey + "/thing/model/down_raw",
		inbox:      newInbox(cfg.CommandQueue),
		turn:       make(chan struct{}, 1),
		signer:     signer,
	}
	c.life, c.lifeDone = context.WithCancel(context.Background())
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
	select {
	case c.turn <- struct{}{}:
	case <-ctx.Done():
		return ctxError(ctx.Err())
	case <-c.life.Done():
		return errClosed
	}
	if c.closed.Load() {
		<-c.turn
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
	<-c.turn
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
func (c *Client) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.closeAsync()
	c.lifeDone()
	c.inbox.stop()
	err := c.conn.Close()
	if c.pollAt != nil {
		polls.remove(c.pollAt)
	}
	c.poller.Wait()
	if c.off != nil {
		c.stopQueue()
	}
	if c.store != nil {
		// Wait for an exchange in progress (it ends at once: the socket is
		// closed), then record the session's last contact for a restart.
		c.turn <- struct{}{}
		if c.sess.valid {
			_ = c.saveState(c.reserved)
		}
		_ = c.store.Close()
		<-c.turn
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
// error, timeout, 5.xx) is written to the offline queue and Report returns an
// *Error with Code CodeQueued: the data is safe on disk and will be delivered
// in order by a background worker. While anything is queued, new reports go
// behind it. CodeFull means the queue is full and the report was not taken.
func (c *Client) Report(ctx context.Context, payload []byte) error {
	if c.off != nil {
		return c.reportOffline(ctx, payload)
	}
	_, err := c.request(ctx, codes.POST, c.reportPath, payload, nil)
	return err
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
	if c.needsAuth() {
		if err := c.authenticate(ctx); err != nil {
			return Signature{}, err
		}
	}
	if n := sign.SignLen(len(c.sess.token), c.sess.seq+1); n > room {
		return Signature{}, errorf(CodeBuffer, "signature needs %d characters, buffer holds %d", n, room)
	}
	seq, err := c.signNext()
	if err != nil {
		return Signature{}, err
	}
	return Signature{Value: string(c.signScratch), Sequence: seq}, nil
}

// signNext consumes the next sequence of the session and puts its option-2101
// signature in c.signScratch. Called with the turn held, after needsAuth said
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

// requestLocked is request with the turn held. With a memo, the request is
// one that may be retried later (a queued report): its exchange is kept in
// memo, and when memo already holds one from this session that can still be
// sent as a retransmission, that same message goes out again instead of a new
// one, so that a server that received it already answers from its
// deduplication cache instead of recording it twice. The Response is by value
// (Code 0 when there was no answer), so that a report allocates none.
func (c *Client) requestLocked(ctx context.Context, method codes.Code, path string, payload []byte, memo *resend) (Response, error) {
	freshAuth := false
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
		signed := c.sess.signing
		if signed && req.Again == nil {
			if _, err := c.signNext(); err != nil {
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
			c.takeCommands(ctx, &req, &tr)
			return resp, nil
		case resp.Code == uint8(codes.Unauthorized) && !freshAuth:
			// Token expired, or EnOS lost the session: authenticate again and
			// resend with a new sequence.
			c.logf(logging.Info, "EnOS answered 4.01 to %s: session ended", path)
			c.sess.valid = false
			continue
		case resp.Code == uint8(codes.BadOption) && signed && c.cfg.SignMode == SignAuto:
			// The server does not know option 2101 (later EnOS documentation).
			c.logf(logging.Warn, "EnOS answered 4.02 to a signed request: it does not know option 2101; no longer signing")
			c.no2101 = true
			c.sess.signing = false
			continue
		}
		c.stats.failed.Add(1)
		return resp, &Error{Code: CodeRejected, CoAP: resp.Code,
			Msg: "EnOS answered " + CodeString(resp.Code) + " to " + path + detail(resp.Payload)}
	}
}

// do runs one exchange and turns transport errors into Codes.
func (c *Client) do(ctx context.Context, req *transport.Request) (transport.Response, error) {
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
