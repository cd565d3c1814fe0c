// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// Every flag of every subcommand is in its help and in docs/enos-cli.md, and
// every environment variable too.
func TestHelpAndDocsComplete(t *testing.T) {
	doc, err := os.ReadFile("../../docs/enos-cli.md")
	if err != nil {
		t.Fatal(err)
	}
	envVars := 0
	for _, sc := range subcommands() {
		inv := newInvocation(sc, nil, nil, nil, func(string) string { return "" })
		help := commandHelp(sc)
		for _, f := range inv.command().Flags {
			for _, n := range f.Names() {
				name := "--" + n
				if len(n) == 1 {
					name = "-" + n
				}
				if !strings.Contains(help, name) {
					t.Errorf("enos help %s does not mention %s", sc.name, name)
				}
				if !strings.Contains(string(doc), name) {
					t.Errorf("docs/enos-cli.md does not mention %s (enos %s)", name, sc.name)
				}
			}
			for _, v := range f.(interface{ GetEnvVars() []string }).GetEnvVars() {
				envVars++
				if !strings.Contains(help, v) || !strings.Contains(string(doc), v) {
					t.Errorf("%s (enos %s) is not documented", v, sc.name)
				}
			}
		}
		if !strings.Contains(string(doc), "enos "+sc.name) {
			t.Errorf("docs/enos-cli.md does not mention enos %s", sc.name)
		}
	}
	if envVars == 0 {
		t.Error("no flag has an environment variable")
	}
	for _, code := range []string{"| 0 ", "| 1 ", "| 2 ", "| 3 ", "| 4 ", "| 5 ", "| 6 ", "| 130 "} {
		if !strings.Contains(string(doc), code) {
			t.Errorf("docs/enos-cli.md has no exit code row %q", code)
		}
	}
}

// run in-process: the flag error of --device-secret never echoes a value, and
// the redaction catches a secret that leaks into an error message.
func TestRedaction(t *testing.T) {
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if k == "ENOS_DEVICE_SECRET" {
			return "s3cr3t-value"
		}
		return ""
	}
	code := run(context.Background(), []string{"auth", "--server", "s3cr3t-value:99999", "--product-key", "p", "--device-key", "d"},
		strings.NewReader(""), &out, &errb, getenv)
	if code != exitUsage || strings.Contains(errb.String()+out.String(), "s3cr3t-value") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "[redacted]") {
		t.Errorf("stderr %q", errb.String())
	}
}

func TestParseIV(t *testing.T) {
	for in, want := range map[string]string{"default": "default", "": "default", "zero": "zero", "ZERO": "zero",
		"00000000000000000000000000000000": "zero", "35343379686a7939376165376679666" + "7": "default",
		"0x000102030405060708090a0b0c0d0e0f": "000102030405060708090A0B0C0D0E0F"} {
		iv, err := parseIV(in)
		if err != nil || ivLabel(iv) != want {
			t.Errorf("parseIV(%q) = %v %v, label %q, want %q", in, iv, err, ivLabel(iv), want)
		}
	}
	for _, bad := range []string{"abc", "0001", "543yhjy97ae7fyfg", "zz000102030405060708090a0b0c0d0e"} {
		if _, err := parseIV(bad); err == nil {
			t.Errorf("parseIV(%q) accepted", bad)
		}
	}
}
