// SPDX-License-Identifier: Apache-2.0

package sim

import (
	"strings"
	"testing"
)

// FuzzParseIdentity: a PSK identity from the network either parses into
// secureMode 2 or 3 and a lifetime in 30..86400, or is refused; never a panic.
func FuzzParseIdentity(f *testing.F) {
	for _, s := range []string{"MuGsF6W4,15bBZlRknc,2,3600", "pk,dk,3,30", "pk,dk,4,3600", ",,,", "pk,dk,2,99999999999999999999", "a,b,c"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := parseIdentity(b)
		if err != nil {
			return
		}
		if (id.secureMode != 2 && id.secureMode != 3) || id.lifetime < 30 || id.lifetime > 86400 {
			t.Fatalf("accepted %+v", id)
		}
		if strings.Join([]string{id.productKey, id.deviceKey}, ",") != strings.Join(strings.Split(string(b), ",")[:2], ",") {
			t.Fatalf("keys %+v from %q", id, b)
		}
	})
}
