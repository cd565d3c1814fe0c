// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"

	"github.com/urfave/cli/v3"

	"github.com/libenos/libenos/core/client"
	"github.com/libenos/libenos/core/thing"
)

var cmdMeasurepoints = &subcommand{
	name:    "measurepoints",
	summary: "post measure points (JSON thing model, thing.measurepoint.post)",
	usage:   "measurepoints [flags] NAME=VALUE... | --json JSON",
	help: `Posts measure points with EnOS's JSON thing model: the request
{"id","version":"1.0","method":"thing.measurepoint.post","params":
{"measurepoints":{...},"time":MS}} to /sys/{pk}/{dk}/thing/measurepoint/post,
and prints EnOS's reply. EnOS checks the names and values against the
product's model: a reply code other than 200 (e.g. 1204, "Model validate
failed") means EnOS refused the content (exit 6, its code and message on
stderr). An invalid name or value is refused before anything is sent (exit 2).

` + thingPostValues + `

Flags:
` + thingPostFlagsHelp + `
With --state-dir, measure points that cannot be delivered now are kept in
the offline queue like reports (enos prints "queued ..." and exits 0), with
their sample time; a later run delivers them. If EnOS then refuses them,
they are dropped and counted, never retried.

Examples:
  enos measurepoints temp=21.5 Power=3
  enos measurepoints --time 1700000000000 temp=21.5
  enos measurepoints --json '{"Power":{"value":1.0,"quality":9}}'
  sensor-read-json | enos measurepoints --json - --format json
`,
	connection: true,
	setup: func(inv *invocation) ([]cli.Flag, runFunc) {
		var o thingPostOpts
		return o.flags(), func(ctx context.Context, args []string) error {
			t, err := o.check()
			if err != nil {
				return err
			}
			mp, err := thingObject(inv, "measure point", o.json, args, false)
			if err != nil {
				return err
			}
			return runThingPost(ctx, inv, &o, thing.MethodMeasurepointPost,
				func(ctx context.Context, c *client.Client) (client.Outcome, error) {
					return c.PostMeasurepoints(ctx, mp, t)
				})
		}
	},
}
