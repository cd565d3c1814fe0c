// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/libenos/libenos/core/client"
	"github.com/libenos/libenos/core/sign"
)

// connectionFlags are the values of the flags every subcommand that talks to
// EnOS takes (and sign, for the secret, keys, lifetime and IV).
type connectionFlags struct {
	server, productKey, deviceKey string
	secret, secretFile            string
	signSecret                    string // --secret of enos sign: --device-secret by another name
	lifetime                      int
	ackTimeout                    time.Duration
	maxRetransmit, blockSize      string // a number, or "none" / "off"
	signMode, iv, stateDir        string
	timeout                       time.Duration
	verbose                       bool
	dtls                          bool // --dtls; the product secret comes from ENOS_PRODUCT_SECRET only
}

const commonHelp = `Connection flags (each also read from the environment variable on its right;
a flag given on the command line wins):
  --server HOST[:PORT]          ENOS_SERVER
        EnOS CoAP endpoint, e.g. coap-<enos-host> (default port 5683)
  --product-key KEY             ENOS_PRODUCT_KEY
  --device-key KEY              ENOS_DEVICE_KEY
  --device-secret SECRET        ENOS_DEVICE_SECRET
        the device secret. Prefer the environment variable or a file: a flag
        is visible to every user of the machine in ps and /proc
  --device-secret-file FILE     ENOS_DEVICE_SECRET_FILE
        read the device secret from FILE (a trailing newline is ignored)
  --lifetime SECONDS            ENOS_LIFETIME
        session lifetime asked for at authentication, 30..86400 (default 3600)
  --ack-timeout DURATION        ENOS_ACK_TIMEOUT
        CoAP ACK_TIMEOUT, e.g. 2s or 300ms (default 2s)
  --max-retransmit N|none       ENOS_MAX_RETRANSMIT
        CoAP MAX_RETRANSMIT, 1..10; 0 = the default (4); none = send once,
        never retransmit
  --block-size N|off            ENOS_BLOCK_SIZE
        RFC 7959 block size for payloads larger than one datagram: a power
        of two 16..1024; 0 = the default (1024); off = no block-wise
        transfer (larger payloads are refused)
  --sign-mode MODE              ENOS_SIGN_MODE
        option-2101 signature: auto (sign when authentication returned a
        token; after 4.02 Bad Option answers, resend unsigned and stop signing
        after two such requests in a row were accepted), always or never (default auto)
  --iv IV                       ENOS_IV
        AES-CBC IV of option 2101: default (the ASCII bytes 543yhjy97ae7fyfg),
        zero (16 zero bytes) or 32 hex digits (default "default")
  --state-dir DIR               ENOS_STATE_DIR
        directory for the session and the offline queue (default: none);
        with it, report queues what it cannot deliver now (exit 0)
  --dtls                        ENOS_DTLS=1
        CoAP over DTLS 1.2 with a pre-shared key (default port 5684): no
        /auth, no option 2101, payloads encrypted. Without a device secret,
        the product secret in ENOS_PRODUCT_SECRET (environment only) activates
        the device once and its secret is kept in --state-dir (required)
  --timeout DURATION            ENOS_TIMEOUT
        give up after DURATION, e.g. 30s (default: no limit beyond the CoAP
        retransmission window of each exchange; for listen: listen forever)
  -v                            ENOS_VERBOSE=1
        verbose: settings, timings and counters on stderr (never secrets)
  -h, --help
        help
`

