// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/urfave/cli/v3"

	"github.com/libenos/libenos/core/client"
)

var cmdListen = &subcommand{
	name:    "listen",
	summary: "poll for commands, print each one, optionally reply",
	usage:   "listen [--poll-interval D] [--format text|json] [--reply TEXT | --reply-echo] [--count N] [connection flags]",
	help: `Authenticates, then polls EnOS for commands (a signed GET of
/topic/sys/{pk}/{dk}/thing/model/down_raw) every --poll-interval and prints
each command as it arrives, one line each on stdout. EnOS also announces
commands in the answer to any other request; those are printed too.

Stops on SIGINT or SIGTERM (exit 0), after --count commands (exit 0), or at
--timeout (exit 0, or 4 if --count commands had not arrived). A summary goes
to stderr. Transient errors while polling are printed and polling goes on
(the client authenticates again as needed); a refused authentication stops.

Flags:
  --poll-interval D   time between two polls (default 5s)
  --format FORMAT     text (default): time, topic, payload and the reply
                      status, separated by tabs; a payload that is not
                      printable text is shown as 0x followed by hex.
                      json: one JSON object per line with "time", "topic",
                      "payload" (when it is UTF-8 text), "payloadHex" and,
                      when replying, "replyTopic", "replyCode" or "replyError"
  --reply TEXT        answer each command with TEXT on its reply topic
                      (the command topic + "_reply", e.g. down_raw_reply)
  --reply-echo        answer each command with its own payload
  --count N           stop after N commands (default 0: no limit)

Examples:
  enos listen
  enos listen --format json --reply-echo --poll-interval 2s
  enos listen --count 1 --timeout 5m --reply '{"code":200}'
`,
	connection: true,
	setup: func(inv *invocation) ([]cli.Flag, runFunc) {
		o := &listenOpts{}
		flags := []cli.Flag{
			&cli.DurationFlag{Name: "poll-interval", Value: 5 * time.Second, Destination: &o.interval},
			&cli.StringFlag{Name: "format", Value: "text", Destination: &o.format},
			&cli.StringFlag{Name: "reply", Destination: &o.reply},
			&cli.BoolFlag{Name: "reply-echo", Destination: &o.echo},
			&cli.IntFlag{Name: "count", Destination: &o.count},
		}
		return flags, func(ctx context.Context, args []string) error {
			if err := noArgs("listen", args); err != nil {
				return err
			}
			o.replying = inv.given("reply") || o.echo
			switch {
			case o.format != "text" && o.format != "json":
				return usagef("--format %q: want text or json", o.format)
			case inv.given("reply") && o.echo:
				return usagef("give --reply or --reply-echo, not both")
			case o.interval <= 0:
				return usagef("--poll-interval %v: must be positive", o.interval)
			case o.count < 0:
				return usagef("--count %d: must not be negative", o.count)
			}
			return runListen(ctx, inv, o)
		}
	},
}

type listenOpts struct {
	interval time.Duration
	format   string
	reply    string
	echo     bool
	replying bool
	count    int
}

type listenStats struct {
	received, replied, replyFailed, polls, pollFailed int
}

func runListen(parent context.Context, inv *invocation, o *listenOpts) error {
	c, err := inv.openClient()
	if err != nil {
		return err
	}
	cfg := c.Config()
	defer c.Close()
	ctx, cancel := inv.withTimeout(parent)
	defer cancel()

	start := time.Now()
	if err := c.Authenticate(ctx); err != nil {
		return interrupted(parent, err)
	}
	inv.warnf("listening for commands to %s/%s, polling every %v (Ctrl-C stops)", cfg.ProductKey, cfg.DeviceKey, o.interval)

	var st listenStats
	done := func() bool { return o.count > 0 && st.received >= o.count }
	drain := func() {
		for !done() {
			cmd, ok := c.NextCommand()
			if !ok {
				return
			}
			st.received++
			inv.printCommand(ctx, c, o, &st, cmd)
		}
	}
	var fatal error
	for {
		drain()
		if done() || ctx.Err() != nil {
			break
		}
		st.polls++
		if _, err := c.Poll(ctx); err != nil {
			if ctx.Err() != nil {
				break
			}
			st.pollFailed++
			if code := client.CodeOf(err); code == client.CodeAuth || code == client.CodeInvalid || code == client.CodeClosed {
				fatal = err
				break
			}
			inv.warnf("poll: %v", err)
		}
		drain()
		if done() {
			break
		}
		t := time.NewTimer(o.interval)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	inv.warnf("listened %v: %d commands received, %d replied (%d failed), %d polls (%d failed)",
		roundDur(time.Since(start)), st.received, st.replied, st.replyFailed, st.polls, st.pollFailed)
	inv.logStats(c)
	switch {
	case fatal != nil:
		return fatal
	case parent.Err() != nil: // SIGINT/SIGTERM: the normal way to stop
		return nil
	case ctx.Err() != nil && o.count > 0 && !done():
		return &client.Error{Code: client.CodeTimeout, Msg: fmt.Sprintf("--timeout reached after %d of %d commands", st.received, o.count)}
	}
	return nil
}

// printCommand replies to cmd if asked, then prints it with the reply status.
func (inv *invocation) printCommand(ctx context.Context, c *client.Client, o *listenOpts, st *listenStats, cmd client.Command) {
	now := time.Now().UTC()
	var replyTopic, replyCode, replyErr string
	if o.replying {
		payload := []byte(o.reply)
		if o.echo {
			payload = cmd.Payload
		}
		replyTopic = client.ReplyTopic(cmd.Topic)
		resp, err := c.Reply(ctx, cmd.Topic, payload)
		if resp != nil {
			replyCode = codeText(resp.Code)
		}
		if err != nil {
			st.replyFailed++
			replyErr = inv.redact(err.Error())
		} else {
			st.replied++
		}
	}
	if o.format == "json" {
		v := struct {
			Time       string  `json:"time"`
			Topic      string  `json:"topic"`
			Payload    *string `json:"payload,omitempty"`
			PayloadHex string  `json:"payloadHex"`
			ReplyTopic string  `json:"replyTopic,omitempty"`
			ReplyCode  string  `json:"replyCode,omitempty"`
			ReplyError string  `json:"replyError,omitempty"`
		}{Time: now.Format(time.RFC3339Nano), Topic: cmd.Topic, PayloadHex: hex.EncodeToString(cmd.Payload),
			ReplyTopic: replyTopic, ReplyCode: replyCode, ReplyError: replyErr}
		if utf8.Valid(cmd.Payload) {
			s := string(cmd.Payload)
			v.Payload = &s
		}
		b, _ := json.Marshal(v)
		fmt.Fprintf(inv.stdout, "%s\n", b)
		return
	}
	line := now.Format(time.RFC3339) + "\t" + cmd.Topic + "\t" + displayPayload(cmd.Payload)
	if o.replying {
		if replyErr != "" {
			line += "\treply failed: " + replyErr
		} else {
			line += "\treplied " + replyCode
		}
	}
	fmt.Fprintln(inv.stdout, line)
}

// displayPayload shows printable text as it is and anything else as 0x-hex.
func displayPayload(p []byte) string {
	if len(p) == 0 {
		return `""`
	}
	if utf8.Valid(p) && !strings.HasPrefix(string(p), "0x") {
		printable := true
		for _, r := range string(p) {
			if !unicode.IsPrint(r) {
				printable = false
				break
			}
		}
		if printable {
			return string(p)
		}
	}
	return "0x" + hex.EncodeToString(p)
}
