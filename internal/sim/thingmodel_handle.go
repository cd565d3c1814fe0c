// SPDX-License-Identifier: Apache-2.0

package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Reply codes of the thing model, as EnOS's MQTT protocol documents them
// (docs/enos-sim.md has the sources). The CoAP code stays 2.04 either way.
const (
	thingOK             = 200
	thingNoTopic        = 1009 // "Publish to topic with no write permission": topic not supported
	thingModelInvalid   = 1204 // "Model validate failed"
	thingFormatError    = 1220 // "Payload format error"
	thingPayloadEmpty   = 1251 // "Payload is empty"
	thingMethodMismatch = 1260 // "Methods not consistent"
)

// ThingResult is what the simulator made of a JSON thing-model request; it
// is Record.Thing of the request's record.
type ThingResult struct {
	Method  string `json:"method,omitempty"`
	ID      string `json:"id,omitempty"`
	Code    int    `json:"code"`              // the reply's code: 200 accepted
	Message string `json:"message,omitempty"` // why not, when Code is not 200
	// Time is the sample time (ms since the epoch) of accepted measure
	// points and events: the "time" the device sent, else when they arrived.
	Time int64 `json:"time,omitempty"`
}

// maxAttributeBytes bounds the attributes one device may store (names plus
// values as compact JSON), so that a query's reply always fits one datagram.
const maxAttributeBytes = 16 << 10

// thingStore holds the attributes devices set, per "pk/dk".
type thingStore struct {
	mu    sync.Mutex
	attrs map[string]map[string]json.RawMessage
}

// thingMethod classifies a topic suffix (after /sys/{pk}/{dk}/): the method it
// carries, or "" when it is no JSON thing-model topic (up_raw, command
// replies, ...), or ok=false when it looks like one that EnOS does not have.
func thingMethod(suffix string) (method string, ok bool) {
	parts := strings.Split(suffix, "/")
	if len(parts) < 2 || parts[0] != "thing" {
		return "", true
	}
	switch parts[1] {
	case "measurepoint", "event", "attribute", "tag":
	default:
		return "", true
	}
	switch {
	case len(parts) == 3 && parts[1] == "measurepoint" && parts[2] == "post",
		len(parts) == 4 && parts[1] == "event" && parts[3] == "post",
		len(parts) == 3 && (parts[1] == "attribute" || parts[1] == "tag") &&
			(parts[2] == "update" || parts[2] == "query" || parts[2] == "delete"):
		return strings.Join(parts, "."), true
	}
	return "", false
}

// thingRequest judges a POST to a thing-model topic of device d and returns
// the JSON reply, or nil when suffix is no thing-model topic. d.mu is held.
func (s *Server) thingRequest(d *deviceState, suffix string, payload []byte, arrival int64) ([]byte, *ThingResult) {
	method, known := thingMethod(suffix)
	if known && method == "" {
		return nil, nil
	}
	res := &ThingResult{Method: method, Code: thingOK}
	rawID := json.RawMessage(`""`)
	data := json.RawMessage(`{}`)
	refuse := func(code int, format string, args ...any) {
		res.Code, res.Message = code, fmt.Sprintf(format, args...)
	}
	var env map[string]json.RawMessage
	switch {
	case !known:
		refuse(thingNoTopic, "topic thing/%s is not supported", strings.TrimPrefix(suffix, "thing/"))
	case len(bytes.TrimSpace(payload)) == 0:
		refuse(thingPayloadEmpty, "Payload is empty")
	case json.Unmarshal(payload, &env) != nil || env == nil:
		refuse(thingFormatError, "Payload format error: not a JSON object")
	default:
		if id, ok := env["id"]; ok {
			if json.Unmarshal(id, &res.ID) != nil {
				refuse(thingFormatError, "Payload format error: id is not a string")
				break
			}
			rawID = id
		}
		var version, m string
		if json.Unmarshal(env["version"], &version) != nil || version != "1.0" {
			refuse(thingFormatError, "Payload format error: version %s, want \"1.0\"", orMissing(env["version"]))
			break
		}
		if json.Unmarshal(env["method"], &m) != nil || m != method {
			refuse(thingMethodMismatch, "Methods not consistent: method %s on the topic of %s", orMissing(env["method"]), method)
			break
		}
		var params map[string]json.RawMessage
		if json.Unmarshal(env["params"], &params) != nil || params == nil {
			refuse(thingFormatError, "Payload format error: params %s is not an object", orMissing(env["params"]))
			break
		}
		var code int
		var msg string
		code, msg, data = s.thingParams(d, method, params, arrival, res)
		if code != thingOK {
			refuse(code, "%s", msg)
			data = json.RawMessage(`{}`)
			res.Time = 0 // only accepted samples have a time on record
		}
	}
	var b bytes.Buffer
	b.WriteString(`{"id":`)
	b.Write(rawID)
	fmt.Fprintf(&b, `,"code":%d,"data":`, res.Code)
	b.Write(data)
	if res.Code != thingOK {
		msg, _ := json.Marshal(res.Message)
		b.WriteString(`,"message":`)
		b.Write(msg)
	}
	b.WriteByte('}')
	return b.Bytes(), res
}

func orMissing(v json.RawMessage) string {
	if len(v) == 0 {
		return "missing"
	}
	if len(v) > 40 {
		return string(v[:40]) + "..."
	}
	return string(v)
}

