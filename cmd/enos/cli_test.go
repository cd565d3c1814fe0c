// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/libenos/libenos/internal/sim"
	"github.com/libenos/libenos/internal/testutil"
)

// The test device of docs/protocol.md §8.
const (
	testPK     = "MuGsF6W4"
	testDK     = "15bBZlRknc"
	testSecret = "sMgTXBUvDNeWGAJWnDcT"
	testToken  = "8GjM3fXkD2oQ"
)

var enosBin string

// TestMain builds the binary once; every test runs it as a separate process.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "enos-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	enosBin = filepath.Join(dir, "enos")
	if out, err := exec.Command("go", "build", "-o", enosBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

type runOpts struct {
	env   []string // KEY=VALUE added to an environment without ENOS_*
	stdin string
}

// baseEnv is the test process's environment without any ENOS_ variable.
func baseEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ENOS_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func runEnos(t *testing.T, o runOpts, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, enosBin, args...)
	cmd.Env = baseEnv(o.env)
	cmd.Stdin = strings.NewReader(o.stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("enos %v: %v", args, err)
	}
	return r
}

func startSim(t *testing.T, cfg sim.Config) *sim.Server {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	if cfg.Devices == nil {
		cfg.Devices = []sim.Device{{ProductKey: testPK, DeviceKey: testDK, Secret: testSecret}}
	}
	s, err := sim.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// devEnv is the environment of a device registered in s, with quick timeouts.
func devEnv(s *sim.Server, extra ...string) []string {
	return append([]string{
		"ENOS_SERVER=" + s.Addr(),
		"ENOS_PRODUCT_KEY=" + testPK,
		"ENOS_DEVICE_KEY=" + testDK,
		"ENOS_DEVICE_SECRET=" + testSecret,
		"ENOS_ACK_TIMEOUT=50ms",
		"ENOS_MAX_RETRANSMIT=2",
	}, extra...)
}

func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d, got %s", code, r)
	}
}

func noSecret(t *testing.T, r result, secrets ...string) {
	t.Helper()
	for _, s := range append(secrets, testSecret) {
		if strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s) {
			t.Fatalf("output contains the secret %q:\n%s", s, r)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		if line != "" && !strings.HasPrefix(line, "enos: ") {
			t.Fatalf("stderr line %q is not \"enos: ...\"", line)
		}
	}
}

var simToken = regexp.MustCompile(`\b[A-Za-z0-9]{16}\b`)

func TestAuth(t *testing.T) {
	s := startSim(t, sim.Config{})
	r := runEnos(t, runOpts{env: devEnv(s)}, "auth", "-v")
	wantCode(t, r, 0)
	noSecret(t, r)
	for _, want := range []string{"authenticated " + testPK + "/" + testDK, "token: received, 16 characters", "signing: on"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r)
		}
	}
	if m := simToken.FindString(r.stdout + r.stderr); m != "" {
		t.Errorf("output contains a token-like %q:\n%s", m, r)
	}

	r = runEnos(t, runOpts{env: devEnv(s)}, "auth", "--show-token")
	wantCode(t, r, 0)
	if !regexp.MustCompile(`(?m)^token: [A-Za-z0-9]{16}$`).MatchString(r.stdout) {
		t.Errorf("--show-token prints no token:\n%s", r)
	}
	if n := s.AuthCount(testPK, testDK); n != 2 {
		t.Errorf("sim saw %d authentications, want 2", n)
	}

	// A command EnOS hands over to a one-shot command is not lost silently.
	s.QueueCommand(testPK, testDK, "", []byte("reboot"))
	r = runEnos(t, runOpts{env: devEnv(s)}, "auth")
	wantCode(t, r, 0)
	if !strings.Contains(r.stderr, "a command arrived and was not handled") || !strings.Contains(r.stderr, "payload reboot") {
		t.Errorf("unhandled command not reported: %s", r)
	}
}

func TestAuthWrongSecret(t *testing.T) {
	s := startSim(t, sim.Config{})
	const wrong = "wrongSecretValue-42"
	env := devEnv(s)
	env = env[:len(env)-3] // no ENOS_DEVICE_SECRET
	r := runEnos(t, runOpts{env: env}, "auth", "--device-secret", wrong, "-v")
	wantCode(t, r, exitAuth)
	noSecret(t, r, wrong)
	if !strings.HasPrefix(r.stderr, "enos: ") || !strings.Contains(r.stderr, "4.01") {
		t.Errorf("stderr: %s", r)
	}
	// Same through the environment and through a file.
	r = runEnos(t, runOpts{env: append(env, "ENOS_DEVICE_SECRET="+wrong)}, "auth")
	wantCode(t, r, exitAuth)
	noSecret(t, r, wrong)
	f := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(f, []byte(testSecret+"\n"), 0o600)
	r = runEnos(t, runOpts{env: env}, "auth", "--device-secret-file", f)
	wantCode(t, r, 0)
	noSecret(t, r)
}

