// SPDX-License-Identifier: Apache-2.0

package client

import (
	"strings"
	"testing"
)

// FuzzParseActivation: any reply either yields a usable secret (non-empty,
// bounded, no control characters) or an error that does not quote the
// secret; never a panic.
func FuzzParseActivation(f *testing.F) {
	f.Add([]byte(`{"id":"1","version":"1.0","method":"thing.activate.info","params":{"assetId":"a","productKey":"` + tPK + `","deviceKey":"` + tDK + `","deviceSecret":"s3cr3t"}}`))
	f.Add([]byte(`{"params":{"deviceSecret":"x"}}`))
	f.Add([]byte(`{"params":{"deviceSecret":null}}`))
	f.Add([]byte(`{"method":"x","params":[]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseActivation(b, tPK, tDK)
		if err != nil {
			if s != "" {
				t.Fatalf("error %v with a secret", err)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("error quotes the secret: %v", err)
			}
			return
		}
		if s == "" || len(s) > maxSecretLen || strings.ContainsAny(s, "\x00\n\r\x7f") {
			t.Fatalf("accepted secret %q", s)
		}
	})
}
