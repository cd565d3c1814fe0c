// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/libenos/libenos/core/sign"
	"github.com/libenos/libenos/internal/sim"
	"github.com/libenos/libenos/internal/testutil"
)

const (
	pk     = "MuGsF6W4"
	dk     = "15bBZlRknc"
	secret = "sMgTXBUvDNeWGAJWnDcT"
)

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if rc := run([]string{"--help"}, &out, &errb); rc != 0 {
		t.Fatalf("--help: rc %d", rc)
	}
	for _, f := range []string{"-listen", "-device", "-devices", "-sign-iv", "-sign-mode", "-command-style", "-seed",
		"-drop-requests", "-drop-responses", "-delay", "-jitter", "-fail-rate", "-expire-after", "-lifetime-override",
		"-control", "-log", "-verbose", "-model", "enos-sim command"} {
		if !strings.Contains(errb.String(), f) {
			t.Errorf("--help does not mention %s", f)
		}
	}
	for _, args := range [][]string{
		{"--bogus"},
		{"--device", "pk:dk"},
		{"--sign-iv", "00"},
		{"--sign-mode", "maybe", "--device", "a:b:c", "--listen", "127.0.0.1:0", "--control", "off"},
		{"command", "--to", "nodevice"},
		{"--model", "/nonexistent/model.json", "--device", "a:b:c", "--listen", "127.0.0.1:0", "--control", "off"},
		{"stray"},
	} {
		errb.Reset()
		if rc := run(args, &out, &errb); rc == 0 {
			t.Errorf("%v: rc 0", args)
		}
		if strings.Contains(errb.String(), "pk:dk") && !strings.Contains(errb.String(), "***") {
			t.Errorf("%v: error echoes the device spec: %s", args, errb.String())
		}
	}
}

// A bad service call is a usage error (2), refused before the control
// channel (whose address here has nothing listening) is contacted.
func TestServiceCallUsage(t *testing.T) {
	for _, args := range [][]string{
		{"command", "--to", "a/b", "--service", "bad id"},
		{"command", "--to", "a/b", "--service", "x.1y"},
		{"command", "--to", "a/b", "--service", "x", "--params", "[1]"},
		{"command", "--to", "a/b", "--service", "x", "--params", "{"},
		{"command", "--to", "a/b", "--service", "x", "--payload", "y"},
		{"command", "--to", "a/b", "--service", "x", "--topic", "/t"},
	} {
		var out, errb bytes.Buffer
		if rc := run(append(args, "--control", "127.0.0.1:1"), &out, &errb); rc != 2 {
			t.Errorf("%v: rc %d (%s), want 2", args, rc, errb.String())
		}
	}
}

