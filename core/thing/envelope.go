// SPDX-License-Identifier: Apache-2.0

package thing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Version is the envelope version EnOS documents for the thing model.
const Version = "1.0"

// Method names of the thing-model requests libenos builds itself.
const (
	MethodMeasurepointPost = "thing.measurepoint.post"
	MethodAttributeQuery   = "thing.attribute.query"
	MethodAttributeUpdate  = "thing.attribute.update"
)

// EventMethod is the method that posts event eventID.
func EventMethod(eventID string) string { return "thing.event." + eventID + ".post" }

// CompactObject checks that b is exactly one JSON object (Go's encoding/json
// decides) and returns it without insignificant white space.
func CompactObject(what string, b []byte) ([]byte, error) {
	if !json.Valid(b) {
		return nil, fmt.Errorf("%s is not valid JSON", what)
	}
	var out bytes.Buffer
	out.Grow(len(b))
	if err := json.Compact(&out, b); err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	if out.Len() == 0 || out.Bytes()[0] != '{' {
		return nil, fmt.Errorf("%s is JSON but not an object ({...})", what)
	}
	return out.Bytes(), nil
}

// checkKeys checks that every key of the JSON object obj is a TSL
// identifier, and that there is at least one unless allowEmpty.
func checkKeys(what string, obj []byte, allowEmpty bool) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	if len(m) == 0 && !allowEmpty {
		return fmt.Errorf("%s: the object is empty", what)
	}
	for k := range m {
		if err := CheckIdentifier(what+" name", k); err != nil {
			return err
		}
	}
	return nil
}

// Request builds the envelope {"id","version","method","params"} for method
// with params, which must be one JSON object.
func Request(id, method string, params []byte) ([]byte, error) {
	if err := CheckMethod(method); err != nil {
		return nil, err
	}
	p, err := CompactObject("params", params)
	if err != nil {
		return nil, err
	}
	return envelope(id, method, p), nil
}

func envelope(id, method string, compactParams []byte) []byte {
	idJSON, _ := json.Marshal(id) // a string always marshals
	b := make([]byte, 0, 48+len(idJSON)+len(method)+len(compactParams))
	b = append(b, `{"id":`...)
	b = append(b, idJSON...)
	b = append(b, `,"version":"`+Version+`","method":"`...)
	b = append(b, method...) // CheckMethod allowed only [A-Za-z0-9_.]
	b = append(b, `","params":`...)
	b = append(b, compactParams...)
	return append(b, '}')
}

// timedParams builds {"<key>": obj, "time": timeMs}.
func timedParams(key string, obj []byte, timeMs int64) []byte {
	b := make([]byte, 0, len(key)+len(obj)+32)
	b = append(b, `{"`+key+`":`...)
	b = append(b, obj...)
	b = append(b, `,"time":`...)
	b = strconv.AppendInt(b, timeMs, 10)
	return append(b, '}')
}

// Measurepoints builds the thing.measurepoint.post request: measurepoints is
// a JSON object whose names are TSL identifiers and whose values are EnOS's
// (a number, a string, an object such as {"value":1,"quality":9}, ...);
// timeMs is the sample time in milliseconds since the Unix epoch.
func Measurepoints(id string, measurepoints []byte, timeMs int64) ([]byte, error) {
	mp, err := CompactObject("measurepoints", measurepoints)
	if err != nil {
		return nil, err
	}
	if err := checkKeys("measure point", mp, false); err != nil {
		return nil, err
	}
	if timeMs <= 0 {
		return nil, fmt.Errorf("time %d ms is not after 1970", timeMs)
	}
	return envelope(id, MethodMeasurepointPost, timedParams("measurepoints", mp, timeMs)), nil
}

