// SPDX-License-Identifier: Apache-2.0

package client

import (
	"strings"
	"testing"
	"time"
)

// TestTransmissionWindowIsBounded: each of ack timeout (≤ 60 s) and max
// retransmit (≤ 10) was checked alone, so together they allowed a window of
// 60 s × 1.5 × 2047 ≈ 51 hours per exchange, far beyond what the bounds
// promise. The product is checked at New, with an error naming both.
func TestTransmissionWindowIsBounded(t *testing.T) {
	base := Config{Server: "127.0.0.1", ProductKey: "pk", DeviceKey: "dk", DeviceSecret: "s"}
	for _, tc := range []struct {
		ack time.Duration
		max int
		ok  bool
	}{
		{0, 0, true},                  // defaults: 93 s
		{2 * time.Second, 10, true},   // 1.7 h
		{60 * time.Second, 5, true},   // 1.6 h
		{60 * time.Second, 6, false},  // 3.2 h
		{60 * time.Second, 10, false}, // 51 h
		{10 * time.Second, 10, false}, // 8.5 h
	} {
		cfg := base
		cfg.AckTimeout, cfg.MaxRetransmit = tc.ack, tc.max
		c, err := New(cfg)
		if tc.ok {
			if err != nil {
				t.Errorf("ack %v, max retransmit %d: %v", tc.ack, tc.max, err)
				continue
			}
			if w := c.Window(); w > MaxWindow {
				t.Errorf("ack %v, max retransmit %d: window %v above %v", tc.ack, tc.max, w, MaxWindow)
			}
			c.Close()
			continue
		}
		wantCode(t, err, CodeInvalid)
		if e := err.(*Error); e.Field != FieldMaxRetransmit || !strings.Contains(e.Msg, "ack timeout") || !strings.Contains(e.Msg, "window") {
			t.Errorf("ack %v, max retransmit %d: field %d, message %q", tc.ack, tc.max, e.Field, e.Msg)
		}
	}
}
