// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/urfave/cli/v3"

	"github.com/libenos/libenos/core/sign"
)

var cmdSign = &subcommand{
	name:    "sign",
	summary: "compute an option-2101 or authentication signature offline",
	usage:   "sign --token TOKEN [--sequence N] [--secret SECRET] [--iv IV]\n       enos sign --auth [--product-key PK --device-key DK --secret SECRET --lifetime S]",
	help: `Computes a signature locally, without the network, to compare with a
capture or another implementation (docs/protocol.md §2-3). Prints the upper-case
hex value on stdout.

Message signature (option 2101): AES-128-CBC, key SHA-256(secret)[8:24], IV
--iv, over "token{TOKEN}sequence{N}" with PKCS#7 padding.
Authentication signature (--auth): SHA-256 over
"deviceKey{DK}lifetime{S}productKey{PK}secureMode2{SECRET}".

Flags:
  --secret SECRET   the device secret (same as --device-secret; prefer
                    ENOS_DEVICE_SECRET or --device-secret-file)
  --token TOKEN     the session token from the authentication answer
                    (required for a message signature; may be "")
  --sequence N      the message sequence, 1..2147483647 (default 1)
  --auth            compute the authentication signature instead, from
                    --product-key, --device-key, the secret and --lifetime
  --iv IV           (connection flag) default, zero or 32 hex digits

Examples:
  ENOS_DEVICE_SECRET=sMgTXBUvDNeWGAJWnDcT enos sign --token 8GjM3fXkD2oQ --sequence 1
  enos sign --device-secret-file secret.txt --token 8GjM3fXkD2oQ --sequence 2 --iv zero
  ENOS_DEVICE_SECRET=... enos sign --auth --product-key MuGsF6W4 --device-key 15bBZlRknc --lifetime 3600
`,
	connection: true,
	setup: func(inv *invocation) ([]cli.Flag, runFunc) {
		var token, seq string
		var auth bool
		flags := []cli.Flag{
			&cli.StringFlag{Name: "secret", Destination: &inv.conn.signSecret},
			&cli.StringFlag{Name: "token", Destination: &token},
			&cli.StringFlag{Name: "sequence", Value: "1", Destination: &seq},
			&cli.BoolFlag{Name: "auth", Destination: &auth},
		}
		return flags, func(ctx context.Context, args []string) error {
			if err := noArgs("sign", args); err != nil {
				return err
			}
			c := &inv.conn
			if c.secret == "" {
				return usagef("missing the secret: --secret, --device-secret, --device-secret-file or ENOS_DEVICE_SECRET")
			}
			if auth {
				if inv.given("token") || inv.given("sequence") {
					return usagef("--auth takes no --token or --sequence")
				}
				if c.productKey == "" || c.deviceKey == "" {
					return usagef("--auth needs --product-key and --device-key (or ENOS_PRODUCT_KEY, ENOS_DEVICE_KEY)")
				}
				s, err := sign.AuthSign(c.productKey, c.deviceKey, c.secret, c.lifetime)
				if err != nil {
					return usagef("--lifetime %d: want 30..86400 seconds", c.lifetime)
				}
				fmt.Fprintln(inv.stdout, s)
				return nil
			}
			if !inv.given("token") {
				return usagef("missing --token (use --token '' for an empty token, --auth for the authentication signature)")
			}
			inv.hide(token)
			n, err := strconv.ParseUint(seq, 10, 32)
			if err != nil || n < 1 || n > sign.MaxSequence {
				return usagef("--sequence %q: want 1..2147483647", seq)
			}
			iv, err := parseIV(c.iv)
			if err != nil {
				return err
			}
			signer, err := sign.NewSigner(c.secret, iv)
			if err != nil {
				return err
			}
			s, err := signer.Sign(token, uint32(n))
			if err != nil {
				return err
			}
			inv.logf("sequence %d, IV %s, %d characters", n, ivLabel(iv), len(s))
			fmt.Fprintln(inv.stdout, s)
			return nil
		}
	},
}
