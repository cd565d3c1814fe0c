// SPDX-License-Identifier: Apache-2.0

package sign

import (
	"crypto/aes"
	"encoding/hex"
	"strings"
	"testing"
)

// The steps of a stateless signature (what the C export enos_sign does on
// every call), to see where its time goes next to AppendSign (sign_test.go).

// BenchmarkStatelessSign is NewSigner + Sign: SHA-256 of the secret, AES key
// expansion, encryption, hex, and the allocations of both.
func BenchmarkStatelessSign(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s, _ := NewSigner(vSecret, nil)
		_, _ = s.Sign(vToken, uint32(i%MaxSequence)+1)
	}
}

// BenchmarkSignKey is SHA-256 of the secret alone.
func BenchmarkSignKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = SignKey(vSecret)
	}
}

// BenchmarkNewCipher is the AES-128 key expansion alone.
func BenchmarkNewCipher(b *testing.B) {
	k := SignKey(vSecret)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = aes.NewCipher(k[:])
	}
}

// BenchmarkSign is the cached Signer returning a string (one allocation).
func BenchmarkSign(b *testing.B) {
	s, _ := NewSigner(vSecret, nil)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, _ = s.Sign(vToken, uint32(i%MaxSequence)+1)
	}
}

// TestAppendUpperHex checks the SWAR hex encoder against encoding/hex for
// every byte value, at every length and alignment of the tail loop.
func TestAppendUpperHex(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for off := 0; off < 4; off++ {
		for n := 0; off+n <= len(all); n++ {
			src := all[off : off+n]
			got := string(appendUpperHex([]byte("x"), src))
			if want := "x" + strings.ToUpper(hex.EncodeToString(src)); got != want {
				t.Fatalf("appendUpperHex(%x) = %q, want %q", src, got, want)
			}
		}
	}
}
