// SPDX-License-Identifier: Apache-2.0

// Command enos is the operator's tool for libenos: it authenticates a device
// with Envision EnOS over CoAP/UDP, sends reports, computes signatures
// offline, listens for commands and probes the protocol variants the EnOS
// documentation leaves open. See docs/enos-cli.md.
//
// Each subcommand lives in its own file (subcommand.go says how to add one);
// the connection flags they share are in connection.go.
package main

import (
	"context"
	"errors"
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

// subcommands lists every subcommand, in the order of "enos --help".
func subcommands() []*subcommand {
	return []*subcommand{cmdAuth, cmdReport, cmdMeasurepoints, cmdEvent, cmdAttributes, cmdSign, cmdListen, cmdProbe, cmdVersion}
}

func findSubcommand(name string) *subcommand {
	for _, sc := range subcommands() {
		if sc.name == name {
			return sc
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
		for _, sc := range subcommands() {
			names = append(names, sc.name)
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
		if sc := findSubcommand(args[1]); sc != nil && len(args) == 2 {
			fmt.Fprint(stdout, commandHelp(sc))
			return exitOK
		}
		fmt.Fprintf(stderr, "enos: help: unknown subcommand %q (see 'enos --help')\n", args[1])
		return exitUsage
	case "-version", "--version":
		args = []string{"version"}
	}
	sc := findSubcommand(args[0])
	if sc == nil {
		if strings.HasPrefix(args[0], "-") {
			fmt.Fprintf(stderr, "enos: a subcommand comes first, before %s (see 'enos --help')\n", flagName(args[0]))
		} else {
			fmt.Fprintf(stderr, "enos: unknown subcommand %q (see 'enos --help')\n", args[0])
		}
		return exitUsage
	}
	inv := newInvocation(sc, stdin, stdout, stderr, getenv)
	if err := inv.execute(ctx, args[1:]); err != nil {
		return inv.fail(err)
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