func TestReport(t *testing.T) {
	s := startSim(t, sim.Config{})
	env := devEnv(s)
	up := "/sys/" + testPK + "/" + testDK + "/thing/model/up_raw"

	r := runEnos(t, runOpts{env: env}, "report", `{"temp":21.5}`)
	wantCode(t, r, 0)
	noSecret(t, r)
	if !strings.Contains(r.stdout, "reported 13 bytes to "+up) {
		t.Errorf("stdout: %s", r)
	}
	f := filepath.Join(t.TempDir(), "payload")
	os.WriteFile(f, []byte("from-file"), 0o600)
	wantCode(t, runEnos(t, runOpts{env: env}, "report", "--file", f), 0)
	wantCode(t, runEnos(t, runOpts{env: env, stdin: "from-stdin"}, "report", "-"), 0)
	wantCode(t, runEnos(t, runOpts{env: env, stdin: "from-stdin-2"}, "report", "--file", "-"), 0)
	wantCode(t, runEnos(t, runOpts{env: env}, "report", "--hex", "00 ff 10"), 0)
	// Flags after the payload, relative topic with a reply.
	r = runEnos(t, runOpts{env: env}, "report", `{"mp":1}`, "--topic", "thing/measurepoint/post")
	// A thing-model topic: the payload is no JSON envelope, so the reply
	// (still 2.04, as EnOS's) carries code 1220: printed, and the content
	// was refused (exit 6).
	wantCode(t, r, exitRejected)
	if !strings.HasPrefix(r.stdout, "2.04 Changed\n") || !strings.Contains(r.stdout, `"code":1220`) ||
		!strings.Contains(r.stderr, "enos: EnOS answered 2.04 but refused the content with code 1220: Payload format error") {
		t.Errorf("--topic output: %s", r)
	}
	r = runEnos(t, runOpts{env: env}, "report", "--count", "3", "--interval", "10ms", "--topic", "/sys/{pk}/{dk}/thing/event/alarm/post", "x")
	wantCode(t, r, exitRejected)
	if strings.Count(r.stdout, "2.04 Changed") != 3 || strings.Count(r.stderr, "refused the content with code 1220") != 3 ||
		!strings.Contains(r.stderr, "0 of 3 messages accepted, 0 queued, 3 failed") {
		t.Errorf("--count 3: %s", r)
	}
	// A valid envelope is accepted (code 200): exit 0.
	r = runEnos(t, runOpts{env: env}, "report", "--topic", "thing/event/alarm/post",
		`{"id":"9","version":"1.0","method":"thing.event.alarm.post","params":{"events":{},"time":1700000000000}}`)
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, `"code":200`) {
		t.Errorf("valid envelope: %s", r)
	}

	want := []struct{ topic, payload string }{
		{up, `{"temp":21.5}`}, {up, "from-file"}, {up, "from-stdin"}, {up, "from-stdin-2"}, {up, "\x00\xff\x10"},
		{"/sys/" + testPK + "/" + testDK + "/thing/measurepoint/post", `{"mp":1}`},
	}
	for i := 0; i < 3; i++ {
		want = append(want, struct{ topic, payload string }{"/sys/" + testPK + "/" + testDK + "/thing/event/alarm/post", "x"})
	}
	want = append(want, struct{ topic, payload string }{"/sys/" + testPK + "/" + testDK + "/thing/event/alarm/post",
		`{"id":"9","version":"1.0","method":"thing.event.alarm.post","params":{"events":{},"time":1700000000000}}`})
	recs := s.Records()
	if len(recs) != len(want) {
		t.Fatalf("sim has %d records, want %d: %+v", len(recs), len(want), recs)
	}
	for i, w := range want {
		if recs[i].Topic != w.topic || string(recs[i].Payload) != w.payload || recs[i].Sequence == 0 {
			t.Errorf("record %d = %s %q seq %d, want %s %q", i, recs[i].Topic, recs[i].Payload, recs[i].Sequence, w.topic, w.payload)
		}
	}
}

