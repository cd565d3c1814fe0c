// Command enos is the operator's tool for libenos: it authenticates a device
// with Envision EnOS over CoAP/UDP, sends reports, computes signatures
// offline, listens for commands and probes the protocol variants the EnOS
// documentation leaves open. See docs/enos-cli.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/libenos/libenos/core/client"
)

// Exit codes (documented in the top-level help and docs/enos-cli.md).
const (
	exitOK          = 0
	exitOther       = 1
	exitUsage       = 2
	exitNetwork     = 3
	exitTimeout     = 4
	exitAuth        = 5
	exitRejected    = 6
	exitInterrupted = 130
)

// version is the tool's version; release builds set it with
// -ldflags "-X main.version=...".
var version = client.Version

// command is one subcommand.
type command struct {
	name    string
	summary string
	usage   string // the usage line(s) after "enos "
	help    string // the body of "enos help NAME": description and specific flags
	// run parses args with fs (common flags are already defined on it) and runs.
	setup func(e *env) runFunc
}

// runFunc runs a subcommand once its flags are parsed; positional arguments
// are passed in.
type runFunc func(ctx context.Context, args []string) error

func commands() []*command {
	return []*command{cmdAuth, cmdReport, cmdSign, cmdListen, cmdProbe, cmdVersion}
}

func findCommand(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		var names []string
		for _, c := range commands() {
			names = append(names, c.name)
		}
		fmt.Fprintf(stderr, "enos: missing subcommand: one of %s (see 'enos --help')\n", strings.Join(names, ", "))
		return exitUsage
	}
	switch name := args[0]; name {
	case "-h", "-help", "--help":
		fmt.Fprint(stdout, topUsage())
		return exitOK
	case "help":
		if len(args) == 1 {
			fmt.Fprint(stdout, topUsage())
			return exitOK
		}
		if c := findCommand(args[1]); c != nil && len(args) == 2 {
			fmt.Fprint(stdout, commandHelp(c))
			return exitOK
		}
		fmt.Fprintf(stderr, "enos: help: unknown subcommand %q (see 'enos --help')\n", args[1])
		return exitUsage
	case "-version", "--version":
		args = []string{"version"}
	}
	c := findCommand(args[0])
	if c == nil {
		if strings.HasPrefix(args[0], "-") {
			fmt.Fprintf(stderr, "enos: a subcommand comes first, before %s (see 'enos --help')\n", flagName(args[0]))
		} else {
			fmt.Fprintf(stderr, "enos: unknown subcommand %q (see 'enos --help')\n", args[0])
		}
		return exitUsage
	}
	e := newEnv(c, stdin, stdout, stderr, getenv)
	runner := c.setup(e)
	pos, err := e.parse(args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, commandHelp(c))
			return exitOK
		}
		return e.fail(fmt.Errorf("%w (see 'enos help %s')", err, c.name))
	}
	if err := runner(ctx, pos); err != nil {
		return e.fail(err)
	}
	return exitOK
}

// flagName keeps only the name of a "-flag=value" argument, so that a value
// (possibly a secret) is never echoed.
func flagName(arg string) string {
	if i := strings.IndexByte(arg, '='); i >= 0 {
		return arg[:i]
	}
	return arg
}
