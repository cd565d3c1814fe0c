// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"strings"
)

const exitHelp = `Exit codes:
  0    success (report, measurepoints, event: delivered, or queued with
       --state-dir; probe: at least one variant accepted)
  1    other error (I/O, internal)
  2    usage error: bad flag, argument or environment variable, missing setting
  3    network error: server unreachable (resolution, send, ICMP error)
  4    timeout: no answer within the retransmission window or --timeout
  5    authentication refused by EnOS (wrong keys or secret, device disabled)
  6    request rejected by EnOS (a 4.xx/5.xx answer, e.g. bad signature), or
       content refused: EnOS's JSON reply carries a code other than 200
       (e.g. 1204 "Model validate failed")
  130  interrupted by SIGINT/SIGTERM (listen stops normally on them: exit 0)
`

func topUsage() string {
	var b strings.Builder
	b.WriteString(`enos: connect a device to Envision EnOS over CoAP/UDP (libenos ` + version + `)

Usage:
  enos SUBCOMMAND [flags] [arguments]
  enos help SUBCOMMAND      help on one subcommand (also: enos SUBCOMMAND --help)

Subcommands:
`)
	for _, sc := range subcommands() {
		fmt.Fprintf(&b, "  %-13s  %s\n", sc.name, sc.summary)
	}
	b.WriteString(`
Every subcommand but version takes the connection flags below. Flags may come
before or after arguments; "--" ends the flags. Both -flag and --flag work.

`)
	b.WriteString(commonHelp)
	b.WriteString(`
Secrets: give the device secret in ENOS_DEVICE_SECRET or --device-secret-file,
not --device-secret (other users can read command lines in ps). enos never
prints the secret, nor the session token unless 'enos auth --show-token'.
Errors go to stderr as "enos: <message>".

Example:
  export ENOS_SERVER=coap-<enos-host>:5683 ENOS_PRODUCT_KEY=MuGsF6W4 ENOS_DEVICE_KEY=15bBZlRknc
  read -rs ENOS_DEVICE_SECRET && export ENOS_DEVICE_SECRET
  enos auth && enos report '{"temp":21.5}' && enos probe

`)
	b.WriteString(exitHelp)
	b.WriteString("\nSee docs/enos-cli.md for the full manual.\n")
	return b.String()
}

func commandHelp(sc *subcommand) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: enos %s\n\n%s\n", sc.usage, strings.TrimRight(sc.help, "\n"))
	if sc.connection {
		b.WriteString("\n")
		b.WriteString(commonHelp)
	}
	b.WriteString("\n")
	b.WriteString(exitHelp)
	return b.String()
}