// Event builds the thing.event.{eventID}.post request with the event's
// output parameters events (a JSON object keyed by TSL identifiers; {} for
// an event without parameters).
func Event(id, eventID string, events []byte, timeMs int64) ([]byte, error) {
	if err := CheckIdentifier("event id", eventID); err != nil {
		return nil, err
	}
	ev, err := CompactObject("events", events)
	if err != nil {
		return nil, err
	}
	if err := checkKeys("event parameter", ev, true); err != nil { // an event may have no output parameters
		return nil, err
	}
	if timeMs <= 0 {
		return nil, fmt.Errorf("time %d ms is not after 1970", timeMs)
	}
	return envelope(id, EventMethod(eventID), timedParams("events", ev, timeMs)), nil
}

// Reply is EnOS's answer to a thing-model request.
type Reply struct {
	Code    int64
	Message string
	// Data is the reply's "data" as compact JSON text; "{}" when absent or null.
	Data []byte
}

// OK says whether EnOS accepted the request (code 200).
func (r Reply) OK() bool { return r.Code == 200 }

// ErrMalformedReply is wrapped by every error of ParseReply.
var ErrMalformedReply = errors.New("not a thing-model reply")

// ParseReply reads EnOS's reply {"id","code","data","message"} to the
// request with id wantID. A reply with another id, no integer code, or that
// is not one JSON object is malformed.
func ParseReply(payload []byte, wantID string) (Reply, error) {
	bad := func(format string, args ...any) (Reply, error) {
		return Reply{}, fmt.Errorf("%w: "+format, append([]any{ErrMalformedReply}, args...)...)
	}
	// A map, not a struct: encoding/json matches struct fields ignoring
	// case, and EnOS's field names are exact.
	var raw map[string]json.RawMessage
	if _, err := CompactObject("reply", payload); err != nil {
		return bad("%v", err)
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return bad("%v", err)
	}
	if rawID := raw["id"]; len(rawID) > 0 && string(rawID) != "null" {
		var id string
		if json.Unmarshal(rawID, &id) != nil {
			// EnOS echoes the id as sent; accept a number only if it spells the same.
			id = string(rawID)
		}
		if id != wantID {
			return bad("reply id %s does not match request id %q", rawID, wantID)
		}
	}
	var r Reply
	if c := raw["code"]; len(c) == 0 || json.Unmarshal(c, &r.Code) != nil {
		return bad("no integer \"code\"")
	}
	if m := raw["message"]; len(m) > 0 && json.Unmarshal(m, &r.Message) != nil {
		r.Message = string(m) // not a string: show it as it is
	}
	r.Data = []byte("{}")
	if d := raw["data"]; len(d) > 0 && string(d) != "null" {
		var out bytes.Buffer
		_ = json.Compact(&out, d) // valid: part of a valid document
		r.Data = out.Bytes()
	}
	return r, nil
}

// CommandReply builds the answer to a thing-model command: {"id": the
// command's id (as the command spelled it), "code": code, "data": data}.
// data must be a JSON object, or empty for {}.
func CommandReply(command []byte, code int32, data []byte) ([]byte, error) {
	var cmd map[string]json.RawMessage // exact field names, see ParseReply
	if _, err := CompactObject("command payload", command); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(command, &cmd); err != nil {
		return nil, fmt.Errorf("command payload: %v", err)
	}
	rawID := cmd["id"]
	if len(rawID) == 0 || (rawID[0] != '"' && (rawID[0] < '0' || rawID[0] > '9')) {
		return nil, errors.New("command payload has no \"id\" string or number")
	}
	d := []byte("{}")
	if len(data) > 0 {
		var err error
		if d, err = CompactObject("data", data); err != nil {
			return nil, err
		}
	}
	var id bytes.Buffer
	_ = json.Compact(&id, rawID)
	b := make([]byte, 0, 32+id.Len()+len(d))
	b = append(b, `{"id":`...)
	b = append(b, id.Bytes()...)
	b = append(b, `,"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, `,"data":`...)
	b = append(b, d...)
	return append(b, '}'), nil
}
