// SPDX-License-Identifier: Apache-2.0

package sim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// The control channel: a loopback TCP port speaking one JSON object per line.
//
//	-> {"op":"command","productKey":"pk","deviceKey":"dk","topic":"/sys/pk/dk/thing/model/down_raw","payload":"<base64>"}
//	<- {"ok":true}
//	-> {"op":"stats"}
//	<- {"ok":true,"stats":{...}}
//	-> {"op":"end-session","productKey":"pk","deviceKey":"dk"}
//	<- {"ok":true}
//
// Errors come back as {"ok":false,"error":"..."}. Only loopback addresses are
// accepted: anyone who can reach the port can queue commands.

// ControlRequest is one line sent to the control channel.
type ControlRequest struct {
	Op         string `json:"op"` // "command", "stats", "end-session"
	ProductKey string `json:"productKey,omitempty"`
	DeviceKey  string `json:"deviceKey,omitempty"`
	Topic      string `json:"topic,omitempty"`
	Payload    []byte `json:"payload,omitempty"` // base64 in JSON
}

// ControlResponse is one line answered by the control channel.
type ControlResponse struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	Stats *Stats `json:"stats,omitempty"`
}

type control struct {
	s  *Server
	ln net.Listener
	wg sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func startControl(s *Server, addr string) (*control, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("control address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("control address %q: must be a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	c := &control{s: s, ln: ln, conns: make(map[net.Conn]struct{})}
	c.wg.Add(1)
	go c.accept()
	return c, nil
}

func (c *control) addr() string { return c.ln.Addr().String() }

func (c *control) close() {
	_ = c.ln.Close()
	c.mu.Lock()
	for conn := range c.conns {
		_ = conn.Close()
	}
	c.mu.Unlock()
	c.wg.Wait()
}

func (c *control) accept() {
	defer c.wg.Done()
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		c.mu.Lock()
		c.conns[conn] = struct{}{}
		c.mu.Unlock()
		c.wg.Add(1)
		go c.serve(conn)
	}
}

func (c *control) serve(conn net.Conn) {
	defer c.wg.Done()
	defer func() {
		c.mu.Lock()
		delete(c.conns, conn)
		c.mu.Unlock()
		_ = conn.Close()
	}()
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 4096), 1<<20)
	enc := json.NewEncoder(conn)
	for sc.Scan() {
		var req ControlRequest
		var resp ControlResponse
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			resp.Error = "bad request: " + err.Error()
		} else {
			resp = c.s.Control(req)
		}
		if enc.Encode(resp) != nil {
			return
		}
	}
}

// Control executes one control request, exactly as the control channel does.
func (s *Server) Control(req ControlRequest) ControlResponse {
	var err error
	switch req.Op {
	case "command":
		err = s.QueueCommand(req.ProductKey, req.DeviceKey, req.Topic, req.Payload)
	case "end-session":
		err = s.EndSession(req.ProductKey, req.DeviceKey)
	case "stats":
		st := s.Stats()
		return ControlResponse{OK: true, Stats: &st}
	default:
		err = fmt.Errorf("unknown op %q (want command, stats or end-session)", req.Op)
	}
	if err != nil {
		return ControlResponse{Error: err.Error()}
	}
	return ControlResponse{OK: true}
}

// SendControl sends one request to a running simulator's control channel.
func SendControl(addr string, req ControlRequest, timeout time.Duration) (ControlResponse, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return ControlResponse{}, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return ControlResponse{}, err
	}
	var resp ControlResponse
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		return ControlResponse{}, fmt.Errorf("control: %w", err)
	}
	if !resp.OK {
		return resp, errors.New(resp.Error)
	}
	return resp, nil
}
