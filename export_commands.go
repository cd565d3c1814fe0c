// SPDX-License-Identifier: Apache-2.0

package main

// Exports for the offline queue (flush, stats), commands (handler,
// poll, pull, reply) and the process-wide log handler.
//
// C function pointers and their user pointers are kept as uintptr values and
// called through the C trampolines enosc_call_command / enosc_call_log
// (export_capi.c); no Go lock is held while C runs.

/*
#include "export_capi.h"
*/
import "C"

import (
	"context"
	"errors"
	"math"
	"time"
	"unsafe"

	"github.com/libenos/libenos/core/client"
	"github.com/libenos/libenos/core/logging"
)

// waitContext turns a timeout_ms argument into a context: 0 is already over,
// negative has no deadline. (The core ends its waits itself when the client
// is closed.)
func waitContext(timeoutMs C.int32_t) (context.Context, context.CancelFunc) {
	if timeoutMs < 0 {
		return context.WithCancel(context.Background())
	}
	return context.WithTimeout(context.Background(), time.Duration(timeoutMs)*time.Millisecond)
}

//export enosgo_flush
func enosgo_flush(h C.uintptr_t, timeoutMs C.int32_t) (rc C.int) {
	const fn = "enos_flush"
	defer guard(fn, &rc)
	c, rc := lookup(fn, h)
	if c == nil {
		return rc
	}
	ctx, cancel := waitContext(timeoutMs)
	defer cancel()
	err := c.Flush(ctx)
	switch {
	case err == nil:
		return 0
	case client.CodeOf(err) == client.CodeClosed:
		return fail(fn, client.CodeClosed, "client was closed while waiting for the offline queue")
	case client.CodeOf(err) == client.CodeTimeout:
		n := c.Stats().Queued
		return fail(fn, client.CodeTimeout, "%d report(s) still queued after %d ms (they stay queued)", n, int32(timeoutMs))
	}
	return failErr(fn, err)
}

//export enosgo_get_stats
func enosgo_get_stats(h C.uintptr_t, stats *C.enos_stats) (rc C.int) {
	const fn = "enos_get_stats"
	defer guard(fn, &rc)
	c, rc := lookup(fn, h)
	if c == nil {
		return rc
	}
	if stats == nil {
		return fail(fn, client.CodeInvalid, "stats is NULL")
	}
	var z C.enos_stats
	size := uintptr(stats.struct_size)
	minSize := unsafe.Offsetof(z.sent) + unsafe.Sizeof(z.sent)
	if rc := checkStructSize(fn, "stats", "ENOS_STATS_INIT", "(at least %d)", size, minSize, unsafe.Sizeof(z)); rc != 0 {
		return rc
	}
	st := c.Stats()
	fields := []struct {
		off uintptr
		v   uint64
	}{
		{unsafe.Offsetof(z.sent), st.Sent},
		{unsafe.Offsetof(z.failed), st.Failed},
		{unsafe.Offsetof(z.retransmissions), st.Retransmissions},
		{unsafe.Offsetof(z.auths), st.Auths},
		{unsafe.Offsetof(z.reauths), st.Reauths},
		{unsafe.Offsetof(z.queued), st.Queued},
		{unsafe.Offsetof(z.queued_bytes), st.QueuedBytes},
		{unsafe.Offsetof(z.queued_total), st.QueuedTotal},
		{unsafe.Offsetof(z.queue_delivered), st.QueueDelivered},
		{unsafe.Offsetof(z.queue_dropped), st.QueueDropped},
		{unsafe.Offsetof(z.commands), st.Commands},
		{unsafe.Offsetof(z.commands_dropped), st.CommandsDropped},
		{unsafe.Offsetof(z.state_errors), st.StateErrors},
	}
	base := unsafe.Pointer(stats)
	for _, f := range fields {
		if f.off+unsafe.Sizeof(z.sent) <= size {
			*(*C.uint64_t)(unsafe.Add(base, f.off)) = C.uint64_t(f.v)
		}
	}
	return 0
}

// commandHandler returns the Go handler that forwards commands of handle h to
// the C function fn through the trampoline, which marks the thread as being
// inside h's handler (enos_close and enos_set_command_handler read it).
func commandHandler(h uint64, fn, user uintptr) func(client.Command) {
	return func(cmd client.Command) {
		topic := make([]byte, len(cmd.Topic)+1)
		copy(topic, cmd.Topic)
		var p *C.uint8_t
		if len(cmd.Payload) > 0 {
			p = (*C.uint8_t)(unsafe.Pointer(&cmd.Payload[0]))
		}
		C.enosc_call_command(C.uintptr_t(fn), C.uintptr_t(user), C.uintptr_t(h),
			(*C.char)(unsafe.Pointer(&topic[0])), p, C.size_t(len(cmd.Payload)))
	}
}

//export enosgo_set_command_handler
func enosgo_set_command_handler(h, fn, user C.uintptr_t, inHandler C.int) (rc C.int) {
	const fn_ = "enos_set_command_handler"
	defer guard(fn_, &rc)
	c, rc := lookup(fn_, h)
	if c == nil {
		return rc
	}
	if fn == 0 {
		c.SetCommandHandler(nil)
		// Removed from outside the handler: the old handler is not running
		// when this returns, so its user data may be freed.
		if inHandler == 0 {
			c.WaitHandler()
		}
		return 0
	}
	c.SetCommandHandler(commandHandler(uint64(h), uintptr(fn), uintptr(user)))
	return 0
}

