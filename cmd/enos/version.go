// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v3"
)

var cmdVersion = &subcommand{
	name:    "version",
	summary: "print the version of enos",
	usage:   "version",
	help:    "Prints the version of enos, the Go version it was built with and, when known, the source revision.\n",
	setup: func(inv *invocation) ([]cli.Flag, runFunc) {
		return nil, func(ctx context.Context, args []string) error {
			if err := noArgs("version", args); err != nil {
				return err
			}
			rev := ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					switch s.Key {
					case "vcs.revision":
						if len(s.Value) > 12 {
							s.Value = s.Value[:12]
						}
						rev += " revision " + s.Value
					case "vcs.modified":
						if s.Value == "true" {
							rev += " (modified)"
						}
					}
				}
			}
			fmt.Fprintf(inv.stdout, "enos %s (%s %s/%s)%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH, rev)
			return nil
		}
	},
}
