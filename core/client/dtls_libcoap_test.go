// SPDX-License-Identifier: Apache-2.0

//go:build !nodtls

package client

import (
	"context"
	"crypto/sha256"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// TestDTLSAgainstLibcoapServer judges the client by an independent DTLS
// stack: libcoap's coap-server-openssl (OpenSSL's DTLS), which knows nothing
// of EnOS. Any CoAP answer means the handshake with our PSK identity and key
// completed; a server with another key must give CodeAuth.
func TestDTLSAgainstLibcoapServer(t *testing.T) {
	server, err := exec.LookPath("coap-server-openssl")
	if err != nil {
		t.Skip("coap-server-openssl not found: install Debian package libcoap3-bin to run this test")
	}
	d := sha256.Sum256([]byte(tSecret))
	key := d[8:24]
	for _, b := range key {
		if b == 0 {
			t.Fatal("the test secret's key has a zero byte: it cannot pass as an argument")
		}
	}
	start := func(key []byte) string {
		t.Helper()
		// coap-server listens on -p for CoAP and on the next port for CoAPS.
		for try := 0; try < 10; try++ {
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			port := pc.LocalAddr().(*net.UDPAddr).Port
			pc.Close()
			if port >= 65535 {
				continue
			}
			ctx, cancel := context.WithCancel(context.Background())
			cmd := exec.CommandContext(ctx, server, "-A", "127.0.0.1", "-p", strconv.Itoa(port), "-k", string(key))
			if err := cmd.Start(); err != nil {
				cancel()
				t.Fatal(err)
			}
			t.Cleanup(func() { cancel(); _ = cmd.Wait() })
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1))
			// Wait until it listens: its plain CoAP port answers a ping.
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if c, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
					_, _ = c.Write([]byte{0x40, 0, 0x12, 0x34}) // CON empty: a CoAP ping
					_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
					b := make([]byte, 16)
					n, err := c.Read(b)
					c.Close()
					if err == nil && n >= 4 {
						return addr
					}
				}
			}
			cancel()
		}
		t.Fatal("coap-server-openssl did not start")
		return ""
	}

	addr := start(key)
	c := dtlsClient(t, addr, func(c *Config) { c.AckTimeout = 200 * time.Millisecond })
	r, err := c.Publish(context.Background(), "/sys/"+tPK+"/"+tDK+"/thing/model/up_raw", []byte("hello"))
	if r == nil || r.Code == 0 {
		t.Fatalf("no CoAP answer over DTLS: %v", err)
	}
	t.Logf("coap-server-openssl answered %s", CodeString(r.Code))

	wrong := []byte("0123456789abcdef")
	addr2 := start(wrong)
	c2 := dtlsClient(t, addr2, func(c *Config) { c.AckTimeout = 200 * time.Millisecond })
	wantCode(t, reportQ(c2, context.Background(), []byte("x")), CodeAuth)
}
