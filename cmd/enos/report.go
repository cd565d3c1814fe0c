// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/libenos/libenos/core/client"
)

var cmdReport = &subcommand{
	name:    "report",
	summary: "send a report (up_raw) or a message to any topic",
	usage:   "report [flags] PAYLOAD | --file FILE | -",
	help: `Sends one message, by default a pass-through report: POST
/topic/sys/{productKey}/{deviceKey}/thing/model/up_raw, authenticating first
and signing with option 2101 as the connection flags say.

The payload is exactly one of: the argument PAYLOAD, the contents of
--file FILE, or standard input ("-" as the argument, or --file -).

Flags:
  --file FILE        read the payload from FILE ("-" = standard input)
  --hex              the payload is hex (whitespace ignored), for binary data
  --topic TOPIC      post to TOPIC instead of up_raw and print EnOS's answer:
                     the CoAP code on one line, then the reply payload. TOPIC is
                     an MQTT topic, e.g. /sys/{pk}/{dk}/thing/measurepoint/post;
                     {pk}/{productKey} and {dk}/{deviceKey} are replaced, and a
                     topic without a leading "/" is taken relative to
                     /sys/{pk}/{dk}/ (e.g. thing/event/alarm/post).
                     A reply in EnOS's JSON format whose "code" is not 200
                     (EnOS refusing the content of a thing-model message,
                     e.g. 1220 or 1204, still with 2.04) exits 6 with the
                     code and message on stderr; enos measurepoints, event
                     and attributes build those messages for you
  --count N          send the payload N times (default 1); failures other
                     than a refused authentication do not stop the run
  --interval D       wait D between two sends (default 1s)
  --flush-timeout D  with --state-dir: first deliver the reports earlier runs
                     left in the offline queue, waiting at most D for them
                     (default 30s; 0 = do not wait), and no longer once a
                     delivery attempt fails. Reports are delivered in order:
                     if some still wait then, the new report is queued behind
                     them (exit 0, "queued")

With --state-dir, a report that cannot be delivered now (network error,
timeout, 5.xx) is kept in the offline queue in that directory: enos prints
"queued ..." and exits 0. The next report run with the same --state-dir
delivers it, then its own report.

Output: one line per message on stdout; with --count above 1 a summary on
stderr. The exit code is that of the first failure.

Examples:
  enos report '{"temp":21.5}'
  enos report --hex 'A1 02 00 ff'
  sensor-read | enos report -
  enos report --topic thing/measurepoint/post --file mp.json
  enos report --count 10 --interval 30s 'ping'
`,
	connection: true,
	setup: func(inv *invocation) ([]cli.Flag, runFunc) {
		o := reportOpts{count: 1, interval: time.Second, flushTimeout: defaultFlushTimeout}
		flags := []cli.Flag{
			&cli.StringFlag{Name: "file", Destination: &o.file},
			&cli.StringFlag{Name: "topic", Destination: &o.topic},
			&cli.IntFlag{Name: "count", Value: o.count, Destination: &o.count},
			&cli.DurationFlag{Name: "interval", Value: o.interval, Destination: &o.interval},
			&cli.DurationFlag{Name: "flush-timeout", Value: o.flushTimeout, Destination: &o.flushTimeout},
			&cli.BoolFlag{Name: "hex", Destination: &o.isHex},
		}
		return flags, func(ctx context.Context, args []string) error {
			payload, err := readPayload(inv, args, o.file, o.isHex)
			if err != nil {
				return err
			}
			switch {
			case o.count < 1:
				return usagef("--count %d: want 1 or more", o.count)
			case o.interval < 0:
				return usagef("--interval %v: must not be negative", o.interval)
			case o.flushTimeout < 0:
				return usagef("--flush-timeout %v: must not be negative", o.flushTimeout)
			}
			return runReport(ctx, inv, payload, &o)
		}
	},
}

// reportOpts are the flags of enos report.
type reportOpts struct {
	file, topic            string
	count                  int
	interval, flushTimeout time.Duration
	isHex                  bool
}

