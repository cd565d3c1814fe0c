// SPDX-License-Identifier: Apache-2.0

// Command libenos is the C ABI of libenos, built with -buildmode=c-shared
// (build/libenos.so) or c-archive (build/libenos.a). The public header is the
// hand-written include/enos.h; export_capi.c defines its functions on top of
// the enosgo_* exports below.
//
// This layer only translates: C types to Go, handles to clients, errors to
// status codes and the thread-local last error. Every export recovers panics
// (ENOS_ERR_INTERNAL) and prints nothing.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/include -std=gnu11 -Wall -Wextra
#include "export_capi.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unsafe"

	"github.com/libenos/libenos/core/client"
	"github.com/libenos/libenos/core/sign"
)

func main() {}

// fromC is the context of every blocking export: each runs on the calling C
// thread, which it has to itself for the duration of the call.
var fromC = client.OnDedicatedThread(context.Background())

var clients = newHandleTable[*client.Client]()

// setLastError stores fn + ": " + msg as the calling thread's last error.
// An export runs on the calling C thread, so the C __thread buffer is the caller's.
func setLastError(fn, msg string) {
	s := fn + ": " + msg
	C.enosc_set_last_error((*C.char)(unsafe.Pointer(unsafe.StringData(s))), C.size_t(len(s)))
}

func fail(fn string, code client.Code, format string, args ...any) C.int {
	setLastError(fn, fmt.Sprintf(format, args...))
	return C.int(code)
}

// failErr reports an error of the core; its message never holds a secret or token.
func failErr(fn string, err error) C.int {
	code, msg := statusOf(fn, err)
	setLastError(fn, msg)
	return code
}

// statusOf maps an error of the core to the C status and last-error detail
// (without the "fn: " prefix).
func statusOf(fn string, err error) (C.int, string) {
	code := client.CodeOf(err)
	switch code {
	case client.CodeOK:
		if err == nil {
			return 0, ""
		}
	case client.CodeInvalid, client.CodeBuffer, client.CodeNetwork,
		client.CodeTimeout, client.CodeAuth, client.CodeRejected, client.CodeClosed,
		client.CodeState, client.CodeFull, client.CodeBusy, client.CodeNoFile, client.CodeInternal:
		return C.int(code), err.Error()
	}
	// OK for an error, or a code include/enos.h does not define: never pass it to C
	return C.int(client.CodeInternal), fmt.Sprintf("internal error: code %d: %v", int(code), err)
}

// queuedDetail is the last error of an ENOS_QUEUED success: why the report
// waits in the offline queue.
func queuedDetail(out client.Outcome) string {
	return "queued for later delivery: " + out.Cause.Error()
}

// guard is deferred by every export: a panic must never cross into C.
func guard(fn string, rc *C.int) {
	if r := recover(); r != nil {
		msg := fmt.Sprint(r)
		if len(msg) > 200 {
			msg = msg[:200]
		}
		*rc = fail(fn, client.CodeInternal, "internal error (recovered panic): %s", msg)
	}
}

func lookup(fn string, h C.uintptr_t) (*client.Client, C.int) {
	if h == 0 {
		return nil, fail(fn, client.CodeInvalid, "client is NULL")
	}
	c, ok := clients.get(uint64(h))
	if !ok {
		return nil, fail(fn, client.CodeClosed, "client is closed or not a client")
	}
	return c, C.int(client.CodeOK)
}

// cBytes views the n bytes at p as a slice, without copying; p may be NULL
// only when n is 0. The view is valid for the call only: the core copies a
// payload wherever it keeps one (the datagram, the offline queue), so a report
// costs no allocation for it.
func cBytes(fn, name string, p unsafe.Pointer, n C.size_t) ([]byte, C.int) {
	if p == nil {
		if n != 0 {
			return nil, fail(fn, client.CodeInvalid, "%s is NULL but its length is %d", name, uint64(n))
		}
		return []byte{}, 0
	}
	if uint64(n) > math.MaxInt32 {
		return nil, fail(fn, client.CodeInvalid, "%s length %d is too large", name, uint64(n))
	}
	return unsafe.Slice((*byte)(p), int(n)), 0
}

