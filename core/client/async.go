// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// MaxOutstanding bounds the asynchronous requests accepted and not yet
// finished, across all clients of the process. Go and the C ABI promise at
// least 4,096; past MaxOutstanding, Go returns CodeBusy.
const MaxOutstanding = 65536

// outstanding counts accepted and unfinished asynchronous requests, process-wide.
var outstanding atomic.Int64

var errBusy = errorf(CodeBusy, "too many asynchronous requests outstanding (%d): try again later; nothing was queued", MaxOutstanding)

// asyncJob is one accepted asynchronous request.
type asyncJob struct {
	run  func(context.Context) (Outcome, error)
	done func(Outcome, error)
}

// asyncQueue holds a client's accepted asynchronous requests in order. A
// goroutine drains it while it is not empty and ends when it is: an idle
// client has no goroutine.
type asyncQueue struct {
	mu       sync.Mutex
	jobs     []asyncJob
	head     int
	draining bool
	drained  sync.WaitGroup // the draining goroutine, if any

	// accepted counts requests ever accepted, ran those whose run returned;
	// progress is closed and replaced whenever ran grows. A blocking request
	// waits until ran reaches the accepted count it saw (awaitEarlierAsync).
	accepted, ran uint64
	progress      chan struct{}
	pending       atomic.Int64 // accepted - ran, for the lock-free fast path
}

// asyncRunKey marks the context of a request that must not wait for the
// client's earlier asynchronous requests: an asynchronous request itself, the
// client's own background work, a blocking request already past the wait, or
// one made from inside a done function of the client (InOwnCallback).
type asyncRunKey struct{}

func skipAsyncWait(ctx context.Context) context.Context {
	return context.WithValue(ctx, asyncRunKey{}, true)
}

// InOwnCallback marks ctx for a blocking request made from inside a done
// function of the same client: it cannot wait for the requests queued behind
// that done function (they wait for it), so it goes out at once.
func InOwnCallback(ctx context.Context) context.Context { return skipAsyncWait(ctx) }

// CallbackProbe, when set (the C export layer sets it once at start),
// returns the key (see SetKey) of the client whose done function runs on the
// calling thread, 0 when none. It is consulted only while a client has
// asynchronous requests waiting, and by nothing else.
var CallbackProbe func() uint64

// SetKey names the client for CallbackProbe and WaitAsyncFrom (the C export
// layer uses its handle); 0, the default, names none.
func (c *Client) SetKey(k uint64) { c.key.Store(k) }

// awaitEarlierAsync makes a blocking request keep the accepted order: it
// returns once every asynchronous request the client accepted before it has
// been sent, and returns ctx marked so that later steps do not wait again.
// From inside a done function of the same client it does not wait (the
// requests behind that function wait for it), nor from inside one of another
// client whose done functions are themselves waiting, directly or through
// others, for this one's (the wait would never end).
func (c *Client) awaitEarlierAsync(ctx context.Context) (context.Context, error) {
	q := &c.async
	if q.pending.Load() == 0 || ctx.Value(asyncRunKey{}) != nil {
		return ctx, nil
	}
	if p := CallbackProbe; p != nil {
		if waiter := p(); waiter != 0 {
			if !enterAsyncWait(waiter, c.key.Load()) {
				return skipAsyncWait(ctx), nil
			}
			defer leaveAsyncWait(waiter)
		}
	}
	q.mu.Lock()
	mark := q.accepted
	for q.ran < mark {
		if q.progress == nil {
			q.progress = make(chan struct{})
		}
		ch := q.progress
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx, ctxError(ctx.Err())
		}
		q.mu.Lock()
	}
	q.mu.Unlock()
	return skipAsyncWait(ctx), nil
}

// Go accepts run for this client and returns at once. On nil, done is called
// exactly once, on another goroutine, with run's results, after every request
// the client accepted before it (asynchronous or not) has been sent: one
// client's requests keep their order. On an error (CodeClosed, CodeBusy),
// nothing was accepted and done is never called.
//
// After Close, requests still waiting run at once and end with CodeClosed.
//
// A blocking request of the client waits for the asynchronous requests
// accepted before it (awaitEarlierAsync). A done function that makes a
// blocking request of its own client must pass a context from InOwnCallback,
// else that request waits for the requests queued behind the done function.
func (c *Client) Go(run func(context.Context) (Outcome, error), done func(Outcome, error)) error {
	q := &c.async
	q.mu.Lock()
	defer q.mu.Unlock()
	if c.closed.Load() {
		return errClosed
	}
	if outstanding.Add(1) > MaxOutstanding {
		outstanding.Add(-1)
		return errBusy
	}
	q.jobs = append(q.jobs, asyncJob{run: run, done: done})
	q.accepted++
	q.pending.Add(1)
	if !q.draining {
		q.draining = true
		q.drained.Add(1)
		go c.drainAsync()
	}
	return nil
}

