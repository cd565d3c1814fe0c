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

	"github.com/libenos/libenos/core/client"
)

var cmdReport = &command{
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
                     /sys/{pk}/{dk}/ (e.g. thing/event/alarm/post)
  --count N          send the payload N times (default 1); failures other
                     than a refused authentication do not stop the run
  --interval D       wait D between two sends (default 1s)

Output: one line per message on stdout; with --count above 1 a summary on
stderr. The exit code is that of the first failure.

Examples:
  enos report '{"temp":21.5}'
  enos report --hex 'A1 02 00 ff'
  sensor-read | enos report -
  enos report --topic thing/measurepoint/post --file mp.json
  enos report --count 10 --interval 30s 'ping'
`,
	setup: func(e *env) runFunc {
		e.addCommon()
		file := e.fs.String("file", "", "")
		topic := e.fs.String("topic", "", "")
		count := e.fs.Int("count", 1, "")
		interval := e.fs.Duration("interval", time.Second, "")
		isHex := e.fs.Bool("hex", false, "")
		return func(ctx context.Context, args []string) error {
			payload, err := readPayload(e, args, *file, *isHex)
			if err != nil {
				return err
			}
			if *count < 1 {
				return usagef("--count %d: want 1 or more", *count)
			}
			if *interval < 0 {
				return usagef("--interval %v: must not be negative", *interval)
			}
			return runReport(ctx, e, payload, *topic, *count, *interval)
		}
	},
}

// readPayload takes the payload from exactly one of: the argument, --file, stdin.
func readPayload(e *env, args []string, file string, isHex bool) ([]byte, error) {
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
		p, err = io.ReadAll(e.stdin)
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

func runReport(parent context.Context, e *env, payload []byte, topic string, count int, interval time.Duration) error {
	c, err := e.openClient()
	if err != nil {
		return err
	}
	cfg := c.Config()
	defer c.Close()
	defer e.logStats(c)
	defer e.warnUnhandled(c)
	ctx, cancel := e.withTimeout(parent)
	defer cancel()

	if topic != "" {
		topic = expandTopic(topic, cfg.ProductKey, cfg.DeviceKey)
	}
	shown := topic
	if shown == "" {
		shown = "/sys/" + cfg.ProductKey + "/" + cfg.DeviceKey + "/thing/model/up_raw"
	}
	var first error
	ok, failed := 0, 0
	for i := 1; i <= count; i++ {
		if i > 1 && interval > 0 {
			t := time.NewTimer(interval)
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
		if topic == "" {
			err = c.Report(ctx, payload)
		} else {
			resp, err = c.Publish(ctx, topic, payload)
		}
		elapsed := roundDur(time.Since(start))
		if resp != nil {
			fmt.Fprintf(e.stdout, "%s%s\n", prefix, codeText(resp.Code))
			if len(resp.Payload) > 0 {
				_, _ = e.stdout.Write(resp.Payload)
				if resp.Payload[len(resp.Payload)-1] != '\n' {
					fmt.Fprintln(e.stdout)
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
				e.warnf("%s%v", prefix, err)
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
		ok++
		if resp == nil {
			fmt.Fprintf(e.stdout, "%sreported %d bytes to %s\n", prefix, len(payload), shown)
		}
		e.logf("%sanswered in %v", prefix, elapsed)
	}
	if count > 1 {
		e.warnf("%d of %d messages accepted, %d failed", ok, count, failed)
	}
	if first != nil && count > 1 {
		// Already printed per message; exit with the first failure's code
		// without printing it twice.
		return &quietError{code: exitCode(first), err: first}
	}
	return first
}

// quietError is an error whose message was already printed.
type quietError struct {
	code int
	err  error
}

func (q *quietError) Error() string { return q.err.Error() }
func (q *quietError) Unwrap() error { return q.err }

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

// codeText renders a CoAP code with its name, e.g. "2.04 Changed".
func codeText(code uint8) string {
	s := client.CodeString(code)
	if n, ok := codeNames[s]; ok {
		return s + " " + n
	}
	return s
}