// readPayload takes the payload from exactly one of: the argument, --file, stdin.
func readPayload(inv *invocation, args []string, file string, isHex bool) ([]byte, error) {
	var p []byte
	var err error
	switch {
	case len(args) > 1:
		return nil, usagef("one payload argument expected, got %d (quote the payload)", len(args))
	case len(args) == 1 && file != "":
		return nil, usagef("give the payload as an argument or with --file, not both")
	case len(args) == 0 && file == "":
		return nil, usagef("no payload: give it as an argument, with --file FILE, or \"-\" for standard input")
	case len(args) == 1 && args[0] == "-", file == "-":
		p, err = io.ReadAll(inv.stdin)
		if err != nil {
			return nil, fmt.Errorf("reading standard input: %v", err)
		}
	case file != "":
		p, err = os.ReadFile(file)
		if err != nil {
			return nil, &exitError{code: exitOther, err: err}
		}
	default:
		p = []byte(args[0])
	}
	if isHex {
		h := strings.Join(strings.Fields(string(p)), "")
		h = strings.TrimPrefix(strings.TrimPrefix(h, "0x"), "0X")
		b, err := hex.DecodeString(h)
		if err != nil {
			return nil, usagef("--hex: payload is not hex: %v", err)
		}
		p = b
	}
	return p, nil
}

// expandTopic fills in {pk}/{dk} and makes a relative topic absolute.
func expandTopic(t, pk, dk string) string {
	t = strings.NewReplacer("{pk}", pk, "{productKey}", pk, "{dk}", dk, "{deviceKey}", dk).Replace(t)
	if t != "" && !strings.HasPrefix(t, "/") {
		t = "/sys/" + pk + "/" + dk + "/" + t
	}
	return t
}

// defaultFlushTimeout bounds the wait of a report run for what earlier runs
// queued: long enough for a backlog on a working link, short enough for cron.
const defaultFlushTimeout = 30 * time.Second

