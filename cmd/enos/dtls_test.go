// SPDX-License-Identifier: Apache-2.0

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libenos/libenos/internal/sim"
)

// TestDTLSReportAndActivation: --dtls reports over DTLS; with only
// ENOS_PRODUCT_SECRET the device activates once and a second run uses the
// saved secret; a wrong key exits like any refused authentication.
func TestDTLSReportAndActivation(t *testing.T) {
	const productSecret = "prodSecret-43"
	s := startSim(t, sim.Config{DTLSListen: "127.0.0.1:0", Products: []sim.Product{{ProductKey: testPK, Secret: productSecret}}})
	env := func(extra ...string) []string {
		return append([]string{
			"ENOS_SERVER=" + s.DTLSAddr(), "ENOS_PRODUCT_KEY=" + testPK, "ENOS_DEVICE_KEY=" + testDK,
			"ENOS_ACK_TIMEOUT=100ms", "ENOS_MAX_RETRANSMIT=2",
		}, extra...)
	}
	r := runEnos(t, runOpts{env: env("ENOS_DEVICE_SECRET=" + testSecret)}, "report", "--dtls", "-v", "hello")
	wantCode(t, r, 0)
	noSecret(t, r)

	state := filepath.Join(t.TempDir(), "state")
	for i, p := range []string{"first", "second"} {
		r = runEnos(t, runOpts{env: env("ENOS_PRODUCT_SECRET=" + productSecret)}, "report", "--dtls", "-v", "--state-dir", state, p)
		wantCode(t, r, 0)
		noSecret(t, r, productSecret)
		if st := s.Stats(); st.Activations != 1 {
			t.Fatalf("run %d: %d activations", i+1, st.Activations)
		}
	}
	if _, err := os.Lstat(filepath.Join(state, "device-secret")); err != nil {
		t.Fatal(err)
	}
	// The product secret is read from the environment only, and only with --dtls.
	r = runEnos(t, runOpts{env: env("ENOS_PRODUCT_SECRET=" + productSecret)}, "report", "--state-dir", state, "x")
	if r.code == 0 || !strings.Contains(r.stderr, "ENOS_DEVICE_SECRET") {
		t.Fatalf("without --dtls: %s", r)
	}
	wrong := runEnos(t, runOpts{env: env("ENOS_DEVICE_SECRET=wrong")}, "report", "--dtls", "x")
	plain := runEnos(t, runOpts{env: append(devEnv(s), "ENOS_DEVICE_SECRET=wrong")}, "report", "x")
	if wrong.code == 0 || wrong.code != plain.code {
		t.Fatalf("wrong key over DTLS: %s\nover UDP: %s", wrong, plain)
	}
	if got := len(s.Records()); got != 3 {
		t.Fatalf("%d records", got)
	}
}
