// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
)

// TestRedactionDoesNotConfirmAShortSecret: with the device secret "wrong",
// EnOS's "4.01 (wrong sign)" used to print as "4.01 ([redacted] sign)",
// which tells whoever reads it that the secret is "wrong". A secret or token
// shorter than minRedactLen is not searched for (it would match ordinary
// words by chance, and the redaction would confirm it); longer ones still
// are. Real UDP against a fake EnOS that refuses authentication.
func TestRedactionDoesNotConfirmAShortSecret(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 4 || buf[0]&0x30 != 0 {
				continue
			}
			tkl := int(buf[0] & 0x0f)
			// ACK 4.01 with the request's MID and token, payload "wrong sign".
			out := append([]byte{1<<6 | 2<<4 | byte(tkl), 0x81, buf[2], buf[3]}, buf[4:4+tkl]...)
			out = append(out, 0xFF)
			out = append(out, "wrong sign"...)
			_, _ = pc.WriteTo(out, from)
		}
	}()
	for _, tc := range []struct{ secret, want, not string }{
		{"wrong", "(wrong sign)", "[redacted]"},
		{"wrong sign", "[redacted]", "wrong sign"}, // long enough: still redacted
	} {
		var out, errb bytes.Buffer
		getenv := func(k string) string {
			if k == "ENOS_DEVICE_SECRET" {
				return tc.secret
			}
			return ""
		}
		run(context.Background(), []string{"auth", "--server", pc.LocalAddr().String(), "--product-key", "p", "--device-key", "d",
			"--ack-timeout", "200ms", "--max-retransmit", "1"}, strings.NewReader(""), &out, &errb, getenv)
		got := out.String() + errb.String()
		if !strings.Contains(got, tc.want) || strings.Contains(got, tc.not) {
			t.Errorf("secret %q: output %q, want it to contain %q and not %q", tc.secret, got, tc.want, tc.not)
		}
	}
	inv := newInvocation(nil, strings.NewReader(""), io.Discard, io.Discard, func(string) string { return "" })
	inv.hide("short")
	inv.hide("8GjM3fXkD2oQ")
	if got := inv.redact("short token 8GjM3fXkD2oQ"); got != "short token [redacted]" {
		t.Errorf("redact: %q", got)
	}
}
