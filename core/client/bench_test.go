package client

import (
	"context"
	"net"
	"runtime"
	"testing"
	"time"
)

// rawEnos answers over loopback like EnOS on the happy path, without
// allocating (so allocs/op below are the client's alone): POST /auth/... gets
// 2.05 {"token":"..."}, anything else 2.04. Signatures are not checked.
func rawEnos(b *testing.B) string {
	b.Helper()
	lc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	pc := lc.(*net.UDPConn) // the AddrPort calls do not allocate
	b.Cleanup(func() { pc.Close() })
	const tokenJSON = `{"token":"8GjM3fXkD2oQabcd"}`
	go func() {
		buf := make([]byte, 2048)
		out := make([]byte, 0, 64)
		for {
			n, addr, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			tkl := int(buf[0] & 0x0f)
			if n < 4+tkl || tkl > 8 {
				continue
			}
			d := buf[:n]
			auth := n >= 9+tkl && d[4+tkl] == 0xB4 && string(d[5+tkl:9+tkl]) == "auth"
			out = append(out[:0], 1<<6|2<<4|byte(tkl), 0x44, d[2], d[3]) // ACK 2.04
			out = append(out, d[4:4+tkl]...)
			if auth {
				out[1] = 0x45 // 2.05
				out = append(out, 0xFF)
				out = append(out, tokenJSON...)
			}
			pc.WriteToUDPAddrPort(out, addr)
		}
	}()
	return pc.LocalAddr().String()
}

func benchClient(b *testing.B) *Client {
	c, err := New(Config{Server: rawEnos(b), ProductKey: tPK, DeviceKey: tDK, DeviceSecret: tSecret,
		AckTimeout: 2 * time.Second, MaxRetransmit: 4})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	if err := c.Authenticate(context.Background()); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkReport is one signed report round trip through the whole core
// (turn, session, signature, transport) against an allocation-free peer:
// allocs/op is what the client allocates per message.
func BenchmarkReport(b *testing.B) {
	c := benchClient(b)
	p := make([]byte, 16)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Report(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReportLockedThread runs the same loop on a goroutine locked to its
// OS thread, as every call from C does (a cgo callback is locked to the
// calling C thread).
func BenchmarkReportLockedThread(b *testing.B) { benchLocked(b, context.Background()) }

// BenchmarkReportFromC is how a call from C runs: a goroutine locked to its
// thread, with the context the export layer passes (OnDedicatedThread).
func BenchmarkReportFromC(b *testing.B) { benchLocked(b, OnDedicatedThread(context.Background())) }

func benchLocked(b *testing.B, ctx context.Context) {
	c := benchClient(b)
	p := make([]byte, 16)
	done := make(chan struct{})
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for i := 0; i < b.N; i++ {
			if err := c.Report(ctx, p); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	<-done
}
