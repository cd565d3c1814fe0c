// SPDX-License-Identifier: Apache-2.0

//go:build !nodtls

package transport

import (
	"context"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/libenos/libenos/core/sign"
	"github.com/libenos/libenos/internal/sim"
)

func runnerCount() int {
	runners.mu.Lock()
	defer runners.mu.Unlock()
	n := 0
	for _, r := range runners.m {
		n += r.refs
	}
	return n
}

// Sessions that end (the server closes one after its first report, and one
// while the client is idle) and the Close of the connection release their
// share of the retransmission runner.
func TestDTLSRunnersReleased(t *testing.T) {
	const pk, dk, secret = "MuGsF6W4", "15bBZlRknc", "sMgTXBUvDNeWGAJWnDcT"
	s, err := sim.Start(sim.Config{Listen: "127.0.0.1:0", DTLSListen: "127.0.0.1:0", ExpireAfter: 1,
		Devices: []sim.Device{{ProductKey: pk, DeviceKey: dk, Secret: secret}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key := sign.SignKey(secret)
	d, err := NewDTLS(s.DTLSAddr(), Params{AckTimeout: 100 * time.Millisecond, MaxRetransmit: 3},
		PSK{Identity: pk + "," + dk + ",2,3600", Key: key[:]})
	if err != nil {
		t.Fatal(err)
	}
	before := runnerCount()
	for i := 0; i < 4; i++ {
		r, err := d.Do(context.Background(), &Request{Code: codes.POST, Path: "/topic/sys/" + pk + "/" + dk + "/thing/model/up_raw", ContentFormat: -1, Payload: []byte("x")})
		if err != nil || r.Code != codes.Changed {
			t.Fatalf("report %d: %v %v", i, r.Code, err)
		}
		if n := runnerCount() - before; n != 1 {
			t.Fatalf("report %d: %d runner shares held", i, n)
		}
		if i == 1 {
			// The server ends the session while the client is idle (an alert).
			if err := s.EndSession(pk, dk); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(10 * time.Second); d.current() != nil; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the client did not notice the end of its session")
				}
			}
		}
	}
	d.Close()
	if n := runnerCount() - before; n != 0 {
		t.Fatalf("%d runner shares left after Close", n)
	}
}