func TestReportRejected(t *testing.T) {
	s := startSim(t, sim.Config{SignIV: make([]byte, 16)}) // the client signs with the default IV
	r := runEnos(t, runOpts{env: devEnv(s)}, "report", "--topic", "thing/model/up_raw", "x")
	wantCode(t, r, exitRejected)
	noSecret(t, r)
	if !strings.HasPrefix(r.stdout, "4.01 Unauthorized\n") || !strings.Contains(r.stderr, "enos: EnOS answered 4.01") {
		t.Errorf("%s", r)
	}
	// With the right IV it goes through.
	wantCode(t, runEnos(t, runOpts{env: devEnv(s, "ENOS_IV=zero")}, "report", "x"), 0)
}

func TestNetworkErrors(t *testing.T) {
	s := startSim(t, sim.Config{})
	addr := s.Addr()
	s.Close() // nothing listens there any more
	r := runEnos(t, runOpts{env: devEnv(s)}, "auth", "--server", addr, "--max-retransmit", "1")
	if r.code != exitNetwork && r.code != exitTimeout {
		t.Fatalf("want exit 3 or 4: %s", r)
	}
	noSecret(t, r)
	// A server that never answers: the retransmission window ends it (4), and so does --timeout.
	hole, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	r = runEnos(t, runOpts{env: devEnv(s)}, "report", "--server", hole.LocalAddr().String(), "x")
	wantCode(t, r, exitTimeout)
	r = runEnos(t, runOpts{env: devEnv(s)}, "report", "--server", hole.LocalAddr().String(), "--ack-timeout", "1s", "--timeout", "200ms", "x")
	wantCode(t, r, exitTimeout)

	// SIGINT while waiting for an answer: exit 130.
	cmd := exec.Command(enosBin, "report", "--server", hole.LocalAddr().String(), "--ack-timeout", "5s", "x")
	cmd.Env = baseEnv(devEnv(s))
	var stderr testutil.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitInterrupted || !strings.Contains(stderr.String(), "enos: interrupted") {
		t.Errorf("report after SIGINT: %v, stderr %q", err, stderr.String())
	}
}

func TestSignVectors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--token", testToken, "--sequence", "1"}, "A3A7B1325BCE9F925F54E6D8134AA3EB3F57D08BE168FA28B47327C8C9F13C23"},
		{[]string{"--token", testToken}, "A3A7B1325BCE9F925F54E6D8134AA3EB3F57D08BE168FA28B47327C8C9F13C23"},
		{[]string{"--token", testToken, "--sequence", "2", "--iv", "default"}, "A3A7B1325BCE9F925F54E6D8134AA3EB6E5110A05C0FDC31F36F203174D89D8B"},
		{[]string{"--token", testToken, "--sequence", "2147483647"}, "A3A7B1325BCE9F925F54E6D8134AA3EB7FA78F2B2C4577FB50F4F5B2C6A969D6C80BB4CD92C15BED2BA262C216D351FE"},
		{[]string{"--token", testToken, "--iv", "zero"}, "F0CE00D594FE20BA7FDF501A5490FA2E1428FD245245FCA3A599F8CDBFF6BA48"},
		{[]string{"--token", testToken, "--iv", "00000000000000000000000000000000"}, "F0CE00D594FE20BA7FDF501A5490FA2E1428FD245245FCA3A599F8CDBFF6BA48"},
		{[]string{"--token", testToken, "--iv", "35343379686a7939376165376679666" + "7"}, "A3A7B1325BCE9F925F54E6D8134AA3EB3F57D08BE168FA28B47327C8C9F13C23"},
		{[]string{"--auth", "--product-key", testPK, "--device-key", testDK, "--lifetime", "3600"}, "F5E24B19438C8A44DE47C64FB2852D5762C628A8EAB6688851C9FF3E46218B6B"},
		{[]string{"--auth", "--product-key", testPK, "--device-key", testDK}, "F5E24B19438C8A44DE47C64FB2852D5762C628A8EAB6688851C9FF3E46218B6B"},
	}
	for _, c := range cases {
		r := runEnos(t, runOpts{}, append([]string{"sign", "--secret", testSecret}, c.args...)...)
		wantCode(t, r, 0)
		if got := strings.TrimSpace(r.stdout); got != c.want {
			t.Errorf("sign %v = %s, want %s", c.args, got, c.want)
		}
	}
	// Everything from the environment.
	r := runEnos(t, runOpts{env: []string{"ENOS_DEVICE_SECRET=" + testSecret, "ENOS_PRODUCT_KEY=" + testPK,
		"ENOS_DEVICE_KEY=" + testDK, "ENOS_LIFETIME=86400"}}, "sign", "--auth")
	wantCode(t, r, 0)
	if got := strings.TrimSpace(r.stdout); got != "ADC0630D767DD4FCB5ACF0D9B62907B48A733D66B08C1CEF6D6B7007EBBFA18A" {
		t.Errorf("sign --auth from env = %s", got)
	}
	// Usage errors; the token never shows.
	for _, args := range [][]string{
		{"sign", "--secret", testSecret},
		{"sign", "--secret", testSecret, "--token", testToken, "--sequence", "0"},
		{"sign", "--secret", testSecret, "--token", testToken, "--iv", "abc"},
		{"sign", "--token", testToken},
		{"sign", "--secret", testSecret, "--auth", "--product-key", testPK},
		{"sign", "--secret", testSecret, "--auth", "--product-key", testPK, "--device-key", testDK, "--lifetime", "10"},
	} {
		r := runEnos(t, runOpts{}, args...)
		wantCode(t, r, exitUsage)
		noSecret(t, r, testToken)
	}
}

