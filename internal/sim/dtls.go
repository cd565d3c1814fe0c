// SPDX-License-Identifier: Apache-2.0

// The DTLS endpoint: the same rules, commands and faults as over UDP, with
// EnOS's DTLS scheme (docs/protocol.md, "DTLS"): DTLS 1.2 with a pre-shared
// key whose identity is "{productKey},{deviceKey},{secureMode},{lifetime}" and
// whose key is bytes 9..24 of SHA-256 of the device secret (secureMode 2) or
// of the product secret (secureMode 3, dynamic activation). The handshake
// authenticates: no /auth, no token, no option 2101.

package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	piondtls "github.com/pion/dtls/v3"
	coapdtls "github.com/plgd-dev/go-coap/v3/dtls"
	coapDTLSServer "github.com/plgd-dev/go-coap/v3/dtls/server"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	coapNet "github.com/plgd-dev/go-coap/v3/net"
	"github.com/plgd-dev/go-coap/v3/net/responsewriter"
	"github.com/plgd-dev/go-coap/v3/options"
	udpClient "github.com/plgd-dev/go-coap/v3/udp/client"

	"github.com/libenos/libenos/core/sign"
)

// Product is a product registered for dynamic activation: a device of it
// that is also registered (Config.Devices) may handshake with the product
// secret (secureMode 3) and fetch its device secret.
type Product struct {
	ProductKey string `json:"productKey"`
	Secret     string `json:"secret"`
}

// ParseProduct parses "PK:PRODUCT_SECRET". The secret may contain ':'.
func ParseProduct(s string) (Product, error) {
	pk, secret, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || pk == "" || secret == "" || strings.ContainsAny(pk, "/,") {
		return Product{}, fmt.Errorf("product %q: want PRODUCTKEY:PRODUCT_SECRET", redact(s))
	}
	return Product{ProductKey: pk, Secret: secret}, nil
}

type dtlsServer struct {
	srv      *coapDTLSServer.Server
	listener *coapNet.DTLSListener
	relay    *relay
	products map[string]string // product key -> secret
	dups     dtlsDuplicates

	mu       sync.Mutex
	count    map[*udpClient.Conn]int      // accepted messages per session (ExpireAfter)
	sessions map[*udpClient.Conn]identity // every open session and its identity
}

// endSessions closes every DTLS session of a device (EndSession).
func (ds *dtlsServer) endSessions(productKey, deviceKey string) {
	ds.mu.Lock()
	var end []*udpClient.Conn
	for cc, id := range ds.sessions {
		if id.productKey == productKey && id.deviceKey == deviceKey {
			end = append(end, cc)
		}
	}
	ds.mu.Unlock()
	for _, cc := range end {
		_ = cc.Close()
	}
}

// identity is a parsed PSK identity.
type identity struct {
	productKey, deviceKey string
	secureMode            int
	lifetime              int
}

func parseIdentity(b []byte) (identity, error) {
	parts := strings.Split(string(b), ",")
	if len(parts) != 4 {
		return identity{}, errors.New("PSK identity is not {productKey},{deviceKey},{secureMode},{lifetime}")
	}
	mode, err1 := strconv.Atoi(parts[2])
	life, err2 := strconv.Atoi(parts[3])
	if err1 != nil || err2 != nil || (mode != 2 && mode != 3) {
		return identity{}, errors.New("PSK identity: secureMode must be 2 or 3 and lifetime a number")
	}
	if life < sign.MinLifetime || life > sign.MaxLifetime {
		return identity{}, errors.New("PSK identity: lifetime outside 30..86400")
	}
	return identity{productKey: parts[0], deviceKey: parts[1], secureMode: mode, lifetime: life}, nil
}

func startDTLS(s *Server, needRelay bool) (*dtlsServer, error) {
	if s.cfg.DTLSListen == "" {
		return nil, errors.New("products are for DTLS activation: they need a DTLS listener")
	}
	ds := &dtlsServer{products: make(map[string]string), count: make(map[*udpClient.Conn]int), sessions: make(map[*udpClient.Conn]identity)}
	for _, p := range s.cfg.Products {
		if p.ProductKey == "" || p.Secret == "" {
			return nil, errors.New("product with an empty key or secret")
		}
		ds.products[p.ProductKey] = p.Secret
	}
	listen := s.cfg.DTLSListen
	if needRelay {
		listen = "127.0.0.1:0"
	}
	l, err := coapNet.NewDTLSListener("udp", listen, &piondtls.Config{
		PSK:             func(id []byte) ([]byte, error) { return s.dtlsKey(ds, id) },
		PSKIdentityHint: []byte("enos-sim"),
		CipherSuites:    []piondtls.CipherSuiteID{piondtls.TLS_PSK_WITH_AES_128_CCM_8, piondtls.TLS_PSK_WITH_AES_128_CBC_SHA256},
	})
	if err != nil {
		return nil, fmt.Errorf("DTLS listen %s: %w", listen, err)
	}
	ds.listener = l
	ds.srv = coapdtls.NewServer(
		options.WithHandlerFunc(func(w *responsewriter.ResponseWriter[*udpClient.Conn], r *pool.Message) { s.serveDTLS(ds, w, r) }),
		options.WithErrors(s.coapError),
		options.WithRequestMonitor(ds.dups.monitor(s)),
		options.WithInactivityMonitor(connIdleTimeout, func(cc *udpClient.Conn) { _ = cc.Close() }),
		options.WithMaxMessageSize(64*1024),
		options.WithMaxPendingMessages(0),
		options.WithDTLSHandshakeTimeout(30*time.Second),
		options.WithOnNewConn(func(cc *udpClient.Conn) {
			s.count(func(st *Stats) { st.Handshakes++ })
			if id, ok := connIdentity(cc); ok {
				ds.mu.Lock()
				ds.sessions[cc] = id
				ds.mu.Unlock()
			}
			cc.AddOnClose(func() {
				ds.mu.Lock()
				delete(ds.count, cc)
				delete(ds.sessions, cc)
				ds.mu.Unlock()
				ds.dups.forget(cc)
			})
		}),
	)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := ds.srv.Serve(l); err != nil {
			s.logError("dtls server stopped: %v", err)
		}
	}()
	if needRelay {
		if ds.relay, err = newRelay(s, s.cfg.DTLSListen, l.Addr().String()); err != nil {
			ds.close()
			return nil, err
		}
	}
	return ds, nil
}

