// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"strings"
	"sync"

	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/libenos/libenos/core/logging"
	"github.com/libenos/libenos/core/transport"
)

// DefaultCommandQueue is how many received commands wait for the host when it
// has no handler or its handler is slower than EnOS.
const DefaultCommandQueue = 256

// Bounds on the exchanges a lone 2100 announcement can trigger, so that a
// server that announces commands on every answer cannot keep a caller (and
// the client's fifoLock) busy: each keeps the call within the blocking bound
// documented in enos.h. An announcement left over is fetched by the next
// request or poll.
const (
	// fetchesPerRequest: command fetches after a report, publish or reply.
	fetchesPerRequest = 1
	// pollExchanges: requests one Poll makes in all, its GETs of the
	// command topic and the fetches included (ENOS_POLL_MAX_EXCHANGES).
	pollExchanges = 8
)

// Command is one command EnOS sent to the device (docs/protocol.md §5).
type Command struct {
	// Topic is the MQTT topic without the CoAP "/topic" prefix, e.g.
	// "/sys/{pk}/{dk}/thing/model/down_raw"; Reply takes it as it is.
	Topic   string
	Payload []byte
}

// SetCommandHandler makes fn receive every command, in order, on a library
// goroutine that holds no lock: fn may call any method, Reply included. A nil
// fn removes the handler; commands then wait for NextCommand/WaitCommand.
func (c *Client) SetCommandHandler(fn func(Command)) {
	c.inbox.setHandler(fn)
}

// NextCommand returns the oldest waiting command without blocking.
func (c *Client) NextCommand() (Command, bool) { return c.inbox.pop() }

// WaitCommand blocks until a command is waiting, ctx ends or the client closes.
func (c *Client) WaitCommand(ctx context.Context) (Command, error) {
	return c.WaitCommandIf(ctx, nil)
}

// WaitCommandIf is WaitCommand for callers with bounded room: when accept
// returns an error for the oldest command, that command stays queued and the
// error is returned.
func (c *Client) WaitCommandIf(ctx context.Context, accept func(Command) error) (Command, error) {
	for {
		ch := c.inbox.changed()
		cmd, ok, err := c.inbox.popIf(accept)
		if err != nil {
			return Command{}, err
		}
		if ok {
			return cmd, nil
		}
		if c.closed.Load() {
			return Command{}, errClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return Command{}, ctxError(ctx.Err())
		}
	}
}

// WaitHandler waits until no command handler call is running. Close does not
// wait (a handler may close its own client); a host that frees what its
// handler uses calls WaitHandler after Close, from outside the handler.
func (c *Client) WaitHandler() { c.inbox.waitIdle() }

// Poll sends one signed request that picks up waiting commands: a GET of the
// device's down_raw topic. EnOS announces waiting commands in the response;
// Poll keeps asking while responses bring commands, up to pollExchanges
// requests in all, and returns how many commands arrived.
func (c *Client) Poll(ctx context.Context) (int, error) {
	if err := c.acquire(ctx); err != nil {
		return 0, err
	}
	defer c.release()
	total := 0
	for budget := pollExchanges; budget > 0; {
		before := c.stats.commands.Load()
		if _, err := c.requestLocked(ctx, codes.GET, c.downPath, nil, nil); err != nil {
			return total, err
		}
		budget--
		budget -= c.fetchUpTo(ctx, budget)
		n := int(c.stats.commands.Load() - before)
		total += n
		if n == 0 {
			break
		}
	}
	return total, nil
}

// Reply posts payload to ReplyTopic(commandTopic).
func (c *Client) Reply(ctx context.Context, commandTopic string, payload []byte) (*Response, error) {
	return c.Publish(ctx, ReplyTopic(commandTopic), payload)
}

// ReplyTopic is the topic Reply posts to for a command topic: commandTopic +
// "_reply" (a topic that already ends in "_reply" stays as it is).
func ReplyTopic(commandTopic string) string {
	return strings.TrimSuffix(commandTopic, "_reply") + "_reply"
}

// takeCommands looks at a response for commands: 2102 carries one whole
// (later documentation), a lone 2100 names a topic to fetch with a signed GET
// (earlier documentation). A GET of a command topic answers with the command.
// Called with fifoLock held.
func (c *Client) takeCommands(ctx context.Context, req *transport.Request, r *transport.Response) {
	if req != nil && req.Code == codes.GET && strings.HasPrefix(req.Path, "/topic/") && len(r.Payload) > 0 {
		c.deliver(Command{Topic: strings.TrimPrefix(req.Path, "/topic"), Payload: r.Payload})
	}
	if r.CommandTopic == "" {
		return
	}
	topic := strings.TrimPrefix(r.CommandTopic, "/topic")
	if r.HasCommandData {
		c.deliver(Command{Topic: topic, Payload: r.CommandPayload})
		return
	}
	c.pendingFetch = r.CommandTopic
}

