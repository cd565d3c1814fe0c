// SPDX-License-Identifier: Apache-2.0

package sim

import (
	"encoding/json"
	"testing"
)

// decodeNumber takes numbers only, as their literal text, in the form
// json.Unmarshal leaves them in a map of RawMessage.
func TestDecodeNumber(t *testing.T) {
	for _, c := range []struct {
		in   string
		ok   bool
		text string
	}{
		{"null", false, ""}, {"true", false, ""}, {"false", false, ""}, {"[]", false, ""}, {"{}", false, ""},
		{`"2"`, false, ""}, {"[1]", false, ""},
		{"1e3", true, "1e3"}, {"3600.5", true, "3600.5"}, {"-0", true, "-0"}, {"3600", true, "3600"},
		{" \t-1E+2\n", true, "-1E+2"},
	} {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(`{"x":`+c.in+`}`), &m); err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		var n json.Number
		if ok := decodeNumber(m["x"], &n); ok != c.ok || string(n) != c.text {
			t.Errorf("decodeNumber(%q) = %v %q, want %v %q", c.in, ok, n, c.ok, c.text)
		}
	}
	var n json.Number
	if decodeNumber(nil, &n) || n != "" {
		t.Errorf("decodeNumber(absent) = true %q", n)
	}
}
