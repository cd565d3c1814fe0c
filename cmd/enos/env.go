package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/libenos/libenos/core/client"
	"github.com/libenos/libenos/core/sign"
)

// commonFlag ties a flag shared by every subcommand to its environment variable.
type commonFlag struct {
	name string
	env  string
}

var commonFlags = []commonFlag{
	{"server", "ENOS_SERVER"},
	{"product-key", "ENOS_PRODUCT_KEY"},
	{"device-key", "ENOS_DEVICE_KEY"},
	{"device-secret", "ENOS_DEVICE_SECRET"},
	{"device-secret-file", "ENOS_DEVICE_SECRET_FILE"},
	{"lifetime", "ENOS_LIFETIME"},
	{"ack-timeout", "ENOS_ACK_TIMEOUT"},
	{"max-retransmit", "ENOS_MAX_RETRANSMIT"},
	{"sign-mode", "ENOS_SIGN_MODE"},
	{"iv", "ENOS_IV"},
	{"state-dir", "ENOS_STATE_DIR"},
	{"timeout", "ENOS_TIMEOUT"},
	{"v", "ENOS_VERBOSE"},
}

// Defaults of the common flags.
const (
	defaultLifetime      = client.DefaultLifetime
	defaultAckTimeout    = client.DefaultAckTimeout
	defaultMaxRetransmit = client.DefaultMaxRetransmit
)

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
  --max-retransmit N            ENOS_MAX_RETRANSMIT
        CoAP MAX_RETRANSMIT, 0..10; 0 = never retransmit (default 4)
  --sign-mode MODE              ENOS_SIGN_MODE
        option-2101 signature: auto (sign when authentication returned a
        token; stop signing on 4.02 Bad Option), always or never (default auto)
  --iv IV                       ENOS_IV
        AES-CBC IV of option 2101: default (the ASCII bytes 543yhjy97ae7fyfg),
        zero (16 zero bytes) or 32 hex digits (default "default")
  --state-dir DIR               ENOS_STATE_DIR
        directory where the client may persist its session (default: none)
  --dtls
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

// env is one invocation: its flags, streams and environment.
type env struct {
	cmd            *command
	fs             *flag.FlagSet
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	common         bool // the subcommand takes the common flags

	server, productKey, deviceKey string
	secret, secretFile            string
	lifetime                      int
	ackTimeout                    time.Duration
	maxRetransmit                 int
	signMode, iv, stateDir        string
	timeout                       time.Duration
	verbose                       bool
	dtls                          bool // --dtls; the product secret comes from ENOS_PRODUCT_SECRET only

	// hidden holds strings never to print: the secret, tokens.
	hidden []string
}

func newEnv(c *command, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *env {
	e := &env{cmd: c, stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	e.fs = flag.NewFlagSet("enos "+c.name, flag.ContinueOnError)
	e.fs.SetOutput(io.Discard) // usage and errors are printed by run
	e.fs.Usage = func() {}
	return e
}

// addCommon defines the common flags on the subcommand's flag set.
func (e *env) addCommon() {
	e.common = true
	fs := e.fs
	fs.StringVar(&e.server, "server", "", "")
	fs.StringVar(&e.productKey, "product-key", "", "")
	fs.StringVar(&e.deviceKey, "device-key", "", "")
	fs.StringVar(&e.secret, "device-secret", "", "")
	fs.StringVar(&e.secretFile, "device-secret-file", "", "")
	fs.IntVar(&e.lifetime, "lifetime", defaultLifetime, "")
	fs.DurationVar(&e.ackTimeout, "ack-timeout", defaultAckTimeout, "")
	fs.IntVar(&e.maxRetransmit, "max-retransmit", defaultMaxRetransmit, "")
	fs.StringVar(&e.signMode, "sign-mode", "auto", "")
	fs.StringVar(&e.iv, "iv", "default", "")
	fs.StringVar(&e.stateDir, "state-dir", "", "")
	fs.DurationVar(&e.timeout, "timeout", 0, "")
	fs.BoolVar(&e.verbose, "v", false, "")
	fs.BoolVar(&e.dtls, "dtls", false, "")
}

// usageError is a mistake in the command line or the environment: exit 2.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitError carries an explicit exit code.
type exitError struct {
	code int
	err  error
}

func (x *exitError) Error() string { return x.err.Error() }
func (x *exitError) Unwrap() error { return x.err }

// parse parses args, flags and positional arguments in any order ("--" ends
// the flags), then fills unset common flags from the environment.
func (e *env) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := e.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, flag.ErrHelp
			}
			return nil, &usageError{msg: e.cleanFlagError(err)}
		}
		rest := e.fs.Args()
		if len(rest) == 0 {
			break
		}
		if i := len(args) - len(rest); i > 0 && args[i-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if e.common {
		if err := e.applyEnv(); err != nil {
			return nil, err
		}
		if e.secretFile != "" {
			if e.secretFlagGiven() {
				return nil, usagef("give --device-secret or --device-secret-file, not both")
			}
			b, err := os.ReadFile(e.secretFile)
			if err != nil {
				return nil, usagef("device secret file: %v", err)
			}
			e.secret = strings.TrimRight(string(b), "\r\n")
			if e.secret == "" {
				return nil, usagef("device secret file %s is empty", e.secretFile)
			}
		}
	}
	if e.secret != "" {
		e.hidden = append(e.hidden, e.secret)
	}
	return pos, nil
}

