// SPDX-License-Identifier: Apache-2.0

package sign

import (
	"fmt"
	"sync"
	"testing"
	"unsafe"
)

// want computes a signature without any cache.
func want(t testing.TB, secret string, iv [16]byte, token string, seq uint32) string {
	s, err := NewSigner(secret, iv[:])
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Sign(token, seq)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSignerCacheVectors(t *testing.T) {
	var c SignerCache
	var zero [16]byte
	for _, v := range []struct {
		iv   [16]byte
		seq  uint32
		want string
	}{
		{DefaultIV, 1, "A3A7B1325BCE9F925F54E6D8134AA3EB3F57D08BE168FA28B47327C8C9F13C23"},
		{zero, 1, "F0CE00D594FE20BA7FDF501A5490FA2E1428FD245245FCA3A599F8CDBFF6BA48"},
		{DefaultIV, 2, "A3A7B1325BCE9F925F54E6D8134AA3EB6E5110A05C0FDC31F36F203174D89D8B"},
	} {
		got, err := c.AppendSign(nil, vSecret, v.iv, vToken, v.seq)
		if err != nil || string(got) != v.want {
			t.Errorf("AppendSign(seq %d) = %s, %v; want %s", v.seq, got, err, v.want)
		}
	}
}

// The caller's secret may live in memory it reuses (the C export passes a view
// of the caller's buffer): the cache must compare against its own copy, or a
// second device whose secret lands in the same buffer gets the first one's key.
func TestSignerCacheCopiesTheSecret(t *testing.T) {
	var c SignerCache
	buf := []byte("secret-of-device-A")
	view := unsafe.String(&buf[0], len(buf))
	a, err := c.AppendSign(nil, view, DefaultIV, vToken, 7)
	if err != nil || string(a) != want(t, "secret-of-device-A", DefaultIV, vToken, 7) {
		t.Fatalf("device A: %s, %v", a, err)
	}
	copy(buf, "secret-of-device-B")
	b, err := c.AppendSign(nil, view, DefaultIV, vToken, 7)
	if err != nil || string(b) != want(t, "secret-of-device-B", DefaultIV, vToken, 7) {
		t.Fatalf("device B got %s (device A's is %s), %v", b, a, err)
	}
}

func TestSignerCacheRejectsBadSequence(t *testing.T) {
	var c SignerCache
	for _, seq := range []uint32{0, MaxSequence + 1} {
		out, err := c.AppendSign([]byte("x"), vSecret, DefaultIV, vToken, seq)
		if err != ErrSequence || string(out) != "x" {
			t.Errorf("seq %d: %q, %v", seq, out, err)
		}
	}
}

// Many goroutines, several secrets and IVs at once: every result is the
// uncached one (run with -race).
func TestSignerCacheConcurrent(t *testing.T) {
	var c SignerCache
	secrets := []string{vSecret, "another-secret", "third"}
	ivs := [][16]byte{DefaultIV, {}, {1, 2, 3}}
	expect := map[string]string{}
	for _, s := range secrets {
		for i, iv := range ivs {
			for seq := uint32(1); seq <= 20; seq++ {
				expect[fmt.Sprint(s, i, seq)] = want(t, s, iv, vToken, seq)
			}
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 128)
			for n := 0; n < 300; n++ {
				s, i, seq := secrets[(n+g)%3], (n/3+g)%3, uint32(n%20)+1
				out, err := c.AppendSign(buf[:0], s, ivs[i], vToken, seq)
				if err != nil || string(out) != expect[fmt.Sprint(s, i, seq)] {
					errs <- fmt.Sprintf("%s/%d/%d: %s %v", s, i, seq, out, err)
					return
				}
				buf = out
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestSignerCacheHitAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	var c SignerCache
	buf := make([]byte, 0, 256)
	buf, _ = c.AppendSign(buf[:0], vSecret, DefaultIV, vToken, 1)
	allocs := testing.AllocsPerRun(100, func() {
		buf, _ = c.AppendSign(buf[:0], vSecret, DefaultIV, vToken, 123456)
	})
	if allocs != 0 {
		t.Errorf("a cache hit allocates %.1f times per call", allocs)
	}
}
