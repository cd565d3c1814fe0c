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

// Sessions that end (here: the server closes each after one report) and the
// Close of the connection release their share of the retransmission runner.
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
	}
	d.Close()
	if n := runnerCount() - before; n != 0 {
		t.Fatalf("%d runner shares left after Close", n)
	}
}
