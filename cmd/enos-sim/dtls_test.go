// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libenos/libenos/core/sign"
)

// productSecret's derived key has no zero byte (checked below), so that it
// passes as a command-line argument.
const productSecret = "prodSecret-43"

// TestDTLSWithLibcoap runs enos-sim as its own process with --dtls-listen
// and drives it with libcoap's coap-client-openssl (OpenSSL's DTLS, an
// independent stack): a report with the device's PSK gets 2.04, a wrong key
// fails the handshake, and secureMode 3 with the product's key fetches the
// device secret.
func TestDTLSWithLibcoap(t *testing.T) {
	coapClient, err := exec.LookPath("coap-client-openssl")
	if err != nil {
		t.Skip("coap-client-openssl not found: install Debian package libcoap3-bin to run this test")
	}
	rawKey := func(secret string) string {
		k := sign.SignKey(secret)
		if bytes.IndexByte(k[:], 0) >= 0 {
			t.Fatalf("the key of %q has a zero byte", secret)
		}
		return string(k[:])
	}
	logFile := filepath.Join(t.TempDir(), "records.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := startSimBinary(t, ctx, "--listen", "127.0.0.1:0", "--control", "off", "--log", logFile,
		"--dtls-listen", "127.0.0.1:0", "--device", pk+":"+dk+":"+secret, "--product", pk+":"+productSecret)
	addr, stderr := p.stderrLine("enos-sim: DTLS on "), p.stderr

	// coap runs coap-client-openssl with -v 6, which prints every PDU
	// ("v:1 t:ACK c:2.04 ...") to stdout and payloads to stdout.
	coap := func(identity, key string, args ...string) string {
		t.Helper()
		c := exec.CommandContext(ctx, coapClient, append([]string{"-B", "5", "-v", "6", "-u", identity, "-k", key}, args...)...)
		var o bytes.Buffer
		c.Stdout, c.Stderr = &o, &o
		_ = c.Run() // its exit status is 0 even when the handshake fails: judge by the output
		return o.String()
	}
	base := "coaps://" + addr
	up := base + "/topic/sys/" + pk + "/" + dk + "/thing/model/up_raw"
	id2 := pk + "," + dk + ",2,3600"

	if out := coap(id2, rawKey(secret), "-m", "post", "-e", "hello", up); !strings.Contains(out, "t:ACK c:2.04") {
		t.Fatalf("report over DTLS: want 2.04:\n%s", out)
	}
	if out := coap(id2, rawKey("not the secret"), "-m", "post", "-e", "wrong key", up); strings.Contains(out, "c:2.") {
		t.Fatalf("a wrong key was answered:\n%s", out)
	}
	// Option 2101 has no place over DTLS.
	if out := coap(id2, rawKey(secret), "-m", "post", "-O", "2101,ABCD", "-e", "signed", up); !strings.Contains(out, "c:4.02") {
		t.Fatalf("2101 over DTLS: want 4.02:\n%s", out)
	}
	// secureMode 3: the product's key opens an activation session that may
	// only fetch the device secret.
	id3 := pk + "," + dk + ",3,3600"
	if out := coap(id3, rawKey(productSecret), "-m", "post", "-e", "not yet", up); !strings.Contains(out, "c:4.01") {
		t.Fatalf("report in an activation session: want 4.01:\n%s", out)
	}
	out := coap(id3, rawKey(productSecret), "-m", "get", base+"/topic/ext/session/"+pk+"/"+dk+"/thing/activate/info")
	if !strings.Contains(out, "c:2.05") || !strings.Contains(out, `"deviceSecret":"`+secret+`"`) || !strings.Contains(out, `"method":"thing.activate.info"`) {
		t.Fatalf("activation info:\n%s", out)
	}

	p.stop()
	data, _ := os.ReadFile(logFile)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `"payload":"aGVsbG8="`) {
		t.Fatalf("records: %q", data)
	}
	var sum struct{ Handshakes, Activations int }
	for _, l := range strings.Split(stderr.String(), "\n") {
		if j, ok := strings.CutPrefix(l, "enos-sim: summary-json: "); ok {
			_ = json.Unmarshal([]byte(j), &sum)
		}
	}
	if sum.Activations != 1 || sum.Handshakes < 4 {
		t.Fatalf("summary %+v:\n%s", sum, stderr.String())
	}
	if strings.Contains(stderr.String(), secret) || strings.Contains(stderr.String(), productSecret) {
		t.Fatal("stderr leaks a secret")
	}
}
