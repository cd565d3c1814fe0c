// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"

	"github.com/urfave/cli/v3"

	"github.com/libenos/libenos/core/client"
	"github.com/libenos/libenos/core/thing"
)

var cmdEvent = &subcommand{
	name:    "event",
	summary: "post an event (JSON thing model, thing.event.ID.post)",
	usage:   "event [flags] ID [NAME=VALUE...] [--json JSON]",
	help: `Posts the event ID with its output parameters using EnOS's JSON thing
model: {"id","version":"1.0","method":"thing.event.ID.post","params":
{"events":{...},"time":MS}} to /sys/{pk}/{dk}/thing/event/ID/post, and
prints EnOS's reply. ID must be a TSL identifier; an event may have no
parameters. A reply code other than 200 (e.g. 1204, "Model validate
failed") means EnOS refused the content (exit 6, its code and message on
stderr). Invalid input is refused before anything is sent (exit 2).

` + thingPostValues + `

Flags:
` + thingPostFlagsHelp + `
With --state-dir, an event that cannot be delivered now is queued like a
report ("queued ...", exit 0), with its time.

Examples:
  enos event overheat level=3 note='over limit'
  enos event --time 2026-11-27T22:00:00Z overheat level=2
`,
	connection: true,
	setup: func(inv *invocation) ([]cli.Flag, runFunc) {
		var o thingPostOpts
		return o.flags(), func(ctx context.Context, args []string) error {
			t, err := o.check()
			if err != nil {
				return err
			}
			if len(args) == 0 {
				return usagef("no event id: enos event ID [name=value...]")
			}
			id := args[0]
			if err := thing.CheckIdentifier("event id", id); err != nil {
				return usagef("%v", err)
			}
			ev, err := thingObject(inv, "event parameter", o.json, args[1:], true)
			if err != nil {
				return err
			}
			return runThingPost(ctx, inv, &o, thing.EventMethod(id),
				func(ctx context.Context, c *client.Client) (client.Outcome, error) {
					return c.PostEvent(ctx, id, ev, t)
				})
		}
	},
}
