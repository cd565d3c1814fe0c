// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"encoding/json"

	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/libenos/libenos/core/logging"
	"github.com/libenos/libenos/core/queue"
)

// postThing sends a thing-model post (measure points, an event) whose
// envelope body is built already, so its id and sample time are fixed: a
// queued post is delivered later exactly as it was built now.
func (c *Client) postThing(ctx context.Context, method, id string, body []byte) (Outcome, error) {
	path := c.thingPath(method)
	check := func(resp Response) error {
		_, err := checkThingReply(method, id, resp.Code, resp.Payload)
		return err
	}
	if c.offlineQueue == nil {
		resp, err := c.request(ctx, codes.POST, path, body, nil)
		if err == nil {
			err = check(resp)
		}
		return Outcome{}, err
	}
	return c.deliverOrQueue(ctx, queue.Item{Topic: path, Payload: body, Kind: queue.KindThing}, check)
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
