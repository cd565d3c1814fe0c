// SPDX-License-Identifier: Apache-2.0

package client

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzParseToken feeds arbitrary authentication response payloads to
// parseToken: it must never panic, and it returns a token only for a JSON
// object. The seed corpus is in testdata/fuzz/FuzzParseToken.
func FuzzParseToken(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		in := append([]byte(nil), payload...)
		tok, ok, err := parseToken(payload)
		if !bytes.Equal(in, payload) {
			t.Fatal("parseToken modified its input")
		}
		if err != nil && (ok || tok != "") {
			t.Fatalf("error %v with token %q ok=%v", err, tok, ok)
		}
		if ok != (tok != "") {
			t.Fatalf("ok=%v with token %q", ok, tok)
		}
		if !ok {
			return
		}
		var obj map[string]json.RawMessage
		if trimmed := bytes.TrimSpace(payload); len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(payload, &obj) != nil {
			t.Fatalf("token %q from a payload that is not a JSON object: %q", tok, payload)
		}
	})
}