func TestListen(t *testing.T) {
	for _, style := range []string{sim.CommandInline, sim.CommandGet} {
		t.Run(style, func(t *testing.T) {
			s := startSim(t, sim.Config{CommandStyle: style})
			down := "/sys/" + testPK + "/" + testDK + "/thing/model/down_raw"
			s.QueueCommand(testPK, testDK, "", []byte("cmd-1"))
			s.QueueCommand(testPK, testDK, "", []byte{0x01, 0x02})
			r := runEnos(t, runOpts{env: devEnv(s)}, "listen", "--count", "2", "--poll-interval", "50ms", "--reply", "ok", "--timeout", "10s")
			wantCode(t, r, 0)
			noSecret(t, r)
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			if len(lines) != 2 {
				t.Fatalf("want 2 lines: %s", r)
			}
			for i, want := range []string{down + "\tcmd-1\treplied 2.04 Changed", down + "\t0x0102\treplied 2.04 Changed"} {
				if !strings.HasSuffix(lines[i], want) {
					t.Errorf("line %d = %q, want suffix %q", i, lines[i], want)
				}
			}
			if !strings.Contains(r.stderr, "2 commands received, 2 replied (0 failed)") {
				t.Errorf("no summary: %s", r)
			}
			recs := s.Records()
			if len(recs) != 2 {
				t.Fatalf("sim records: %+v", recs)
			}
			for _, rec := range recs {
				if rec.Topic != down+"_reply" || string(rec.Payload) != "ok" {
					t.Errorf("reply record %s %q", rec.Topic, rec.Payload)
				}
			}

			// JSON and echo replies, command queued while listening.
			go func() {
				time.Sleep(200 * time.Millisecond)
				s.QueueCommand(testPK, testDK, "", []byte(`{"set":1}`))
			}()
			r = runEnos(t, runOpts{env: devEnv(s)}, "listen", "--count", "1", "--poll-interval", "50ms", "--reply-echo", "--format", "json", "--timeout", "10s")
			wantCode(t, r, 0)
			var v map[string]string
			if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
				t.Fatalf("json: %v: %s", err, r)
			}
			if v["topic"] != down || v["payload"] != `{"set":1}` || v["replyTopic"] != down+"_reply" || v["replyCode"] != "2.04 Changed" {
				t.Errorf("json line %v", v)
			}
			if recs := s.Records(); len(recs) != 3 || string(recs[2].Payload) != `{"set":1}` {
				t.Errorf("echo reply not recorded: %+v", recs)
			}
		})
	}
}

