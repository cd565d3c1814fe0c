// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/libenos/libenos/core/thing"
)

// thingValue turns the value of a name=value argument into JSON: a JSON
// number stays a number, true and false are booleans, anything else
// (including "null", "01", "1.") is a string. For another JSON value (an
// object such as {"value":1,"quality":9}) use --json.
func thingValue(v string) json.RawMessage {
	switch v {
	case "true", "false":
		return json.RawMessage(v)
	}
	if v != "" && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')) && json.Valid([]byte(v)) {
		return json.RawMessage(v) // JSON's number grammar: no "Inf", "0x10", "1_000"
	}
	return marshalJSON(v)
}

// marshalJSON is json.Marshal without HTML escaping: a value the operator
// typed as <b>&</b> reaches EnOS spelled as typed, not as \u003cb\u003e...
// Its arguments (strings, maps of strings and raw JSON) always marshal.
func marshalJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// thingObject builds the JSON object of a thing-model request from --json
// (a whole object, "-" for standard input) and name=value arguments added to
// it. Every name must be a TSL identifier and appear once. what names the
// object in errors ("measure point", "event parameter", "attribute").
// allowEmpty says whether no name at all is valid.
func thingObject(inv *invocation, what, jsonFlag string, args []string, allowEmpty bool) ([]byte, error) {
	obj := map[string]json.RawMessage{}
	if jsonFlag != "" {
		src := []byte(jsonFlag)
		if jsonFlag == "-" {
			var err error
			if src, err = io.ReadAll(inv.stdin); err != nil {
				return nil, fmt.Errorf("reading standard input: %v", err)
			}
		}
		compact, err := thing.CompactObject("--json", bytes.TrimSpace(src))
		if err != nil {
			return nil, usagef("%v", err)
		}
		if err := json.Unmarshal(compact, &obj); err != nil {
			return nil, usagef("--json: %v", err)
		}
		for name := range obj {
			if err := thing.CheckIdentifier("--json: "+what+" name", name); err != nil {
				return nil, usagef("%v", err)
			}
		}
	}
	for i, a := range args {
		name, value, ok := strings.Cut(a, "=")
		if !ok {
			return nil, usagef("argument %d is not name=value", i+1)
		}
		if err := thing.CheckIdentifier(what+" name", name); err != nil {
			return nil, usagef("argument %d: %v", i+1, err)
		}
		if _, dup := obj[name]; dup {
			return nil, usagef("%s %s is given twice", what, name)
		}
		obj[name] = thingValue(value)
	}
	if len(obj) == 0 && !allowEmpty {
		return nil, usagef("no %s: give name=value arguments or --json", what)
	}
	return marshalJSON(obj), nil
}

// parseSampleTime reads --time: milliseconds since the Unix epoch, or an
// RFC 3339 time; "" is the zero time (the client takes the time of the call).
func parseSampleTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	var t time.Time
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		t = time.UnixMilli(ms)
	} else if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
		return time.Time{}, usagef("--time %q: want milliseconds since 1970 or an RFC 3339 time (2026-11-27T22:00:00Z)", s)
	}
	if t.UnixMilli() <= 0 {
		return time.Time{}, usagef("--time %q: not after 1970", s)
	}
	return t, nil
}

// checkFormat validates --format.
func checkFormat(format string) error {
	if format != "text" && format != "json" {
		return usagef("--format %q: want text or json", format)
	}
	return nil
}
