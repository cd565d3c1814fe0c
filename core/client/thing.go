// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/libenos/libenos/core/thing"
)

// ReplyError is EnOS refusing the content of a thing-model request: its JSON
// reply carried a code other than 200 (e.g. 1204, "Model validate failed").
// It is the Err of an *Error with Code CodeRejected.
type ReplyError struct {
	Method  string
	Code    int64  // EnOS's code from the reply
	Message string // EnOS's message, printable ASCII, possibly shortened
}

func (e *ReplyError) Error() string {
	s := "EnOS refused " + e.Method + " with code " + strconv.FormatInt(e.Code, 10)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// ReplyErrorOf returns the ReplyError inside err, or nil.
func ReplyErrorOf(err error) *ReplyError {
	var re *ReplyError
	if errors.As(err, &re) {
		return re
	}
	return nil
}

// nextThingID returns a message id unique within this client.
func (c *Client) nextThingID() string {
	return strconv.FormatUint(c.thingIDs.Add(1), 10)
}

// thingPath is the CoAP path of method's topic.
func (c *Client) thingPath(method string) string {
	return "/topic/sys/" + c.cfg.ProductKey + "/" + c.cfg.DeviceKey + "/" + thing.TopicSuffix(method)
}

// checkThingReply judges EnOS's JSON reply to the request id of method.
func checkThingReply(method, id string, coap uint8, payload []byte) (thing.Reply, error) {
	r, err := thing.ParseReply(payload, id)
	if err != nil {
		return r, &Error{Code: CodeRejected, CoAP: coap,
			Msg: "EnOS answered " + CodeString(coap) + " to " + method + " but not with a thing-model reply" + detail(payload), Err: err}
	}
	if !r.OK() {
		re := &ReplyError{Method: method, Code: r.Code, Message: printable(r.Message, 200)}
		return r, &Error{Code: CodeRejected, CoAP: coap, Msg: "thing-model request refused", Err: re}
	}
	return r, nil
}

// ThingRequest sends the thing-model request method (e.g.
// "thing.attribute.query") with params (one JSON object) and returns the
// "data" of EnOS's reply as compact JSON ("{}" when the reply has none). A
// reply code other than 200 is an *Error with Code CodeRejected wrapping a
// *ReplyError. It never goes through the offline queue: its answer is needed now.
func (c *Client) ThingRequest(ctx context.Context, method string, params []byte) ([]byte, error) {
	id := c.nextThingID()
	body, err := thing.Request(id, method, params)
	if err != nil {
		return nil, &Error{Code: CodeInvalid, Msg: "thing-model request", Err: err}
	}
	resp, err := c.request(ctx, codes.POST, c.thingPath(method), body, nil)
	if err != nil {
		return nil, err
	}
	r, err := checkThingReply(method, id, resp.Code, resp.Payload)
	if err != nil {
		return nil, err
	}
	return r.Data, nil
}

// sampleTime is t in ms since the epoch; the zero time means now.
func sampleTime(t time.Time) int64 {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UnixMilli()
}

// PostMeasurepoints posts thing.measurepoint.post with measurepoints (a JSON
// object keyed by TSL identifiers) sampled at t (zero: now, taken at this
// call and kept through the offline queue). With a state directory it goes
// through the offline queue exactly like Report.
func (c *Client) PostMeasurepoints(ctx context.Context, measurepoints []byte, t time.Time) (Outcome, error) {
	id := c.nextThingID()
	body, err := thing.Measurepoints(id, measurepoints, sampleTime(t))
	if err != nil {
		return Outcome{}, &Error{Code: CodeInvalid, Msg: "measure points", Err: err}
	}
	return c.postThing(ctx, thing.MethodMeasurepointPost, id, body)
}

// PostEvent posts thing.event.{eventID}.post with the event's output
// parameters events (a JSON object) at t, like PostMeasurepoints.
func (c *Client) PostEvent(ctx context.Context, eventID string, events []byte, t time.Time) (Outcome, error) {
	id := c.nextThingID()
	body, err := thing.Event(id, eventID, events, sampleTime(t))
	if err != nil {
		return Outcome{}, &Error{Code: CodeInvalid, Msg: "event", Err: err}
	}
	return c.postThing(ctx, thing.EventMethod(eventID), id, body)
}

// ReplyResult answers the thing-model command that arrived on commandTopic
// with payload command: {"id": the command's id, "code": code, "data": data
// (a JSON object; empty means {})}, posted to commandTopic + "_reply".
func (c *Client) ReplyResult(ctx context.Context, commandTopic string, command []byte, code int32, data []byte) error {
	body, err := thing.CommandReply(command, code, data)
	if err != nil {
		return &Error{Code: CodeInvalid, Msg: "command reply", Err: err}
	}
	_, err = c.Reply(ctx, commandTopic, body)
	return err
}

// printable returns s with every byte outside printable ASCII as '?',
// shortened to max bytes: EnOS's message goes into logs and C strings.
func printable(s string, maxLen int) string {
	b := []byte(s)
	if len(b) > maxLen {
		b = append(b[:maxLen], "..."...)
	}
	for i, ch := range b {
		if ch < ' ' || ch >= 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}
