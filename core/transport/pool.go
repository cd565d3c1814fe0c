// SPDX-License-Identifier: Apache-2.0

package transport

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
)

// MaxConnsPerSocket is how many Conns one shared socket serves at most
// before the pool opens another for the same server. It bounds how many
// exchanges wait on one socket's receive buffer at once; the Message ID
// budget (MIDsPerLifetime per ExchangeLifetime) is the other reason a pool
// grows.
const MaxConnsPerSocket = 4096

// sockPool holds the UDP sockets the Conns of this process share, by the
// server's resolved address. A Conn is assigned a socket when it first needs
// one (a session's first exchange) and keeps it until the socket has no
// Message ID left, fails, or the Conn closes: a server that ties a session to
// the source address sees one address per session, as long as the session
// does not send more than MIDsPerLifetime messages per ExchangeLifetime
// together with the other Conns on its socket.
type sockPool struct {
	mu    sync.Mutex
	socks map[string][]*sock
}

var shared = &sockPool{socks: make(map[string][]*sock)}

// resolve turns "host:port" into the address to connect to, without a
// system call when host is an IP address.
func resolve(ctx context.Context, server string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(server)
	if err != nil {
		return netip.AddrPort{}, err
	}
	p, err := net.DefaultResolver.LookupPort(ctx, "udp", port)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return netip.AddrPort{}, err
		}
		if len(ips) == 0 {
			return netip.AddrPort{}, errors.New("no address for " + host)
		}
		// IPv4 first, as net.ResolveUDPAddr does: a server on 127.0.0.1
		// named "localhost" is reached even where ::1 is listed first.
		ip = ips[0]
		for _, a := range ips {
			if a.Unmap().Is4() {
				ip = a
				break
			}
		}
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(p)), nil
}

// acquire assigns one more Conn to a socket for server: the least loaded
// open socket with Message IDs left, or, when there is none (or fresh is
// set), a new one.
func (p *sockPool) acquire(ctx context.Context, server string, fresh bool) (*sock, error) {
	addr, err := resolve(ctx, server)
	if err != nil {
		return nil, &NetError{Err: err}
	}
	key := addr.String()
	if !fresh {
		p.mu.Lock()
		var best *sock
		for _, s := range p.socks[key] {
			if s.retired || s.members >= MaxConnsPerSocket || s.mids.exhausted() {
				continue
			}
			if best == nil || s.members < best.members {
				best = s
			}
		}
		if best != nil {
			best.members++
			p.mu.Unlock()
			return best, nil
		}
		p.mu.Unlock()
	}
	nc, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, &NetError{Err: err}
	}
	s, err := newSock(nc)
	if err != nil {
		_ = nc.Close()
		return nil, &NetError{Err: err}
	}
	s.mids = newMIDAllocator(uint16(rand.Uint32()), nil)
	s.key = key
	s.members = 1
	s.inPool = true
	p.mu.Lock()
	p.socks[key] = append(p.socks[key], s)
	p.mu.Unlock()
	return s, nil
}

// release unassigns one Conn from s; the last one closes it.
func (p *sockPool) release(s *sock) {
	p.mu.Lock()
	s.members--
	last := s.members == 0
	if last {
		p.removeLocked(s)
	}
	p.mu.Unlock()
	if last {
		s.fail(ErrClosed)
		_ = s.conn.Close()
	}
}

// retire stops assigning new Conns to s (the server answered on it from its
// deduplication cache for a Message ID this process did not send from it).
func (p *sockPool) retire(s *sock) {
	p.mu.Lock()
	s.retired = true
	p.mu.Unlock()
}

// fail takes s out of the pool after an error on it and closes it: every
// exchange waiting on it ends with a NetError, and each of its Conns moves
// to another socket on its next exchange.
func (p *sockPool) fail(s *sock, err error) {
	s.fail(err)
	p.mu.Lock()
	p.removeLocked(s)
	p.mu.Unlock()
	_ = s.conn.Close()
}

func (p *sockPool) removeLocked(s *sock) {
	if !s.inPool {
		return
	}
	s.inPool = false
	list := p.socks[s.key]
	for i, x := range list {
		if x == s {
			list[i] = list[len(list)-1]
			list[len(list)-1] = nil
			list = list[:len(list)-1]
			break
		}
	}
	if len(list) == 0 {
		delete(p.socks, s.key)
	} else {
		p.socks[s.key] = list
	}
}

// sockets reports how many sockets the pool holds for server's address
// (for tests and statistics).
func (p *sockPool) sockets(key string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.socks[key])
}
