// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/libenos/libenos/core/client"
)

// thingPostOpts are the flags enos measurepoints and enos event share.
type thingPostOpts struct {
	json, time, format string
	flushTimeout       time.Duration
}

// thingPostFlagsHelp documents thingPostOpts in both help texts.
const thingPostFlagsHelp = `  --json JSON        a whole JSON object of names and values ("-" = read it
                     from standard input); name=value arguments are added
  --time T           the sample time: milliseconds since 1970, or RFC 3339
                     (2026-11-27T22:00:00.5Z); default: now (taken when enos
                     starts, and kept if the post is queued)
  --format FORMAT    text (default): "ok", "queued ..." or, for a refusal,
                     EnOS's code and message on stderr; json: {"code":200},
                     {"queued":true,"cause":"..."} or {"code":1204,
                     "message":"..."} on stdout
  --flush-timeout D  with --state-dir: first deliver what earlier runs left
                     in the offline queue, as enos report does (default 30s)
`

// thingPostValues is how name=value arguments become JSON, in both help texts.
const thingPostValues = `Each name=value becomes one member of the JSON object: a JSON number
(21.5, -3, 1e3) stays a number, true and false are booleans, anything else
is a string (quote it for the shell: note='over limit'). Names must be TSL
identifiers (letters, digits, '_'; not starting with a digit). Anything
else, such as {"value":1.0,"quality":9}, goes in --json.`

func (o *thingPostOpts) flags() []cli.Flag {
	o.format, o.flushTimeout = "text", defaultFlushTimeout
	return []cli.Flag{
		&cli.StringFlag{Name: "json", Destination: &o.json},
		&cli.StringFlag{Name: "time", Destination: &o.time},
		&cli.StringFlag{Name: "format", Value: o.format, Destination: &o.format},
		&cli.DurationFlag{Name: "flush-timeout", Value: o.flushTimeout, Destination: &o.flushTimeout},
	}
}

// check validates the flags and returns the sample time.
func (o *thingPostOpts) check() (time.Time, error) {
	if err := checkFormat(o.format); err != nil {
		return time.Time{}, err
	}
	if o.flushTimeout < 0 {
		return time.Time{}, usagef("--flush-timeout %v: must not be negative", o.flushTimeout)
	}
	t, err := parseSampleTime(o.time)
	if err == nil && t.IsZero() {
		t = time.Now() // before connecting: the time the operator ran enos
	}
	return t, err
}

// runThingPost connects, delivers the offline queue of earlier runs, sends
// one post with send and prints the outcome.
func runThingPost(parent context.Context, inv *invocation, o *thingPostOpts, method string,
	send func(context.Context, *client.Client) (client.Outcome, error)) error {
	f := thingFormat{inv: inv, json: o.format == "json"}
	return inv.withClient(parent, func(ctx context.Context, c *client.Client) error {
		if err := inv.flushQueue(ctx, c, o.flushTimeout); err != nil {
			return interrupted(parent, err)
		}
		out, err := send(ctx, c)
		if err != nil {
			return interrupted(parent, f.failed(err))
		}
		f.posted(method, out)
		return nil
	})
}
