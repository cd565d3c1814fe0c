// SPDX-License-Identifier: Apache-2.0

package queue

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/libenos/libenos/core/state"
)

// The head file holds the log's generation and the offset of the oldest
// undelivered record. It is rewritten in place (state.Slots): advancing the
// queue needs no free space, so a full file system cannot stop delivery.
const headSlot = 512

// openHead opens (creating it with its room reserved) the head file and
// reads it; ok is false when it is unreadable.
func openHead(dir *state.Dir) (slots *state.Slots, gen uint64, off int64, ok bool, err error) {
	slots, legacy, err := dir.OpenSlots(headFile, headSlot)
	if err != nil {
		return nil, 0, 0, false, err
	}
	if legacy != nil {
		// libenos 1.0: gen, offset, CRC-32C of both; the next write replaces it.
		if len(legacy) != 20 || crc32.Checksum(legacy[:16], castagnoli) != binary.BigEndian.Uint32(legacy[16:]) {
			return slots, 0, 0, false, nil
		}
		return slots, binary.BigEndian.Uint64(legacy[:8]), int64(binary.BigEndian.Uint64(legacy[8:16])), true, nil
	}
	b, found, err := slots.Read()
	switch {
	case err != nil || (found && len(b) != 16):
		return slots, 0, 0, false, nil
	case !found:
		return slots, 0, 0, true, nil // a new queue
	}
	return slots, binary.BigEndian.Uint64(b[:8]), int64(binary.BigEndian.Uint64(b[8:16])), true, nil
}

func (q *Queue) writeHead(gen uint64, off int64) error {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], gen)
	binary.BigEndian.PutUint64(b[8:16], uint64(off))
	return q.headFile.Write(b[:])
}