// ReportAsync is Report through Go: payload is copied, done gets Report's results.
func (c *Client) ReportAsync(payload []byte, done func(Outcome, error)) error {
	p := append([]byte(nil), payload...)
	return c.Go(func(ctx context.Context) (Outcome, error) { return c.Report(ctx, p) }, done)
}

// PublishAsync is Publish through Go: topic and payload are copied, done gets
// Publish's error and a zero Outcome (the response itself is not kept).
func (c *Client) PublishAsync(topic string, payload []byte, done func(Outcome, error)) error {
	if _, err := topicPath(topic); err != nil {
		return err
	}
	p := append([]byte(nil), payload...)
	return c.Go(func(ctx context.Context) (Outcome, error) {
		_, err := c.Publish(ctx, topic, p)
		return Outcome{}, err
	}, done)
}

func (c *Client) drainAsync() {
	q := &c.async
	defer q.drained.Done()
	for {
		q.mu.Lock()
		if q.head == len(q.jobs) {
			q.jobs, q.head, q.draining = q.jobs[:0], 0, false
			q.mu.Unlock()
			return
		}
		j := q.jobs[q.head]
		q.jobs[q.head] = asyncJob{}
		q.head++
		q.mu.Unlock()

		out, err := runJob(j.run)
		q.mu.Lock()
		q.ran++
		q.pending.Add(-1)
		if q.progress != nil {
			close(q.progress)
			q.progress = nil
		}
		q.mu.Unlock()
		outstanding.Add(-1)
		j.done(out, err)
	}
}

// runJob runs one request. It runs on the library's goroutine, not a caller's
// OS thread (waits park it in the netpoller), where no export layer recovers a
// panic: a bug must fail this request, not end the process.
func runJob(run func(context.Context) (Outcome, error)) (out Outcome, err error) {
	defer func() {
		if r := recover(); r != nil {
			msg := fmt.Sprint(r)
			if len(msg) > 200 {
				msg = msg[:200]
			}
			out, err = Outcome{}, errorf(CodeInternal, "internal error (recovered panic): %s", msg)
		}
	}()
	return run(skipAsyncWait(context.Background()))
}

// closeAsync is called by Close after it set c.closed: taking the queue's
// lock once makes every Go that saw the client open finish (and start its
// drain) before Close goes on, and every later Go sees it closed. Requests
// waiting end with CodeClosed as the draining goroutine reaches them.
func (c *Client) closeAsync() {
	c.async.mu.Lock()
	c.async.mu.Unlock() //nolint:staticcheck // a barrier, see above
}

// WaitAsync returns once every accepted asynchronous request of this closed
// client has had its done call. It must not be called from a done function of
// the same client (it would wait for itself).
func (c *Client) WaitAsync() {
	c.async.drained.Wait()
}

// asyncWaits records, by client key, which client's done function is
// waiting (in WaitAsyncFrom or awaitEarlierAsync) for which other client.
var (
	asyncWaitsMu sync.Mutex
	asyncWaits   = map[uint64]uint64{}
)

// enterAsyncWait records that waiter's done function is about to wait for
// the client self; false (nothing recorded) when that wait would never end:
// self is waiter, or self's done functions wait, directly or through other
// clients, for waiter's.
func enterAsyncWait(waiter, self uint64) bool {
	asyncWaitsMu.Lock()
	defer asyncWaitsMu.Unlock()
	for k, seen := self, 0; k != 0 && seen <= len(asyncWaits); k, seen = asyncWaits[k], seen+1 {
		if k == waiter {
			return false
		}
	}
	asyncWaits[waiter] = self
	return true
}

func leaveAsyncWait(waiter uint64) {
	asyncWaitsMu.Lock()
	delete(asyncWaits, waiter)
	asyncWaitsMu.Unlock()
}

// WaitAsyncFrom is WaitAsync called from inside a done function of the client
// keyed waiter (0: not from a done function). When waiting would never end
// (c's done functions wait, directly or through other clients, for waiter's:
// two callbacks closing each other's clients), it returns at once instead,
// as for a close from c's own callback.
func (c *Client) WaitAsyncFrom(waiter uint64) {
	if waiter == 0 {
		c.WaitAsync()
		return
	}
	if !enterAsyncWait(waiter, c.key.Load()) {
		return
	}
	defer leaveAsyncWait(waiter)
	c.WaitAsync()
}
