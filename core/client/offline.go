// SPDX-License-Identifier: Apache-2.0

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
	retries                         uint64  // failed deliveries kept for a later retry; guarded by mu
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
		return &Error{Code: CodeState, Msg: "cannot open the offline queue", Err: err, Hint: stateHint}
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
	c.offlineQueue = &offline{q: q, changed: make(chan struct{}), wake: make(chan struct{}, 1)}
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

// reportOffline is Report with an offline queue: reports go behind queued
// ones, and a report that cannot be delivered now is queued (a success).
func (c *Client) reportOffline(ctx context.Context, payload []byte) (Outcome, error) {
	return c.deliverOrQueue(ctx, queue.Item{Topic: c.reportPath, Payload: payload}, nil)
}

// deliverOrQueue sends it now, or queues it when the queue is not empty (in
// order) or when the delivery failed in a way that may succeed later. check,
// if not nil, judges EnOS's 2.xx answer (a thing-model reply) and its error is
// returned as is: EnOS refused the content, so it is not queued.
//
// Call order holds across an outage: the decision to queue is made with the
// fifoLock still held, and an item that waited for fifoLock looks at the queue
// again once it has it, so an item sent while an earlier one was being
// decided never goes out ahead of it.
func (c *Client) deliverOrQueue(ctx context.Context, it queue.Item, check func(Response) error) (Outcome, error) {
	if c.closed.Load() {
		return Outcome{}, errClosed
	}
	ctx, err := c.awaitEarlierAsync(ctx) // before looking at the queue: keep the accepted order
	if err != nil {
		return Outcome{}, err
	}
	if c.queueLen() > 0 {
		return c.enqueueBehind(it)
	}
	if err := c.acquire(ctx); err != nil {
		return Outcome{}, err
	}
	return c.deliverOrQueueLocked(ctx, it, check)
}

// deliverOrQueueLocked is the rest of deliverOrQueue, with fifoLock held; it
// releases fifoLock.
func (c *Client) deliverOrQueueLocked(ctx context.Context, it queue.Item, check func(Response) error) (Outcome, error) {
	defer c.release()
	if c.queueLen() > 0 { // queued while this one waited for fifoLock
		return c.enqueueBehind(it)
	}
	var memo resend // on the stack: only an item that is queued needs it on the heap
	resp, err := c.requestLocked(ctx, codes.POST, it.Topic, it.Payload, &memo)
	if err == nil {
		c.fetchCommands(ctx)
		if check != nil {
			err = check(resp)
		}
		return Outcome{}, err
	}
	if !retryable(err) {
		return Outcome{}, err
	}
	kept := memo
	if qerr := c.enqueueItem(it, &kept); qerr != nil {
		var e *Error
		errors.As(qerr, &e)
		return Outcome{}, &Error{Code: e.Code, Msg: e.Msg + " (delivery failed: " + err.Error() + ")", Err: e.Err, Hint: e.Hint}
	}
	c.logf(logging.Info, "%s queued for later delivery: %v", it.Topic, err)
	return Outcome{Queued: true, Cause: err}, nil
}

// queueLen is the number of queued items (0 when the queue cannot say).
func (c *Client) queueLen() int {
	n, _ := c.offlineQueue.q.Len()
	return n
}

// enqueueBehind queues it behind earlier undelivered items.
func (c *Client) enqueueBehind(it queue.Item) (Outcome, error) {
	if err := c.enqueueItem(it, nil); err != nil {
		return Outcome{}, err
	}
	return Outcome{Queued: true, Cause: ErrQueuedBehind}, nil
}

// enqueueItem appends it; memo, if any, is its last exchange, which the worker
// resends first if it becomes the head of the queue.
func (c *Client) enqueueItem(it queue.Item, memo *resend) error {
	o := c.offlineQueue
	o.mu.Lock()
	if c.closed.Load() {
		// Close closes the queue file under o.mu after setting closed: a
		// report that gets here first is on disk, any later one is refused
		// as the client being closed, not as a file error.
		o.mu.Unlock()
		return errClosed
	}
	n, _ := o.q.Len()
	err := o.q.Append(it)
	if err == nil {
		o.queuedTotal++
		if n == 0 {
			o.head = memo
		}
	}
	o.mu.Unlock()
	switch {
	case errors.Is(err, queue.ErrFull):
		return &Error{Code: CodeFull, Msg: "offline queue is full; report not accepted", Hint: fullHint}
	case errors.Is(err, queue.ErrNoRoom):
		return &Error{Code: CodeFull, Msg: "offline queue: report not accepted", Err: err, Hint: fullHint}
	case err != nil:
		return &Error{Code: CodeState, Msg: "cannot write the offline queue", Err: err}
	}
	c.kickQueue()
	return nil
}

