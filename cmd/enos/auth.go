// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/libenos/libenos/core/client"
)

var cmdAuth = &subcommand{
	name:    "auth",
	summary: "authenticate the device and print the result",
	usage:   "auth [--show-token] [connection flags]",
	help: `Authenticates the device (POST /auth/{productKey}/{deviceKey}) and prints
what EnOS answered: whether a session token came back and whether requests
will be signed with option 2101. The token is not printed unless
--show-token is given; the secret is never printed.

Flags:
  --show-token   also print the session token (it authorizes requests until
                 the session ends: treat the output as sensitive)
`,
	connection: true,
	setup: func(inv *invocation) ([]cli.Flag, runFunc) {
		var showToken bool
		flags := []cli.Flag{&cli.BoolFlag{Name: "show-token", Destination: &showToken}}
		return flags, func(ctx context.Context, args []string) error {
			if err := noArgs("auth", args); err != nil {
				return err
			}
			return runAuth(ctx, inv, showToken)
		}
	},
}

// sessionInfo is what an authentication told us.
type sessionInfo struct {
	token    string
	hasToken bool
	signing  bool // the client signs requests (option 2101), as it decided
	elapsed  time.Duration
}

// authenticate authenticates c and reads the session it got.
func authenticate(ctx context.Context, c *client.Client) (sessionInfo, error) {
	start := time.Now()
	if err := c.Authenticate(ctx); err != nil {
		return sessionInfo{}, err
	}
	info := sessionInfo{elapsed: time.Since(start)}
	sess, err := c.Session(ctx)
	if err != nil {
		return info, err
	}
	info.token, info.hasToken, info.signing = sess.Token, sess.Token != "", sess.Signing
	return info, nil
}

func runAuth(parent context.Context, inv *invocation, showToken bool) error {
	c, err := inv.openClient()
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := inv.withTimeout(parent)
	defer cancel()
	info, err := authenticate(ctx, c)
	inv.hide(info.token)
	if err != nil {
		return interrupted(parent, err)
	}
	n := c.Config()
	fmt.Fprintf(inv.stdout, "authenticated %s/%s at %s in %v\n", n.ProductKey, n.DeviceKey, n.Server, roundDur(info.elapsed))
	fmt.Fprintf(inv.stdout, "lifetime: %d s\n", n.Lifetime)
	switch {
	case !info.hasToken:
		fmt.Fprintln(inv.stdout, "token: none (the answer carried no token)")
	case showToken:
		fmt.Fprintf(inv.stdout, "token: %s\n", info.token)
	default:
		fmt.Fprintf(inv.stdout, "token: received, %d characters (not shown; --show-token prints it)\n", len(info.token))
	}
	if info.signing {
		fmt.Fprintf(inv.stdout, "signing: on (option 2101, sign mode %s, IV %s)\n", signModeName(n.SignMode), ivLabel(n.SignIV))
	} else {
		fmt.Fprintf(inv.stdout, "signing: off (sign mode %s)\n", signModeName(n.SignMode))
	}
	inv.warnUnhandled(c)
	inv.logStats(c)
	return nil
}
