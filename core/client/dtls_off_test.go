// SPDX-License-Identifier: Apache-2.0

//go:build nodtls

package client

import "testing"

// A build without DTLS refuses SecurityDTLS instead of sending in clear.
func TestNoDTLSBuildRefusesDTLS(t *testing.T) {
	_, err := New(Config{Server: "127.0.0.1", ProductKey: tPK, DeviceKey: tDK, DeviceSecret: tSecret, Security: SecurityDTLS})
	wantCode(t, err, CodeInvalid)
	if DTLSAvailable {
		t.Fatal("DTLSAvailable in a nodtls build")
	}
}