// TestWithLibcoap builds enos-sim, runs it as its own process and drives it
// with libcoap's coap-client-notls: an independent CoAP stack.
func TestWithLibcoap(t *testing.T) {
	coapClient, err := exec.LookPath("coap-client-notls")
	if err != nil {
		t.Skip("coap-client-notls not found: install Debian package libcoap3-bin to run this test")
	}
	logFile := filepath.Join(t.TempDir(), "records.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	p := startSimBinary(t, ctx, "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0", "--log", logFile,
		"--device", pk+":"+dk+":"+secret, "--device", "other:dev:sec")
	addr, stderr := p.addr, p.stderr
	control := p.stderrLine("enos-sim: control channel on ")

	coap := func(args ...string) (string, string) {
		t.Helper()
		c := exec.CommandContext(ctx, coapClient, append([]string{"-B", "5"}, args...)...)
		var o, e bytes.Buffer
		c.Stdout, c.Stderr = &o, &e
		if err := c.Run(); err != nil {
			t.Fatalf("coap-client %v: %v\n%s%s", args, err, o.String(), e.String())
		}
		return o.String(), e.String()
	}
	up := "coap://" + addr + "/topic/sys/" + pk + "/" + dk + "/thing/model/up_raw"

	// Authenticate.
	as, _ := sign.AuthSign(pk, dk, secret, 3600)
	out, _ := coap("-m", "post", "-t", "50", "-e", `{"secureMode":2,"lifetime":3600,"sign":"`+as+`"}`, "coap://"+addr+"/auth/"+pk+"/"+dk)
	var auth struct{ Token string }
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &auth); err != nil || auth.Token == "" {
		t.Fatalf("auth response %q", out)
	}
	_, e := coap("-m", "post", "-t", "50", "-e", `{"secureMode":2,"lifetime":3600,"sign":"`+strings.Repeat("0", 64)+`"}`, "coap://"+addr+"/auth/"+pk+"/"+dk)
	if !strings.HasPrefix(e, "4.01") {
		t.Fatalf("wrong auth sign: %q", e)
	}

	// A signed report.
	sg, _ := sign.NewSigner(secret, nil)
	s1, _ := sg.Sign(auth.Token, 1)
	out, e = coap("-m", "post", "-O", "2101,"+s1, "-e", "hello", up)
	if out != "" || e != "" {
		t.Fatalf("signed report: stdout %q stderr %q", out, e)
	}
	// The same signature again (a new request: new MID): replayed sequence.
	_, e = coap("-m", "post", "-O", "2101,"+s1, "-e", "again", up)
	if !strings.HasPrefix(e, "4.01") {
		t.Fatalf("replayed sequence: %q", e)
	}
	// No option 2101.
	_, e = coap("-m", "post", "-e", "unsigned", up)
	if !strings.HasPrefix(e, "4.01") {
		t.Fatalf("missing 2101: %q", e)
	}

	// A command queued over the control channel, delivered with the next report.
	var o2, e2 bytes.Buffer
	if rc := run([]string{"command", "--control", control, "--to", pk + "/" + dk, "--payload", "reboot"}, &o2, &e2); rc != 0 {
		t.Fatalf("enos-sim command: rc %d: %s", rc, e2.String())
	}
	s2, _ := sg.Sign(auth.Token, 2)
	coap("-m", "post", "-O", "2101,"+s2, "-e", "second", up)
	resp, err := sim.SendControl(control, sim.ControlRequest{Op: "stats"}, 5*time.Second)
	if err != nil || resp.Stats.CommandsQueued != 1 || resp.Stats.CommandsDelivered != 1 || resp.Stats.Reports != 2 {
		t.Fatalf("stats %+v %v", resp.Stats, err)
	}

	// Summary on SIGTERM; the records file has exactly the two reports.
	p.stop()
	if !strings.Contains(stderr.String(), "summary: auths=1 reports=2 rejections=3 duplicates=0") {
		t.Fatalf("summary: %s", stderr.String())
	}
	data, _ := os.ReadFile(logFile)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 {
		t.Fatalf("records: %q", data)
	}
	var r sim.Record
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil || r.Sequence != 1 || string(r.Payload) != "hello" ||
		r.Topic != "/sys/"+pk+"/"+dk+"/thing/model/up_raw" {
		t.Fatalf("record %q: %v", lines[0], err)
	}
	all := string(data) + stderr.String()
	if strings.Contains(all, auth.Token) || strings.Contains(all, secret) {
		t.Fatal("records or stderr leak the token or the secret")
	}
}

// simProcess is enos-sim running as its own process (startSimBinary).
type simProcess struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string               // UDP address, from the "listening on" line
	stderr *testutil.SyncBuffer // everything it wrote to stderr
}

// startSimBinary builds enos-sim and starts it with args until ctx ends or the
// test does; it returns once the simulator said where it listens.
func startSimBinary(t *testing.T, ctx context.Context, args ...string) *simProcess {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "enos-sim")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	p := &simProcess{t: t, cmd: exec.CommandContext(ctx, bin, args...), stderr: &testutil.SyncBuffer{}}
	stdout, _ := p.cmd.StdoutPipe()
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "listening on ") {
		t.Fatalf("first stdout line %q: %v", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	p.addr = strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	return p
}

// stderrLine waits up to 5 s for a stderr line starting with prefix and
// returns the rest of it.
func (p *simProcess) stderrLine(prefix string) string {
	p.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, l := range strings.Split(p.stderr.String(), "\n") {
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				return rest
			}
		}
	}
	p.t.Fatalf("no %q line on stderr: %s", prefix, p.stderr.String())
	return ""
}

// stop ends the simulator with SIGTERM and fails the test unless it exits 0.
func (p *simProcess) stop() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		p.t.Fatalf("exit: %v\n%s", err, p.stderr.String())
	}
}