// cleanFlagError rewrites the flag package's message so that a value given
// to --device-secret could never appear (it cannot fail to parse, but the
// rule is cheap to keep).
func (e *env) cleanFlagError(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "unknown flag --" + name
	}
	msg = strings.Replace(msg, "flag -", "flag --", 1)
	msg = strings.Replace(msg, "argument: -", "argument: --", 1)
	if strings.Contains(msg, "device-secret") && strings.Contains(msg, "invalid value") {
		return "invalid value for --device-secret"
	}
	return msg
}

func (e *env) isSet(name string) bool {
	set := false
	e.fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// secretFlagGiven says whether the secret was given on the command line
// (--device-secret, or --secret of enos sign).
func (e *env) secretFlagGiven() bool {
	return e.isSet("device-secret") || e.isSet("secret")
}

// applyEnv sets every common flag not given on the command line from its
// environment variable.
func (e *env) applyEnv() error {
	for _, cf := range commonFlags {
		if e.isSet(cf.name) {
			continue
		}
		v := e.getenv(cf.env)
		if v == "" {
			continue
		}
		if cf.name == "device-secret-file" && e.secretFlagGiven() {
			continue // an explicit flag beats a file from the environment
		}
		if cf.name == "device-secret" && (e.secretFlagGiven() || e.isSet("device-secret-file")) {
			continue
		}
		if err := e.fs.Set(cf.name, v); err != nil {
			if cf.name == "device-secret" {
				return usagef("%s: invalid value", cf.env)
			}
			return usagef("%s: invalid value %q: %v", cf.env, v, unwrapFlagErr(err))
		}
	}
	return nil
}

func unwrapFlagErr(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

// hide adds a string that must never be printed (a token).
func (e *env) hide(s string) {
	if s != "" {
		e.hidden = append(e.hidden, s)
	}
}

// redact removes every hidden string from s.
func (e *env) redact(s string) string {
	for _, h := range e.hidden {
		if h != "" {
			s = strings.ReplaceAll(s, h, "[redacted]")
		}
	}
	return s
}

// fail prints err as "enos: <message>" and returns its exit code.
func (e *env) fail(err error) int {
	var q *quietError
	if errors.As(err, &q) {
		return q.code
	}
	fmt.Fprintf(e.stderr, "enos: %s\n", e.redact(err.Error()))
	return exitCode(err)
}

// warnf prints a non-fatal error.
func (e *env) warnf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "enos: %s\n", e.redact(fmt.Sprintf(format, args...)))
}

// logf prints a verbose line.
func (e *env) logf(format string, args ...any) {
	if e.verbose {
		e.warnf(format, args...)
	}
}

// exitCode maps an error to the documented exit codes.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var x *exitError
	if errors.As(err, &x) {
		return x.code
	}
	var u *usageError
	if errors.As(err, &u) {
		return exitUsage
	}
	var ce *client.Error
	if !errors.As(err, &ce) {
		return exitOther
	}
	switch ce.Code {
	case client.CodeInvalid:
		return exitUsage
	case client.CodeNetwork:
		return exitNetwork
	case client.CodeTimeout:
		return exitTimeout
	case client.CodeAuth:
		return exitAuth
	case client.CodeRejected:
		return exitRejected
	}
	return exitOther
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