// cString reads the C string p, which must be neither NULL nor empty: the
// errors say "NAME is NULL" and "NAME is empty".
func cString(fn, name string, p *C.char) (string, C.int) {
	if p == nil {
		return "", fail(fn, client.CodeInvalid, "%s is NULL", name)
	}
	s := C.GoString(p)
	if s == "" {
		return "", fail(fn, client.CodeInvalid, "%s is empty", name)
	}
	return s, 0
}

// cTopic reads a topic argument: a C string as cString reads it, that starts
// with '/'; hint ends the message that says it does not.
func cTopic(fn, name, hint string, p *C.char) (string, C.int) {
	t, rc := cString(fn, name, p)
	if rc != 0 {
		return "", rc
	}
	if !strings.HasPrefix(t, "/") {
		return "", fail(fn, client.CodeInvalid, "%s %q must start with '/' (%s)", name, t, hint)
	}
	return t, 0
}

// checkStructSize checks the struct_size of the C struct that the argument
// name points to: neither 0 (initialize it with initMacro) nor below minSize
// nor above fullSize, this libenos's sizeof. tooSmall formats minSize after
// "NAME->struct_size N is too small ".
func checkStructSize(fn, name, initMacro, tooSmall string, size, minSize, fullSize uintptr) C.int {
	switch {
	case size == 0:
		return fail(fn, client.CodeInvalid, "%s->struct_size is 0; initialize the %s with %s", name, name, initMacro)
	case size < minSize:
		return fail(fn, client.CodeInvalid, "%s->struct_size %d is too small "+tooSmall, name, size, minSize)
	case size > fullSize:
		return fail(fn, client.CodeInvalid, "%s->struct_size %d is larger than this libenos %s knows (%d): built against a newer header?",
			name, size, C.GoString(C.enos_version()), fullSize)
	}
	return 0
}

// writeString copies s and a NUL to out, or nothing when it does not fit.
func writeString(fn string, out *C.char, outSize C.size_t, s string) C.int {
	if uint64(outSize) < uint64(len(s))+1 {
		return fail(fn, client.CodeBuffer, "out_size %d is too small: need %d bytes", uint64(outSize), len(s)+1)
	}
	putCString(out, s)
	return 0
}

// putCString copies s and a NUL to out, which the caller has checked holds len(s)+1 bytes.
func putCString(out *C.char, s string) {
	dst := unsafe.Slice((*byte)(unsafe.Pointer(out)), len(s)+1)
	copy(dst, s)
	dst[len(s)] = 0
}

// lastError returns the calling thread's last error, as enos_last_error does
// (for the tests of this package, which cannot use cgo themselves; the caller
// must be locked to its OS thread for the result to be its own).
func lastError() string {
	return C.GoString(C.enos_last_error())
}