func TestListenStops(t *testing.T) {
	s := startSim(t, sim.Config{})
	// --count not reached by --timeout: exit 4.
	r := runEnos(t, runOpts{env: devEnv(s)}, "listen", "--count", "1", "--poll-interval", "50ms", "--timeout", "300ms")
	wantCode(t, r, exitTimeout)
	// No --count: --timeout is a normal end.
	wantCode(t, runEnos(t, runOpts{env: devEnv(s)}, "listen", "--poll-interval", "50ms", "--timeout", "200ms"), 0)

	// SIGINT: exit 0 with a summary.
	cmd := exec.Command(enosBin, "listen", "--poll-interval", "50ms")
	cmd.Env = baseEnv(devEnv(s))
	var stdout, stderr testutil.SyncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "listening") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(150 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if err != nil {
		t.Fatalf("listen after SIGINT: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "0 commands received") {
		t.Errorf("no summary after SIGINT: %s", stderr.String())
	}
}

func TestListenAuthRefused(t *testing.T) {
	s := startSim(t, sim.Config{})
	r := runEnos(t, runOpts{env: devEnv(s, "ENOS_DEVICE_KEY=unknownDevice")}, "listen", "--poll-interval", "50ms")
	wantCode(t, r, exitAuth)
	noSecret(t, r)
}

func TestProbe(t *testing.T) {
	zero := make([]byte, 16)
	other := []byte("0123456789abcdef")
	cases := []struct {
		name     string
		cfg      sim.Config
		args     []string
		code     int
		accepted []string
		rejected []string
	}{
		{"default IV", sim.Config{}, nil, 0, []string{"iv-default"}, []string{"iv-zero", "sign-off"}},
		{"zero IV", sim.Config{SignIV: zero}, nil, 0, []string{"iv-zero"}, []string{"iv-default", "sign-off"}},
		{"sign unknown", sim.Config{SignMode: sim.SignUnknown}, nil, 0, []string{"sign-off"}, []string{"iv-default", "iv-zero"}},
		{"other IV given", sim.Config{SignIV: other}, []string{"--iv", "30313233343536373839616263646566"}, 0,
			[]string{"iv-30313233343536373839616263646566"}, []string{"iv-default", "iv-zero", "sign-off"}},
		{"other IV unknown", sim.Config{SignIV: other}, nil, exitRejected, nil, []string{"iv-default", "iv-zero", "sign-off"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := startSim(t, c.cfg)
			r := runEnos(t, runOpts{env: devEnv(s)}, append([]string{"probe"}, c.args...)...)
			wantCode(t, r, c.code)
			noSecret(t, r)
			rows := map[string]string{}
			for _, line := range strings.Split(r.stdout, "\n") {
				if f := strings.Fields(line); len(f) > 0 && (strings.HasPrefix(f[0], "iv-") || f[0] == "sign-off") {
					rows[f[0]] = line
				}
			}
			for _, v := range c.accepted {
				if !strings.Contains(rows[v], "ACCEPTED") {
					t.Errorf("%s not accepted:\n%s", v, r)
				}
			}
			for _, v := range c.rejected {
				if row := rows[v]; row == "" || !strings.Contains(row, "rejected") {
					t.Errorf("%s not rejected:\n%s", v, r)
				}
			}
			if len(rows) != len(c.accepted)+len(c.rejected) {
				t.Errorf("rows %v", rows)
			}
			if recs := s.Records(); len(recs) != len(c.accepted) {
				t.Errorf("sim recorded %d reports, want %d", len(recs), len(c.accepted))
			}
		})
	}
}

func TestProbeJSONAndAuthRefused(t *testing.T) {
	s := startSim(t, sim.Config{SignIV: make([]byte, 16)})
	r := runEnos(t, runOpts{env: devEnv(s)}, "probe", "--format", "json", "--payload", "hello")
	wantCode(t, r, 0)
	var v struct {
		Auth           struct{ Accepted, Token bool }
		Variants       []struct{ Variant, Answer, Verdict string }
		Accepted       []string
		Recommendation string
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("%v: %s", err, r)
	}
	if !v.Auth.Accepted || !v.Auth.Token || len(v.Variants) != 3 || len(v.Accepted) != 1 || v.Accepted[0] != "iv-zero" ||
		!strings.Contains(v.Recommendation, "--iv zero") {
		t.Errorf("%+v", v)
	}
	if recs := s.Records(); len(recs) != 1 || string(recs[0].Payload) != "hello" {
		t.Errorf("records %+v", recs)
	}
	r = runEnos(t, runOpts{env: devEnv(s, "ENOS_DEVICE_SECRET=notTheSecret")}, "probe")
	wantCode(t, r, exitAuth)
	noSecret(t, r, "notTheSecret")
}

func TestEnvAndFlags(t *testing.T) {
	s := startSim(t, sim.Config{})
	// Flags alone.
	r := runEnos(t, runOpts{}, "auth", "--server", s.Addr(), "--product-key", testPK, "--device-key", testDK,
		"--device-secret", testSecret, "--ack-timeout", "50ms", "--lifetime", "60", "--sign-mode", "always", "--iv", "default")
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "lifetime: 60 s") || !strings.Contains(r.stdout, "sign mode always") {
		t.Errorf("%s", r)
	}
	// A flag wins over the environment.
	r = runEnos(t, runOpts{env: devEnv(s, "ENOS_SERVER=127.0.0.1:1", "ENOS_LIFETIME=120")}, "auth", "--server", s.Addr())
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "lifetime: 120 s") {
		t.Errorf("ENOS_LIFETIME ignored: %s", r)
	}
	// The environment sets the sign mode, IV and verbosity.
	r = runEnos(t, runOpts{env: devEnv(s, "ENOS_SIGN_MODE=never", "ENOS_VERBOSE=1")}, "auth")
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "signing: off") || !strings.Contains(r.stderr, "sign mode never") {
		t.Errorf("%s", r)
	}
	noSecret(t, r)
	// A bad environment value is a usage error naming the variable.
	r = runEnos(t, runOpts{env: devEnv(s, "ENOS_LIFETIME=abc")}, "auth")
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "ENOS_LIFETIME") {
		t.Errorf("%s", r)
	}
}

