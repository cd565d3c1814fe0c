// CoAP plumbing: go-coap server callbacks that turn messages into requests
// and responses.

package sim

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/net/responsewriter"
	udpClient "github.com/plgd-dev/go-coap/v3/udp/client"
)

func (s *Server) coapError(err error) {
	s.logError("coap: %v", err)
}

func (s *Server) logError(format string, args ...any) {
	if s.cfg.ErrorLog == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = io.WriteString(s.cfg.ErrorLog, strings.TrimRight(msg, "\n")+"\n")
}

// monitor sees every request go-coap parsed, before its deduplication: a
// second sighting of an endpoint+MID within EXCHANGE_LIFETIME is a duplicate.
func (s *Server) monitor(cc *udpClient.Conn, req *pool.Message) (bool, error) {
	if req.Type() != message.Confirmable && req.Type() != message.NonConfirmable {
		return false, nil
	}
	k := dupKey{endpoint: cc.RemoteAddr().String(), mid: req.MessageID()}
	now := time.Now()
	s.mu.Lock()
	if t, ok := s.dups[k]; ok && now.Sub(t) < ExchangeLifetime {
		s.stats.Duplicates++
	} else {
		s.dups[k] = now
	}
	s.mu.Unlock()
	return false, nil
}

// sweep forgets old duplicate keys.
func (s *Server) sweep() {
	defer s.wg.Done()
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case now := <-t.C:
			s.mu.Lock()
			for k, v := range s.dups {
				if now.Sub(v) >= ExchangeLifetime {
					delete(s.dups, k)
				}
			}
			s.mu.Unlock()
		}
	}
}

func (s *Server) serveCoAP(w *responsewriter.ResponseWriter[*udpClient.Conn], r *pool.Message) {
	var body []byte
	if r.Body() != nil {
		b, err := r.ReadBody()
		if err != nil {
			s.reply(w, s.handle(request{code: r.Code(), bad: true}))
			return
		}
		body = append([]byte(nil), b...) // the body lives in a pooled buffer
	}
	s.reply(w, s.handle(parseRequest(r.Code(), r.Options(), body)))
}

// parseRequest extracts what the simulator judges from a decoded request.
// Values are copied: opts may point into pooled buffers.
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

func (s *Server) reply(w *responsewriter.ResponseWriter[*udpClient.Conn], resp response) {
	var body io.ReadSeeker
	if resp.payload != nil {
		body = bytes.NewReader(resp.payload)
	}
	if err := w.SetResponse(resp.code, resp.format, body, resp.opts...); err != nil {
		s.logError("cannot set response: %v", err)
	}
}
