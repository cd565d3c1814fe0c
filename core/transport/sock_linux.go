// SPDX-License-Identifier: Apache-2.0

//go:build linux && !386

package transport

import (
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// On Linux the socket's descriptor is switched to blocking mode with a
// receive timeout of spinWait (SO_RCVTIMEO), so that a caller with a thread of
// its own waits for an answer in one recvfrom(2) on that thread: one system
// call where ppoll + read took two, and no hand-off to Go's netpoller. Every
// other call passes MSG_DONTWAIT, so sending, and reading on behalf of
// goroutines, behave exactly as on a non-blocking socket (waiting, when there
// is nothing to do, in the netpoller through RawConn). Nothing reads the
// descriptor through net.UDPConn's own Read or Write, which would block.
// (linux/386 has no sendto/recvfrom system calls of its own, only socketcall:
// it builds sock_other.go.)
type sockSys struct {
	rc   syscall.RawConn
	fast bool // blocking mode and SO_RCVTIMEO are set: recvWait may block

	// The arguments and results of the functions handed to rc, which are made
	// once in newSock: a closure per call would be an allocation per message.
	// Reading is done by one exchange at a time (the socket's reader, see
	// demux.go), which guards buf, n, errno and got; writes come from every
	// client sharing the socket and are serialised by wmu.
	buf                    []byte
	n                      int
	errno                  syscall.Errno
	got                    bool
	wmu                    sync.Mutex
	wbuf                   []byte
	werrno                 syscall.Errno
	sendFn, recvFn, waitFn func(fd uintptr) bool
}

// newSock fails only if conn has no descriptor (SyscallConn of a UDPConn
// fails only when it is nil or closed), which a freshly dialled conn has.
func newSock(conn *net.UDPConn) (*sock, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	s := &sock{conn: conn}
	s.rc = rc
	s.sendFn = s.sendNow
	s.recvFn = s.recvNow
	s.waitFn = s.recvBlocking
	_ = rc.Control(func(fd uintptr) {
		// The timeout first: a blocking descriptor without it could block
		// a thread for good.
		tv := syscall.NsecToTimeval(int64(spinWait))
		if syscall.SetsockoptTimeval(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv) != nil {
			return
		}
		s.fast = syscall.SetNonblock(int(fd), false) == nil
	})
	return s, nil
}

func (s *sock) write(b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.wbuf, s.werrno = b, 0
	err := s.rc.Write(s.sendFn)
	s.wbuf = nil
	if err != nil {
		return err
	}
	if s.werrno != 0 {
		return os.NewSyscallError("sendto", s.werrno)
	}
	return nil
}

func (s *sock) readPoll(b []byte) (int, error) {
	s.buf, s.n, s.errno = b, 0, 0
	if err := s.rc.Read(s.recvFn); err != nil {
		return 0, err
	}
	if s.errno != 0 {
		return 0, os.NewSyscallError("recvfrom", s.errno)
	}
	return s.n, nil
}

// recvWait blocks the calling thread in recvfrom(2) for up to spinWait; the
// caller has checked canWait. ok is false when nothing arrived (or a read
// deadline could not be cleared): the caller then waits in the netpoller,
// which also reports a closed socket.
func (s *sock) recvWait(b []byte) (n int, err error, ok bool) {
	if !s.clearDeadline() {
		return 0, nil, false
	}
	s.buf, s.n, s.errno, s.got = b, 0, 0, false
	if s.rc.Read(s.waitFn) != nil || !s.got {
		return 0, nil, false
	}
	if s.errno != 0 {
		return 0, os.NewSyscallError("recvfrom", s.errno), true
	}
	return s.n, nil, true
}

// sendNow and recvNow are MSG_DONTWAIT calls: they cannot block, so they go
// without the runtime's syscall bookkeeping (RawSyscall). Returning false
// makes RawConn wait in the netpoller and call again.
func (s *sock) sendNow(fd uintptr) bool {
	for {
		_, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(unsafe.SliceData(s.wbuf))), uintptr(len(s.wbuf)), syscall.MSG_DONTWAIT, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e == syscall.EAGAIN {
			return false
		}
		s.werrno = e
		return true
	}
}

func (s *sock) recvNow(fd uintptr) bool {
	for {
		r, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(unsafe.SliceData(s.buf))), uintptr(len(s.buf)), syscall.MSG_DONTWAIT, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e == syscall.EAGAIN {
			return false
		}
		s.n, s.errno = int(r), e
		return true
	}
}

// recvBlocking may block (up to SO_RCVTIMEO), so it goes through Syscall:
// the runtime can hand the thread's P to other goroutines meanwhile.
func (s *sock) recvBlocking(fd uintptr) bool {
	r, _, e := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(unsafe.SliceData(s.buf))), uintptr(len(s.buf)), 0, 0, 0)
	switch e {
	case 0:
		s.n, s.got = int(r), true
	case syscall.EAGAIN, syscall.EINTR:
		// The timeout, or a signal: nothing yet.
	default:
		s.errno, s.got = e, true // an ICMP error, for instance
	}
	return true // never wait in the netpoller here
}

// canWait reports whether recvWait can block on the calling thread.
func (s *sock) canWait() bool { return s.fast }
