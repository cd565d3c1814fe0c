// SPDX-License-Identifier: Apache-2.0

package thing

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzParseReply feeds arbitrary reply payloads to ParseReply: it must never
// panic, and whatever it accepts is a JSON object with an integer code whose
// Data is valid JSON.
func FuzzParseReply(f *testing.F) {
	for _, s := range []string{`{"id":"1","code":200,"data":{}}`, `{"id":"1","code":1204,"message":"Model validate failed"}`,
		`{"id":1,"code":200}`, `{"code":200,"data":[1,2]}`, `garbage`, `{"id":"1","code":2e2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		in := append([]byte(nil), payload...)
		r, err := ParseReply(payload, "1")
		if !bytes.Equal(in, payload) {
			t.Fatal("ParseReply modified its input")
		}
		if err != nil {
			return
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(payload, &obj) != nil {
			t.Fatalf("accepted a payload that is not a JSON object: %q", payload)
		}
		if !json.Valid(r.Data) {
			t.Fatalf("Data %q is not JSON", r.Data)
		}
		var code int64
		if json.Unmarshal(obj["code"], &code) != nil || code != r.Code {
			t.Fatalf("code %d from %q", r.Code, payload)
		}
	})
}
