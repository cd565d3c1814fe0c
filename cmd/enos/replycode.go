// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/libenos/libenos/core/client"
)

// jsonReplyRefusal judges the payload of a 2.xx answer to enos report
// --topic. EnOS answers its JSON thing-model topics (measure points, events,
// attributes, ...) with 2.04 even when it refuses the content; the verdict
// is the JSON reply's "code": 200 accepted, anything else refused (1220
// "Payload format error", 1204 "Model validate failed", ...). A reply that is
// a JSON object with an integer "code" other than 200 is therefore a
// refusal: an *client.Error with CodeRejected (exit 6). Any other payload
// (empty for up_raw, not JSON, no code) is not judged: nil.
func jsonReplyRefusal(coap uint8, payload []byte) error {
	var reply map[string]json.RawMessage
	if json.Unmarshal(payload, &reply) != nil {
		return nil
	}
	var code int64
	if c, ok := reply["code"]; !ok || json.Unmarshal(c, &code) != nil || code == 200 {
		return nil
	}
	msg := "EnOS answered " + client.CodeString(coap) + " but refused the content with code " + strconv.FormatInt(code, 10)
	var text string
	if m, ok := reply["message"]; ok && json.Unmarshal(m, &text) == nil && text != "" {
		msg += ": " + printableText(text, 200)
	}
	return &client.Error{Code: client.CodeRejected, CoAP: coap, Msg: msg}
}

// printableText keeps EnOS's text off the terminal's control sequences:
// every rune outside printable ASCII becomes '?', and it is cut at max bytes.
func printableText(s string, maxLen int) string {
	cut := len(s) > maxLen
	if cut {
		s = s[:maxLen]
	}
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r >= 0x7f {
			return '?'
		}
		return r
	}, s)
	if cut {
		s += "..."
	}
	return s
}
