// SPDX-License-Identifier: Apache-2.0

// The simulator's protocol logic: pure with respect to the network, so the
// fuzz target drives it directly.

package sim

import (
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// request is what the simulator reads from a CoAP request.
type request struct {
	code    codes.Code
	path    []string // URI-Path segments
	hasSign bool
	sign    string
	payload []byte
	bad     bool      // the body could not be read
	dtls    *identity // over DTLS: the session's PSK identity (dtls.go)
}

type response struct {
	code    codes.Code
	format  message.MediaType
	payload []byte
	opts    message.Options
}

func textResponse(code codes.Code, text string) response {
	return response{code: code, format: message.TextPlain, payload: []byte(text)}
}

func (s *Server) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.Float64() < p
}

func (s *Server) handle(req request) response {
	resp := s.route(req)
	s.mu.Lock()
	switch {
	case resp.code >= codes.BadRequest && resp.code < codes.InternalServerError:
		s.stats.Rejections++
	case resp.code == codes.InternalServerError:
		s.stats.Failures++
	}
	s.mu.Unlock()
	return resp
}

func (s *Server) route(req request) response {
	if s.chance(s.cfg.FailRate) {
		return textResponse(codes.InternalServerError, "injected failure")
	}
	if req.bad {
		return textResponse(codes.BadRequest, "unreadable request")
	}
	if len(req.path) == 0 {
		return textResponse(codes.NotFound, "not found")
	}
	if req.dtls != nil {
		if req.path[0] != "topic" {
			return textResponse(codes.NotFound, "not found (over DTLS the handshake authenticates)")
		}
		return s.topicDTLS(req)
	}
	switch req.path[0] {
	case "auth":
		resp := s.auth(req)
		if resp.code >= codes.BadRequest {
			s.mu.Lock()
			s.stats.AuthFailures++
			s.mu.Unlock()
		}
		return resp
	case "topic":
		return s.topic(req)
	}
	return textResponse(codes.NotFound, "not found")
}

// parseRequest extracts what the simulator judges from a decoded request.
// Values are copied: opts may point into a reused buffer.
func parseRequest(code codes.Code, opts message.Options, body []byte) request {
	req := request{code: code, payload: body}
	for _, o := range opts {
		switch o.ID {
		case message.URIPath:
			req.path = append(req.path, string(o.Value))
		case OptionSign:
			req.hasSign = true
			req.sign = string(o.Value)
		}
	}
	return req
}
