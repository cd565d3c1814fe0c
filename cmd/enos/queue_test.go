// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libenos/libenos/internal/testutil"
)

// freeUDPAddr returns a loopback UDP address nothing listens on (for now):
// datagrams sent there get an ICMP port unreachable, a network error.
func freeUDPAddr(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

// startSimProcess builds enos-sim and runs it as its own process on addr,
// writing accepted messages to logFile; it stops at the end of the test.
// extra are more enos-sim flags (e.g. --model FILE).
func startSimProcess(t *testing.T, addr, logFile string, extra ...string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "enos-sim")
	if out, err := exec.Command("go", "build", "-o", bin, "../enos-sim").CombinedOutput(); err != nil {
		t.Fatalf("go build enos-sim: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, append([]string{"--listen", addr, "--control", "off", "--log", logFile,
		"--device", testPK + ":" + testDK + ":" + testSecret}, extra...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr testutil.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "listening on ") {
		t.Skipf("enos-sim did not start on %s (port taken again?): %q %v %s", addr, line, err, stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
}

// simLog reads the payloads of the up_raw records in the simulator's log.
func simLog(t *testing.T, logFile string) []string {
	t.Helper()
	b, err := os.ReadFile(logFile)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var rec struct {
			Topic   string
			Payload []byte
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if !strings.HasSuffix(rec.Topic, "/thing/model/up_raw") {
			t.Fatalf("log line %q: unexpected topic", line)
		}
		got = append(got, string(rec.Payload))
	}
	return got
}

// TestOneShotReportDrainsQueue: reports made during an outage are queued
// (exit 0, "queued"); once the server is back, a single one-shot
// 'enos report --state-dir D x' delivers the queued reports and then x, in
// order, each once.
func TestOneShotReportDrainsQueue(t *testing.T) {
	addr := freeUDPAddr(t)
	dir := t.TempDir()
	logFile := filepath.Join(t.TempDir(), "records.jsonl")
	env := []string{
		"ENOS_SERVER=" + addr,
		"ENOS_PRODUCT_KEY=" + testPK,
		"ENOS_DEVICE_KEY=" + testDK,
		"ENOS_DEVICE_SECRET=" + testSecret,
		"ENOS_ACK_TIMEOUT=50ms",
		"ENOS_MAX_RETRANSMIT=1",
		"ENOS_STATE_DIR=" + dir,
	}
	queued := []string{"q1", "q2", "q3"}
	for i, p := range queued {
		// --flush-timeout far above runEnos's limit: a run must stop waiting
		// for the queue as soon as a delivery fails.
		r := runEnos(t, runOpts{env: env}, "report", "--flush-timeout", "1h", p)
		wantCode(t, r, 0)
		noSecret(t, r)
		if !strings.HasPrefix(r.stdout, "queued 2 bytes for ") {
			t.Fatalf("report during the outage: %s", r)
		}
		if i > 0 && !strings.Contains(r.stderr, "still out of reach") {
			t.Errorf("no warning about the queue left behind: %s", r)
		}
	}
	// --flush-timeout 0 does not wait: the new report goes behind the queue.
	r := runEnos(t, runOpts{env: env}, "report", "--flush-timeout", "0", "q4")
	wantCode(t, r, 0)
	if !strings.HasPrefix(r.stdout, "queued 2 bytes for ") || !strings.Contains(r.stdout, "behind") {
		t.Fatalf("report with --flush-timeout 0: %s", r)
	}
	queued = append(queued, "q4")

	startSimProcess(t, addr, logFile)
	r = runEnos(t, runOpts{env: env}, "report", "-v", "x")
	wantCode(t, r, 0)
	noSecret(t, r)
	if !strings.HasPrefix(r.stdout, "reported 1 bytes to ") || !strings.Contains(r.stderr, "delivered 4 queued reports") {
		t.Fatalf("report after the outage: %s", r)
	}
	want := strings.Join(append(queued, "x"), ",")
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = strings.Join(simLog(t, logFile), ","); got == want {
			break
		}
	}
	if got != want {
		t.Fatalf("simulator log has %q, want %q", got, want)
	}
	// The queue is empty: the next run reports straight away.
	r = runEnos(t, runOpts{env: env}, "report", "y")
	wantCode(t, r, 0)
	if !strings.HasPrefix(r.stdout, "reported 1 bytes to ") {
		t.Fatalf("report with an empty queue: %s", r)
	}
}
