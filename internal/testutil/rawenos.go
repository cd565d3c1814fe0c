// SPDX-License-Identifier: Apache-2.0

package testutil

import (
	"net"
	"testing"
)

// RawEnosToken is the session token RawEnos hands out on authentication.
const RawEnosToken = "8GjM3fXkD2oQabcd"

// RawEnos starts a loopback UDP responder that answers like EnOS on the happy
// path and returns its address; it stops when tb's test ends. Every CON gets
// a piggybacked ACK with the request's message ID and token and no options:
// a POST whose first option is Uri-Path "auth" (POST /auth/...) gets 2.05
// {"token":"<RawEnosToken>"}, anything else 2.04. Signatures and paths are
// not checked. Messages are built by hand and the loop does not allocate, so
// a benchmark's allocs/op are the client's alone.
func RawEnos(tb testing.TB) string {
	tb.Helper()
	lc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	pc := lc.(*net.UDPConn) // the AddrPort calls do not allocate
	tb.Cleanup(func() { pc.Close() })
	const tokenJSON = `{"token":"` + RawEnosToken + `"}`
	go func() {
		buf := make([]byte, 2048)
		out := make([]byte, 0, 64)
		for {
			n, addr, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if n < 4 || buf[0]&0x30 != 0 { // too short, or not a CON (type 0)
				continue
			}
			tkl := int(buf[0] & 0x0f)
			if tkl > 8 || n < 4+tkl {
				continue
			}
			d := buf[:n]
			// 0xB4: option delta 11 (Uri-Path), length 4.
			auth := d[1] == 0x02 && n >= 9+tkl && d[4+tkl] == 0xB4 && string(d[5+tkl:9+tkl]) == "auth"
			out = append(out[:0], 1<<6|2<<4|byte(tkl), 0x44, d[2], d[3]) // version 1, ACK, 2.04
			out = append(out, d[4:4+tkl]...)
			if auth {
				out[1] = 0x45 // 2.05
				out = append(out, 0xFF)
				out = append(out, tokenJSON...)
			}
			_, _ = pc.WriteToUDPAddrPort(out, addr)
		}
	}()
	return pc.LocalAddr().String()
}
