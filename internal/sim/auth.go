// SPDX-License-Identifier: Apache-2.0

package sim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"time"

	"github.com/libenos/libenos/core/sign"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

func (s *Server) auth(req request) response {
	if req.code != codes.POST {
		return textResponse(codes.MethodNotAllowed, "auth needs POST")
	}
	if len(req.path) != 3 {
		return textResponse(codes.NotFound, "auth path is /auth/{productKey}/{deviceKey}")
	}
	lifetime, signature, ok := parseAuth(req.payload)
	if !ok {
		return textResponse(codes.BadRequest, "auth payload must be {\"secureMode\":2,\"lifetime\":30..86400,\"sign\":\"...\"}")
	}
	d := s.devices[req.path[1]+"/"+req.path[2]]
	if d == nil {
		return textResponse(codes.Unauthorized, "unknown device")
	}
	want, err := sign.AuthSign(d.ProductKey, d.DeviceKey, d.Secret, lifetime)
	if err != nil || subtle.ConstantTimeCompare([]byte(want), []byte(signature)) != 1 {
		return textResponse(codes.Unauthorized, "wrong sign")
	}
	token := newToken()
	life := time.Duration(lifetime) * time.Second
	if s.cfg.LifetimeOverride > 0 {
		life = s.cfg.LifetimeOverride
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	// A new session replaces any previous one (whose token stops working).
	d.sess = &session{token: token, lifetime: life, lastSeen: time.Now()}
	d.authCount++
	s.mu.Lock()
	s.stats.Auths++
	s.mu.Unlock()
	body := []byte(`{}`)
	if s.cfg.SignMode == SignRequired {
		body, _ = json.Marshal(map[string]string{"token": token})
	}
	resp := response{code: codes.Content, format: message.AppJSON, payload: body}
	s.announce(d, &resp)
	return resp
}

// parseAuth checks {"secureMode":2,"lifetime":<int 30..86400>,"sign":"<string>"}.
func parseAuth(payload []byte) (lifetime int, signature string, ok bool) {
	var m map[string]json.RawMessage
	if len(payload) == 0 || len(payload) > 4096 || json.Unmarshal(payload, &m) != nil {
		return 0, "", false
	}
	var mode, life json.Number
	if !decodeNumber(m["secureMode"], &mode) || mode.String() != "2" {
		return 0, "", false
	}
	if !decodeNumber(m["lifetime"], &life) {
		return 0, "", false
	}
	v, err := life.Int64()
	if err != nil || v < sign.MinLifetime || v > sign.MaxLifetime {
		return 0, "", false
	}
	if m["sign"] == nil || json.Unmarshal(m["sign"], &signature) != nil || signature == "" {
		return 0, "", false
	}
	return int(v), signature, true
}

// decodeNumber reports whether raw, one valid JSON value as json.Unmarshal
// leaves it in a RawMessage, is a number, and stores its text in out. The
// first byte tells a JSON value's kind; only numbers start with '-' or a digit.
func decodeNumber(raw json.RawMessage, out *json.Number) bool {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return false // absent, null, true/false, array, object, or a string: "2" is not 2
	}
	*out = json.Number(raw)
	return true
}

const tokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (Go 1.24+)
	for i := range b {
		b[i] = tokenAlphabet[int(b[i])%len(tokenAlphabet)]
	}
	return string(b[:])
}
