package transport

import (
	"net"
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// Yielding keeps sysmon off a P that C keeps busy (see yieldIfDue).
const (
	yieldEvery = 5 * time.Millisecond  // under forcePreemptNS (10 ms), with room for one exchange
	streakGap  = 10 * time.Millisecond // a longer pause between waits ends a streak
)

var epoch = time.Now()

// yieldIfDue runs runtime.Gosched once per yieldEvery of a streak of waits on c
// (waits less than streakGap apart), as sequential calls from one C thread make.
//
// A goroutine running a cgo callback never passes through the scheduler, so
// while one C thread keeps calling in, its P's schedtick never moves. After
// 10 ms (forcePreemptNS) sysmon takes that for one goroutine running too long
// and, since the wait below is a system call, takes the P away during nearly
// every wait: it hands the P to another M (a futex wake-up and a switch),
// sysmon stops backing off (20 µs sleeps) and parks when every P is idle, and
// the caller's exitsyscall takes sched.lock and wakes it again. That was ~0.8
// extra context switches per report (BENCHMARKS.md §2). Gosched runs the
// goroutine through execute(), which advances schedtick, so sysmon sees a
// fresh P and leaves the waits alone, for a few thread switches once per
// yieldEvery. Sparse callers (a gateway reporting each device every few
// seconds) never yield.
func (c *Conn) yieldIfDue() {
	now := time.Since(epoch)
	if now-c.pollEnd > streakGap {
		c.streak = now
	} else if now-c.streak >= yieldEvery {
		c.streak = now
		runtime.Gosched()
	}
}

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
	c.yieldIfDue()
	defer func() { c.pollEnd = time.Since(epoch) }()
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
