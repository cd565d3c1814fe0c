// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"github.com/libenos/libenos/core/client"

	"github.com/urfave/cli/v3"

	"github.com/libenos/libenos/core/thing"
)

var cmdAttributes = &subcommand{
	name:    "attributes",
	summary: "read or update attributes (JSON thing model)",
	usage:   "attributes get [flags] [NAME...]\n       enos attributes set [flags] NAME=VALUE... | --json JSON",
	help: `Reads or updates the device's attributes with EnOS's JSON thing model.

get NAME...   thing.attribute.query with {"attributes":["NAME",...]} (no
              NAME: all attributes); prints the values EnOS returns, one
              NAME=VALUE line each, VALUE as JSON (strings quoted)
set NAME=VALUE...
              thing.attribute.update with {"attributes":{...}}; prints "ok"

` + thingPostValues + `

A reply code other than 200 (e.g. 1204, "Model validate failed") means EnOS
refused the request (exit 6, its code and message on stderr). Invalid input
is refused before anything is sent (exit 2). Attribute requests need EnOS's
answer now: they never go through the offline queue.

Flags:
  --json JSON        set: a whole JSON object of attributes ("-" = read it
                     from standard input); name=value arguments are added
  --format FORMAT    text (default) or json: get prints the reply's data
                     object, set prints it too ({} from the simulator); a
                     refusal prints {"code":1204,"message":"..."} on stdout

Examples:
  enos attributes set name='pump 1' rated=230.5
  enos attributes get rated name
  enos attributes get --format json
`,
	connection: true,
	setup: func(inv *invocation) ([]cli.Flag, runFunc) {
		var jsonFlag string
		format := "text"
		flags := []cli.Flag{
			&cli.StringFlag{Name: "json", Destination: &jsonFlag},
			&cli.StringFlag{Name: "format", Value: format, Destination: &format},
		}
		return flags, func(ctx context.Context, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			if len(args) == 0 || (args[0] != "get" && args[0] != "set") {
				return usagef("want 'enos attributes get [NAME...]' or 'enos attributes set NAME=VALUE...'")
			}
			var method string
			var params []byte
			if args[0] == "get" {
				if jsonFlag != "" {
					return usagef("--json is for attributes set")
				}
				names := args[1:]
				for _, n := range names {
					if err := thing.CheckIdentifier("attribute name", n); err != nil {
						return usagef("%v", err)
					}
				}
				if names == nil {
					names = []string{}
				}
				method = thing.MethodAttributeQuery
				params = marshalJSON(map[string][]string{"attributes": names})
			} else {
				obj, err := thingObject(inv, "attribute", jsonFlag, args[1:], false)
				if err != nil {
					return err
				}
				method = thing.MethodAttributeUpdate
				params = marshalJSON(map[string]json.RawMessage{"attributes": obj})
			}
			return runThingRequest(ctx, inv, thingFormat{inv: inv, json: format == "json"}, method, params, args[0] == "set")
		}
	},
}

// runThingRequest sends one thing-model request and prints the data of
// EnOS's reply ("ok" for an update without data).
func runThingRequest(parent context.Context, inv *invocation, f thingFormat, method string, params []byte, update bool) error {
	return inv.withClient(parent, func(ctx context.Context, c *client.Client) error {
		data, err := c.ThingRequest(ctx, method, params)
		if err != nil {
			return interrupted(parent, f.failed(err))
		}
		ifEmpty := ""
		if update {
			ifEmpty = "ok"
		}
		f.data(data, ifEmpty)
		return nil
	})
}