// thingParams checks params of method against the product's model (if any)
// and carries the request out; it returns the reply code, message and data.
func (s *Server) thingParams(d *deviceState, method string, params map[string]json.RawMessage, arrival int64, res *ThingResult) (int, string, json.RawMessage) {
	pm := s.cfg.Model[d.ProductKey] // nil: any identifier
	parts := strings.Split(method, ".")
	switch parts[1] {
	case "measurepoint", "event":
		key := parts[1] + "s"
		if t, ok := params["time"]; ok {
			if json.Unmarshal(t, &res.Time) != nil || res.Time <= 0 {
				return thingFormatError, "Payload format error: time " + orMissing(t) + " is not ms since the epoch", nil
			}
		} else {
			res.Time = arrival
		}
		var values map[string]json.RawMessage
		if json.Unmarshal(params[key], &values) != nil || values == nil {
			return thingFormatError, "Payload format error: params." + key + " " + orMissing(params[key]) + " is not an object", nil
		}
		var types map[string]string
		what := "measure point"
		if parts[1] == "event" {
			what = "event " + parts[2] + " parameter"
			if !isIdentifier(parts[2]) {
				return thingModelInvalid, "Model validate failed: event " + parts[2] + " is not a TSL identifier", nil
			}
			if pm != nil {
				var ok bool
				if types, ok = pm.Events[parts[2]]; !ok {
					return thingModelInvalid, "Model validate failed: event " + parts[2] + " is not in the model", nil
				}
			}
		} else {
			if len(values) == 0 {
				return thingFormatError, "Payload format error: no measure points", nil
			}
			if pm != nil {
				types = pm.Measurepoints
			}
		}
		if msg := checkFields(what, values, types, pm != nil, parts[1] == "measurepoint"); msg != "" {
			return thingModelInvalid, "Model validate failed: " + msg, nil
		}
		return thingOK, "", json.RawMessage(`{}`)
	case "attribute":
		var types map[string]string
		if pm != nil {
			types = pm.Attributes
		}
		return s.thingAttributes(d, parts[2], params["attributes"], types, pm != nil)
	}
	// Tags: the envelope is checked; their content is not modelled.
	return thingOK, "", json.RawMessage(`{}`)
}

// checkFields checks names (TSL identifiers, in the model when modelled) and
// value types; a measure point may also be {"value": v, "quality": n}.
func checkFields(what string, values map[string]json.RawMessage, types map[string]string, modelled, quality bool) string {
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !isIdentifier(n) {
			return fmt.Sprintf("%s %q is not a TSL identifier", what, n)
		}
		if !modelled {
			continue
		}
		typ, ok := types[n]
		if !ok {
			return fmt.Sprintf("%s %s is not in the model", what, n)
		}
		v := values[n]
		var q struct {
			Value   json.RawMessage `json:"value"`
			Quality json.RawMessage `json:"quality"`
		}
		if quality && typ != "struct" && len(v) > 0 && v[0] == '{' && json.Unmarshal(v, &q) == nil && q.Value != nil {
			if q.Quality != nil && checkValue("int", q.Quality) != "" {
				return fmt.Sprintf("%s %s: quality %s is not an integer", what, n, q.Quality)
			}
			v = q.Value
		}
		if why := checkValue(typ, v); why != "" {
			return fmt.Sprintf("%s %s %s", what, n, why)
		}
	}
	return ""
}

// thingAttributes carries out thing.attribute.update|query|delete.
func (s *Server) thingAttributes(d *deviceState, op string, arg json.RawMessage, types map[string]string, modelled bool) (int, string, json.RawMessage) {
	key := d.ProductKey + "/" + d.DeviceKey
	st := &s.things
	if op == "update" {
		var values map[string]json.RawMessage
		if json.Unmarshal(arg, &values) != nil || len(values) == 0 {
			return thingFormatError, "Payload format error: params.attributes " + orMissing(arg) + " is not a non-empty object", nil
		}
		if msg := checkFields("attribute", values, types, modelled, false); msg != "" {
			return thingModelInvalid, "Model validate failed: " + msg, nil
		}
		st.mu.Lock()
		if st.attrs == nil {
			st.attrs = make(map[string]map[string]json.RawMessage)
		}
		if st.attrs[key] == nil {
			st.attrs[key] = make(map[string]json.RawMessage)
		}
		merged := make(map[string]json.RawMessage, len(st.attrs[key])+len(values))
		size := 0
		for n, v := range st.attrs[key] {
			merged[n] = v
		}
		for n, v := range values {
			var c bytes.Buffer
			_ = json.Compact(&c, v)
			merged[n] = c.Bytes()
		}
		for n, v := range merged {
			size += len(n) + len(v)
		}
		if size > maxAttributeBytes {
			st.mu.Unlock()
			return thingFormatError, fmt.Sprintf("Payload format error: attributes over the simulator's limit of %d bytes per device", maxAttributeBytes), nil
		}
		st.attrs[key] = merged
		st.mu.Unlock()
		return thingOK, "", json.RawMessage(`{}`)
	}
	var names []string
	if json.Unmarshal(arg, &names) != nil {
		return thingFormatError, "Payload format error: params.attributes " + orMissing(arg) + " is not an array of names", nil
	}
	for _, n := range names {
		if !isIdentifier(n) {
			return thingModelInvalid, fmt.Sprintf("Model validate failed: attribute %q is not a TSL identifier", n), nil
		}
		if _, ok := types[n]; modelled && !ok {
			return thingModelInvalid, "Model validate failed: attribute " + n + " is not in the model", nil
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	stored := st.attrs[key]
	if op == "delete" {
		for _, n := range names {
			delete(stored, n)
		}
		return thingOK, "", json.RawMessage(`{}`)
	}
	out := make(map[string]json.RawMessage)
	for n, v := range stored {
		if len(names) == 0 || slices.Contains(names, n) {
			out[n] = v
		}
	}
	b, _ := json.Marshal(out) // sorted keys
	return thingOK, "", b
}
