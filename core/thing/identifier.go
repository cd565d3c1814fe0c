// SPDX-License-Identifier: Apache-2.0

// Package thing builds EnOS thing-model requests (the JSON envelope that
// EnOS's MQTT protocol defines and that EnOS accepts over CoAP unchanged) and
// reads EnOS's JSON replies. It does no I/O: every function is pure.
package thing

import "fmt"

// MaxIdentifier is the longest TSL identifier accepted (docs/thing-model.md).
const MaxIdentifier = 64

// CheckIdentifier reports whether s is a TSL identifier as EnOS's model
// editor accepts them: ASCII letters, digits and underscores, not starting
// with a digit, 1..MaxIdentifier characters. what names s in the error.
func CheckIdentifier(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s is empty", what)
	}
	if len(s) > MaxIdentifier {
		return fmt.Errorf("%s %.20q... is %d characters long; a TSL identifier has at most %d", what, s, len(s), MaxIdentifier)
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b == '_', b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z':
		case b >= '0' && b <= '9':
			if i == 0 {
				return fmt.Errorf("%s %q starts with a digit; a TSL identifier starts with a letter or '_'", what, s)
			}
		default:
			return fmt.Errorf("%s %q contains %q; a TSL identifier holds only letters, digits and '_'", what, s, b)
		}
	}
	return nil
}

// CheckMethod reports whether m is a thing-model method: "thing" followed by
// one or more dot-separated TSL identifiers, e.g. "thing.measurepoint.post"
// or "thing.event.overheat.post".
func CheckMethod(m string) error {
	if len(m) < len("thing.x") || m[:len("thing.")] != "thing." {
		return fmt.Errorf("method %q does not start with \"thing.\" followed by a name", m)
	}
	start := len("thing.")
	for i := start; i <= len(m); i++ {
		if i == len(m) || m[i] == '.' {
			if err := CheckIdentifier("method part", m[start:i]); err != nil {
				return fmt.Errorf("method %q: %v", m, err)
			}
			start = i + 1
		}
	}
	return nil
}

// TopicSuffix is the part of the topic after "/sys/{pk}/{dk}/" for method m:
// the method with its dots as slashes (thing.event.x.post -> thing/event/x/post).
func TopicSuffix(m string) string {
	b := []byte(m)
	for i, c := range b {
		if c == '.' {
			b[i] = '/'
		}
	}
	return string(b)
}
