// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/libenos/libenos/internal/testutil"
)

func benchClient(b *testing.B) *Client {
	c, err := New(Config{Server: testutil.RawEnos(b), ProductKey: tPK, DeviceKey: tDK, DeviceSecret: tSecret,
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
		if _, err := c.Report(ctx, p); err != nil {
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
			if _, err := c.Report(ctx, p); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	<-done
}
