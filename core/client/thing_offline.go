package client

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/libenos/libenos/core/logging"
	"github.com/libenos/libenos/core/queue"
)

// postThing sends a thing-model post (measure points, an event) whose
// envelope body is built already, so its id and sample time are fixed: a
// queued post is delivered later exactly as it was built now.
func (c *Client) postThing(ctx context.Context, method, id string, body []byte) (PostOutcome, error) {
	path := c.thingPath(method)
	if c.off == nil {
		resp, err := c.request(ctx, codes.POST, path, body, nil)
		if err == nil {
			_, err = checkThingReply(method, id, resp.Code, resp.Payload)
		}
		return PostDelivered, err
	}
	if c.closed.Load() {
		return 0, errClosed
	}
	item := queue.Item{Topic: path, Payload: body, Kind: queue.KindThing}
	if n, _ := c.off.q.Len(); n > 0 {
		// Behind earlier undelivered messages, in order.
		if err := c.enqueueItem(item, nil); err != nil {
			return 0, err
		}
		return PostQueued, nil
	}
	var memo resend
	resp, err := c.request(ctx, codes.POST, path, body, &memo)
	if err == nil {
		_, err = checkThingReply(method, id, resp.Code, resp.Payload)
		return PostDelivered, err
	}
	if !retryable(err) {
		return 0, err
	}
	kept := memo
	if qerr := c.enqueueItem(item, &kept); qerr != nil {
		var e *Error
		errors.As(qerr, &e)
		return 0, &Error{Code: e.Code, Msg: e.Msg + " (delivery failed: " + err.Error() + ")", Err: e.Err}
	}
	c.logf(logging.Debug, "%s queued for later delivery: %v", method, err)
	return PostQueued, nil
}

// refusedQueued judges EnOS's 2.xx answer to a queued item: a thing-model
// post whose JSON reply is not code 200 (or is no thing-model reply) was
// refused. It is dropped, counted and logged, never retried: EnOS would
// refuse the same content again.
func (c *Client) refusedQueued(it queue.Item, resp Response) bool {
	if it.Kind != queue.KindThing {
		return false
	}
	var env struct {
		ID     string `json:"id"`
		Method string `json:"method"`
	}
	_ = json.Unmarshal(it.Payload, &env) // built by thing.Measurepoints/Event: valid
	if _, err := checkThingReply(env.Method, env.ID, resp.Code, resp.Payload); err != nil {
		c.logf(logging.Error, "dropping a queued %s (id %s) after delivery: %v", env.Method, env.ID, err)
		return true
	}
	return false
}