// readConfig reads the fields of cfg that lie within cfg.struct_size.
func readConfig(fn string, cfg *C.enos_config) (client.Config, C.int) {
	var out client.Config
	var z C.enos_config
	size := uintptr(cfg.struct_size)
	minSize := unsafe.Offsetof(z.device_secret) + unsafe.Sizeof(z.device_secret)
	if rc := checkStructSize(fn, "config", "ENOS_CONFIG_INIT", "to hold the required fields (%d)", size, minSize, unsafe.Sizeof(z)); rc != 0 {
		return out, rc
	}
	has := func(off, sz uintptr) bool { return off+sz <= size }
	secretOptional, rc := readSecurity(fn, cfg, size, &out)
	if rc != 0 {
		return out, rc
	}

	required := []struct {
		name string
		p    *C.char
		dst  *string
	}{
		{"config->server", cfg.server, &out.Server},
		{"config->product_key", cfg.product_key, &out.ProductKey},
		{"config->device_key", cfg.device_key, &out.DeviceKey},
		{"config->device_secret", cfg.device_secret, &out.DeviceSecret},
	}
	for _, r := range required {
		if r.dst == &out.DeviceSecret && secretOptional {
			continue // activation with the product secret (export_dtls.go)
		}
		var rc C.int
		if *r.dst, rc = cString(fn, r.name, r.p); rc != 0 {
			return out, rc
		}
	}
	// Numbers are copied as they are: client.New checks them (and names the
	// field, see configError).
	if has(unsafe.Offsetof(z.lifetime_s), unsafe.Sizeof(z.lifetime_s)) {
		out.Lifetime = int(cfg.lifetime_s)
	}
	if has(unsafe.Offsetof(z.ack_timeout_ms), unsafe.Sizeof(z.ack_timeout_ms)) {
		out.AckTimeout = time.Duration(cfg.ack_timeout_ms) * time.Millisecond
	}
	if has(unsafe.Offsetof(z.max_retransmit), unsafe.Sizeof(z.max_retransmit)) {
		out.MaxRetransmit = int(cfg.max_retransmit)
	}
	if has(unsafe.Offsetof(z.sign_mode), unsafe.Sizeof(z.sign_mode)) {
		out.SignMode = client.SignMode(cfg.sign_mode)
	}
	if has(unsafe.Offsetof(z.sign_iv), unsafe.Sizeof(z.sign_iv)) && cfg.sign_iv != nil {
		out.SignIV = C.GoBytes(unsafe.Pointer(cfg.sign_iv), 16)
	}
	if has(unsafe.Offsetof(z.state_dir), unsafe.Sizeof(z.state_dir)) && cfg.state_dir != nil {
		out.StateDir = C.GoString(cfg.state_dir)
		if out.StateDir == "" {
			return out, fail(fn, client.CodeInvalid, "config->state_dir is empty; use NULL to persist nothing")
		}
	}
	// Offline queue, commands, block-wise transfer.
	if has(unsafe.Offsetof(z.queue_max_count), unsafe.Sizeof(z.queue_max_count)) {
		out.QueueMaxCount = int(cfg.queue_max_count)
	}
	if has(unsafe.Offsetof(z.queue_max_bytes), unsafe.Sizeof(z.queue_max_bytes)) {
		out.QueueMaxBytes = int64(cfg.queue_max_bytes)
	}
	if has(unsafe.Offsetof(z.retry_interval_ms), unsafe.Sizeof(z.retry_interval_ms)) {
		out.RetryInterval = time.Duration(cfg.retry_interval_ms) * time.Millisecond
	}
	if has(unsafe.Offsetof(z.poll_interval_ms), unsafe.Sizeof(z.poll_interval_ms)) {
		out.PollInterval = time.Duration(cfg.poll_interval_ms) * time.Millisecond
	}
	if has(unsafe.Offsetof(z.command_queue), unsafe.Sizeof(z.command_queue)) {
		out.CommandQueue = int(cfg.command_queue)
	}
	if has(unsafe.Offsetof(z.block_size), unsafe.Sizeof(z.block_size)) {
		out.BlockSize = int(cfg.block_size)
	}
	return out, 0
}

// cFields spells the configuration fields the core reports (client.Error.Field)
// as enos_config names them; TestCFieldsNameEveryConfigField keeps it complete.
var cFields = map[client.ConfigField]string{
	client.FieldServer: "server", client.FieldProductKey: "product_key", client.FieldDeviceKey: "device_key",
	client.FieldDeviceSecret: "device_secret", client.FieldLifetime: "lifetime_s", client.FieldAckTimeout: "ack_timeout_ms",
	client.FieldMaxRetransmit: "max_retransmit", client.FieldSignMode: "sign_mode", client.FieldSignIV: "sign_iv",
	client.FieldQueueMaxCount: "queue_max_count", client.FieldQueueMaxBytes: "queue_max_bytes",
	client.FieldRetryInterval: "retry_interval_ms", client.FieldPollInterval: "poll_interval_ms",
	client.FieldCommandQueue: "command_queue", client.FieldBlockSize: "block_size",
	client.FieldSecurity: "security", client.FieldProductSecret: "product_secret", client.FieldStateDir: "state_dir",
}

// configError prefixes a configuration error with the C field it is about,
// e.g. "config->block_size: block size 100: ...".
func configError(err error) error {
	var e *client.Error
	if errors.As(err, &e) && e.Field != client.FieldNone {
		if name, ok := cFields[e.Field]; ok {
			return &client.Error{Code: e.Code, Msg: "config->" + name + ": " + e.Msg, Err: e.Err, Hint: e.Hint}
		}
	}
	return err
}

//export enosgo_init
func enosgo_init(cfg *C.enos_config, haveOut C.int, out *C.uintptr_t) (rc C.int) {
	const fn = "enos_init"
	defer guard(fn, &rc)
	if cfg == nil {
		return fail(fn, client.CodeInvalid, "config is NULL")
	}
	if haveOut == 0 {
		return fail(fn, client.CodeInvalid, "client (the output pointer) is NULL")
	}
	gc, rc := readConfig(fn, cfg)
	if rc != 0 {
		return rc
	}
	c, err := client.New(gc)
	if err != nil {
		return failErr(fn, configError(err))
	}
	id, ok := clients.add(c)
	if !ok {
		c.Close()
		return fail(fn, client.CodeInternal, "client handles exhausted")
	}
	c.SetKey(id)
	*out = C.uintptr_t(id)
	return 0
}

