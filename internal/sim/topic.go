// SPDX-License-Identifier: Apache-2.0

package sim

import (
	"crypto/subtle"
	"encoding/json"
	"strings"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// deviceOfTopic finds {pk}/{dk} in a /topic path: /topic/sys/{pk}/{dk}/...,
// /topic/ext/session/{pk}/{dk}/..., else the first registered pair of segments.
func (s *Server) deviceOfTopic(path []string) *deviceState {
	if len(path) >= 4 && path[1] == "sys" {
		return s.devices[path[2]+"/"+path[3]]
	}
	if len(path) >= 5 && path[1] == "ext" && path[2] == "session" {
		return s.devices[path[3]+"/"+path[4]]
	}
	for i := 1; i+1 < len(path) && i < 8; i++ {
		if d := s.devices[path[i]+"/"+path[i+1]]; d != nil {
			return d
		}
	}
	return nil
}

func (s *Server) topic(req request) response {
	if len(req.path) < 2 {
		return textResponse(codes.NotFound, "topic path is /topic/{mqtt topic}")
	}
	if req.code != codes.POST && req.code != codes.GET {
		return textResponse(codes.MethodNotAllowed, "topics take POST (messages) or GET (command fetch)")
	}
	if s.cfg.SignMode == SignUnknown && req.hasSign {
		// This server variant does not know option 2101, which is critical.
		return textResponse(codes.BadOption, "unknown critical option 2101")
	}
	d := s.deviceOfTopic(req.path)
	if d == nil {
		return textResponse(codes.Unauthorized, "unknown device")
	}
	var token string
	var seq uint32
	if s.cfg.SignMode == SignRequired {
		if !req.hasSign {
			return textResponse(codes.Unauthorized, "option 2101 missing")
		}
		var err error
		token, seq, err = d.signer.Open(req.sign) // Open does not touch the Signer's scratch space
		if err != nil {
			return textResponse(codes.Unauthorized, "bad sign")
		}
	}
	topic := "/" + strings.Join(req.path[1:], "/")
	now := time.Now()

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sess == nil {
		return textResponse(codes.Unauthorized, "not authenticated")
	}
	if now.Sub(d.sess.lastSeen) > d.sess.lifetime {
		d.sess = nil
		s.count(func(st *Stats) { st.Expirations++ })
		return textResponse(codes.Unauthorized, "session expired")
	}
	if s.cfg.SignMode == SignRequired {
		if subtle.ConstantTimeCompare([]byte(token), []byte(d.sess.token)) != 1 {
			return textResponse(codes.Unauthorized, "wrong token")
		}
		if seq <= d.sess.lastSeq {
			return textResponse(codes.Unauthorized, "sequence not larger than the last one")
		}
	}
	if s.cfg.ExpireAfter > 0 && d.sess.count >= s.cfg.ExpireAfter {
		d.sess = nil
		s.count(func(st *Stats) { st.Expirations++ })
		return textResponse(codes.Unauthorized, "session expired")
	}
	d.sess.lastSeq = max(d.sess.lastSeq, seq)
	d.sess.lastSeen = now
	d.sess.count++
	return s.accept(d, req, topic, seq, now)
}

// accept carries out a request the rules let through: a GET fetches a
// command, a POST is recorded; either may announce the next command. d.mu is
// held.
func (s *Server) accept(d *deviceState, req request, topic string, seq uint32, now time.Time) response {
	var resp response
	if req.code == codes.GET {
		// In get style a GET of the announced topic fetches the oldest
		// command (only the oldest, so commands arrive in order). In inline
		// style commands travel in 2102 only; a GET just polls.
		resp = response{code: codes.Content, format: message.AppOctets, payload: []byte{}}
		if s.cfg.CommandStyle == CommandGet && len(d.queue) > 0 && d.queue[0].topic == "/topic"+topic {
			resp.payload = d.queue[0].payload
			d.queue = d.queue[1:]
			s.count(func(st *Stats) { st.CommandsDelivered++ })
		}
		s.count(func(st *Stats) { st.Fetches++ })
	} else {
		rec := Record{Time: now.UTC(), ProductKey: d.ProductKey, DeviceKey: d.DeviceKey, Topic: topic, Sequence: seq, Payload: req.payload}
		reply, verdict := s.thingRequest(d, strings.TrimPrefix(topic, "/sys/"+d.ProductKey+"/"+d.DeviceKey+"/"), req.payload, now.UnixMilli())
		rec.Thing = verdict
		var line []byte
		if s.cfg.Log != nil {
			// Marshalled outside s.mu (every device's reports take it);
			// written under it, so lines keep the order of the records.
			line, _ = json.Marshal(rec)
			line = append(line, '\n')
		}
		s.mu.Lock()
		if !s.cfg.NoRecords {
			s.records = append(s.records, rec)
		}
		s.stats.Reports++
		if s.cfg.Log != nil {
			_, _ = s.cfg.Log.Write(line)
		}
		s.mu.Unlock()
		resp = response{code: codes.Changed}
		if reply != nil {
			resp.format, resp.payload = message.AppJSON, reply
		}
	}
	s.announce(d, &resp)
	return resp
}

func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

// announce adds the next queued command to a success response: 2100 (topic)
// and, inline, 2102 (payload, and the command is delivered). d.mu is held.
func (s *Server) announce(d *deviceState, resp *response) {
	if len(d.queue) == 0 {
		return
	}
	c := d.queue[0]
	resp.opts = append(resp.opts, message.Option{ID: OptionCommandTopic, Value: []byte(c.topic)})
	if s.cfg.CommandStyle == CommandInline {
		resp.opts = append(resp.opts, message.Option{ID: OptionCommandPayload, Value: c.payload})
		d.queue = d.queue[1:]
		s.count(func(st *Stats) { st.CommandsDelivered++ })
	}
}
