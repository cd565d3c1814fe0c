// SPDX-License-Identifier: Apache-2.0

package sim

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// relay puts wire faults between DTLS clients and go-coap's DTLS server. It owns the
// public UDP socket; for every client endpoint it opens one inner socket
// connected to the server's loopback socket, so the server still sees one
// peer per client endpoint (and keeps one deduplication cache per client).
//
// Request datagrams are dropped with probability DropRequests before they
// reach the server; response datagrams are dropped with probability
// DropResponses, and held back by Delay + U[0, Jitter), after the server sent
// them. Both are real loss: the server never saw the request, or the client
// never sees the response (which the server has cached, so a retransmission
// gets the same response again).
type relay struct {
	s      *Server
	outer  *net.UDPConn
	server *net.UDPAddr

	mu    sync.Mutex
	peers map[string]*peer

	closing atomic.Bool
	wg      sync.WaitGroup
}

type peer struct {
	client   *net.UDPAddr
	inner    *net.UDPConn
	lastUsed atomic.Int64 // unix nanoseconds
}

// peerIdle closes an inner socket after this long without traffic. Longer
// than EXCHANGE_LIFETIME, so a late retransmission reaches the same server
// peer (and its response cache).
const peerIdle = connIdleTimeout

func newRelay(s *Server, listen, serverAddr string) (*relay, error) {
	la, err := net.ResolveUDPAddr("udp", listen)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", listen, err)
	}
	sa, err := net.ResolveUDPAddr("udp", serverAddr)
	if err != nil {
		return nil, err
	}
	outer, err := net.ListenUDP("udp", la)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", listen, err)
	}
	_ = outer.SetReadBuffer(4 << 20)
	r := &relay{s: s, outer: outer, server: sa, peers: make(map[string]*peer)}
	r.wg.Add(2)
	go r.readClients()
	go r.reap()
	return r, nil
}

func (r *relay) addr() string { return r.outer.LocalAddr().String() }

func (r *relay) close() {
	r.closing.Store(true)
	_ = r.outer.Close()
	r.mu.Lock()
	for k, p := range r.peers {
		_ = p.inner.Close()
		delete(r.peers, k)
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *relay) readClients() {
	defer r.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := r.outer.ReadFromUDP(buf)
		if err != nil {
			if r.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if r.s.chance(r.s.cfg.DropRequests) {
			r.s.count(func(st *Stats) { st.DroppedRequests++ })
			continue
		}
		p, err := r.peer(from)
		if err != nil {
			r.s.logError("relay: %v", err)
			continue
		}
		p.lastUsed.Store(time.Now().UnixNano())
		_, _ = p.inner.Write(buf[:n])
	}
}

func (r *relay) peer(from *net.UDPAddr) (*peer, error) {
	key := from.String()
	r.mu.Lock()
	defer r.mu.Unlock()
	if p := r.peers[key]; p != nil {
		return p, nil
	}
	if r.closing.Load() {
		return nil, net.ErrClosed
	}
	inner, err := net.DialUDP("udp", nil, r.server)
	if err != nil {
		return nil, fmt.Errorf("inner socket for %s: %w", key, err)
	}
	p := &peer{client: from, inner: inner}
	p.lastUsed.Store(time.Now().UnixNano())
	r.peers[key] = p
	r.wg.Add(1)
	go r.readServer(p)
	return p, nil
}

// readServer forwards one client's responses: one goroutine per live peer.
func (r *relay) readServer(p *peer) {
	defer r.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, err := p.inner.Read(buf)
		if err != nil {
			if r.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP refused while the server restarts
		}
		p.lastUsed.Store(time.Now().UnixNano())
		d, drop := r.s.responseFault()
		if drop {
			continue
		}
		if d <= 0 {
			_, _ = r.outer.WriteToUDP(buf[:n], p.client)
			continue
		}
		pkt := append([]byte(nil), buf[:n]...)
		time.AfterFunc(d, func() {
			if !r.closing.Load() {
				_, _ = r.outer.WriteToUDP(pkt, p.client)
			}
		})
	}
}

func (r *relay) reap() {
	defer r.wg.Done()
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-r.s.done:
			return
		case now := <-t.C:
			r.mu.Lock()
			for k, p := range r.peers {
				if now.UnixNano()-p.lastUsed.Load() > int64(peerIdle) {
					_ = p.inner.Close()
					delete(r.peers, k)
				}
			}
			r.mu.Unlock()
		}
	}
}