//export enosgo_authenticate
func enosgo_authenticate(h C.uintptr_t) (rc C.int) {
	const fn = "enos_authenticate"
	defer guard(fn, &rc)
	c, rc := lookup(fn, h)
	if c == nil {
		return rc
	}
	if err := c.Authenticate(fromC); err != nil {
		return failErr(fn, err)
	}
	return 0
}

//export enosgo_report
func enosgo_report(h C.uintptr_t, payload unsafe.Pointer, n C.size_t) (rc C.int) {
	const fn = "enos_report"
	defer guard(fn, &rc)
	c, rc := lookup(fn, h)
	if c == nil {
		return rc
	}
	p, rc := cBytes(fn, "payload", payload, n)
	if rc != 0 {
		return rc
	}
	out, err := c.Report(fromC, p)
	switch {
	case err != nil:
		return failErr(fn, err)
	case out.Queued:
		// A success for the caller; the last error says why it waits.
		setLastError(fn, queuedDetail(out))
		return C.ENOS_QUEUED
	}
	return 0
}

//export enosgo_publish
func enosgo_publish(h C.uintptr_t, topic *C.char, payload unsafe.Pointer, n C.size_t,
	coapCode *C.int, reply unsafe.Pointer, replySize C.size_t, replyLen *C.size_t) (rc C.int) {
	const fn = "enos_publish"
	defer guard(fn, &rc)
	c, rc := lookup(fn, h)
	if c == nil {
		return rc
	}
	t, rc := cTopic(fn, "topic", "e.g. /sys/{pk}/{dk}/thing/...", topic)
	if rc != 0 {
		return rc
	}
	if reply == nil && replySize != 0 {
		return fail(fn, client.CodeInvalid, "reply is NULL but reply_size is %d", uint64(replySize))
	}
	p, rc := cBytes(fn, "payload", payload, n)
	if rc != 0 {
		return rc
	}
	if coapCode != nil {
		*coapCode = 0
	}
	if replyLen != nil {
		*replyLen = 0
	}
	resp, err := c.Publish(fromC, t, p)
	if resp != nil {
		if coapCode != nil {
			*coapCode = C.int(resp.Code)
		}
		if replyLen != nil {
			*replyLen = C.size_t(len(resp.Payload))
		}
		if k := min(uint64(len(resp.Payload)), uint64(replySize)); k > 0 {
			copy(unsafe.Slice((*byte)(reply), k), resp.Payload)
		}
	}
	if err != nil {
		return failErr(fn, err)
	}
	return 0
}

//export enosgo_next_sign
func enosgo_next_sign(h C.uintptr_t, out *C.char, outSize C.size_t, sequence *C.uint32_t) (rc C.int) {
	const fn = "enos_next_sign"
	defer guard(fn, &rc)
	c, rc := lookup(fn, h)
	if c == nil {
		return rc
	}
	if out == nil {
		return fail(fn, client.CodeInvalid, "out is NULL")
	}
	if outSize == 0 {
		return fail(fn, client.CodeBuffer, "out_size is 0")
	}
	room := int(min(uint64(outSize)-1, math.MaxInt32))
	s, err := c.NextSignature(fromC, room)
	if err != nil {
		return failErr(fn, err)
	}
	if len(s.Value) > room {
		// The core promised len <= room; a longer value is a bug, and a sequence was consumed.
		return fail(fn, client.CodeInternal, "signature of %d characters exceeds room %d", len(s.Value), room)
	}
	putCString(out, s.Value)
	if sequence != nil {
		*sequence = C.uint32_t(s.Sequence)
	}
	return 0
}

