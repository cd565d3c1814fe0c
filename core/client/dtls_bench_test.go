// SPDX-License-Identifier: Apache-2.0

//go:build !nodtls

package client

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/libenos/libenos/internal/sim"
)

// The DTLS benchmarks run the client against the in-process simulator, over
// DTLS and, for comparison, over UDP (POST /auth + option 2101) against the
// same simulator. cpu-µs/op is the process's CPU time (user + system) per
// operation: the client's and the simulator's together, both sides of one
// exchange, since they share the process.

func benchSim(b *testing.B) *sim.Server {
	s, err := sim.Start(sim.Config{Listen: "127.0.0.1:0", DTLSListen: "127.0.0.1:0", NoRecords: true,
		Devices: []sim.Device{{ProductKey: tPK, DeviceKey: tDK, Secret: tSecret}}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchNew(b *testing.B, server string, sec Security) *Client {
	c, err := New(Config{Server: server, ProductKey: tPK, DeviceKey: tDK, DeviceSecret: tSecret,
		AckTimeout: 2 * time.Second, MaxRetransmit: 4, Security: sec})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-µs/op")
}

// BenchmarkDTLSHandshake: one full DTLS 1.2 PSK handshake (enos_authenticate over DTLS).
func BenchmarkDTLSHandshake(b *testing.B) {
	s := benchSim(b)
	benchAuthenticate(b, s.DTLSAddr(), SecurityDTLS)
}

// BenchmarkUDPAuthenticate: POST /auth, the UDP mode's equivalent of a handshake.
func BenchmarkUDPAuthenticate(b *testing.B) {
	s := benchSim(b)
	benchAuthenticate(b, s.Addr(), SecurityNone)
}

// benchAuthenticate times Authenticate, which ends any session first: a new
// handshake (DTLS) or POST /auth (UDP) each time.
func benchAuthenticate(b *testing.B, server string, sec Security) {
	c := benchNew(b, server, sec)
	defer c.Close()
	ctx := context.Background()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		if err := c.Authenticate(ctx); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// firstReport: New, the first report (handshake or /auth included), Close.
func firstReport(b *testing.B, server string, sec Security) {
	ctx := context.Background()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		c := benchNew(b, server, sec)
		if err := reportQ(c, ctx, []byte("first")); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	reportCPU(b, cpu)
}

func BenchmarkDTLSFirstReport(b *testing.B) { firstReport(b, benchSim(b).DTLSAddr(), SecurityDTLS) }
func BenchmarkUDPFirstReport(b *testing.B)  { firstReport(b, benchSim(b).Addr(), SecurityNone) }

// reports: sequential reports on one established session (b.N must stay
// below 65,536: one socket's Message IDs within EXCHANGE_LIFETIME).
func reports(b *testing.B, server string, sec Security) {
	c := benchNew(b, server, sec)
	defer c.Close()
	ctx := context.Background()
	p := make([]byte, 16)
	if err := reportQ(c, ctx, p); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		if err := reportQ(c, ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

func BenchmarkDTLSReport(b *testing.B) { reports(b, benchSim(b).DTLSAddr(), SecurityDTLS) }
func BenchmarkUDPReport(b *testing.B)  { reports(b, benchSim(b).Addr(), SecurityNone) }

// BenchmarkDTLSIdleClients measures what N idle clients with an established
// DTLS session cost the process (heap and goroutines per client), against
// enos-sim running as a separate process so that its side is not counted.
// Run it with -benchtime 1x; N = 1,000 (ENOS_BENCH_IDLE_N overrides).
func BenchmarkDTLSIdleClients(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("ENOS_BENCH_IDLE_N")); err == nil && v > 0 {
		n = v
	}
	for _, sec := range []Security{SecurityNone, SecurityDTLS} {
		name := map[Security]string{SecurityNone: "udp", SecurityDTLS: "dtls"}[sec]
		b.Run(name, func(b *testing.B) {
			addr, udp := startSimProcess(b)
			if sec == SecurityNone {
				addr = udp
			}
			for i := 0; i < b.N; i++ {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				g0 := runtime.NumGoroutine()
				clients := make([]*Client, n)
				for j := range clients {
					clients[j] = benchNew(b, addr, sec)
					if err := reportQ(clients[j], context.Background(), []byte("x")); err != nil {
						b.Fatal(err)
					}
				}
				time.Sleep(200 * time.Millisecond)
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/float64(n), "heap-B/client")
				b.ReportMetric(float64(after.StackInuse-before.StackInuse)/float64(n), "stack-B/client")
				b.ReportMetric(float64(runtime.NumGoroutine()-g0)/float64(n), "goroutines/client")
				for _, c := range clients {
					c.Close()
				}
			}
		})
	}
}

// startSimProcess builds and starts enos-sim with a DTLS listener; it
// returns the DTLS and the UDP address.
func startSimProcess(b *testing.B) (dtlsAddr, udpAddr string) {
	bin := filepath.Join(b.TempDir(), "enos-sim")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/enos-sim").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--dtls-listen", "127.0.0.1:0", "--control", "off",
		"--log", os.DevNull, "--device", tPK+":"+tDK+":"+tSecret)
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	udpAddr = strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "enos-sim: DTLS on "); ok {
			dtlsAddr = a
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	if dtlsAddr == "" || udpAddr == "" {
		b.Fatal("enos-sim did not start")
	}
	return dtlsAddr, udpAddr
}
