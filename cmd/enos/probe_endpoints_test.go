// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/libenos/libenos/core/client"
	"github.com/libenos/libenos/internal/sim"
)

// endpointLine is the probe's line for "non-DTLS" or "DTLS".
func endpointLine(t *testing.T, r result, name string) string {
	t.Helper()
	for _, line := range strings.Split(r.stdout, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return line
		}
	}
	t.Fatalf("no %s line:\n%s", name, r)
	return ""
}

func wantLine(t *testing.T, r result, name, want string) {
	t.Helper()
	if l := endpointLine(t, r, name); !strings.Contains(l, want) {
		t.Errorf("%s line %q, want %q:\n%s", name, l, want, r)
	}
}

// closedAddr is a loopback UDP port nobody listens on: datagrams to it draw
// ICMP port unreachable.
func closedAddr(t *testing.T) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

// silentAddr is a loopback UDP port that swallows every datagram.
func silentAddr(t *testing.T) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

// TestProbeEndpoints: probe tells, one line each, whether the non-DTLS and
// the DTLS endpoint accept the device, and the exit code follows the
// endpoint --server names.
func TestProbeEndpoints(t *testing.T) {
	s := startSim(t, sim.Config{DTLSListen: "127.0.0.1:0", Products: []sim.Product{{ProductKey: testPK, Secret: "prodSecret-43"}}})

	// Without --dtls: both answer, the variants run over non-DTLS.
	r := runEnos(t, runOpts{env: devEnv(s)}, "probe", "--dtls-server", s.DTLSAddr())
	wantCode(t, r, 0)
	noSecret(t, r)
	wantLine(t, r, "non-DTLS", "authentication accepted")
	wantLine(t, r, "DTLS", "handshake completed")
	wantLine(t, r, "iv-default", "ACCEPTED")

	// With --dtls: --server is the DTLS endpoint, no variant is sent.
	before := len(s.Records())
	dtlsEnv := devEnv(s, "ENOS_SERVER="+s.DTLSAddr())
	r = runEnos(t, runOpts{env: dtlsEnv}, "probe", "--dtls", "--udp-server", s.Addr())
	wantCode(t, r, 0)
	wantLine(t, r, "non-DTLS", "authentication accepted")
	wantLine(t, r, "DTLS", "handshake completed")
	if strings.Contains(r.stdout, "iv-default") || len(s.Records()) != before {
		t.Errorf("variants sent with --dtls:\n%s", r)
	}

	// A wrong key: both endpoints refuse; exit 5 either way.
	wrong := "ENOS_DEVICE_SECRET=notTheSecret"
	r = runEnos(t, runOpts{env: append(dtlsEnv, wrong)}, "probe", "--dtls", "--udp-server", s.Addr())
	wantCode(t, r, exitAuth)
	noSecret(t, r, "notTheSecret")
	wantLine(t, r, "non-DTLS", "refused")
	wantLine(t, r, "DTLS", "refused")
	r = runEnos(t, runOpts{env: devEnv(s, wrong)}, "probe", "--dtls-server", s.DTLSAddr())
	wantCode(t, r, exitAuth)
	wantLine(t, r, "DTLS", "refused")

	// A closed DTLS port is ICMP; a silent one no answer. Without --dtls the
	// DTLS line is information only.
	closed := closedAddr(t)
	r = runEnos(t, runOpts{env: devEnv(s)}, "probe", "--dtls-server", closed)
	wantCode(t, r, 0)
	wantLine(t, r, "DTLS", "unreachable")
	r = runEnos(t, runOpts{env: devEnv(s, "ENOS_SERVER="+closed)}, "probe", "--dtls", "--udp-server", s.Addr())
	wantCode(t, r, exitNetwork)
	wantLine(t, r, "non-DTLS", "authentication accepted")
	wantLine(t, r, "DTLS", "unreachable")
	r = runEnos(t, runOpts{env: devEnv(s, "ENOS_SERVER="+silentAddr(t))}, "probe", "--dtls", "--udp-server", closed)
	wantCode(t, r, exitTimeout)
	wantLine(t, r, "non-DTLS", "unreachable")
	wantLine(t, r, "DTLS", "no answer")

	// Only a product secret: the probe refuses rather than activate the device.
	r = runEnos(t, runOpts{env: []string{"ENOS_SERVER=" + s.DTLSAddr(), "ENOS_PRODUCT_KEY=" + testPK, "ENOS_DEVICE_KEY=" + testDK,
		"ENOS_PRODUCT_SECRET=prodSecret-43"}}, "probe", "--dtls", "--udp-server", s.Addr())
	wantCode(t, r, exitUsage)
	noSecret(t, r, "prodSecret-43")
	if !strings.Contains(r.stderr, "never activates") {
		t.Errorf("no reason given: %s", r)
	}
	if st := s.Stats(); st.Activations != 0 {
		t.Errorf("%d activations", st.Activations)
	}

	// JSON carries the DTLS endpoint.
	r = runEnos(t, runOpts{env: devEnv(s)}, "probe", "--format", "json", "--dtls-server", closed)
	wantCode(t, r, 0)
	var v struct {
		Auth struct{ Accepted bool }
		DTLS struct {
			Server, Result string
			Accepted       bool
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("%v: %s", err, r)
	}
	if !v.Auth.Accepted || v.DTLS.Server != closed || v.DTLS.Result != "unreachable" || v.DTLS.Accepted {
		t.Errorf("%+v", v)
	}
}

// TestProbeConfigsDefaultPorts: the other endpoint is the same host at its
// default port (5684 for DTLS).
func TestProbeConfigsDefaultPorts(t *testing.T) {
	cases := []struct{ server, udpFlag, dtlsFlag, udp, dtls string }{
		{"10.0.0.1", "", "", "10.0.0.1", "10.0.0.1:5684"},
		{"10.0.0.1:7000", "", "", "10.0.0.1:7000", "10.0.0.1:5684"},
		{"[::1]:7000", "", "", "[::1]:7000", "[::1]:5684"},
		{"10.0.0.1", "", "10.0.0.2", "10.0.0.1", "10.0.0.2:5684"},
		{"10.0.0.1", "", "10.0.0.2:9", "10.0.0.1", "10.0.0.2:9"},
	}
	for _, c := range cases {
		udp, dtls := probeConfigsFor(t, c.server, false, c.udpFlag, c.dtlsFlag)
		if udp != c.udp || dtls != c.dtls {
			t.Errorf("%q: udp %q dtls %q, want %q %q", c.server, udp, dtls, c.udp, c.dtls)
		}
	}
	udp, dtls := probeConfigsFor(t, "10.0.0.1:6000", true, "", "")
	if udp != "10.0.0.1:5683" || dtls != "10.0.0.1:6000" {
		t.Errorf("--dtls: udp %q dtls %q", udp, dtls)
	}
	udp, _ = probeConfigsFor(t, "10.0.0.1:6000", true, "10.0.0.3", "")
	if udp != "10.0.0.3:5683" {
		t.Errorf("--dtls --udp-server: udp %q", udp)
	}
}

func probeConfigsFor(t *testing.T, server string, withDTLS bool, udpFlag, dtlsFlag string) (string, string) {
	t.Helper()
	cfg := client.Config{Server: server, Security: security(withDTLS), ProductSecret: "p", StateDir: "/x"}
	u, d := probeConfigs(cfg, udpFlag, dtlsFlag)
	if u.ProductSecret != "" || d.ProductSecret != "" || d.StateDir != "" || u.Security != client.SecurityNone || d.Security != client.SecurityDTLS {
		t.Fatalf("%q: probeConfigs kept the product secret or the state directory for DTLS: %+v %+v", server, u, d)
	}
	return u.Server, d.Server
}
