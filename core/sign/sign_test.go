// SPDX-License-Identifier: Apache-2.0

package sign

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
)

// Vectors of docs/protocol.md §8, computed independently with OpenSSL.
const (
	vPK     = "MuGsF6W4"
	vDK     = "15bBZlRknc"
	vSecret = "sMgTXBUvDNeWGAJWnDcT"
	vToken  = "8GjM3fXkD2oQ"
)

func TestSignKeyVector(t *testing.T) {
	k := SignKey(vSecret)
	if got := strings.ToUpper(hex.EncodeToString(k[:])); got != "E12C6EB6A77242CBCCEF8B14261A0CE7" {
		t.Fatalf("SignKey = %s", got)
	}
}

func TestAuthSignVectors(t *testing.T) {
	for _, c := range []struct {
		lifetime int
		want     string
	}{
		{3600, "F5E24B19438C8A44DE47C64FB2852D5762C628A8EAB6688851C9FF3E46218B6B"},
		{86400, "ADC0630D767DD4FCB5ACF0D9B62907B48A733D66B08C1CEF6D6B7007EBBFA18A"},
	} {
		got, err := AuthSign(vPK, vDK, vSecret, c.lifetime)
		if err != nil || got != c.want {
			t.Errorf("AuthSign(lifetime %d) = %q, %v; want %s", c.lifetime, got, err, c.want)
		}
	}
	for _, bad := range []int{0, 29, 86401, -1} {
		if _, err := AuthSign(vPK, vDK, vSecret, bad); err != ErrLifetime {
			t.Errorf("AuthSign(lifetime %d) err = %v, want ErrLifetime", bad, err)
		}
	}
}

func TestSignVectors(t *testing.T) {
	def, _ := NewSigner(vSecret, nil)
	zero, _ := NewSigner(vSecret, make([]byte, 16))
	for _, c := range []struct {
		s    *Signer
		seq  uint32
		want string
	}{
		{def, 1, "A3A7B1325BCE9F925F54E6D8134AA3EB3F57D08BE168FA28B47327C8C9F13C23"},
		{def, 2, "A3A7B1325BCE9F925F54E6D8134AA3EB6E5110A05C0FDC31F36F203174D89D8B"},
		{def, 2147483647, "A3A7B1325BCE9F925F54E6D8134AA3EB7FA78F2B2C4577FB50F4F5B2C6A969D6C80BB4CD92C15BED2BA262C216D351FE"},
		{zero, 1, "F0CE00D594FE20BA7FDF501A5490FA2E1428FD245245FCA3A599F8CDBFF6BA48"},
	} {
		got, err := c.s.Sign(vToken, c.seq)
		if err != nil || got != c.want {
			t.Errorf("Sign(seq %d) = %q, %v; want %s", c.seq, got, err, c.want)
		}
		if len(got) != SignLen(len(vToken), c.seq) {
			t.Errorf("SignLen(%d) = %d, signature has %d", c.seq, SignLen(len(vToken), c.seq), len(got))
		}
		tok, seq, err := c.s.Open(got)
		if err != nil || tok != vToken || seq != c.seq {
			t.Errorf("Open = %q %d %v", tok, seq, err)
		}
	}
}

func TestSignRejectsBadInput(t *testing.T) {
	s, _ := NewSigner(vSecret, nil)
	for _, seq := range []uint32{0, MaxSequence + 1, 1<<32 - 1} {
		if _, err := s.Sign(vToken, seq); err != ErrSequence {
			t.Errorf("Sign(seq %d) err = %v", seq, err)
		}
	}
	if _, err := NewSigner(vSecret, make([]byte, 15)); err == nil {
		t.Error("15-byte IV accepted")
	}
	for _, bad := range []string{"", "zz", "A3A7B1325BCE9F92", "A3A7B1325BCE9F925F54E6D8134AA3EB3F57D08BE168FA28B47327C8C9F13C"} {
		if _, _, err := s.Open(bad); err == nil {
			t.Errorf("Open(%q) accepted", bad)
		}
	}
	other, _ := NewSigner("another secret", nil)
	good, _ := s.Sign(vToken, 7)
	if tok, seq, err := other.Open(good); err == nil && tok == vToken && seq == 7 {
		t.Error("a signature opened under the wrong key")
	}
}

