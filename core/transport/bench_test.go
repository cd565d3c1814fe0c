package transport

import (
	"context"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// ackResponder answers every CON on a loopback socket with a piggybacked 2.04
// (same MID and token, no options), built by hand so that the server's own
// cost stays out of the client's allocation count.
func ackResponder(b *testing.B) string {
	b.Helper()
	lc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	pc := lc.(*net.UDPConn) // the AddrPort calls do not allocate
	b.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		out := make([]byte, 4+8)
		for {
			n, addr, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if n < 4 {
				continue
			}
			tkl := int(buf[0] & 0x0f)
			if tkl > 8 || n < 4+tkl {
				continue
			}
			out = out[:4+tkl]
			out[0] = 1<<6 | 2<<4 | byte(tkl) // version 1, ACK
			out[1] = byte(codes.Changed)
			out[2], out[3] = buf[2], buf[3]
			copy(out[4:], buf[4:4+tkl])
			pc.WriteToUDPAddrPort(out, addr)
		}
	}()
	return pc.LocalAddr().String()
}

// BenchmarkDo is one signed CON POST round trip over loopback (client side:
// encode, write, deadline, read, decode, match): allocations per exchange and
// the cost of a round trip without the simulator's work.
func BenchmarkDo(b *testing.B) {
	c := New(ackResponder(b), Params{AckTimeout: 2 * time.Second, MaxRetransmit: 4})
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
	c := New(ackResponder(b), Params{AckTimeout: 2 * time.Second, MaxRetransmit: 4})
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
