// SPDX-License-Identifier: Apache-2.0

package queue

import "golang.org/x/sys/unix"

// punchDeadPrefix frees the blocks of the delivered records before the head
// (the file keeps its size and offsets). Best effort: a file system without
// hole punching keeps them until the next rewrite.
func (q *Queue) punchDeadPrefix() {
	if n := q.head &^ 4095; n > 0 {
		_ = unix.Fallocate(int(q.f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, n)
	}
}