func TestParsePlaintext(t *testing.T) {
	tok, seq, err := ParsePlaintext("tokenabcsequencexsequence42")
	if err != nil || tok != "abcsequencex" || seq != 42 {
		t.Errorf("got %q %d %v", tok, seq, err)
	}
	for _, bad := range []string{"", "tokensequence", "token1sequence01", "xsequence1", "tokenasequence0", "tokenasequence2147483648", "tokenasequence1a"} {
		if _, _, err := ParsePlaintext(bad); err == nil {
			t.Errorf("ParsePlaintext(%q) accepted", bad)
		}
	}
}

// TestSignAgreesWithOpenSSL compares random inputs with the openssl command line.
func TestSignAgreesWithOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl command not installed")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 25; i++ {
		secret := randString(r, 1+r.IntN(40))
		token := randString(r, r.IntN(70))
		seq := uint32(1 + r.IntN(MaxSequence))
		var iv []byte
		if i%3 == 1 {
			iv = make([]byte, 16)
			for j := range iv {
				iv[j] = byte(r.IntN(256))
			}
		}
		s, err := NewSigner(secret, iv)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Sign(token, seq)
		if err != nil {
			t.Fatal(err)
		}
		useIV := DefaultIV[:]
		if iv != nil {
			useIV = iv
		}
		key := SignKey(secret)
		cmd := exec.Command("openssl", "enc", "-aes-128-cbc", "-K", hex.EncodeToString(key[:]), "-iv", hex.EncodeToString(useIV))
		cmd.Stdin = strings.NewReader(fmt.Sprintf("token%ssequence%d", token, seq))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("openssl: %v", err)
		}
		if want := strings.ToUpper(hex.EncodeToString(out)); got != want {
			t.Fatalf("secret %q token %q seq %d iv %x: got %s, openssl %s", secret, token, seq, iv, got, want)
		}
	}
}

func randString(r *rand.Rand, n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		b.WriteByte(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

func TestAppendSignAllocatesNothing(t *testing.T) {
	s, _ := NewSigner(vSecret, nil)
	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() {
		buf, _ = s.AppendSign(buf[:0], vToken, 123456)
	})
	if allocs != 0 {
		t.Errorf("AppendSign allocates %.1f times per call", allocs)
	}
}

func TestSignAllocatesOnce(t *testing.T) {
	s, _ := NewSigner(vSecret, nil)
	if MaxSignLen(105) <= signStack {
		t.Fatalf("signStack %d holds more than its documented 104-byte token", signStack)
	}
	for _, tl := range []int{0, len(vToken), 104} {
		if n := MaxSignLen(tl); n > signStack {
			t.Fatalf("MaxSignLen(%d) = %d does not fit the %d-byte stack buffer", tl, n, signStack)
		}
		token := strings.Repeat("t", tl)
		allocs := testing.AllocsPerRun(100, func() {
			_, _ = s.Sign(token, MaxSequence)
		})
		if allocs != 1 {
			t.Errorf("Sign with a %d-byte token allocates %.1f times per call, want 1", tl, allocs)
		}
	}
	// A token too long for the stack buffer still signs correctly.
	long := strings.Repeat("x", 200)
	got, err := s.Sign(long, 5)
	if err != nil {
		t.Fatal(err)
	}
	if tok, seq, err := s.Open(got); err != nil || tok != long || seq != 5 {
		t.Fatalf("Open(Sign(200-byte token, 5)) = %q, %d, %v", tok, seq, err)
	}
}

func BenchmarkAppendSign(b *testing.B) {
	s, _ := NewSigner(vSecret, nil)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf, _ = s.AppendSign(buf[:0], vToken, uint32(i%MaxSequence)+1)
	}
}

func FuzzOpen(f *testing.F) {
	s, _ := NewSigner(vSecret, nil)
	good, _ := s.Sign(vToken, 1)
	f.Add(good)
	f.Add("")
	f.Add("00")
	f.Fuzz(func(t *testing.T, in string) {
		tok, seq, err := s.Open(in)
		if err == nil && (seq < 1 || seq > MaxSequence) {
			t.Fatalf("Open(%q) = %q %d", in, tok, seq)
		}
	})
}
