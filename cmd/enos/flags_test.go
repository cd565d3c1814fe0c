// SPDX-License-Identifier: Apache-2.0

package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libenos/libenos/internal/sim"
)

// datagramsAt counts what arrived at hole until now.
func datagramsAt(t *testing.T, hole net.PacketConn) int {
	t.Helper()
	buf := make([]byte, 2048)
	n := 0
	for {
		hole.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, _, err := hole.ReadFrom(buf); err != nil {
			return n
		}
		n++
	}
}

// 0 means the default (4 retransmissions), "none" means none, from the flag
// and from the environment alike: datagrams counted at a black hole.
func TestMaxRetransmitZeroIsDefault(t *testing.T) {
	hole, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	env := []string{"ENOS_SERVER=" + hole.LocalAddr().String(), "ENOS_PRODUCT_KEY=" + testPK,
		"ENOS_DEVICE_KEY=" + testDK, "ENOS_DEVICE_SECRET=" + testSecret, "ENOS_ACK_TIMEOUT=40ms"} // a retransmission 40+ ms away: later than a busy scheduler delays a timer
	for _, c := range []struct {
		args []string
		env  string
		sent int
	}{
		{[]string{"--max-retransmit", "0"}, "", 5},
		{nil, "", 5},
		{[]string{"--max-retransmit", "2"}, "", 3},
		{[]string{"--max-retransmit", "none"}, "", 1},
		{nil, "ENOS_MAX_RETRANSMIT=none", 1},
		{nil, "ENOS_MAX_RETRANSMIT=0", 5},
		{[]string{"--max-retransmit=1"}, "ENOS_MAX_RETRANSMIT=none", 2}, // the flag wins
	} {
		r := runEnos(t, runOpts{env: append(env, c.env)}, append([]string{"auth"}, c.args...)...)
		wantCode(t, r, exitTimeout)
		if got := datagramsAt(t, hole); got != c.sent {
			t.Errorf("auth %v %s: %d datagrams, want %d", c.args, c.env, got, c.sent)
		}
	}
	for _, bad := range []string{"-1", "off", "11", "x"} {
		r := runEnos(t, runOpts{env: env}, "auth", "--max-retransmit", bad)
		wantCode(t, r, exitUsage)
		if !strings.Contains(r.stderr, "--max-retransmit") {
			t.Errorf("--max-retransmit %s: %s", bad, r)
		}
	}
	r := runEnos(t, runOpts{env: append(env, "ENOS_MAX_RETRANSMIT=-1")}, "auth")
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "ENOS_MAX_RETRANSMIT") {
		t.Errorf("ENOS_MAX_RETRANSMIT=-1: %s", r)
	}
}

// --block-size 0 is the default (block-wise transfer of a large payload),
// off refuses a payload larger than one datagram.
func TestBlockSizeZeroIsDefault(t *testing.T) {
	s := startSim(t, sim.Config{})
	big := strings.Repeat("0123456789abcdef", 200) // 3200 bytes: block-wise only
	wantCode(t, runEnos(t, runOpts{env: devEnv(s)}, "report", "--block-size", "0", big), 0)
	wantCode(t, runEnos(t, runOpts{env: devEnv(s, "ENOS_BLOCK_SIZE=64")}, "report", big), 0)
	r := runEnos(t, runOpts{env: devEnv(s)}, "report", "--block-size", "off", big)
	wantCode(t, r, exitUsage)
	wantCode(t, runEnos(t, runOpts{env: devEnv(s, "ENOS_BLOCK_SIZE=off")}, "report", "small"), 0)
	wantCode(t, runEnos(t, runOpts{env: devEnv(s)}, "report", "--block-size", "100", "x"), exitUsage)
	recs := s.Records()
	if len(recs) != 3 || string(recs[0].Payload) != big || string(recs[1].Payload) != big || string(recs[2].Payload) != "small" {
		t.Fatalf("%d records", len(recs))
	}
}

// The secret's sources: a command-line flag beats both variables,
// ENOS_DEVICE_SECRET beats ENOS_DEVICE_SECRET_FILE; -flag works as --flag.
func TestSecretPrecedence(t *testing.T) {
	s := startSim(t, sim.Config{})
	dir := t.TempDir()
	good, wrong := filepath.Join(dir, "good"), filepath.Join(dir, "wrong")
	os.WriteFile(good, []byte(testSecret+"\n"), 0o600)
	os.WriteFile(wrong, []byte("wrongSecretValue\n"), 0o600)
	base := devEnv(s)
	base = base[:len(base)-3] // no ENOS_DEVICE_SECRET
	base = append(base, "ENOS_ACK_TIMEOUT=50ms")
	for _, c := range []struct {
		env  []string
		args []string
		code int
	}{
		{[]string{"ENOS_DEVICE_SECRET=wrongSecretValue"}, []string{"--device-secret-file", good}, 0},
		{[]string{"ENOS_DEVICE_SECRET_FILE=" + wrong}, []string{"--device-secret", testSecret}, 0},
		{[]string{"ENOS_DEVICE_SECRET=" + testSecret, "ENOS_DEVICE_SECRET_FILE=" + wrong}, nil, 0},
		{[]string{"ENOS_DEVICE_SECRET_FILE=" + good}, nil, 0},
		{[]string{"ENOS_DEVICE_SECRET=wrongSecretValue"}, []string{"-device-secret", testSecret}, 0},
		{[]string{"ENOS_DEVICE_SECRET=" + testSecret}, []string{"--device-secret-file", wrong}, exitAuth},
		{nil, []string{"--device-secret", testSecret, "--device-secret-file", good}, exitUsage},
	} {
		r := runEnos(t, runOpts{env: append(base, c.env...)}, append([]string{"auth"}, c.args...)...)
		if r.code != c.code {
			t.Errorf("auth %v with %v: want exit %d, got %s", c.args, c.env, c.code, r)
		}
		noSecret(t, r, "wrongSecretValue")
	}
}
