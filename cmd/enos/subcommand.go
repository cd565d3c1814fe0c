// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v3"
)

// subcommand is one "enos NAME". The command line of each is parsed by
// github.com/urfave/cli/v3: flags and arguments in any order, "--" ends the
// flags, -flag and --flag alike, each connection flag falling back to its
// environment variable (connection.go).
//
// To add a subcommand (say "enos event"):
//  1. write event.go with `var cmdEvent = &subcommand{...}`: name, summary,
//     usage, the help text (it must mention every flag), connection: true if
//     it talks to EnOS, and setup, which returns its own flags (bound to
//     variables the run function reads) and the run function;
//  2. add cmdEvent to subcommands() in main.go;
//  3. document it in docs/enos-cli.md (TestHelpAndDocsComplete checks that
//     every flag is in the help and in the manual).
//
// In run, inv.openClient() builds a client from the connection flags; return
// usagef(...) for a bad argument (exit 2) and the client's errors as they
// are (exitCode maps them).
type subcommand struct {
	name    string
	summary string // one line for "enos --help"
	usage   string // the usage line(s) after "enos "
	help    string // the body of "enos help NAME": description and own flags
	// connection says whether the subcommand takes the connection flags.
	connection bool
	// setup defines the subcommand's own flags and returns them with the
	// function that runs it once the command line is parsed.
	setup func(inv *invocation) ([]cli.Flag, runFunc)
}

// runFunc runs a subcommand; args are its positional arguments.
type runFunc func(ctx context.Context, args []string) error

// invocation is one run of enos: the subcommand, its parsed flags, the
// process's streams and environment, and the strings never to print.
type invocation struct {
	sub            *subcommand
	cmd            *cli.Command // the parsed command line
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	fromEnv        map[string]bool // flags whose value came from the environment
	started        bool            // parsing is over: the subcommand runs

	conn connectionFlags

	// hidden holds strings never to print: the secret, tokens.
	hidden []string
}

func newInvocation(sc *subcommand, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *invocation {
	return &invocation{sub: sc, stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, fromEnv: map[string]bool{}}
}

// command builds the urfave/cli command of the invocation's subcommand.
func (inv *invocation) command() *cli.Command {
	sc := inv.sub
	flags, runner := sc.setup(inv)
	if sc.connection {
		flags = append(inv.defineConnectionFlags(), flags...)
	}
	help := commandHelp(sc)
	return &cli.Command{
		Name:            "enos " + sc.name,
		Usage:           help,
		Flags:           flags,
		Writer:          inv.stdout,
		ErrWriter:       inv.stderr,
		HideHelpCommand: true,
		HideVersion:     true, // -v is verbose; "enos version" prints the version
		// -h, -help and --help print our help text (Usage) verbatim, also
		// when arguments follow (urfave/cli then looks for a help topic).
		CustomRootCommandHelpTemplate: "{{.Usage}}",
		CommandNotFound: func(context.Context, *cli.Command, string) {
			fmt.Fprint(inv.stdout, help)
		},
		OnUsageError: func(_ context.Context, _ *cli.Command, err error, _ bool) error {
			return &usageError{msg: cleanFlagError(err)}
		},
		// Exit codes are run's business: never os.Exit from the library.
		ExitErrHandler: func(context.Context, *cli.Command, error) {},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			inv.cmd = cmd
			if sc.connection {
				if err := inv.resolveSecret(); err != nil {
					return err
				}
			}
			inv.started = true
			return runner(ctx, cmd.Args().Slice())
		},
	}
}

// execute parses args (the subcommand's flags and arguments) and runs it.
func (inv *invocation) execute(ctx context.Context, args []string) error {
	err := inv.command().Run(ctx, append([]string{"enos " + inv.sub.name}, args...))
	if err != nil && !inv.started {
		// Everything before the run is the command line or the environment.
		var u *usageError
		if !errors.As(err, &u) {
			err = &usageError{msg: cleanFlagError(err)}
		}
		return fmt.Errorf("%w (see 'enos help %s')", err, inv.sub.name)
	}
	return err
}

// given says whether flag name was given on the command line (not taken
// from the environment).
func (inv *invocation) given(name string) bool {
	return inv.cmd != nil && inv.cmd.IsSet(name) && !inv.fromEnv[name]
}

// envSource is the environment variable of one flag, read through the
// invocation's getenv. An empty variable counts as unset. It records that it
// supplied the value: urfave/cli consults it only for a flag not given on the
// command line, which is how a flag wins over the environment.
type envSource struct {
	inv  *invocation
	flag string
	key  string
}

func (s *envSource) Lookup() (string, bool) {
	v := s.inv.getenv(s.key)
	if v == "" {
		return "", false
	}
	s.inv.fromEnv[s.flag] = true
	return v, true
}

func (s *envSource) String() string   { return "environment variable " + s.key }
func (s *envSource) GoString() string { return "envSource(" + s.key + ")" }
func (s *envSource) IsFromEnv() bool  { return true }
func (s *envSource) Key() string      { return s.key }

// fromEnvVar is the Sources of flag name: environment variable key.
func (inv *invocation) fromEnvVar(name, key string) cli.ValueSourceChain {
	return cli.NewValueSourceChain(&envSource{inv: inv, flag: name, key: key})
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

// quietError is an error whose message was already printed.
type quietError struct {
	code int
	err  error
}

func (q *quietError) Error() string { return q.err.Error() }
func (q *quietError) Unwrap() error { return q.err }

// cleanFlagError words the parser's messages the way enos writes flags
// (--name). A value is never part of them, except for a flag that takes a
// number or a duration; the secret is a string, and fail redacts it anyway.
func cleanFlagError(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "unknown flag --" + strings.TrimLeft(name, "-")
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return "flag needs an argument: --" + strings.TrimLeft(name, "-")
	}
	msg = strings.Replace(msg, " for flag -", " for flag --", 1)
	return msg
}

// hide adds a string that must never be printed (a token).
func (inv *invocation) hide(s string) {
	if s != "" {
		inv.hidden = append(inv.hidden, s)
	}
}

// minRedactLen is the shortest hidden string redact looks for. A shorter one
// (a secret such as "wrong") matches ordinary words by chance, and replacing
// them would tell the reader what the secret is. libenos never puts a secret
// or token in a message; the redaction is a second line of defence for
// strings long enough to be found only where they leaked.
const minRedactLen = 8

// redact removes every hidden string of at least minRedactLen bytes, and the
// device secret wherever it came from, from s.
func (inv *invocation) redact(s string) string {
	for _, h := range append([]string{inv.conn.secret, inv.getenv("ENOS_DEVICE_SECRET")}, inv.hidden...) {
		if len(h) >= minRedactLen {
			s = strings.ReplaceAll(s, h, "[redacted]")
		}
	}
	return s
}

// fail prints err as "enos: <message>" and returns its exit code.
func (inv *invocation) fail(err error) int {
	var q *quietError
	if errors.As(err, &q) {
		return q.code
	}
	fmt.Fprintf(inv.stderr, "enos: %s\n", inv.redact(err.Error()))
	return exitCode(err)
}

// warnf prints a non-fatal error.
func (inv *invocation) warnf(format string, args ...any) {
	fmt.Fprintf(inv.stderr, "enos: %s\n", inv.redact(fmt.Sprintf(format, args...)))
}

// logf prints a verbose line.
func (inv *invocation) logf(format string, args ...any) {
	if inv.conn.verbose {
		inv.warnf(format, args...)
	}
}

// noArgs rejects positional arguments without echoing them (one could be a secret).
func noArgs(name string, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments (got %d)", name, len(args))
	}
	return nil
}