// defineConnectionFlags defines the connection flags, each with its environment
// variable, bound to inv.conn.
func (inv *invocation) defineConnectionFlags() []cli.Flag {
	c := &inv.conn
	env := inv.fromEnvVar
	return []cli.Flag{
		&cli.StringFlag{Name: "server", Destination: &c.server, Sources: env("server", "ENOS_SERVER")},
		&cli.StringFlag{Name: "product-key", Destination: &c.productKey, Sources: env("product-key", "ENOS_PRODUCT_KEY")},
		&cli.StringFlag{Name: "device-key", Destination: &c.deviceKey, Sources: env("device-key", "ENOS_DEVICE_KEY")},
		&cli.StringFlag{Name: "device-secret", Destination: &c.secret, Sources: env("device-secret", "ENOS_DEVICE_SECRET")},
		&cli.StringFlag{Name: "device-secret-file", Destination: &c.secretFile, Sources: env("device-secret-file", "ENOS_DEVICE_SECRET_FILE")},
		&cli.IntFlag{Name: "lifetime", Value: client.DefaultLifetime, Destination: &c.lifetime, Sources: env("lifetime", "ENOS_LIFETIME")},
		&cli.DurationFlag{Name: "ack-timeout", Value: client.DefaultAckTimeout, Destination: &c.ackTimeout, Sources: env("ack-timeout", "ENOS_ACK_TIMEOUT")},
		&cli.StringFlag{Name: "max-retransmit", Value: "0", Destination: &c.maxRetransmit, Sources: env("max-retransmit", "ENOS_MAX_RETRANSMIT")},
		&cli.StringFlag{Name: "block-size", Value: "0", Destination: &c.blockSize, Sources: env("block-size", "ENOS_BLOCK_SIZE")},
		&cli.StringFlag{Name: "sign-mode", Value: "auto", Destination: &c.signMode, Sources: env("sign-mode", "ENOS_SIGN_MODE")},
		&cli.StringFlag{Name: "iv", Value: "default", Destination: &c.iv, Sources: env("iv", "ENOS_IV")},
		&cli.StringFlag{Name: "state-dir", Destination: &c.stateDir, Sources: env("state-dir", "ENOS_STATE_DIR")},
		&cli.DurationFlag{Name: "timeout", Destination: &c.timeout, Sources: env("timeout", "ENOS_TIMEOUT")},
		&cli.BoolFlag{Name: "v", Destination: &c.verbose, Sources: env("v", "ENOS_VERBOSE")},
		&cli.BoolFlag{Name: "dtls", Destination: &c.dtls, Sources: env("dtls", "ENOS_DTLS")},
	}
}

// resolveSecret applies the precedence of the secret's sources: a secret
// given on the command line (--device-secret, or --secret of sign) or
// --device-secret-file beats both environment variables, and
// ENOS_DEVICE_SECRET beats ENOS_DEVICE_SECRET_FILE; the command-line forms
// exclude each other. The file is read here.
func (inv *invocation) resolveSecret() error {
	c := &inv.conn
	secretGiven := inv.given("device-secret") || inv.given("secret")
	fileGiven := inv.given("device-secret-file")
	switch {
	case secretGiven && fileGiven:
		return usagef("give --device-secret or --device-secret-file, not both")
	case inv.given("device-secret") && inv.given("secret"):
		return usagef("give --secret or --device-secret, not both")
	case secretGiven:
		if inv.given("secret") {
			c.secret = c.signSecret
		}
		c.secretFile = "" // ENOS_DEVICE_SECRET_FILE loses to the flag
	case fileGiven:
		c.secret = "" // and ENOS_DEVICE_SECRET to --device-secret-file
	case c.secret != "":
		c.secretFile = "" // both from the environment: the secret itself wins
	}
	if c.secretFile != "" {
		b, err := os.ReadFile(c.secretFile)
		if err != nil {
			return usagef("device secret file: %v", err)
		}
		c.secret = strings.TrimRight(string(b), "\r\n")
		if c.secret == "" {
			return usagef("device secret file %s is empty", c.secretFile)
		}
	}
	inv.hide(c.secret)
	return nil
}

// source names where flag name's value came from, for error messages: the
// environment variable or the flag.
func (inv *invocation) source(name, key string) string {
	if inv.fromEnv[name] {
		return key
	}
	return "--" + name
}

