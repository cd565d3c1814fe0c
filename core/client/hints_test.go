// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"encoding/hex"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/libenos/libenos/core/sign"
	"github.com/libenos/libenos/internal/sim"
)

// wantHint checks that err has code and a message that points at the fix
// (hint) and at docs/troubleshooting.md, at its end, and holds no secret.
func wantHint(t *testing.T, err error, code Code, hint string) {
	t.Helper()
	wantCode(t, err, code)
	msg := err.Error()
	if !strings.Contains(msg, hint) {
		t.Errorf("error %q does not say %q", msg, hint)
	}
	if !strings.HasSuffix(msg, " (docs/troubleshooting.md)") {
		t.Errorf("error %q does not end by pointing at docs/troubleshooting.md", msg)
	}
	key := sign.SignKey(tSecret)
	for _, secret := range []string{tSecret, hex.EncodeToString(key[:]), strings.ToUpper(hex.EncodeToString(key[:]))} {
		if strings.Contains(msg, secret) {
			t.Errorf("error %q holds a secret", msg)
		}
	}
}

// A wrong IV is the typical first failure against a live EnOS: 4.01 to the
// first signed request of a fresh session.
func TestRejectionDetailsPointAtTheFix(t *testing.T) {
	ctx := context.Background()
	strict := startSim(t, sim.Config{})

	wrongIV := newClient(t, strict.Addr(), func(c *Config) { c.SignIV = make([]byte, 16) })
	err := reportErr(wrongIV, ctx, []byte("x"))
	wantHint(t, err, CodeRejected, "EnOS refused the signature of a fresh session: check sign_iv or run `enos probe`")
	var e *Error
	if !errors.As(err, &e) || CodeString(e.CoAP) != "4.01" || !strings.Contains(err.Error(), "(bad sign)") {
		t.Errorf("err = %v, want EnOS's 4.01 and its detail", err)
	}

	unsigned := newClient(t, strict.Addr(), func(c *Config) { c.SignMode = SignNever })
	wantHint(t, reportErr(unsigned, ctx, []byte("x")), CodeRejected, "use sign_mode auto or always")

	no2101 := startSim(t, sim.Config{SignMode: sim.SignUnknown})
	always := newClient(t, no2101.Addr(), func(c *Config) { c.SignMode = SignAlways })
	wantHint(t, reportErr(always, ctx, []byte("x")), CodeRejected, "EnOS does not know option 2101: use sign_mode auto or never")

	// A topic of another device: the topic is wrong, whatever EnOS answers.
	_, err = newClient(t, strict.Addr()).Publish(ctx, "/sys/nopk/nodk/thing/model/up_raw", []byte("x"))
	wantHint(t, err, CodeRejected, "the topic names another device than product_key/device_key")

	wrongSecret := newClient(t, strict.Addr(), func(c *Config) { c.DeviceSecret = "Not-The-Secret-42" })
	err = reportErr(wrongSecret, ctx, []byte("x"))
	wantHint(t, err, CodeAuth, "check product_key, device_key and device_secret")
	if strings.Contains(err.Error(), "Not-The-Secret-42") {
		t.Error("the error echoes the secret")
	}
}

func TestTransportAndStateDetailsPointAtTheFix(t *testing.T) {
	ctx := context.Background()
	pc, _ := net.ListenPacket("udp", "127.0.0.1:0")
	closed := pc.LocalAddr().String()
	pc.Close()
	wantHint(t, reportErr(newClient(t, closed), ctx, []byte("x")), CodeNetwork, "check the server name and port")

	hole, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer hole.Close()
	silent := newClient(t, hole.LocalAddr().String(), func(c *Config) { c.AckTimeout = 20 * time.Millisecond; c.MaxRetransmit = 1 })
	wantHint(t, reportErr(silent, ctx, []byte("x")), CodeTimeout, "firewalls and NAT let UDP through")

	// A report that cannot be delivered and does not fit the queue.
	tiny := newClient(t, hole.LocalAddr().String(), withState(t.TempDir()), func(c *Config) {
		c.AckTimeout = 20 * time.Millisecond
		c.MaxRetransmit = 1
		c.QueueMaxBytes = 1
	})
	wantHint(t, reportErr(tiny, ctx, []byte("too large for the queue")), CodeFull, "raise queue_max_count or queue_max_bytes")

	dir := t.TempDir()
	newClient(t, "127.0.0.1:1", withState(dir))
	_, err := New(Config{Server: "127.0.0.1:1", ProductKey: tPK, DeviceKey: tDK, DeviceSecret: tSecret, StateDir: dir})
	wantHint(t, err, CodeState, "one state_dir serves one client at a time")
}

// Every CoAP code a request or an authentication can end with gets a hint.
func TestEveryRefusalHasAHint(t *testing.T) {
	for class := uint8(4); class <= 5; class++ {
		for d := uint8(0); d < 32; d++ {
			coap := class<<5 | d
			for _, h := range []string{rejectionHint(coap, true, true), rejectionHint(coap, false, true), authHint(coap)} {
				if !strings.HasPrefix(h, "; ") || !strings.HasSuffix(h, troubleshooting) {
					t.Errorf("%s: hint %q", CodeString(coap), h)
				}
			}
		}
	}
}

// reportErr is Report's error alone, for tests about failures.
func reportErr(c *Client, ctx context.Context, payload []byte) error {
	_, err := c.Report(ctx, payload)
	return err
}
