// SPDX-License-Identifier: Apache-2.0

package transport

import (
	"runtime"
	"time"
)

// Yielding keeps sysmon off a P that C keeps busy (see yieldIfDue).
const (
	yieldEvery = 8 * time.Millisecond  // under forcePreemptNS (10 ms), with room for one exchange
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

// pollRead waits for a datagram on the calling thread (sock.recvWait) when
// until is at least spinWait away; a shorter wait would need a shorter
// receive timeout, so it, like a wait that timed out, goes to the netpoller
// (ok false), which keeps deadlines exact.
func (c *Conn) pollRead(s *sock, until time.Time) (n int, err error, ok bool) {
	if !s.canWait() || time.Until(until) < spinWait {
		return 0, nil, false
	}
	c.yieldIfDue()
	n, err, ok = s.recvWait(c.sc.recvBuf)
	c.pollEnd = time.Since(epoch)
	return n, err, ok
}
