// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/libenos/libenos/core/client"
)

// thingFormat is how a thing-model subcommand prints EnOS's reply.
type thingFormat struct {
	inv  *invocation
	json bool // --format json
}

// printJSON writes v as one line of JSON on stdout.
func (f thingFormat) printJSON(v any) {
	b, _ := json.Marshal(v) // maps of strings and raw JSON always marshal
	fmt.Fprintf(f.inv.stdout, "%s\n", b)
}

// failed prints EnOS's refusal (a JSON reply with a code other than 200)
// with --format json as {"code":...,"message":...} on stdout, and returns
// err for the "enos: ..." line on stderr and exit 6. Other errors are
// returned as they are.
func (f thingFormat) failed(err error) error {
	if re := client.ReplyErrorOf(err); re != nil && f.json {
		f.printJSON(struct {
			Code    int64  `json:"code"`
			Message string `json:"message"`
		}{re.Code, f.inv.redact(re.Message)})
	}
	return err
}

// posted prints the outcome of a post (measure points, an event): "ok", or
// "queued ..." when it waits in the offline queue; with --format json
// {"code":200} or {"queued":true,"cause":"..."}.
func (f thingFormat) posted(method string, out client.Outcome) {
	cause := ""
	if out.Cause != nil {
		cause = f.inv.redact(out.Cause.Error())
	}
	switch {
	case f.json && out.Queued:
		f.printJSON(map[string]any{"queued": true, "cause": cause})
	case f.json:
		f.printJSON(map[string]int{"code": 200})
	case out.Queued:
		fmt.Fprintf(f.inv.stdout, "queued %s (not delivered now: %s)\n", method, cause)
	default:
		fmt.Fprintln(f.inv.stdout, "ok")
	}
}

// data prints the "data" of EnOS's reply: with --format json as it is, else
// one name=value line per member (the value as JSON, so that a string
// "21.5" and the number 21.5 differ), or ifEmpty if there is none.
func (f thingFormat) data(data []byte, ifEmpty string) {
	if f.json {
		fmt.Fprintf(f.inv.stdout, "%s\n", data)
		return
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil {
		fmt.Fprintf(f.inv.stdout, "%s\n", data) // not an object: show it whole
		return
	}
	if len(obj) == 0 {
		if ifEmpty != "" {
			fmt.Fprintln(f.inv.stdout, ifEmpty)
		}
		return
	}
	names := make([]string, 0, len(obj))
	for n := range obj {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(f.inv.stdout, "%s=%s\n", n, obj[n])
	}
}
