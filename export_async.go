// SPDX-License-Identifier: Apache-2.0

package main

/*
#include "export_capi.h"
*/
import "C"

import (
	"unsafe"

	"github.com/libenos/libenos/core/client"
)

//export enosgo_report_async
func enosgo_report_async(h C.uintptr_t, payload unsafe.Pointer, n C.size_t, fn, user C.uintptr_t) (rc C.int) {
	const name = "enos_report_async"
	defer guard(name, &rc)
	c, rc := lookup(name, h)
	if c == nil {
		return rc
	}
	if fn == 0 {
		return fail(name, client.CodeInvalid, "fn is NULL")
	}
	p, rc := cBytes(name, "payload", payload, n)
	if rc != 0 {
		return rc
	}
	if err := c.ReportAsync(p, doneCallback(name, h, fn, user)); err != nil {
		return failErr(name, err)
	}
	return 0
}

//export enosgo_publish_async
func enosgo_publish_async(h C.uintptr_t, topic *C.char, payload unsafe.Pointer, n C.size_t, fn, user C.uintptr_t) (rc C.int) {
	const name = "enos_publish_async"
	defer guard(name, &rc)
	c, rc := lookup(name, h)
	if c == nil {
		return rc
	}
	if fn == 0 {
		return fail(name, client.CodeInvalid, "fn is NULL")
	}
	t, rc := cTopic(name, "topic", "e.g. /sys/{pk}/{dk}/thing/...", topic)
	if rc != 0 {
		return rc
	}
	p, rc := cBytes(name, "payload", payload, n)
	if rc != 0 {
		return rc
	}
	if err := c.PublishAsync(t, p, doneCallback(name, h, fn, user)); err != nil {
		return failErr(name, err)
	}
	return 0
}

// Which client's done callback runs on this thread (its handle, the key the
// core knows it by): a blocking call made from one must not wait for what
// waits for that callback.
func init() {
	client.CallbackProbe = func() uint64 { return uint64(C.enosc_done_handle()) }
}

// doneCallback is the core's completion function for one asynchronous
// request: it calls the C enos_done_fn with the status and last error that the
// blocking call would have given.
func doneCallback(name string, h, fn, user C.uintptr_t) func(client.Outcome, error) {
	return func(out client.Outcome, err error) {
		code, msg := statusOf(name, err)
		if err == nil && out.Queued {
			code, msg = C.ENOS_QUEUED, queuedDetail(out)
		}
		if msg != "" {
			msg = name + ": " + msg
		}
		C.enosc_call_done(fn, user, h, code, (*C.char)(unsafe.Pointer(unsafe.StringData(msg))), C.size_t(len(msg)))
	}
}