// countOrOff reads a number where 0 means the default and one word turns
// the mechanism off: --max-retransmit none, --block-size off. It returns
// the core's value (off is the core's negative constant).
func countOrOff(s, word string, off int) (int, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == word {
		return off, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errors.New("not a number")
	}
	return n, nil
}

// parseIV reads --iv: "default", "zero" or 32 hex digits. nil means the default IV.
func parseIV(s string) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "default":
		return nil, nil
	case "zero":
		return make([]byte, 16), nil
	}
	h := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 16 {
		return nil, usagef("--iv %q: want \"default\", \"zero\" or 32 hex digits (16 bytes)", s)
	}
	return b, nil
}

// ivLabel names an IV for people: default, zero, or its hex.
func ivLabel(iv []byte) string {
	switch {
	case iv == nil || string(iv) == string(sign.DefaultIV[:]):
		return "default"
	case string(iv) == string(make([]byte, 16)):
		return "zero"
	}
	return strings.ToUpper(hex.EncodeToString(iv))
}

func parseSignMode(s string) (client.SignMode, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return client.SignAuto, nil
	case "always":
		return client.SignAlways, nil
	case "never":
		return client.SignNever, nil
	}
	return 0, usagef("--sign-mode %q: want auto, always or never", s)
}

func signModeName(m client.SignMode) string {
	switch m {
	case client.SignAlways:
		return "always"
	case client.SignNever:
		return "never"
	}
	return "auto"
}

// clientConfig builds the client configuration from the connection flags.
func (inv *invocation) clientConfig() (client.Config, error) {
	c := &inv.conn
	productSecret := ""
	if c.dtls {
		productSecret = inv.getenv("ENOS_PRODUCT_SECRET") // never a flag: flags show in ps
		inv.hide(productSecret)
	}
	var missing []string
	for _, m := range []struct{ v, flag, env string }{
		{c.server, "--server", "ENOS_SERVER"},
		{c.productKey, "--product-key", "ENOS_PRODUCT_KEY"},
		{c.deviceKey, "--device-key", "ENOS_DEVICE_KEY"},
		{c.secret, "--device-secret", "ENOS_DEVICE_SECRET"},
	} {
		if m.v == "" && m.flag == "--device-secret" && productSecret != "" {
			continue // DTLS activation with the product secret
		}
		if m.v == "" {
			missing = append(missing, m.flag+" (or "+m.env+")")
		}
	}
	if len(missing) > 0 {
		return client.Config{}, usagef("missing %s", strings.Join(missing, ", "))
	}
	mode, err := parseSignMode(c.signMode)
	if err != nil {
		return client.Config{}, err
	}
	iv, err := parseIV(c.iv)
	if err != nil {
		return client.Config{}, err
	}
	if sign.CheckLifetime(c.lifetime) != nil {
		return client.Config{}, usagef("--lifetime %d: want %d..%d seconds", c.lifetime, sign.MinLifetime, sign.MaxLifetime)
	}
	if c.ackTimeout < client.MinAckTimeout || c.ackTimeout > client.MaxAckTimeout {
		return client.Config{}, usagef("--ack-timeout %v: want 1ms..60s", c.ackTimeout)
	}
	// The core checks the block size (client.New: CodeInvalid, exit 2).
	retx, err := countOrOff(c.maxRetransmit, "none", client.RetransmitNone)
	if err != nil || retx > client.MaxMaxRetransmit {
		return client.Config{}, usagef("%s %q: want 0..%d (0 = the default, 4) or none",
			inv.source("max-retransmit", "ENOS_MAX_RETRANSMIT"), c.maxRetransmit, client.MaxMaxRetransmit)
	}
	block, err := countOrOff(c.blockSize, "off", client.BlockOff)
	if err != nil {
		return client.Config{}, usagef("%s %q: want a power of two 16..1024, 0 (the default, 1024) or off",
			inv.source("block-size", "ENOS_BLOCK_SIZE"), c.blockSize)
	}
	if c.timeout < 0 {
		return client.Config{}, usagef("--timeout %v: must not be negative", c.timeout)
	}
	return client.Config{
		Server:        c.server,
		ProductKey:    c.productKey,
		DeviceKey:     c.deviceKey,
		DeviceSecret:  c.secret,
		Lifetime:      c.lifetime,
		AckTimeout:    c.ackTimeout,
		MaxRetransmit: retx,
		BlockSize:     block,
		SignMode:      mode,
		SignIV:        iv,
		StateDir:      c.stateDir,
		Security:      security(c.dtls),
		ProductSecret: productSecret,
	}, nil
}

