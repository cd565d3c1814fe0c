// SPDX-License-Identifier: Apache-2.0

package client

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"
)

// gate is a loopback UDP relay between a client and a server (the
// simulator), real datagrams both ways, with switchable faults: silent (drop
// everything, an outage), open, and a hold-back of every response. Like the
// simulator's own relay it opens one upstream socket per client endpoint, so
// the server keeps one deduplication cache per client endpoint, as EnOS does.
type gate struct {
	t      *testing.T
	pc     net.PacketConn
	server *net.UDPAddr

	mu        sync.Mutex
	open      bool
	delay     time.Duration // responses are held back this long
	openOn    []byte        // a request containing this opens the gate (before forwarding it)
	seen      [][]byte      // request datagrams seen, forwarded or not
	upstreams map[string]net.PacketConn
	changed   chan struct{} // closed and replaced at every datagram seen
}

func startGate(t *testing.T, server string) *gate {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sa, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{t: t, pc: pc, server: sa, open: true, upstreams: map[string]net.PacketConn{}, changed: make(chan struct{})}
	t.Cleanup(g.close)
	go g.run()
	return g
}

func (g *gate) Addr() string { return g.pc.LocalAddr().String() }

func (g *gate) close() {
	g.pc.Close()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, u := range g.upstreams {
		u.Close()
	}
}

// setOpen opens or closes the gate.
func (g *gate) setOpen(open bool) {
	g.mu.Lock()
	g.open = open
	g.mu.Unlock()
}

// openWhenSeen opens the gate as soon as a request containing marker arrives.
func (g *gate) openWhenSeen(marker []byte) {
	g.mu.Lock()
	g.openOn = marker
	g.mu.Unlock()
}

func (g *gate) setDelay(d time.Duration) {
	g.mu.Lock()
	g.delay = d
	g.mu.Unlock()
}

// waitSeen waits until count(requests containing marker) >= n.
func (g *gate) waitSeen(marker []byte, n int, timeout time.Duration) {
	g.t.Helper()
	end := time.After(timeout)
	for {
		g.mu.Lock()
		k := 0
		for _, d := range g.seen {
			if bytes.Contains(d, marker) {
				k++
			}
		}
		ch := g.changed
		g.mu.Unlock()
		if k >= n {
			return
		}
		select {
		case <-ch:
		case <-end:
			g.t.Fatalf("the server side never saw %d requests containing %q", n, marker)
		}
	}
}

func (g *gate) run() {
	buf := make([]byte, 2048)
	for {
		n, from, err := g.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		d := append([]byte(nil), buf[:n]...)
		g.mu.Lock()
		g.seen = append(g.seen, d)
		close(g.changed)
		g.changed = make(chan struct{})
		if g.openOn != nil && bytes.Contains(d, g.openOn) {
			g.open = true
		}
		open := g.open
		up := g.upstreams[from.String()]
		if up == nil && open {
			up, err = net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				g.mu.Unlock()
				continue
			}
			g.upstreams[from.String()] = up
			go g.back(up, from)
		}
		g.mu.Unlock()
		if open {
			_, _ = up.WriteTo(d, g.server)
		}
	}
}

// back carries the server's answers to one client endpoint.
func (g *gate) back(up net.PacketConn, client net.Addr) {
	buf := make([]byte, 2048)
	for {
		n, _, err := up.ReadFrom(buf)
		if err != nil {
			return
		}
		d := append([]byte(nil), buf[:n]...)
		g.mu.Lock()
		open, delay := g.open, g.delay
		g.mu.Unlock()
		if !open {
			continue
		}
		if delay > 0 {
			time.AfterFunc(delay, func() { _, _ = g.pc.WriteTo(d, client) })
			continue
		}
		_, _ = g.pc.WriteTo(d, client)
	}
}
