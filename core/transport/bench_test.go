// SPDX-License-Identifier: Apache-2.0

package transport

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/libenos/libenos/internal/testutil"
)

// BenchmarkDo is one signed CON POST round trip over loopback (client side:
// encode, write, deadline, read, decode, match): allocations per exchange and
// the cost of a round trip without the simulator's work.
func BenchmarkDo(b *testing.B) {
	c := New(testutil.RawEnos(b), Params{AckTimeout: 2 * time.Second, MaxRetransmit: 4})
	defer c.Close()
	req := &Request{
		Code:          codes.POST,
		Path:          "/topic/sys/MuGsF6W4/15bBZlRknc/thing/model/up_raw",
		ContentFormat: -1,
		Payload:       make([]byte, 16),
		Sign:          []byte("A3A7B1325BCE9F925F54E6D8134AA3EB3F57D08BE168FA28B47327C8C9F13C23"),
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Do(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDoLockedThread is BenchmarkDo from a goroutine locked to its OS
// thread, which is how every call from C runs (a cgo callback is locked to the
// calling C thread): each wait in the netpoller then costs a thread hand-off.
func BenchmarkDoLockedThread(b *testing.B) {
	c := New(testutil.RawEnos(b), Params{AckTimeout: 2 * time.Second, MaxRetransmit: 4})
	defer c.Close()
	req := &Request{Code: codes.POST, Path: "/topic/sys/a/b/thing/model/up_raw", ContentFormat: -1,
		Payload: make([]byte, 16), Sign: []byte("A3A7B1325BCE9F925F54E6D8134AA3EB3F57D08BE168FA28B47327C8C9F13C23")}
	ctx := context.Background()
	done := make(chan struct{})
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for i := 0; i < b.N; i++ {
			if _, err := c.Do(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	<-done
}