func security(dtls bool) client.Security {
	if dtls {
		return client.SecurityDTLS
	}
	return client.SecurityNone
}

// withClient opens a client from the connection flags, runs fn with it under
// --timeout and closes it, printing its counters with -v and warning about
// commands nobody handled.
func (inv *invocation) withClient(parent context.Context, fn func(context.Context, *client.Client) error) error {
	c, err := inv.openClient()
	if err != nil {
		return err
	}
	defer c.Close()
	defer inv.logStats(c)
	defer inv.warnUnhandled(c)
	ctx, cancel := inv.withTimeout(parent)
	defer cancel()
	return fn(ctx, c)
}

// openClient is newClient with the configuration of the flags and environment.
func (inv *invocation) openClient() (*client.Client, error) {
	cfg, err := inv.clientConfig()
	if err != nil {
		return nil, err
	}
	return inv.newClient(cfg)
}

// newClient builds a client from cfg and logs its settings with -v.
func (inv *invocation) newClient(cfg client.Config) (*client.Client, error) {
	c, err := client.New(cfg)
	if err != nil {
		return nil, err
	}
	n := c.Config()
	block := strconv.Itoa(n.BlockSize)
	switch n.BlockSize {
	case 0:
		block = "1024"
	case client.BlockOff:
		block = "off"
	}
	inv.logf("server %s, device %s/%s, lifetime %d s, ack timeout %v, max retransmit %d, block size %s, sign mode %s, IV %s",
		n.Server, n.ProductKey, n.DeviceKey, n.Lifetime, n.AckTimeout, n.MaxRetransmit, block, signModeName(n.SignMode), ivLabel(n.SignIV))
	return c, nil
}

// logStats prints the client's counters with -v.
func (inv *invocation) logStats(c *client.Client) {
	s := c.Stats()
	inv.logf("stats: sent %d, failed %d, retransmissions %d, authentications %d, commands %d (dropped %d)",
		s.Sent, s.Failed, s.Retransmissions, s.Auths, s.Commands, s.CommandsDropped)
}

// warnUnhandled reports commands that EnOS delivered to a client that is not
// listening (EnOS may announce commands in the answer to any request): they
// are gone from EnOS's queue, so the operator must hear of them.
func (inv *invocation) warnUnhandled(c *client.Client) {
	for {
		cmd, ok := c.NextCommand()
		if !ok {
			return
		}
		inv.warnf("a command arrived and was not handled (use 'enos listen'): topic %s, payload %s", cmd.Topic, displayPayload(cmd.Payload))
	}
}

// roundDur rounds a duration for display.
func roundDur(d time.Duration) time.Duration {
	if d < 10*time.Millisecond {
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

// withTimeout applies --timeout to ctx.
func (inv *invocation) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if inv.conn.timeout > 0 {
		return context.WithTimeout(ctx, inv.conn.timeout)
	}
	return context.WithCancel(ctx)
}

// interrupted turns an error caused by SIGINT/SIGTERM into exit 130.
func interrupted(parent context.Context, err error) error {
	if err != nil && parent.Err() != nil {
		return &exitError{code: exitInterrupted, err: errors.New("interrupted")}
	}
	return err
}
