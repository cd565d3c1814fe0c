package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/libenos/libenos/core/sign"
)

var cmdSign = &command{
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
	setup: func(e *env) runFunc {
		e.addCommon()
		e.fs.StringVar(&e.secret, "secret", "", "")
		token := e.fs.String("token", "", "")
		seq := e.fs.String("sequence", "1", "")
		auth := e.fs.Bool("auth", false, "")
		return func(ctx context.Context, args []string) error {
			if err := noArgs("sign", args); err != nil {
				return err
			}
			if e.secret == "" {
				return usagef("missing the secret: --secret, --device-secret, --device-secret-file or ENOS_DEVICE_SECRET")
			}
			if *auth {
				if e.isSet("token") || e.isSet("sequence") {
					return usagef("--auth takes no --token or --sequence")
				}
				if e.productKey == "" || e.deviceKey == "" {
					return usagef("--auth needs --product-key and --device-key (or ENOS_PRODUCT_KEY, ENOS_DEVICE_KEY)")
				}
				s, err := sign.AuthSign(e.productKey, e.deviceKey, e.secret, e.lifetime)
				if err != nil {
					return usagef("--lifetime %d: want 30..86400 seconds", e.lifetime)
				}
				fmt.Fprintln(e.stdout, s)
				return nil
			}
			if !e.isSet("token") {
				return usagef("missing --token (use --token '' for an empty token, --auth for the authentication signature)")
			}
			e.hide(*token)
			n, err := strconv.ParseUint(*seq, 10, 32)
			if err != nil || n < 1 || n > sign.MaxSequence {
				return usagef("--sequence %q: want 1..2147483647", *seq)
			}
			iv, err := parseIV(e.iv)
			if err != nil {
				return err
			}
			signer, err := sign.NewSigner(e.secret, iv)
			if err != nil {
				return err
			}
			s, err := signer.Sign(*token, uint32(n))
			if err != nil {
				return err
			}
			e.logf("sequence %d, IV %s, %d characters", n, ivLabel(iv), len(s))
			fmt.Fprintln(e.stdout, s)
			return nil
		}
	},
}
