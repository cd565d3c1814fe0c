// SPDX-License-Identifier: Apache-2.0

// go-coap plumbing of the DTLS endpoint. Over DTLS the server keeps a session
// per client anyway (pion's DTLS connection), so go-coap's per-connection
// server fits it; the UDP endpoint has plumbing of its own (udp.go).

package sim

import (
	"bytes"
	"io"
	"sync"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/net/responsewriter"
	udpClient "github.com/plgd-dev/go-coap/v3/udp/client"
)

// connIdleTimeout is how long go-coap keeps an idle DTLS peer (and its
// response cache). It must exceed ExchangeLifetime or late retransmissions
// would be processed twice.
const connIdleTimeout = ExchangeLifetime + 53*time.Second

func (s *Server) coapError(err error) {
	s.logError("coap: %v", err)
}

// dtlsDuplicates counts retransmissions over DTLS (go-coap answers them from
// its cache): a second sighting of a session's MID within EXCHANGE_LIFETIME.
type dtlsDuplicates struct {
	mu   sync.Mutex
	seen map[dtlsDupKey]time.Time
}

type dtlsDupKey struct {
	conn *udpClient.Conn
	mid  int32
}

// monitor sees every request go-coap parsed, before its deduplication.
func (d *dtlsDuplicates) monitor(s *Server) func(*udpClient.Conn, *pool.Message) (bool, error) {
	return func(cc *udpClient.Conn, req *pool.Message) (bool, error) {
		if req.Type() != message.Confirmable && req.Type() != message.NonConfirmable {
			return false, nil
		}
		k := dtlsDupKey{conn: cc, mid: req.MessageID()}
		now := time.Now()
		d.mu.Lock()
		if d.seen == nil {
			d.seen = make(map[dtlsDupKey]time.Time)
		}
		dup := false
		if t, ok := d.seen[k]; ok && now.Sub(t) < ExchangeLifetime {
			dup = true
		} else {
			d.seen[k] = now
			for key, t := range d.seen { // amortised: a few entries per session
				if now.Sub(t) >= ExchangeLifetime {
					delete(d.seen, key)
				}
				break
			}
		}
		d.mu.Unlock()
		if dup {
			s.count(func(st *Stats) { st.Duplicates++ })
		}
		return false, nil
	}
}

// forget drops a closed session's entries.
func (d *dtlsDuplicates) forget(cc *udpClient.Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k := range d.seen {
		if k.conn == cc {
			delete(d.seen, k)
		}
	}
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