func (ds *dtlsServer) close() {
	if ds.relay != nil {
		ds.relay.close()
	}
	ds.srv.Stop()
	_ = ds.listener.Close()
}

// DTLSAddr is the address DTLS clients talk to, or "" without DTLS.
func (s *Server) DTLSAddr() string {
	switch {
	case s.dtls == nil:
		return ""
	case s.dtls.relay != nil:
		return s.dtls.relay.addr()
	}
	return s.dtls.listener.Addr().String()
}

// dtlsKey is the server's PSK callback: the key of the identity the client
// sent, from the device's secret or (secureMode 3) the product's. An unknown
// identity fails the handshake.
func (s *Server) dtlsKey(ds *dtlsServer, id []byte) ([]byte, error) {
	ident, err := parseIdentity(id)
	if err != nil {
		return nil, err
	}
	d := s.devices[ident.productKey+"/"+ident.deviceKey]
	if d == nil {
		return nil, errors.New("unknown device")
	}
	secret := d.Secret
	if ident.secureMode == 3 {
		if secret = ds.products[ident.productKey]; secret == "" {
			return nil, errors.New("product not registered for activation")
		}
	}
	k := sign.SignKey(secret)
	return k[:], nil
}

// serveDTLS handles one request of an established DTLS session.
func (s *Server) serveDTLS(ds *dtlsServer, w *responsewriter.ResponseWriter[*udpClient.Conn], r *pool.Message) {
	cc := w.Conn()
	ident, ok := connIdentity(cc)
	if !ok {
		s.reply(w, s.handle(request{code: r.Code(), bad: true}))
		return
	}
	var body []byte
	if r.Body() != nil {
		b, err := r.ReadBody()
		if err != nil {
			s.reply(w, s.handle(request{code: r.Code(), bad: true}))
			return
		}
		body = append([]byte(nil), b...)
	}
	req := parseRequest(r.Code(), r.Options(), body)
	req.dtls = &ident
	if s.cfg.ExpireAfter > 0 && req.code == codes.POST {
		ds.mu.Lock()
		n := ds.count[cc]
		ds.count[cc] = n + 1
		ds.mu.Unlock()
		if n >= s.cfg.ExpireAfter {
			// The session ends without an answer, as when a server forgets
			// it: the client must handshake again and resend.
			s.count(func(st *Stats) { st.Expirations++ })
			_ = cc.Close()
			return
		}
	}
	s.reply(w, s.handle(req))
}

// connIdentity is the PSK identity a DTLS session was established with.
func connIdentity(cc *udpClient.Conn) (identity, bool) {
	c, isDTLS := cc.NetConn().(*piondtls.Conn)
	if !isDTLS {
		return identity{}, false
	}
	st, has := c.ConnectionState()
	if !has {
		return identity{}, false
	}
	id, err := parseIdentity(st.IdentityHint)
	return id, err == nil
}

// topicDTLS judges a /topic request over DTLS: the session's identity is the
// device; a secureMode 3 session may only fetch its activation.
func (s *Server) topicDTLS(req request) response {
	id := req.dtls
	if req.hasSign {
		return textResponse(codes.BadOption, "option 2101 is not used over DTLS")
	}
	d := s.devices[id.productKey+"/"+id.deviceKey]
	if d == nil {
		return textResponse(codes.Unauthorized, "unknown device")
	}
	if len(req.path) == 8 && req.path[1] == "ext" && req.path[2] == "session" && strings.Join(req.path[5:], "/") == "thing/activate/info" {
		if req.path[3] != id.productKey || req.path[4] != id.deviceKey {
			return textResponse(codes.Forbidden, "activation of another device")
		}
		if req.code != codes.GET {
			return textResponse(codes.MethodNotAllowed, "activation info takes GET")
		}
		s.count(func(st *Stats) { st.Activations++ })
		reply, _ := json.Marshal(map[string]any{
			"id": "1", "version": "1.0", "method": "thing.activate.info",
			"params": map[string]string{"assetId": "sim-" + d.DeviceKey, "productKey": d.ProductKey, "deviceKey": d.DeviceKey, "deviceSecret": d.Secret},
		})
		return response{code: codes.Content, format: message.AppJSON, payload: reply}
	}
	if id.secureMode == 3 {
		return textResponse(codes.Unauthorized, "an activation session (secureMode 3) may only fetch its activation info")
	}
	if owner := s.deviceOfTopic(req.path); owner != d {
		return textResponse(codes.Forbidden, "topic of another device")
	}
	topic := "/" + strings.Join(req.path[1:], "/")
	d.mu.Lock()
	defer d.mu.Unlock()
	return s.accept(d, req, topic, 0, time.Now())
}
