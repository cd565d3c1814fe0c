// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/libenos/libenos/core/client"
	"github.com/libenos/libenos/core/sign"
)

var cmdProbe = &subcommand{
	name:    "probe",
	summary: "find which endpoint (non-DTLS, DTLS) and signature variant a live EnOS accepts",
	usage:   "probe [--payload TEXT] [--topic TOPIC] [--format text|json] [--udp-server HOST[:PORT]] [--dtls-server HOST[:PORT]] [connection flags]",
	help: `Tells which of EnOS's two CoAP endpoints answers, and settles the questions
the EnOS documentation leaves open (docs/protocol.md §3): which AES-CBC IV
option 2101 uses, and whether EnOS wants option 2101 at all.

1. Endpoints. It authenticates once at the non-DTLS endpoint (POST /auth) and
   tries one DTLS handshake at the DTLS endpoint, and prints one line for each:
   accepted (with the time), refused (wrong key, identity or device), no answer
   (timeout), or unreachable (ICMP: port closed). --server names the endpoint
   the other commands use: the non-DTLS one, or with --dtls the DTLS one
   (default port 5684). The other endpoint is the same host at its default
   port (5684 for DTLS, 5683 for non-DTLS) unless --dtls-server or
   --udp-server names it. The DTLS probe needs the device secret: it never
   activates with a product secret.

2. Signature variants (without --dtls, and only if the authentication was
   accepted; a refused one stops the probe: exit 5). It tries each variant
   with a fresh client, i.e. a new authentication and sequence 1, by sending
   one report:

  iv-default   sign always, IV "543yhjy97ae7fyfg" (the project's default)
  iv-zero      sign always, IV of 16 zero bytes
  iv-HEX       sign always, the IV given with --iv HEX (only when --iv is
               neither default nor zero)
  sign-off     sign never: no option 2101

and prints a table (variant, CoAP answer, verdict, server detail) and a
recommendation for --sign-mode and --iv. Every accepted variant is a real
report that reaches EnOS (up to four messages): use a harmless --payload or
--topic. Give short --ack-timeout values to keep the probe quick when a
variant goes unanswered.

Exit code: 0 if at least one variant was accepted; otherwise 6 if EnOS
rejected them, else the code of the first failure (3 network, 4 timeout).
With --dtls: 0 if the DTLS handshake completed, else 5 refused, 4 no answer,
3 unreachable. The other endpoint's line is information only: it never
changes the exit code.

Flags:
  --payload TEXT    the report payload (default "enos probe")
  --topic TOPIC     post to TOPIC instead of up_raw (same forms as report --topic)
  --format FORMAT   text (default) or json (one object: auth, variants,
                    accepted, recommendation, dtls)
  --udp-server HOST[:PORT]   the non-DTLS endpoint when it is not --server
  --dtls-server HOST[:PORT]  the DTLS endpoint when it is not --server

Example:
  ENOS_DEVICE_SECRET=... enos probe --server coap-<enos-host> \
      --product-key MuGsF6W4 --device-key 15bBZlRknc --ack-timeout 1s
`,
	connection: true,
	setup: func(inv *invocation) ([]cli.Flag, runFunc) {
		var payload, topic, format, udpServer, dtlsServer string
		flags := []cli.Flag{
			&cli.StringFlag{Name: "udp-server", Destination: &udpServer},
			&cli.StringFlag{Name: "dtls-server", Destination: &dtlsServer},
			&cli.StringFlag{Name: "payload", Value: "enos probe", Destination: &payload},
			&cli.StringFlag{Name: "topic", Destination: &topic},
			&cli.StringFlag{Name: "format", Value: "text", Destination: &format},
		}
		return flags, func(ctx context.Context, args []string) error {
			if err := noArgs("probe", args); err != nil {
				return err
			}
			if format != "text" && format != "json" {
				return usagef("--format %q: want text or json", format)
			}
			return runProbe(ctx, inv, []byte(payload), topic, format, udpServer, dtlsServer)
		}
	},
}

type variant struct {
	Name     string `json:"variant"`
	SignMode string `json:"signMode"`
	IV       string `json:"iv,omitempty"`
	Answer   string `json:"answer"` // CoAP code and name, or what happened instead
	Accepted bool   `json:"accepted"`
	Verdict  string `json:"verdict"`
	Detail   string `json:"detail,omitempty"` // the server's diagnostic payload, or the error

	mode client.SignMode
	iv   []byte
	err  error
}