// clientConfig builds the client configuration from the common flags.
func (e *env) clientConfig() (client.Config, error) {
	var missing []string
	productSecret := ""
	if e.dtls {
		productSecret = e.getenv("ENOS_PRODUCT_SECRET")
		e.hide(productSecret)
	}
	for _, m := range []struct{ v, flag, env string }{
		{e.server, "--server", "ENOS_SERVER"},
		{e.productKey, "--product-key", "ENOS_PRODUCT_KEY"},
		{e.deviceKey, "--device-key", "ENOS_DEVICE_KEY"},
		{e.secret, "--device-secret", "ENOS_DEVICE_SECRET"},
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
	mode, err := parseSignMode(e.signMode)
	if err != nil {
		return client.Config{}, err
	}
	iv, err := parseIV(e.iv)
	if err != nil {
		return client.Config{}, err
	}
	if e.lifetime < sign.MinLifetime || e.lifetime > sign.MaxLifetime {
		return client.Config{}, usagef("--lifetime %d: want 30..86400 seconds", e.lifetime)
	}
	if e.ackTimeout < client.MinAckTimeout || e.ackTimeout > client.MaxAckTimeout {
		return client.Config{}, usagef("--ack-timeout %v: want 1ms..60s", e.ackTimeout)
	}
	if e.maxRetransmit < 0 || e.maxRetransmit > client.MaxMaxRetransmit {
		return client.Config{}, usagef("--max-retransmit %d: want 0..%d", e.maxRetransmit, client.MaxMaxRetransmit)
	}
	if e.timeout < 0 {
		return client.Config{}, usagef("--timeout %v: must not be negative", e.timeout)
	}
	retx := e.maxRetransmit
	if retx == 0 {
		retx = -1 // the client reads 0 as "default"; the CLI's 0 means none
	}
	return client.Config{
		Server:        e.server,
		ProductKey:    e.productKey,
		DeviceKey:     e.deviceKey,
		DeviceSecret:  e.secret,
		Lifetime:      e.lifetime,
		AckTimeout:    e.ackTimeout,
		MaxRetransmit: retx,
		SignMode:      mode,
		SignIV:        iv,
		StateDir:      e.stateDir,
		Security:      security(e.dtls),
		ProductSecret: productSecret,
	}, nil
}

func security(dtls bool) client.Security {
	if dtls {
		return client.SecurityDTLS
	}
	return client.SecurityNone
}

// newClient builds a client from cfg and logs its settings with -v.
// openClient is newClient with the configuration of the flags and environment.
func (e *env) openClient() (*client.Client, error) {
	cfg, err := e.clientConfig()
	if err != nil {
		return nil, err
	}
	return e.newClient(cfg)
}

func (e *env) newClient(cfg client.Config) (*client.Client, error) {
	c, err := client.New(cfg)
	if err != nil {
		return nil, err
	}
	n := c.Config()
	e.logf("server %s, device %s/%s, lifetime %d s, ack timeout %v, max retransmit %d, sign mode %s, IV %s",
		n.Server, n.ProductKey, n.DeviceKey, n.Lifetime, n.AckTimeout, n.MaxRetransmit, signModeName(n.SignMode), ivLabel(n.SignIV))
	return c, nil
}

// logStats prints the client's counters with -v.
func (e *env) logStats(c *client.Client) {
	s := c.Stats()
	e.logf("stats: sent %d, failed %d, retransmissions %d, authentications %d, commands %d (dropped %d)",
		s.Sent, s.Failed, s.Retransmissions, s.Auths, s.Commands, s.CommandsDropped)
}

// warnUnhandled reports commands that EnOS delivered to a client that is not
// listening (EnOS may announce commands in the answer to any request): they
// are gone from EnOS's queue, so the operator must hear of them.
func (e *env) warnUnhandled(c *client.Client) {
	for {
		cmd, ok := c.NextCommand()
		if !ok {
			return
		}
		e.warnf("a command arrived and was not handled (use 'enos listen'): topic %s, payload %s", cmd.Topic, displayPayload(cmd.Payload))
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
func (e *env) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if e.timeout > 0 {
		return context.WithTimeout(ctx, e.timeout)
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

// noArgs rejects positional arguments without echoing them (one could be a secret).
func noArgs(name string, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments (got %d)", name, len(args))
	}
	return nil
}
