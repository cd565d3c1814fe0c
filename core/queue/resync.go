// SPDX-License-Identifier: Apache-2.0

package queue

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
)

// recover checks every record from the head on. A record that fails its
// check (magic, length, CRC) is skipped by resynchronising on the next valid
// record, so one corrupt byte costs the record it hits, not every later one;
// the skipped bytes are counted in Dropped and each stretch in Corrupt. With
// no valid record after it, the rest is a record torn by a crash during
// Append (never reported as queued): it is cut off and counted in Dropped.
func (q *Queue) recover() error {
	st, err := q.f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if q.head < 0 || q.head > size {
		q.Dropped += size
		q.head = size // an unreadable head: nothing is known to be undelivered
	}
	budget := resyncBudget(size)
	off := q.head
	for off < size {
		n, err := q.checkRecord(off, size)
		if err == nil {
			q.recs = append(q.recs, span{off: off, size: n})
			off += n
			continue
		}
		next, ok := q.resync(off+1, size, &budget)
		if !ok {
			break
		}
		q.Dropped += next - off
		q.Corrupt++
		off = next
	}
	if len(q.recs) > 0 {
		q.head = q.recs[0].off
	} else {
		q.head = off
	}
	if off < size {
		q.Dropped += size - off
		if err := q.f.Truncate(off); err != nil {
			return err
		}
	}
	q.end = off
	return nil
}

// resyncBudget bounds the bytes resync may checksum while opening a log of
// size bytes, so that no file content, however hostile, makes Open take more
// than a few passes over the log: every candidate header costs a read and a
// CRC of its body.
func resyncBudget(size int64) int64 { return 8*size + 4*MaxRecord }

// resync returns the offset of the first valid record at or after from.
// ok is false when there is none, or the budget ran out looking.
func (q *Queue) resync(from, size int64, budget *int64) (int64, bool) {
	var buf [64 << 10]byte
	for pos := from; pos+recHeader <= size; {
		n, err := q.f.ReadAt(buf[:], pos)
		if n == 0 {
			return 0, false
		}
		if err != nil && err != io.EOF {
			return 0, false
		}
		for i := 0; i < n; i++ {
			if buf[i] != magic {
				continue
			}
			cand := pos + int64(i)
			if cand+recHeader > size {
				return 0, false
			}
			rn, err := q.checkRecordBudget(cand, size, budget)
			if err == nil && rn > 0 {
				return cand, true
			}
			if *budget <= 0 {
				return 0, false
			}
		}
		pos += int64(n)
	}
	return 0, false
}

var errBadRecord = errors.New("bad record")

func (q *Queue) checkRecord(off, size int64) (int64, error) {
	unlimited := int64(1 << 62)
	return q.checkRecordBudget(off, size, &unlimited)
}

// checkRecordBudget checks the record at off and returns its size. A
// candidate whose header is plausible costs its body length from budget.
func (q *Queue) checkRecordBudget(off, size int64, budget *int64) (int64, error) {
	var h [recHeader]byte
	if off+recHeader > size {
		return 0, io.ErrUnexpectedEOF
	}
	if _, err := q.f.ReadAt(h[:], off); err != nil {
		return 0, err
	}
	n := int64(binary.BigEndian.Uint32(h[1:5]))
	if h[0] != magic || n < 2 || n > MaxRecord || off+recHeader+n > size {
		return 0, errBadRecord
	}
	if *budget < n {
		*budget = 0
		return 0, errBadRecord
	}
	*budget -= n
	body := make([]byte, n)
	if _, err := q.f.ReadAt(body, off+recHeader); err != nil {
		return 0, err
	}
	if tl := int64(binary.BigEndian.Uint16(body) &^ thingFlag); 2+tl > n { // the high bit is the item kind (record.go)
		return 0, errBadRecord // a topic longer than the record
	}
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(h[5:9]) {
		return 0, errBadRecord
	}
	return recHeader + n, nil
}