func runReport(parent context.Context, inv *invocation, payload []byte, o *reportOpts) error {
	topic, count := o.topic, o.count
	c, err := inv.openClient()
	if err != nil {
		return err
	}
	cfg := c.Config()
	defer c.Close()
	defer inv.logStats(c)
	defer inv.warnUnhandled(c)
	ctx, cancel := inv.withTimeout(parent)
	defer cancel()

	if topic != "" {
		topic = expandTopic(topic, cfg.ProductKey, cfg.DeviceKey)
	}
	shown := topic
	if shown == "" {
		shown = "/sys/" + cfg.ProductKey + "/" + cfg.DeviceKey + "/thing/model/up_raw"
	}
	if err := inv.flushQueue(ctx, c, o.flushTimeout); err != nil {
		return interrupted(parent, err)
	}
	var first error
	ok, queued, failed := 0, 0, 0
	for i := 1; i <= count; i++ {
		if i > 1 && o.interval > 0 {
			t := time.NewTimer(o.interval)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		if ctx.Err() != nil {
			if first == nil {
				first = interrupted(parent, ctxErr(ctx))
			}
			break
		}
		prefix := ""
		if count > 1 {
			prefix = fmt.Sprintf("[%d/%d] ", i, count)
		}
		start := time.Now()
		var resp *client.Response
		var out client.Outcome
		if topic == "" {
			out, err = c.Report(ctx, payload)
		} else {
			resp, err = c.Publish(ctx, topic, payload)
		}
		elapsed := roundDur(time.Since(start))
		if err == nil && resp != nil {
			err = jsonReplyRefusal(resp.Code, resp.Payload)
		}
		if resp != nil {
			fmt.Fprintf(inv.stdout, "%s%s\n", prefix, codeText(resp.Code))
			if len(resp.Payload) > 0 {
				_, _ = inv.stdout.Write(resp.Payload)
				if resp.Payload[len(resp.Payload)-1] != '\n' {
					fmt.Fprintln(inv.stdout)
				}
			}
		}
		if err != nil {
			failed++
			err = interrupted(parent, err)
			if first == nil {
				first = err
			}
			if count > 1 {
				inv.warnf("%s%v", prefix, err)
			}
			switch client.CodeOf(err) {
			case client.CodeAuth, client.CodeInvalid, client.CodeClosed, client.CodeInternal:
				i = count // no point in going on
			}
			if parent.Err() != nil {
				break
			}
			continue
		}
		if out.Queued {
			queued++
			fmt.Fprintf(inv.stdout, "%squeued %d bytes for %s (not delivered now: %s)\n", prefix, len(payload), shown, inv.redact(out.Cause.Error()))
			continue
		}
		ok++
		if resp == nil {
			fmt.Fprintf(inv.stdout, "%sreported %d bytes to %s\n", prefix, len(payload), shown)
		}
		inv.logf("%sanswered in %v", prefix, elapsed)
	}
	if count > 1 {
		inv.warnf("%d of %d messages accepted, %d queued, %d failed", ok, count, queued, failed)
	}
	if first != nil && count > 1 {
		// Already printed per message; exit with the first failure's code
		// without printing it twice.
		return &quietError{code: exitCode(first), err: first}
	}
	return first
}

// flushQueue delivers what earlier runs left in the offline queue of
// --state-dir before the run's own reports, so that a one-shot run drains the
// queue and its report then goes straight out. It waits at most flushTimeout,
// and stops early when a delivery attempt fails (the server is still out of
// reach: waiting for the queue's next retry would only delay the run). If
// reports still wait then, new reports are queued behind them: a success,
// reported as "queued". Only the end of ctx (--timeout, a signal) is an error.
func (inv *invocation) flushQueue(ctx context.Context, c *client.Client, flushTimeout time.Duration) error {
	// The client is this run's and has sent nothing of its own yet: what its
	// queue holds, and what its worker (started when the client opened the
	// queue) may have delivered or dropped already, came from earlier runs.
	before := c.Stats()
	earlier := before.Queued + before.QueueDelivered + before.QueueDropped
	if earlier == 0 {
		return nil
	}
	inv.logf("offline queue: %d reports from earlier runs; delivering them first (--flush-timeout %v)", earlier, flushTimeout)
	fctx, cancel := context.WithTimeout(ctx, flushTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Flush(fctx) }()
	// Stop at the first delivery the queue keeps for a retry (the client is
	// this run's: every retry it counts happened in this run).
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var err error
	for waiting := true; waiting; {
		select {
		case err = <-done:
			waiting = false
		case <-tick.C:
			if c.Stats().QueueRetries > 0 {
				cancel() // Flush returns at once
			}
		}
	}
	st := c.Stats()
	delivered, dropped := st.QueueDelivered, st.QueueDropped
	switch {
	case err == nil:
		inv.logf("offline queue: delivered %d queued reports", delivered)
	case ctx.Err() != nil:
		return ctxErr(ctx)
	case client.CodeOf(err) == client.CodeTimeout:
		why := fmt.Sprintf("after --flush-timeout %v", flushTimeout)
		if st.QueueRetries > 0 {
			why = "the server is still out of reach"
		}
		inv.warnf("offline queue: delivered %d of %d earlier reports, %d still wait (%s); new reports go behind them",
			delivered, earlier, st.Queued, why)
	default:
		return err
	}
	if dropped > 0 {
		inv.warnf("offline queue: EnOS refused %d queued reports for good; they were dropped", dropped)
	}
	return nil
}

func ctxErr(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &client.Error{Code: client.CodeTimeout, Msg: "--timeout reached"}
	}
	return &client.Error{Code: client.CodeTimeout, Msg: "cancelled"}
}

// codeNames names the CoAP codes EnOS may answer with.
var codeNames = map[string]string{
	"2.01": "Created", "2.02": "Deleted", "2.03": "Valid", "2.04": "Changed", "2.05": "Content",
	"4.00": "Bad Request", "4.01": "Unauthorized", "4.02": "Bad Option", "4.03": "Forbidden",
	"4.04": "Not Found", "4.05": "Method Not Allowed", "4.06": "Not Acceptable",
	"4.12": "Precondition Failed", "4.13": "Request Entity Too Large", "4.15": "Unsupported Content-Format",
	"5.00": "Internal Server Error", "5.01": "Not Implemented", "5.02": "Bad Gateway",
	"5.03": "Service Unavailable", "5.04": "Gateway Timeout",
}

// codeText renders a CoAP code with its name, inv.g. "2.04 Changed".
func codeText(code uint8) string {
	s := client.CodeString(code)
	if n, ok := codeNames[s]; ok {
		return s + " " + n
	}
	return s
}