func (c *Client) deliver(cmd Command) {
	c.stats.commands.Add(1)
	if !c.inbox.push(cmd) {
		c.stats.commandsDropped.Add(1)
	}
}

// fetchCommands follows a lone 2100 announcement with a signed GET, at most
// fetchesPerRequest of them. Called with fifoLock held, after the request
// that caused them succeeded.
func (c *Client) fetchCommands(ctx context.Context) { c.fetchUpTo(ctx, fetchesPerRequest) }

// fetchUpTo follows lone 2100 announcements with signed GETs, at most max of
// them, and returns how many it sent. An announcement it has no room for
// stays pending for the next call. It GETs exactly the announced path, and
// only a well-formed one under /topic/ (the device's topics): a 2100 naming
// another resource (/auth/..., a path without /topic, dot segments) is
// ignored, so a forged or corrupt announcement cannot make the device send
// signed requests elsewhere. The answer is delivered as a command of that
// topic by takeCommands.
func (c *Client) fetchUpTo(ctx context.Context, max int) int {
	sent := 0
	for ; c.pendingFetch != "" && sent < max; sent++ {
		path := c.pendingFetch
		c.pendingFetch = ""
		if !announcedPathOK(path) {
			c.logf(logging.Debug, "ignoring a command announcement that is not a topic path")
			return sent
		}
		if _, err := c.requestLocked(ctx, codes.GET, path, nil, nil); err != nil {
			// The command stays queued at EnOS and is announced again.
			return sent + 1
		}
	}
	return sent
}

// announcedPathOK says whether a 2100 value is a path under /topic/ that
// topicPath takes as it is (no prefix added, every segment valid).
func announcedPathOK(path string) bool {
	if !strings.HasPrefix(path, "/topic/") {
		return false
	}
	p, err := topicPath(path)
	return err == nil && p == path
}

// inbox holds received commands until a handler or a pull takes them.
type inbox struct {
	mu       sync.Mutex
	items    []Command
	max      int
	handler  func(Command)
	running  bool // a dispatcher goroutine is delivering to handler
	idle     *sync.Cond
	notify   chan struct{} // closed on a change; made when someone waits (nil: nobody does)
	stopping bool
}

func newInbox(capacity int) *inbox {
	b := &inbox{max: capacity}
	b.idle = sync.NewCond(&b.mu)
	return b
}

// push queues cmd; false when the queue is full (the command is dropped).
func (b *inbox) push(cmd Command) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.items) >= b.max {
		return false
	}
	b.items = append(b.items, cmd)
	b.signalLocked()
	b.startLocked()
	return true
}

func (b *inbox) startLocked() {
	if b.handler != nil && len(b.items) > 0 && !b.running && !b.stopping {
		b.running = true
		go b.dispatch()
	}
}

// dispatch runs handler calls one at a time, in order, and exits when idle, so
// an idle client has no goroutine.
func (b *inbox) dispatch() {
	for {
		b.mu.Lock()
		if b.handler == nil || len(b.items) == 0 || b.stopping {
			b.running = false
			b.idle.Broadcast()
			b.mu.Unlock()
			return
		}
		cmd, h := b.items[0], b.handler
		b.items[0] = Command{}
		b.items = b.items[1:]
		b.mu.Unlock()
		h(cmd)
	}
}

func (b *inbox) setHandler(fn func(Command)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.handler = fn
	b.startLocked()
}

func (b *inbox) pop() (Command, bool) {
	cmd, ok, _ := b.popIf(nil)
	return cmd, ok
}

// popIf takes the oldest command if accept (nil: anything) takes it.
func (b *inbox) popIf(accept func(Command) error) (Command, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.items) == 0 {
		return Command{}, false, nil
	}
	cmd := b.items[0]
	if accept != nil {
		if err := accept(cmd); err != nil {
			return Command{}, false, err
		}
	}
	b.items[0] = Command{}
	b.items = b.items[1:]
	return cmd, true, nil
}

func (b *inbox) changed() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.notify == nil {
		b.notify = make(chan struct{})
	}
	return b.notify
}

// stop lets a running handler call finish but starts no new one.
func (b *inbox) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopping = true
	b.signalLocked()
}

// signalLocked wakes whoever waits on changed().
func (b *inbox) signalLocked() {
	if b.notify != nil {
		close(b.notify)
		b.notify = nil
	}
}

func (b *inbox) waitIdle() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.running {
		b.idle.Wait()
	}
}
