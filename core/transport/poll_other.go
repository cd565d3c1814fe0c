//go:build !linux

package transport

import (
	"net"
	"time"
)

// pollRead has no fast path here: await always waits in Go's netpoller.
func (c *Conn) pollRead(*net.UDPConn, time.Time) (int, error, bool) { return 0, nil, false }
