package client

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/libenos/libenos/core/logging"
	"github.com/libenos/libenos/core/queue"
	"github.com/libenos/libenos/core/transport"
)

// Offline queue defaults (Config.QueueMaxCount, QueueMaxBytes, RetryInterval).
const (
	DefaultQueueMaxCount = 10000
	DefaultQueueMaxBytes = 16 << 20
	DefaultRetryInterval = time.Second
	maxRetryInterval     = 30 * time.Second
)

// offline is the store-and-forward part of a Client with a state directory.
type offline struct {
	q *queue.Queue

	mu      sync.Mutex
	running bool          // a worker goroutine delivers the queue
	changed chan struct{} // closed and replaced whenever the queue shrinks or the worker stops
	wake    chan struct{} // cap 1: retry now (Flush, new report)

	delivered, dropped, queuedTotal uint64  // guarded by mu
	head                            *resend // the last exchange of the queue's oldest report; guarded by mu
}

// resend remembers the last exchange of a report that may be sent again.
type resend struct {
	ex  *transport.Exchange
	gen uint64 // Client.sessGen when it was sent
}

func (c *Client) openQueue() error {
	q, err := queue.Open(c.cfg.StateDir, c.cfg.QueueMaxCount, c.cfg.QueueMaxBytes)
	if err != nil {
		return &Error{Code: CodeState, Msg: "cannot open the offline queue", Err: err}
	}
	if q.Corrupt > 0 {
		// Reports the caller was told are queued are lost: count it.
		c.logf(logging.Warn, "offline queue: skipped %d corrupt bytes in %d places (the reports there are lost); the reports after them are kept", q.Dropped, q.Corrupt)
		c.stats.stateErrors.Add(uint64(q.Corrupt))
	} else if q.Dropped > 0 {
		c.logf(logging.Warn, "cut %d bytes of a torn offline queue record", q.Dropped)
	}
	if q.HeadLost {
		c.logf(logging.Warn, "offline queue head unreadable; replaying the queue, some reports may arrive twice")
	}
	c.off = &offline{q: q, changed: make(chan struct{}), wake: make(chan struct{}, 1)}
	if n, _ := q.Len(); n > 0 {
		c.kickQueue()
	}
	return nil
}

// retryable says whether a failed delivery may succeed later unchanged.
func retryable(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case CodeNetwork, CodeTimeout:
		return true
	case CodeRejected:
		return e.CoAP == 0 || e.CoAP>>5 == 5 // reset, or a server error
	}
	return false
}

// report is Report with an offline queue: reports go behind queued ones, and
// a report that cannot be delivered now is queued.
func (c *Client) reportOffline(ctx context.Context, payload []byte) error {
	if c.closed.Load() {
		return errClosed
	}
	if n, _ := c.off.q.Len(); n > 0 {
		if err := c.enqueue(payload, nil); err != nil {
			return err
		}
		return &Error{Code: CodeQueued, Msg: "queued behind earlier undelivered reports"}
	}
	var memo resend // on the stack: only a report that is queued needs it on the heap
	_, err := c.request(ctx, codes.POST, c.reportPath, payload, &memo)
	if err == nil || !retryable(err) {
		return err
	}
	kept := memo
	if qerr := c.enqueue(payload, &kept); qerr != nil {
		var e *Error
		errors.As(qerr, &e)
		return &Error{Code: e.Code, Msg: e.Msg + " (delivery failed: " + err.Error() + ")", Err: e.Err}
	}
	return &Error{Code: CodeQueued, Msg: "queued for later delivery: " + err.Error()}
}

// enqueue appends a report; memo, if any, is its last exchange, which the
// worker resends first if the report becomes the head of the queue.
func (c *Client) enqueue(payload []byte, memo *resend) error {
	o := c.off
	o.mu.Lock()
	n, _ := o.q.Len()
	err := o.q.Append(queue.Item{Topic: c.reportPath, Payload: payload})
	if err == nil {
		o.queuedTotal++
		if n == 0 {
			o.head = memo
		}
	}
	o.mu.Unlock()
	switch {
	case errors.Is(err, queue.ErrFull):
		return &Error{Code: CodeFull, Msg: "offline queue is full; report not accepted"}
	case errors.Is(err, queue.ErrNoRoom):
		return &Error{Code: CodeFull, Msg: "offline queue: report not accepted", Err: err}
	case err != nil:
		return &Error{Code: CodeState, Msg: "cannot write the offline queue", Err: err}
	}
	c.kickQueue()
	return nil
}

