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
	closed   bool
	drained  sync.WaitGroup // the draining goroutine, if any
}

// Go accepts run for this client and returns at once. On nil, done is called
// exactly once, on another goroutine, with run's results, after every request
// the client accepted before it (asynchronous or not) has been sent: one
// client's requests keep their order. On an error (CodeClosed, CodeBusy),
// nothing was accepted and done is never called.
//
// After Close, requests still waiting run at once and end with CodeClosed.
func (c *Client) Go(run func(context.Context) (Outcome, error), done func(Outcome, error)) error {
	q := &c.async
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || c.closed.Load() {
		return errClosed
	}
	if outstanding.Add(1) > MaxOutstanding {
		outstanding.Add(-1)
		return errBusy
	}
	q.jobs = append(q.jobs, asyncJob{run: run, done: done})
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
	return run(context.Background())
}

// closeAsync refuses new asynchronous requests; those waiting end with
// CodeClosed as the draining goroutine reaches them (Close has run).
func (c *Client) closeAsync() {
	c.async.mu.Lock()
	c.async.closed = true
	c.async.mu.Unlock()
}

// WaitAsync returns once every accepted asynchronous request of this closed
// client has had its done call. It must not be called from a done function of
// the same client (it would wait for itself).
func (c *Client) WaitAsync() {
	c.async.drained.Wait()
}
