// SPDX-License-Identifier: Apache-2.0

package queue

import (
	"errors"
	"fmt"
)

// ErrNoRoom means the report would leave the state directory's file system
// with less free space than the queue keeps in reserve (or the file system
// is full): the report is not taken. Queued reports are still delivered, and
// the queue accepts again once there is room.
var ErrNoRoom = errors.New("the state directory's file system is nearly full")

// Reserve bounds (see reserveFor).
const (
	minReserve = 256 << 10
	maxReserve = 64 << 20
)

// reserveFor is the free space Append leaves on a file system of total
// bytes: 1% of it, at least 256 KiB and at most 64 MiB. It keeps room for
// the rest of the system (logs, other programs) and for the queue's own
// compaction; the session and head files never need any (they are rewritten
// in place).
func reserveFor(total int64) int64 {
	return min(max(total/100, minReserve), maxReserve)
}

// checkRoom returns an ErrNoRoom error when writing need more bytes would
// leave less than the reserve free. An unknown free space is not an error:
// the write itself then tells.
func (q *Queue) checkRoom(need int64) error {
	free, total, err := q.dir.Space()
	if err != nil {
		return nil
	}
	if reserve := reserveFor(total); free-need < reserve {
		return fmt.Errorf("%w: %d bytes free in %s, and the offline queue keeps %d free", ErrNoRoom, free, q.dir.Path(), reserve)
	}
	return nil
}

// hasRoom says whether need more bytes fit above the reserve.
func (q *Queue) hasRoom(need int64) bool { return q.checkRoom(need) == nil }