// kickQueue starts the worker if it is not running, and wakes it if it waits.
func (c *Client) kickQueue() {
	o := c.offlineQueue
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
	o := c.offlineQueue
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
		if err := c.checkSize(it.Topic, len(it.Payload), 0); err != nil {
			// Only a record written under other limits (another block
			// size, an older version) gets here: it can never be sent
			// under this configuration and would block the queue forever.
			c.logf(logging.Error, "dropping a queued report that cannot be sent: %v", err)
			c.popQueue(true)
			continue
		}
		o.mu.Lock()
		if o.head == nil {
			o.head = &resend{}
		}
		memo := o.head
		o.mu.Unlock()
		var resp Response
		resp, err = c.request(c.life, codes.POST, it.Topic, it.Payload, memo)
		switch {
		case err == nil:
			backoff = c.cfg.RetryInterval
			c.popQueue(c.refusedQueued(it, resp))
		case CodeOf(err) == CodeClosed:
			continue // the loop head sees closed and stops
		case refusedByEnos(err):
			// EnOS refuses this message for good (4.xx other than 4.01,
			// after any re-authentication): it would block the queue
			// forever. Drop it, loudly.
			c.logf(logging.Error, "dropping a queued report EnOS refuses: %v", err)
			c.popQueue(true)
		default:
			// Anything else (no answer, 5.xx, authentication, a local error
			// such as a session whose signature leaves no room, a state
			// file that cannot be written) keeps the data: try again later.
			o.mu.Lock()
			o.retries++
			o.mu.Unlock()
			c.logf(logging.Debug, "offline queue waits %v: %v", backoff, err)
			if !retryable(err) {
				c.logf(logging.Warn, "offline queue cannot deliver now, keeps the report: %v", err)
			}
			backoff = c.backoffWait(backoff, c.cfg.RetryInterval)
		}
	}
}

// refusedByEnos says whether EnOS itself refused a request for good: a 4.xx
// answer other than 4.01 (a 4.01 that persists after re-authentication is a
// session problem, not a verdict on the report).
func refusedByEnos(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == CodeRejected && e.CoAP>>5 == 4 && e.CoAP != uint8(codes.Unauthorized)
}

// popQueue removes the head and counts it in one critical section, so that
// whoever sees the queue shorter (Flush) also sees the counters that say why.
func (c *Client) popQueue(dropped bool) {
	o := c.offlineQueue
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
	case <-c.offlineQueue.wake:
		return false
	case <-c.closing:
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
	if c.offlineQueue == nil {
		return nil
	}
	for {
		c.offlineQueue.mu.Lock()
		ch := c.offlineQueue.changed
		n, _ := c.offlineQueue.q.Len()
		c.offlineQueue.mu.Unlock()
		if n == 0 {
			return nil
		}
		if c.closed.Load() {
			return errClosed
		}
		c.kickQueue()
		select {
		case <-ch:
		case <-c.closing:
			return errClosed
		case <-ctx.Done():
			return &Error{Code: CodeTimeout, Msg: "offline queue not empty when the flush timeout ran out", Err: ctx.Err()}
		}
	}
}

// maxCloseWait bounds how long Close waits for the queue worker's exchange.
const maxCloseWait = 5 * time.Second

// closeWait is how long Close lets the queue worker's exchange in flight run
// on: 1.5 × the ACK timeout covers the answer to its latest transmission
// (RFC 7252 assumes an answer within ACK_TIMEOUT), at most maxCloseWait.
func (c *Client) closeWait() time.Duration {
	return min(c.cfg.AckTimeout*3/2, maxCloseWait)
}

// settleQueue waits up to d for the queue worker to stop on its own. Close
// has set closed and closed c.closing: the worker starts no new exchange and
// wakes from a back-off at once; only an exchange in flight keeps it, until
// it is answered (and the delivery recorded) or d runs out.
func (c *Client) settleQueue(d time.Duration) {
	o := c.offlineQueue
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		o.mu.Lock()
		running, ch := o.running, o.changed
		o.mu.Unlock()
		if !running {
			return
		}
		select {
		case <-ch:
		case <-t.C:
			return
		}
	}
}

// stopQueue waits for the worker to stop (Close has closed the connection, so
// an exchange in progress ends at once) and closes the queue files.
func (c *Client) stopQueue() {
	o := c.offlineQueue
	for {
		o.mu.Lock()
		running, ch := o.running, o.changed
		o.mu.Unlock()
		if !running {
			break
		}
		<-ch
	}
	o.mu.Lock() // see enqueue: no append runs while the file closes
	_ = o.q.Close()
	o.mu.Unlock()
}