//export enosgo_sign
func enosgo_sign(secret *C.char, secretLen C.size_t, token *C.char, tokenLen C.size_t, sequence C.uint32_t, iv *C.uint8_t, out *C.char, outSize C.size_t) (rc C.int) {
	const fn = "enos_sign"
	defer guard(fn, &rc)
	switch {
	case secret == nil:
		return fail(fn, client.CodeInvalid, "device_secret is NULL")
	case token == nil:
		return fail(fn, client.CodeInvalid, "token is NULL (use \"\" for an empty token)")
	case out == nil:
		return fail(fn, client.CodeInvalid, "out is NULL")
	}
	// Views of the C strings, valid for this call only: no copy, no allocation.
	sec := unsafe.String((*byte)(unsafe.Pointer(secret)), int(secretLen))
	tok := unsafe.String((*byte)(unsafe.Pointer(token)), int(tokenLen))
	if sec == "" {
		return fail(fn, client.CodeInvalid, "device_secret is empty")
	}
	if sequence < 1 || sequence > sign.MaxSequence {
		return fail(fn, client.CodeInvalid, "sequence %d is out of range 1..2147483647", uint32(sequence))
	}
	ivb := sign.DefaultIV
	if iv != nil {
		ivb = *(*[16]byte)(unsafe.Pointer(iv))
	}
	need := sign.SignLen(len(tok), uint32(sequence)) + 1
	if uint64(outSize) < uint64(need) {
		return fail(fn, client.CodeBuffer, "out_size %d is too small: need %d bytes (ENOS_SIGN_SIZE(%d) = %d always suffices)",
			uint64(outSize), need, len(tok), sign.MaxSignLen(len(tok))+1)
	}
	// Sign straight into the caller's buffer, which holds need bytes.
	dst := unsafe.Slice((*byte)(unsafe.Pointer(out)), need)
	v, err := signers.AppendSign(dst[:0], sec, ivb, tok, uint32(sequence))
	if err != nil {
		return fail(fn, client.CodeInvalid, "%v", err)
	}
	if len(v) != need-1 || unsafe.SliceData(v) != unsafe.SliceData(dst) {
		// SignLen promised the length and out has room for it: anything else is a bug.
		return fail(fn, client.CodeInternal, "signature of %d characters, expected %d", len(v), need-1)
	}
	dst[need-1] = 0
	return 0
}

// signers keeps the Signers of recent enos_sign calls (core/sign.SignerCache).
var signers sign.SignerCache

//export enosgo_auth_sign
func enosgo_auth_sign(pk, dk, secret *C.char, lifetime C.int32_t, out *C.char, outSize C.size_t) (rc C.int) {
	const fn = "enos_auth_sign"
	defer guard(fn, &rc)
	pkS, rc := cString(fn, "product_key", pk)
	if rc != 0 {
		return rc
	}
	dkS, rc := cString(fn, "device_key", dk)
	if rc != 0 {
		return rc
	}
	secretS, rc := cString(fn, "device_secret", secret)
	if rc != 0 {
		return rc
	}
	if out == nil {
		return fail(fn, client.CodeInvalid, "out is NULL")
	}
	// The lifetime is checked (by the core) before the buffer size.
	v, err := sign.AuthSign(pkS, dkS, secretS, int(lifetime))
	if errors.Is(err, sign.ErrLifetime) {
		return fail(fn, client.CodeInvalid, "lifetime_s %d is out of range 30..86400", int32(lifetime))
	}
	if err != nil {
		return fail(fn, client.CodeInvalid, "%v", err)
	}
	if outSize < sign.AuthSignLen+1 {
		return fail(fn, client.CodeBuffer, "out_size %d is too small: need %d bytes (ENOS_AUTH_SIGN_SIZE)", uint64(outSize), sign.AuthSignLen+1)
	}
	return writeString(fn, out, outSize, v)
}

//export enosgo_close
func enosgo_close(h C.uintptr_t, inHandler C.int, inDoneOf C.uintptr_t) (rc C.int) {
	const fn = "enos_close"
	defer guard(fn, &rc)
	if h == 0 {
		return fail(fn, client.CodeInvalid, "client is NULL")
	}
	c, ok := clients.remove(uint64(h))
	if !ok {
		return fail(fn, client.CodeClosed, "client is already closed or not a client")
	}
	err := c.Close()
	// Outside its own command handler and done callbacks, enos_close returns
	// only once the handler is not running (it is never called again after
	// Close) and every outstanding callback has been called. Inside one,
	// waiting would wait for ourselves.
	if inHandler == 0 {
		c.WaitHandler()
		c.WaitAsyncFrom(uint64(inDoneOf))
	}
	if err != nil && client.CodeOf(err) != client.CodeClosed {
		return failErr(fn, err)
	}
	return 0
}