//export enosgo_poll
func enosgo_poll(h C.uintptr_t) (rc C.int) {
	const fn = "enos_poll"
	defer guard(fn, &rc)
	c, rc := lookup(fn, h)
	if c == nil {
		return rc
	}
	n, err := c.Poll(fromC)
	if err != nil {
		return failErr(fn, err)
	}
	return C.int(min(n, math.MaxInt32))
}

// errBuffer is returned by enosgo_next_command's accept function for a
// command that does not fit the caller's buffers (the command stays queued).
var errBuffer = errors.New("buffer too small")

//export enosgo_next_command
func enosgo_next_command(h C.uintptr_t, timeoutMs C.int32_t, topic *C.char, topicSize C.size_t,
	payload unsafe.Pointer, payloadSize C.size_t, payloadLen *C.size_t) (rc C.int) {
	const fn = "enos_next_command"
	defer guard(fn, &rc)
	c, rc := lookup(fn, h)
	if c == nil {
		return rc
	}
	switch {
	case topic == nil:
		return fail(fn, client.CodeInvalid, "topic is NULL")
	case payloadLen == nil:
		return fail(fn, client.CodeInvalid, "payload_len is NULL")
	case payload == nil && payloadSize != 0:
		return fail(fn, client.CodeInvalid, "payload is NULL but payload_size is %d", uint64(payloadSize))
	}
	*payloadLen = 0
	var needTopic, needPayload int
	accept := func(cmd client.Command) error {
		if uint64(len(cmd.Topic))+1 > uint64(topicSize) || uint64(len(cmd.Payload)) > uint64(payloadSize) {
			needTopic, needPayload = len(cmd.Topic)+1, len(cmd.Payload)
			return errBuffer
		}
		return nil
	}
	ctx, cancel := waitContext(timeoutMs)
	defer cancel()
	cmd, err := c.WaitCommandIf(ctx, accept)
	switch {
	case errors.Is(err, errBuffer):
		*payloadLen = C.size_t(needPayload)
		return fail(fn, client.CodeBuffer, "the next command needs topic_size >= %d (got %d) and payload_size >= %d (got %d); it stays queued",
			needTopic, uint64(topicSize), needPayload, uint64(payloadSize))
	case client.CodeOf(err) == client.CodeClosed:
		return fail(fn, client.CodeClosed, "client is closed")
	case err != nil && client.CodeOf(err) == client.CodeTimeout:
		return fail(fn, client.CodeTimeout, "no command within %d ms", int32(timeoutMs))
	case err != nil:
		return failErr(fn, err)
	}
	putCString(topic, cmd.Topic) // accept checked that it fits
	if len(cmd.Payload) > 0 {
		copy(unsafe.Slice((*byte)(payload), len(cmd.Payload)), cmd.Payload)
	}
	*payloadLen = C.size_t(len(cmd.Payload))
	return 0
}

//export enosgo_reply
func enosgo_reply(h C.uintptr_t, topic *C.char, payload unsafe.Pointer, n C.size_t) (rc C.int) {
	const fn = "enos_reply"
	defer guard(fn, &rc)
	c, rc := lookup(fn, h)
	if c == nil {
		return rc
	}
	t, rc := cTopic(fn, "command_topic", "pass the topic the command came with", topic)
	if rc != 0 {
		return rc
	}
	p, rc := cBytes(fn, "payload", payload, n)
	if rc != 0 {
		return rc
	}
	if _, err := c.Reply(fromC, t, p); err != nil {
		return failErr(fn, err)
	}
	return 0
}

// ---- logging ---------------------------------------------------------------

// logToC returns the handler that passes a message to the C function fn
// with its user pointer, as a NUL-terminated copy valid during the call.
func logToC(fn, user C.uintptr_t) logging.Handler {
	return func(level logging.Level, msg string) {
		b := make([]byte, len(msg)+1)
		copy(b, msg)
		C.enosc_call_log(fn, user, C.int(level), (*C.char)(unsafe.Pointer(&b[0])))
	}
}

//export enosgo_set_log_handler
func enosgo_set_log_handler(fn, user C.uintptr_t, level C.int, inLog C.int) (rc C.int) {
	const name = "enos_set_log_handler"
	defer guard(name, &rc)
	if level < C.int(logging.Off) || level > C.int(logging.Debug) {
		return fail(name, client.CodeInvalid, "level %d is outside ENOS_LOG_OFF (0)..ENOS_LOG_DEBUG (4)", int(level))
	}
	if inLog != 0 {
		return fail(name, client.CodeInvalid, "must not be called from inside the log handler")
	}
	// core/logging guarantees that the previous handler is not running and
	// is never called again once SetHandler returns.
	if fn == 0 {
		logging.SetHandler(nil, logging.Off)
	} else {
		logging.SetHandler(logToC(fn, user), logging.Level(level))
	}
	return 0
}
