// SPDX-License-Identifier: Apache-2.0

package main

/*
#include "export_capi.h"
#include "export_thing_capi.h"
*/
import "C"

import (
	"time"
	"unsafe"

	"github.com/libenos/libenos/core/client"
)

// The thing-model exports (include/enos.h, "Thing model"): translation only.

// setLastReply records EnOS's reply code and message for
// enos_last_reply_code/enos_last_reply_message on the calling thread.
func setLastReply(code int64, msg string) {
	if code < -1<<31 || code > 1<<31-1 {
		code = -1 // an EnOS code never is; keep the C type honest
	}
	C.enosc_set_last_reply(C.int32_t(code), (*C.char)(unsafe.Pointer(unsafe.StringData(msg))), C.size_t(len(msg)))
}

// failThing reports err and, when EnOS refused the content, its reply code.
func failThing(fn string, err error) C.int {
	if re := client.ReplyErrorOf(err); re != nil {
		setLastReply(re.Code, re.Message)
	}
	return failErr(fn, err)
}

// cJSON reads a JSON argument: NULL is an error, an empty string reaches the
// core, which says it is not a JSON object.
func cJSON(fn, name string, p *C.char) ([]byte, C.int) {
	if p == nil {
		return nil, fail(fn, client.CodeInvalid, "%s is NULL", name)
	}
	return []byte(C.GoString(p)), 0
}

// sampleTime turns time_ms into the core's time (0: the zero time, "now").
func sampleTime(fn string, ms C.int64_t) (time.Time, C.int) {
	switch {
	case ms < 0:
		return time.Time{}, fail(fn, client.CodeInvalid, "time_ms %d is negative (0 means now)", int64(ms))
	case ms == 0:
		return time.Time{}, 0
	}
	return time.UnixMilli(int64(ms)), 0
}

func postResult(fn string, out client.Outcome, err error) C.int {
	switch {
	case err != nil:
		return failThing(fn, err)
	case out.Queued:
		// A success for the caller; the last error says why it waits.
		setLastError(fn, queuedDetail(out))
		return C.ENOS_QUEUED
	}
	setLastReply(200, "")
	return 0
}

//export enosgo_thing_request
func enosgo_thing_request(h C.uintptr_t, method, params *C.char, data *C.char, dataSize C.size_t, dataLen *C.size_t) (rc C.int) {
	const fn = "enos_thing_request"
	defer guard(fn, &rc)
	setLastReply(0, "")
	if dataLen != nil {
		*dataLen = 0
	}
	c, rc := lookup(fn, h)
	if c == nil {
		return rc
	}
	m, rc := cString(fn, "method", method)
	if rc != 0 {
		return rc
	}
	p, rc := cJSON(fn, "params_json", params)
	if rc != 0 {
		return rc
	}
	if data == nil && dataSize != 0 {
		return fail(fn, client.CodeInvalid, "data is NULL but data_size is %d", uint64(dataSize))
	}
	d, err := c.ThingRequest(fromC, m, p)
	if err != nil {
		return failThing(fn, err)
	}
	setLastReply(200, "")
	if dataLen != nil {
		*dataLen = C.size_t(len(d))
	}
	if dataSize > 0 {
		n := min(uint64(len(d)), uint64(dataSize)-1)
		dst := unsafe.Slice((*byte)(unsafe.Pointer(data)), n+1)
		copy(dst, d[:n])
		dst[n] = 0
	}
	return 0
}

//export enosgo_post_measurepoints
func enosgo_post_measurepoints(h C.uintptr_t, measurepoints *C.char, timeMs C.int64_t) (rc C.int) {
	const fn = "enos_post_measurepoints"
	defer guard(fn, &rc)
	setLastReply(0, "")
	c, rc := lookup(fn, h)
	if c == nil {
		return rc
	}
	mp, rc := cJSON(fn, "measurepoints_json", measurepoints)
	if rc != 0 {
		return rc
	}
	t, rc := sampleTime(fn, timeMs)
	if rc != 0 {
		return rc
	}
	out, err := c.PostMeasurepoints(fromC, mp, t)
	return postResult(fn, out, err)
}

//export enosgo_post_event
func enosgo_post_event(h C.uintptr_t, eventID, events *C.char, timeMs C.int64_t) (rc C.int) {
	const fn = "enos_post_event"
	defer guard(fn, &rc)
	setLastReply(0, "")
	c, rc := lookup(fn, h)
	if c == nil {
		return rc
	}
	id, rc := cString(fn, "event_id", eventID)
	if rc != 0 {
		return rc
	}
	ev, rc := cJSON(fn, "events_json", events)
	if rc != 0 {
		return rc
	}
	t, rc := sampleTime(fn, timeMs)
	if rc != 0 {
		return rc
	}
	out, err := c.PostEvent(fromC, id, ev, t)
	return postResult(fn, out, err)
}

//export enosgo_reply_result
func enosgo_reply_result(h C.uintptr_t, topic *C.char, payload unsafe.Pointer, n C.size_t, code C.int32_t, data *C.char) (rc C.int) {
	const fn = "enos_reply_result"
	defer guard(fn, &rc)
	c, rc := lookup(fn, h)
	if c == nil {
		return rc
	}
	t, rc := cTopic(fn, "command_topic", "pass the topic the command came with", topic)
	if rc != 0 {
		return rc
	}
	p, rc := cBytes(fn, "command_payload", payload, n)
	if rc != 0 {
		return rc
	}
	var d []byte
	if data != nil {
		d = []byte(C.GoString(data))
		if len(d) == 0 {
			return fail(fn, client.CodeInvalid, "data_json is empty (pass NULL for {})")
		}
	}
	if err := c.ReplyResult(fromC, t, p, int32(code), d); err != nil {
		return failErr(fn, err)
	}
	return 0
}