// kickQueue starts the worker if it is not running, and wakes it if it waits.
func (c *Client) kickQueue() {
	o := c.off
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.running && !c.closed.Load() {
		o.running = true
		go c.runQueue()
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (o *offline) signalLocked() {
	close(o.changed)
	o.changed = make(chan struct{})
}

// runQueue delivers the queue in order and exits when it is empty, so that a
// client with nothing queued has no goroutine.
func (c *Client) runQueue() {
	o := c.off
	backoff := c.cfg.RetryInterval
	for {
		o.mu.Lock()
		n, _ := o.q.Len()
		if n == 0 || c.closed.Load() {
			o.running = false
			o.signalLocked()
			o.mu.Unlock()
			return
		}
		o.mu.Unlock()

		it, ok, err := o.q.Peek()
		if err != nil || !ok {
			c.logf(logging.Error, "cannot read the offline queue: %v", err)
			backoff = c.backoffWait(backoff, backoff)
			continue
		}
		o.mu.Lock()
		if o.head == nil {
			o.head = &resend{}
		}
		memo := o.head
		o.mu.Unlock()
		_, err = c.request(c.life, codes.POST, it.Topic, it.Payload, memo)
		switch {
		case err == nil:
			backoff = c.cfg.RetryInterval
			c.popQueue(false)
		case CodeOf(err) == CodeClosed:
			continue // the loop head sees closed and stops
		case retryable(err) || CodeOf(err) == CodeAuth || CodeOf(err) == CodeState:
			// Keep the data; try again later.
			c.logf(logging.Debug, "offline queue waits %v: %v", backoff, err)
			backoff = c.backoffWait(backoff, c.cfg.RetryInterval)
		default:
			// EnOS refuses this message for good (4.xx other than 4.01): it
			// would block the queue forever. Drop it, loudly.
			c.logf(logging.Error, "dropping a queued report EnOS refuses: %v", err)
			c.popQueue(true)
		}
	}
}

func (c *Client) popQueue(dropped bool) {
	o := c.off
	// Pop and count under one lock, so that Flush (which reads the length
	// under it) never returns before the counters include the last one.
	o.mu.Lock()
	o.head = nil
	err := o.q.Pop()
	if dropped {
		o.dropped++
	} else {
		o.delivered++
	}
	o.signalLocked()
	o.mu.Unlock()
	if err != nil {
		c.logf(logging.Error, "cannot advance the offline queue: %v", err)
	}
}

// backoffWait sleeps d and returns the next wait: d doubled (at most
// maxRetryInterval) after a full sleep, ifWoken when woken or closed early.
func (c *Client) backoffWait(d, ifWoken time.Duration) time.Duration {
	if c.sleep(d) {
		return min(2*d, maxRetryInterval)
	}
	return ifWoken
}

// sleep waits d, or less when woken (it then returns false) or closed.
func (c *Client) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.off.wake:
		return false
	case <-c.life.Done():
		return false
	}
}

// Flush waits until the offline queue is empty, waking the worker to retry
// at once. It returns CodeTimeout when ctx ends first. Without a state
// directory there is no queue and Flush returns nil at once.
func (c *Client) Flush(ctx context.Context) error {
	if c.closed.Load() {
		return errClosed
	}
	if c.off == nil {
		return nil
	}
	for {
		c.off.mu.Lock()
		ch := c.off.changed
		n, _ := c.off.q.Len()
		c.off.mu.Unlock()
		if n == 0 {
			return nil
		}
		if c.closed.Load() {
			return errClosed
		}
		c.kickQueue()
		select {
		case <-ch:
		case <-c.life.Done():
			return errClosed
		case <-ctx.Done():
			return &Error{Code: CodeTimeout, Msg: "offline queue not empty when the flush timeout ran out", Err: ctx.Err()}
		}
	}
}

// stopQueue waits for the worker to stop (Close has closed the connection, so
// an exchange in progress ends at once) and closes the queue files.
func (c *Client) stopQueue() {
	o := c.off
	for {
		o.mu.Lock()
		running, ch := o.running, o.changed
		o.mu.Unlock()
		if !running {
			break
		}
		<-ch
	}
	_ = o.q.Close()
}
