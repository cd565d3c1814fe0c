package transport

import (
	"net"
	"syscall"
	"time"
	"unsafe"
)

// pollRead waits up to min(spinWait, until) for a datagram in a blocking
// ppoll(2) on the calling thread, and reads it. ok is false when nothing
// arrived or the fast path is unavailable: the caller then waits in Go's
// netpoller as usual.
func (c *Conn) pollRead(s *net.UDPConn, until time.Time) (n int, err error, ok bool) {
	d := min(time.Until(until), spinWait)
	if d <= 0 {
		return 0, nil, false
	}
	// A deadline left by a netpoller wait would make RawConn.Read fail at once.
	if s.SetReadDeadline(time.Time{}) != nil {
		return 0, nil, false
	}
	rc, e := s.SyscallConn()
	if e != nil {
		return 0, nil, false
	}
	_ = rc.Read(func(fd uintptr) bool {
		pfd := struct {
			fd      int32
			events  int16
			revents int16
		}{fd: int32(fd), events: 0x1} // POLLIN
		ts := syscall.NsecToTimespec(int64(d))
		r, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
		if errno != 0 || r == 0 {
			return true // timeout or EINTR: fall back
		}
		n, err = syscall.Read(int(fd), c.recvBuf)
		if err == syscall.EAGAIN {
			n, err = 0, nil
			return true
		}
		ok = true
		return true
	})
	if ok && err != nil {
		err = &net.OpError{Op: "read", Net: "udp", Err: err}
	}
	return n, err, ok
}
