// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// forged402Enos is a raw UDP fake of an EnOS that requires option 2101: it
// hands out a token, answers a signed request 2.04 and refuses an unsigned
// one with 4.03, except that the first signed request it sees gets a 4.02
// Bad Option, as one forged or spurious datagram would.
type forged402Enos struct {
	addr                     string
	signed, unsigned, forged atomic.Int32
}

func startForged402Enos(t *testing.T) *forged402Enos {
	t.Helper()
	e := &forged402Enos{}
	e.addr = startFakeEnos(t, func(m *message.Message, path string, _ net.Addr, resp *message.Message) {
		switch {
		case strings.HasPrefix(path, "/auth/"):
			resp.Code = codes.Content
			resp.Payload = []byte(`{"token":"8GjM3fXkD2oQ"}`)
		case m.Options.HasOption(message.OptionID(2101)):
			e.signed.Add(1)
			if e.forged.Add(1) == 1 {
				resp.Code = codes.BadOption
			}
		default:
			e.unsigned.Add(1)
			resp.Code = codes.Forbidden
		}
	})
	return e
}

// TestOneForged402DoesNotTurnSigningOff: one 4.02 used to turn signing off
// for the client's life, so a single forged or spurious datagram made every
// later request unsigned, and refused by an EnOS that requires signatures.
// Now a 4.02 makes libenos try the request unsigned; when EnOS refuses that,
// the 4.02 was not EnOS's verdict: it resends signed, and keeps signing.
func TestOneForged402DoesNotTurnSigningOff(t *testing.T) {
	e := startForged402Enos(t)
	c := newClient(t, e.addr)
	ctx := context.Background()
	for _, p := range []string{"a", "b", "c"} {
		if err := reportQ(c, ctx, []byte(p)); err != nil {
			t.Fatalf("report %s: %v", p, err)
		}
	}
	if si, _ := c.Session(ctx); !si.Signing {
		t.Fatalf("session %+v: one 4.02 turned signing off", si)
	}
	if s, u := e.signed.Load(), e.unsigned.Load(); s != 4 || u != 1 {
		t.Errorf("EnOS saw %d signed and %d unsigned requests, want 4 and 1", s, u)
	}
}
