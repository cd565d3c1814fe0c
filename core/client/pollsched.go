// SPDX-License-Identifier: Apache-2.0

package client

import (
	"container/heap"
	"sync"
	"time"

	"github.com/libenos/libenos/core/logging"
)

// Automatic polling (Config.PollInterval) runs from one scheduler per
// process instead of a goroutine and a ticker per client: a heap of clients
// by the time they are next due, one goroutine that sleeps until the earliest
// one (and exists only while some client polls), and a goroutine per poll
// only while that poll runs. An idle client that polls costs a heap entry.
type pollScheduler struct {
	mu      sync.Mutex
	due     pollHeap
	wake    chan struct{} // an earlier entry was added
	running bool
}

var polls = &pollScheduler{wake: make(chan struct{}, 1)}

// pollEntry is one client's place in the heap.
type pollEntry struct {
	c     *Client
	at    time.Time
	index int // in the heap; -1 when not in it
}

type pollHeap []*pollEntry

func (h pollHeap) Len() int           { return len(h) }
func (h pollHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h pollHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *pollHeap) Push(x any) {
	e := x.(*pollEntry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *pollHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}

// schedule puts e in the heap, due at at, unless its client is closed.
func (p *pollScheduler) schedule(e *pollEntry, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.c.closed.Load() || e.index >= 0 {
		return
	}
	e.at = at
	heap.Push(&p.due, e)
	if !p.running {
		p.running = true
		go p.run()
	} else if e.index == 0 {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// remove takes e out of the heap (Close). Once it returns, the scheduler
// starts no poll for e's client: a poll already started is counted in the
// client's poller WaitGroup.
func (p *pollScheduler) remove(e *pollEntry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.index >= 0 {
		heap.Remove(&p.due, e.index)
	}
}

func (p *pollScheduler) run() {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		p.mu.Lock()
		now := time.Now()
		for len(p.due) > 0 && !p.due[0].at.After(now) {
			e := heap.Pop(&p.due).(*pollEntry)
			c := e.c
			if next := time.Unix(0, c.lastActive.Load()).Add(c.cfg.PollInterval); next.After(now) {
				// Active since: due a full interval after its last request.
				e.at = next
				heap.Push(&p.due, e)
				continue
			}
			c.poller.Add(1) // under mu: Close's remove comes before its Wait
			go c.autoPoll(e)
		}
		if len(p.due) == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		wait := time.Until(p.due[0].at)
		p.mu.Unlock()
		t.Reset(wait)
		select {
		case <-t.C:
		case <-p.wake:
		}
	}
}

// autoPoll polls once for commands (which also keeps the session within its
// lifetime) and puts the client back in the heap.
func (c *Client) autoPoll(e *pollEntry) {
	defer c.poller.Done()
	if _, err := c.Poll(c.life); err != nil && CodeOf(err) != CodeClosed {
		c.logf(logging.Debug, "automatic poll: %v", err)
	}
	polls.schedule(e, time.Now().Add(c.cfg.PollInterval))
}
