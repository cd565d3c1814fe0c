// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"net"
	"strings"
	"time"

	"github.com/libenos/libenos/core/client"
)

// defaultUDPPort is EnOS's CoAP-over-UDP port (the non-DTLS endpoint).
const defaultUDPPort = "5683"

// endpointResult is what one endpoint (non-DTLS or DTLS) did when probed.
type endpointResult struct {
	Server    string `json:"server"`
	Result    string `json:"result"` // answered, refused, no answer, unreachable, failed
	Accepted  bool   `json:"accepted"`
	ElapsedMs int64  `json:"elapsedMs"`
	Error     string `json:"error,omitempty"`

	err     error
	elapsed time.Duration
}

// withPort gives server's host the port, when server names no port itself or
// when force is set: a probe of the other endpoint goes to the same host.
func withPort(server, port string, force bool) string {
	host, p, err := net.SplitHostPort(server)
	if err != nil {
		host = strings.TrimSuffix(strings.TrimPrefix(server, "["), "]")
	} else if !force && p != "" {
		return server
	}
	return net.JoinHostPort(host, port)
}

// probeConfigs derives the configurations of both endpoints from cfg: the
// endpoint --server names (non-DTLS, or DTLS with --dtls) keeps it; the other
// one is the same host at its default port, unless --udp-server or
// --dtls-server says otherwise.
func probeConfigs(cfg client.Config, udpServer, dtlsServer string) (udp, dtls client.Config) {
	udp, dtls = cfg, cfg
	udp.Security, udp.ProductSecret = client.SecurityNone, ""
	dtls.Security = client.SecurityDTLS
	if cfg.Security == client.SecurityDTLS {
		udp.Server = withPort(cfg.Server, defaultUDPPort, true)
	} else {
		dtls.Server = withPort(cfg.Server, client.DefaultDTLSPort, true)
	}
	if udpServer != "" {
		udp.Server = withPort(udpServer, defaultUDPPort, false)
	}
	if dtlsServer != "" {
		dtls.Server = withPort(dtlsServer, client.DefaultDTLSPort, false)
	}
	// The handshake alone answers the question: no activation (it would
	// change the device on EnOS) and nothing read from or written to the
	// state directory.
	dtls.ProductSecret, dtls.StateDir = "", ""
	return udp, dtls
}

// probeDTLS tries one DTLS handshake with a fresh client.
func (inv *invocation) probeDTLS(ctx context.Context, cfg client.Config) endpointResult {
	r := endpointResult{Server: cfg.Server}
	c, err := client.New(cfg)
	if err != nil {
		r.classify(err)
		r.Error = inv.redact(err.Error())
		return r
	}
	defer c.Close()
	r.Server = c.Config().Server
	start := time.Now()
	err = c.Authenticate(ctx)
	r.elapsed = time.Since(start)
	r.ElapsedMs = r.elapsed.Milliseconds()
	inv.logf("DTLS %s: %v after %v", r.Server, errOrOK(err), roundDur(r.elapsed))
	r.classify(err)
	if err != nil {
		r.Error = inv.redact(err.Error())
	}
	return r
}

func errOrOK(err error) any {
	if err == nil {
		return "handshake completed"
	}
	return err
}

// classify names what the endpoint did from the error of the attempt.
func (r *endpointResult) classify(err error) {
	r.err = err
	switch client.CodeOf(err) {
	case client.CodeOK:
		r.Result, r.Accepted = "answered", true
	case client.CodeAuth:
		r.Result = "refused"
	case client.CodeTimeout:
		r.Result = "no answer"
	case client.CodeNetwork:
		r.Result = "unreachable"
	default:
		r.Result = "failed"
	}
}

// line is the endpoint's result for the text output.
func (r *endpointResult) line(accepted, detail string) string {
	switch r.Result {
	case "answered":
		return accepted + " in " + roundDur(r.elapsed).String() + detail
	case "refused":
		return "refused: wrong key, identity or device (or the device is disabled)"
	case "no answer":
		return "no answer (timeout: nothing listens, or a firewall drops the datagrams)"
	case "unreachable":
		return "unreachable (ICMP: port closed or host unreachable)"
	}
	return "failed: " + r.Error
}
