// SPDX-License-Identifier: Apache-2.0

package sign

import (
	"encoding/hex"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestProtocolDocVectors checks the test vectors printed in docs/protocol.md
// §8 against the code, by reading them from the document: a vector edited in
// the document, or a change to the code, fails here.
func TestProtocolDocVectors(t *testing.T) {
	doc, err := os.ReadFile("../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	i := strings.Index(text, "\n## 8. Test vectors")
	if i < 0 {
		t.Fatal("docs/protocol.md has no section \"## 8. Test vectors\"")
	}
	sec := text[i:]
	if j := strings.Index(sec[1:], "\n## "); j >= 0 {
		sec = sec[:j+1]
	}
	device := func(name string) string {
		m := regexp.MustCompile(name + " `([^`]+)`").FindStringSubmatch(sec)
		if m == nil {
			t.Fatalf("§8 does not give the %s", name)
		}
		return m[1]
	}
	pk, dk, secret, token := device("productKey"), device("deviceKey"), device("deviceSecret"), device("token")

	rows := regexp.MustCompile("(?m)^\\| ([^|`]+?) \\| `([0-9A-F]+)` \\|$").FindAllStringSubmatch(sec, -1)
	if len(rows) != 7 {
		t.Fatalf("§8 has %d vector rows, want 7", len(rows))
	}
	def, _ := NewSigner(secret, nil)
	zero, _ := NewSigner(secret, make([]byte, 16))
	for _, r := range rows {
		what, want := r[1], r[2]
		var got string
		var err error
		switch {
		case what == "SignKey":
			k := SignKey(secret)
			got = strings.ToUpper(hex.EncodeToString(k[:]))
		case strings.HasPrefix(what, "auth sign, lifetime "):
			life, _ := strconv.Atoi(strings.TrimPrefix(what, "auth sign, lifetime "))
			got, err = AuthSign(pk, dk, secret, life)
		case strings.HasPrefix(what, "Sign, sequence "):
			rest := strings.TrimPrefix(what, "Sign, sequence ")
			s := def
			if n, ok := strings.CutSuffix(rest, ", zero IV"); ok {
				rest, s = n, zero
			}
			seq, perr := strconv.ParseUint(rest, 10, 32)
			if perr != nil {
				t.Fatalf("row %q: bad sequence", what)
			}
			got, err = s.Sign(token, uint32(seq))
		default:
			t.Fatalf("row %q: unknown vector kind", what)
		}
		if err != nil || got != want {
			t.Errorf("%s: code gives %s (%v), docs/protocol.md says %s", what, got, err, want)
		}
	}
}