func TestUsageErrors(t *testing.T) {
	s := startSim(t, sim.Config{})
	env := devEnv(s)
	for _, c := range []struct {
		args []string
		env  []string
	}{
		{nil, nil},
		{[]string{"bogus"}, nil},
		{[]string{"--server", "x", "auth"}, nil},
		{[]string{"help", "bogus"}, nil},
		{[]string{"auth"}, nil}, // nothing configured
		{[]string{"auth", "--bogus"}, env},
		{[]string{"auth", testSecret}, env}, // a stray argument is not echoed
		{[]string{"auth", "--sign-mode", "sometimes"}, env},
		{[]string{"auth", "--iv", "xyz"}, env},
		{[]string{"auth", "--lifetime", "5"}, env},
		{[]string{"auth", "--ack-timeout", "5"}, env},
		{[]string{"auth", "--max-retransmit", "11"}, env},
		{[]string{"auth"}, devEnv(s, "ENOS_SIGN_MODE=x")},
		{[]string{"auth", "--device-secret", "a", "--device-secret-file", "/nonexistent"}, env},
		{[]string{"report"}, env},
		{[]string{"report", "a", "b"}, env},
		{[]string{"report", "--file", "f", "a"}, env},
		{[]string{"report", "--count", "0", "a"}, env},
		{[]string{"report", "--hex", "zz"}, env},
		{[]string{"report", "--topic", "/bad topic", "a"}, env},
		{[]string{"listen", "--format", "xml"}, env},
		{[]string{"listen", "--reply", "a", "--reply-echo"}, env},
		{[]string{"listen", "--poll-interval", "0s"}, env},
		{[]string{"probe", "--format", "xml"}, env},
		{[]string{"version", "extra"}, nil},
	} {
		r := runEnos(t, runOpts{env: c.env}, c.args...)
		if r.code != exitUsage {
			t.Errorf("enos %q: want exit 2, got %s", c.args, r)
		}
		noSecret(t, r)
	}
	if len(s.Records()) != 0 || s.AuthCount(testPK, testDK) != 0 {
		t.Errorf("usage errors reached the server")
	}
}

func TestHelp(t *testing.T) {
	r := runEnos(t, runOpts{}, "--help")
	wantCode(t, r, 0)
	for _, want := range []string{"auth", "report", "measurepoints", "event", "attributes", "sign", "listen", "probe", "version", "ENOS_DEVICE_SECRET", "Exit codes", "130"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	for _, name := range []string{"auth", "report", "measurepoints", "event", "attributes", "sign", "listen", "probe", "version"} {
		for _, args := range [][]string{{"help", name}, {name, "--help"}, {name, "-h"}} {
			r := runEnos(t, runOpts{}, args...)
			wantCode(t, r, 0)
			if !strings.HasPrefix(r.stdout, "Usage: enos "+name) {
				t.Errorf("enos %v: %s", args, r)
			}
		}
	}
	r = runEnos(t, runOpts{}, "version")
	wantCode(t, r, 0)
	if !strings.HasPrefix(r.stdout, "enos "+version) {
		t.Errorf("version: %s", r)
	}
}
