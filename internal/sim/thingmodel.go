// SPDX-License-Identifier: Apache-2.0

package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Model is the thing model the simulator checks JSON thing-model requests
// against (enos-sim --model FILE, docs/enos-sim.md): per product key, the
// measure points, events (with their output parameters) and attributes, each
// with a type. A product key that the model does not list accepts any
// identifier; its envelopes are still checked.
//
//	{
//	  "MuGsF6W4": {
//	    "measurepoints": {"temp": "float", "state": "int"},
//	    "events": {"overheat": {"level": "int", "note": "string"}},
//	    "attributes": {"name": "string", "rated": "double"}
//	  }
//	}
type Model map[string]*ProductModel

// ProductModel is the model of one product.
type ProductModel struct {
	Measurepoints map[string]string            `json:"measurepoints"`
	Events        map[string]map[string]string `json:"events"`
	Attributes    map[string]string            `json:"attributes"`
}

// modelTypes are the value types of a model, after EnOS's data types.
var modelTypes = map[string]string{
	"int":       "an integer",
	"enum":      "an integer (enum key)",
	"timestamp": "an integer (ms since the epoch)",
	"float":     "a number",
	"double":    "a number",
	"bool":      "true, false, 0 or 1",
	"string":    "a string",
	"date":      "a string",
	"array":     "an array",
	"struct":    "an object",
}

// ReadModel reads and checks a model file.
func ReadModel(r io.Reader) (Model, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var m Model
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	return m, nil
}

func (m Model) check() error {
	checkTypes := func(where string, fields map[string]string) error {
		names := make([]string, 0, len(fields))
		for n := range fields {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if !isIdentifier(n) {
				return fmt.Errorf("%s: %q is not a TSL identifier", where, n)
			}
			if _, ok := modelTypes[fields[n]]; !ok {
				return fmt.Errorf("%s %q: unknown type %q (known: %s)", where, n, fields[n], strings.Join(typeNames(), ", "))
			}
		}
		return nil
	}
	for pk, p := range m {
		if p == nil {
			return fmt.Errorf("product %s: null", pk)
		}
		if err := checkTypes("product "+pk+" measure point", p.Measurepoints); err != nil {
			return err
		}
		if err := checkTypes("product "+pk+" attribute", p.Attributes); err != nil {
			return err
		}
		for ev, fields := range p.Events {
			if !isIdentifier(ev) {
				return fmt.Errorf("product %s: event %q is not a TSL identifier", pk, ev)
			}
			if err := checkTypes("product "+pk+" event "+ev+" parameter", fields); err != nil {
				return err
			}
		}
	}
	return nil
}

func typeNames() []string {
	out := make([]string, 0, len(modelTypes))
	for t := range modelTypes {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// isIdentifier is the TSL identifier rule (docs/thing-model.md): ASCII
// letters, digits and '_', not starting with a digit, 1..64 characters.
// Written out here rather than imported: the simulator shares no code with
// the client it judges.
func isIdentifier(s string) bool {
	if s == "" || len(s) > 64 || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9') {
			return false
		}
	}
	return true
}

// checkValue says why v (JSON) is not of model type typ, or "".
func checkValue(typ string, v json.RawMessage) string {
	var x any
	dec := json.NewDecoder(strings.NewReader(string(v)))
	dec.UseNumber()
	if dec.Decode(&x) != nil {
		return "not JSON"
	}
	ok := false
	switch typ {
	case "int", "enum", "timestamp":
		if n, isNum := x.(json.Number); isNum {
			_, err := n.Int64()
			ok = err == nil
		}
	case "float", "double":
		if n, isNum := x.(json.Number); isNum {
			_, err := n.Float64()
			ok = err == nil
		}
	case "bool":
		switch b := x.(type) {
		case bool:
			ok = true
		case json.Number:
			ok = b == "0" || b == "1"
		}
	case "string", "date":
		_, ok = x.(string)
	case "array":
		_, ok = x.([]any)
	case "struct":
		_, ok = x.(map[string]any)
	}
	if ok {
		return ""
	}
	return "is " + string(v) + ", want " + modelTypes[typ]
}

// ServiceCall builds a JSON thing-model service call for a device: the topic
// /sys/{pk}/{dk}/thing/service/{service with dots as slashes} and the
// envelope {"id","version":"1.0","method":"thing.service.{service}","params"}.
func ServiceCall(productKey, deviceKey, service, id string, params []byte) (topic string, payload []byte, err error) {
	for _, part := range strings.Split(service, ".") {
		if !isIdentifier(part) {
			return "", nil, fmt.Errorf("service %q: %q is not a TSL identifier", service, part)
		}
	}
	var p map[string]json.RawMessage
	if json.Unmarshal(params, &p) != nil || p == nil {
		return "", nil, fmt.Errorf("params %q is not a JSON object", params)
	}
	env := struct {
		ID      string          `json:"id"`
		Version string          `json:"version"`
		Method  string          `json:"method"`
		Params  json.RawMessage `json:"params"`
	}{id, "1.0", "thing.service." + service, params}
	payload, err = json.Marshal(env)
	if err != nil {
		return "", nil, err
	}
	return "/sys/" + productKey + "/" + deviceKey + "/thing/service/" + strings.ReplaceAll(service, ".", "/"), payload, nil
}