type probeAuth struct {
	Accepted  bool   `json:"accepted"`
	Token     bool   `json:"token"`
	ElapsedMs int64  `json:"elapsedMs"`
	Error     string `json:"error,omitempty"`
}

func probeVariants(extraIV []byte) []*variant {
	vs := []*variant{
		{Name: "iv-default", mode: client.SignAlways, iv: sign.DefaultIV[:]},
		{Name: "iv-zero", mode: client.SignAlways, iv: make([]byte, 16)},
	}
	if l := ivLabel(extraIV); l != "default" && l != "zero" {
		vs = append(vs, &variant{Name: "iv-" + l, mode: client.SignAlways, iv: extraIV})
	}
	vs = append(vs, &variant{Name: "sign-off", mode: client.SignNever})
	for _, v := range vs {
		v.SignMode = signModeName(v.mode)
		if v.mode != client.SignNever {
			v.IV = ivLabel(v.iv)
		}
	}
	return vs
}

func runProbe(parent context.Context, inv *invocation, payload []byte, topic, format, udpServer, dtlsServer string) error {
	cfg, err := inv.clientConfig()
	if err != nil {
		return err
	}
	if cfg.DeviceSecret == "" {
		return usagef("probe needs the device secret (ENOS_DEVICE_SECRET): it never activates with the product secret")
	}
	if topic == "" {
		topic = "/sys/{pk}/{dk}/thing/model/up_raw"
	}
	topic = expandTopic(topic, cfg.ProductKey, cfg.DeviceKey)
	udpCfg, dtlsCfg := probeConfigs(cfg, udpServer, dtlsServer)
	withDTLS := cfg.Security == client.SecurityDTLS
	ctx, cancel := inv.withTimeout(parent)
	defer cancel()

	// 1. Which endpoint answers, and are the credentials good? Nothing else
	// is worth trying otherwise.
	c, err := inv.newClient(udpCfg)
	if err != nil {
		return err
	}
	info, err := authenticate(ctx, c)
	inv.warnUnhandled(c)
	c.Close()
	inv.hide(info.token)
	udp := endpointResult{Server: c.Config().Server, elapsed: info.elapsed, ElapsedMs: info.elapsed.Milliseconds()}
	udp.classify(err)
	auth := probeAuth{Accepted: err == nil, Token: info.hasToken, ElapsedMs: info.elapsed.Milliseconds()}
	if err != nil {
		auth.Error = inv.redact(err.Error())
		udp.Error = auth.Error
	}
	dtls := inv.probeDTLS(ctx, dtlsCfg)
	if format == "text" {
		tok := "no token (later EnOS documentation: no signature expected)"
		if info.hasToken {
			tok = "a token (earlier EnOS documentation: option 2101 expected)"
		}
		tw := tabwriter.NewWriter(inv.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "non-DTLS\t%s\t%s\n", udp.Server, udp.line("authentication accepted", ", answer carried "+tok))
		fmt.Fprintf(tw, "DTLS\t%s\t%s\n", dtls.Server, dtls.line("handshake completed", ": key and identity accepted"))
		tw.Flush()
	}
	if withDTLS || err != nil {
		// With --dtls the signature variants do not apply; after a refused
		// authentication they cannot be told apart.
		if format == "json" {
			inv.printJSON(map[string]any{"server": udp.Server, "auth": auth, "dtls": dtls})
		}
		if withDTLS {
			err = dtls.err
		}
		if err != nil {
			return interrupted(parent, err)
		}
		return nil
	}
	if format == "text" {
		fmt.Fprintf(inv.stdout, "\nprobing: one report per variant to %s (%d bytes)\n\n", topic, len(payload))
	}
	cfg = udpCfg

	// 2. One fresh client per variant.
	variants := probeVariants(cfg.SignIV)
	for _, v := range variants {
		if ctx.Err() != nil {
			v.err = ctxErr(ctx)
			v.Answer, v.Verdict = "-", "not tried"
			continue
		}
		vc := cfg
		vc.SignMode, vc.SignIV = v.mode, v.iv
		inv.tryVariant(ctx, vc, v, topic, payload)
	}
	rec := recommend(variants)

	var accepted []string
	for _, v := range variants {
		if v.Accepted {
			accepted = append(accepted, v.Name)
		}
	}
	if format == "json" {
		inv.printJSON(map[string]any{"server": c.Config().Server, "topic": topic, "auth": auth, "dtls": dtls,
			"variants": variants, "accepted": append([]string{}, accepted...), "recommendation": rec})
	} else {
		tw := tabwriter.NewWriter(inv.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VARIANT\tSIGN\tIV\tCOAP ANSWER\tVERDICT\tDETAIL")
		for _, v := range variants {
			iv := v.IV
			if iv == "" {
				iv = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.Name, v.SignMode, iv, v.Answer, v.Verdict, v.Detail)
		}
		tw.Flush()
		fmt.Fprintf(inv.stdout, "\nrecommendation: %s\n", rec)
	}

	if parent.Err() != nil {
		return interrupted(parent, parent.Err())
	}
	if len(accepted) > 0 {
		return nil
	}
	var first error
	for _, v := range variants {
		if client.CodeOf(v.err) == client.CodeRejected {
			return &quietError{code: exitRejected, err: errors.New("no variant accepted")}
		}
		if first == nil && v.err != nil {
			first = v.err
		}
	}
	inv.warnf("no variant accepted")
	return &quietError{code: exitCode(first), err: first}
}

// tryVariant sends one report with a fresh client configured for v.
func (inv *invocation) tryVariant(ctx context.Context, cfg client.Config, v *variant, topic string, payload []byte) {
	c, err := client.New(cfg)
	if err != nil {
		v.err, v.Answer, v.Verdict, v.Detail = err, "-", "not tried", inv.redact(err.Error())
		return
	}
	defer c.Close()
	defer inv.warnUnhandled(c)
	start := time.Now()
	resp, err := c.Publish(ctx, topic, payload)
	inv.logf("%s: answered in %v", v.Name, roundDur(time.Since(start)))
	v.err = err
	if resp != nil {
		v.Answer = codeText(resp.Code)
		v.Detail = printable(resp.Payload)
	}
	code := client.CodeOf(err)
	switch {
	case err == nil:
		v.Accepted, v.Verdict = true, "ACCEPTED"
	case code == client.CodeAuth:
		v.Answer, v.Verdict = authAnswer(err), "authentication refused"
	case resp == nil:
		v.Answer, v.Verdict = noAnswer(code), "failed"
		v.Detail = inv.redact(err.Error())
	case resp.Code == 0x82: // 4.02 Bad Option
		v.Verdict = "rejected: server does not know option 2101"
	case resp.Code == 0x81 && v.mode == client.SignNever: // 4.01
		v.Verdict = "rejected: a signature is required"
	case resp.Code == 0x81:
		v.Verdict = "rejected: signature not accepted"
	default:
		v.Verdict = "rejected"
	}
}

func authAnswer(err error) string {
	var ce *client.Error
	if errors.As(err, &ce) && ce.CoAP != 0 {
		return codeText(ce.CoAP)
	}
	return "-"
}

func noAnswer(code client.Code) string {
	switch code {
	case client.CodeTimeout:
		return "no answer (timeout)"
	case client.CodeNetwork:
		return "network error"
	}
	return "-"
}

// recommend turns the results into settings for the other commands.
func recommend(vs []*variant) string {
	var signed []*variant
	var off *variant
	for _, v := range vs {
		if v.mode == client.SignNever {
			off = v
		} else if v.Accepted {
			signed = append(signed, v)
		}
	}
	offOK := off != nil && off.Accepted
	badOption := true
	for _, v := range vs {
		if v.mode != client.SignNever && !(v.err != nil && v.Answer == codeText(0x82)) {
			badOption = false
		}
	}
	switch {
	case len(signed) == 1 && !offOK:
		return fmt.Sprintf("EnOS checks option 2101 with IV %s: use --sign-mode auto (or always) --iv %s", signed[0].IV, signed[0].IV)
	case len(signed) > 1 && !offOK:
		return "EnOS accepted several IVs, which a server that decrypts the signature should not do: repeat the probe; if it holds, any accepted --iv works"
	case offOK && len(signed) == 0 && badOption:
		return "EnOS does not know option 2101 (4.02 Bad Option): use --sign-mode never (auto also works: it stops signing after two requests in a row accepted unsigned)"
	case offOK && len(signed) == 0:
		return "EnOS accepts unsigned requests and rejected every signed one: use --sign-mode never"
	case offOK:
		return "EnOS accepts unsigned and signed requests (it does not check option 2101): --sign-mode never avoids the overhead; auto works"
	}
	return "no variant accepted: check the failures above (a wrong topic answers 4.04; a timeout needs --ack-timeout/--max-retransmit or network access)"
}

// printable renders a diagnostic payload on one line.
func printable(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	s := strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, string(p))
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}

func (inv *invocation) printJSON(v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		inv.warnf("json: %v", err)
		return
	}
	fmt.Fprintf(inv.stdout, "%s\n", inv.redact(string(b)))
}
