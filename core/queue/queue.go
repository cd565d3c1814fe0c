// SPDX-License-Identifier: Apache-2.0

// Package queue is the on-disk store-and-forward queue of one device: reports
// that could not be delivered wait here, in order, until EnOS answers again.
//
// The queue is an append-only log file of checksummed records and a head file
// holding the log's generation and the offset of the oldest undelivered
// record, rewritten in place (see head.go). A log whose dead prefix grew
// large is rewritten as the next generation when the file system has room
// for the copy (else the prefix's blocks are freed in place); the head then
// switches generations, so a crash during the rewrite leaves either the old
// log and head or the new ones. An emptied log is truncated in place. Append
// fsyncs before it returns, so a report that the caller was told is queued
// survives kill -9 and power loss, and refuses a report that would leave the
// file system with less than a reserve of free space (ErrNoRoom, room.go).
// A record torn by a crash during Append fails its checksum and is cut off
// when the queue is opened again; a corrupt record elsewhere costs only
// itself (resync.go).
package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/libenos/libenos/core/state"
)

const (
	headFile = "queue.head"
	magic    = 0xE5
	// recHeader: magic, body length (uint32), CRC-32C of the body (uint32).
	recHeader = 1 + 4 + 4
	// MaxRecord bounds one record so that a corrupt length cannot make us
	// allocate gigabytes.
	MaxRecord = 1 << 20
	// compactAt is the dead prefix size above which the log is rewritten.
	compactAt = 4 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrFull means the queue holds its maximum count or bytes already.
var ErrFull = errors.New("offline queue is full")

// Item is one queued message.
type Item struct {
	Topic   string // CoAP path, e.g. "/topic/sys/pk/dk/thing/model/up_raw"
	Payload []byte
	Kind    Kind // how the answer is judged (record.go)
}

// span is one record's place in the log.
type span struct{ off, size int64 }

// Queue is safe for concurrent use.
type Queue struct {
	dir      *state.Dir
	maxCount int
	maxBytes int64

	mu       sync.Mutex
	headFile *state.Slots // see head.go
	f        *os.File
	gen      uint64 // generation of the log file
	head     int64  // offset of the oldest record
	end      int64  // offset after the newest record
	recs     []span // the records from head to end, oldest first
	// Dropped counts bytes skipped or cut off as corrupt when the queue was
	// opened; Corrupt counts the corrupt stretches they formed.
	Dropped int64
	Corrupt int
	// HeadLost says the head file was unreadable and the log is replayed whole.
	HeadLost bool
}

// Open opens (or creates) the queue in dir and checks every record from the
// head on; a corrupt tail is cut off and counted in Dropped.
// The directory is checked and its files opened as state.OpenDir describes:
// a directory others may write to, or a symbolic link in it, is refused.
func Open(path string, maxCount int, maxBytes int64) (*Queue, error) {
	dir, err := state.OpenDir(path)
	if err != nil {
		return nil, err
	}
	q := &Queue{dir: dir, maxCount: maxCount, maxBytes: maxBytes}
	hf, gen, head, ok, err := openHead(dir)
	if err != nil {
		dir.Close()
		return nil, err
	}
	q.headFile = hf
	if !ok {
		// An unreadable head: replay the newest log from its start. Some
		// records may be delivered twice, none is lost.
		gen, head = newestGeneration(dir), 0
		q.HeadLost = true
	}
	f, err := dir.OpenFile(logName(gen), os.O_RDWR|os.O_CREATE)
	if err != nil {
		hf.Close()
		dir.Close()
		return nil, err
	}
	q.f, q.gen, q.head = f, gen, head
	if err := q.recover(); err != nil {
		f.Close()
		hf.Close()
		dir.Close()
		return nil, err
	}
	if q.Corrupt > 0 || q.head != head || q.headFile.Legacy() {
		// Rewrite without the corrupt stretches, so that the next Open does
		// not skip (and count) them again. Without room for the copy, they
		// stay until delivery moves past them; the head is saved anyway
		// (this also converts a head file of libenos 1.0).
		if !q.hasRoom(q.end-q.head) || q.rewrite() != nil {
			_ = q.writeHead(q.gen, q.head)
		}
	}
	q.removeOtherGenerations()
	return q, nil
}

func logName(gen uint64) string { return fmt.Sprintf("queue.%d.log", gen) }

// logGeneration parses a log's name; ok is false for any other name.
func logGeneration(name string) (gen uint64, ok bool) {
	var rest string
	n, _ := fmt.Sscanf(name, "queue.%d.%s", &gen, &rest)
	return gen, n == 2 && name == logName(gen)
}

func newestGeneration(dir *state.Dir) uint64 {
	names, _ := dir.Names("queue.")
	var newest uint64
	for _, n := range names {
		if g, ok := logGeneration(n); ok && g > newest {
			newest = g
		}
	}
	return newest
}

// removeOtherGenerations deletes logs (and their temporary files) left by a
// crash during a rewrite.
func (q *Queue) removeOtherGenerations() {
	names, _ := q.dir.Names("queue.")
	for _, n := range names {
		if g, ok := logGeneration(n); (ok && g != q.gen) || strings.HasSuffix(n, ".log.tmp") {
			_ = q.dir.Remove(n)
		}
	}
}

// Len returns the number of records and their bytes on disk.
func (q *Queue) Len() (int, int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.recs), q.end - q.head
}

// Append adds it at the end and returns once it is on disk.
func (q *Queue) Append(it Item) error {
	body, err := encodeBody(it)
	if err != nil {
		return err
	}
	if len(body) > MaxRecord {
		return fmt.Errorf("message of %d bytes is larger than a queue record (%d)", len(body), MaxRecord)
	}
	rec := make([]byte, recHeader+len(body))
	rec[0] = magic
	binary.BigEndian.PutUint32(rec[1:5], uint32(len(body)))
	binary.BigEndian.PutUint32(rec[5:9], crc32.Checksum(body, castagnoli))
	copy(rec[recHeader:], body)

	q.mu.Lock()
	defer q.mu.Unlock()
	if q.f == nil {
		return os.ErrClosed
	}
	if len(q.recs) >= q.maxCount || q.end-q.head+int64(len(rec)) > q.maxBytes {
		return ErrFull
	}
	if err := q.checkRoom(int64(len(rec))); err != nil {
		return err
	}
	if _, err := q.f.WriteAt(rec, q.end); err != nil {
		// Cut off whatever part was written, so the log stays well-formed.
		_ = q.f.Truncate(q.end)
		if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
			return fmt.Errorf("%w: %v", ErrNoRoom, err)
		}
		return err
	}
	if err := q.f.Sync(); err != nil {
		_ = q.f.Truncate(q.end)
		return err
	}
	q.recs = append(q.recs, span{off: q.end, size: int64(len(rec))})
	q.end += int64(len(rec))
	return nil
}

// Peek returns the oldest record without removing it.
func (q *Queue) Peek() (Item, bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.f == nil {
		return Item{}, false, os.ErrClosed
	}
	if len(q.recs) == 0 {
		return Item{}, false, nil
	}
	body := make([]byte, q.recs[0].size-recHeader)
	if _, err := q.f.ReadAt(body, q.recs[0].off+recHeader); err != nil {
		return Item{}, false, err
	}
	it, err := decodeBody(body)
	if err != nil {
		return Item{}, false, err
	}
	return it, true, nil
}

// Pop removes the oldest record (after it was delivered) and persists the new head.
func (q *Queue) Pop() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.f == nil {
		return os.ErrClosed
	}
	if len(q.recs) == 0 {
		return nil
	}
	q.recs = q.recs[1:]
	q.head = q.end
	if len(q.recs) > 0 {
		q.head = q.recs[0].off // past any corrupt stretch before it
	}
	if len(q.recs) == 0 {
		return q.empty()
	}
	if q.head >= compactAt {
		// Rewrite without the dead prefix when the copy fits above the
		// reserve; else free the prefix's blocks in place.
		if q.hasRoom(q.end-q.head) && q.rewrite() == nil {
			return nil
		}
		q.punchDeadPrefix()
	}
	return q.writeHead(q.gen, q.head)
}

// empty starts the log over once everything was delivered: truncated in
// place (no new file, so no free space needed), then the head. A crash in
// between leaves a head beyond the end of an empty log, which Open reads as
// an empty queue.
func (q *Queue) empty() error {
	if err := q.f.Truncate(0); err != nil {
		return err
	}
	if err := q.f.Sync(); err != nil {
		return err
	}
	q.end, q.head = 0, 0
	return q.writeHead(q.gen, 0)
}

// rewrite moves the live records into a log of the next generation: new log
// first (durable), then the head naming it, then the old log goes. A crash
// before the head is replaced leaves the old generation in force.
func (q *Queue) rewrite() error {
	var n int64
	for _, r := range q.recs {
		n += r.size
	}
	live := make([]byte, 0, n)
	recs := make([]span, 0, len(q.recs))
	for _, r := range q.recs {
		recs = append(recs, span{off: int64(len(live)), size: r.size})
		live = live[:len(live)+int(r.size)]
		if _, err := q.f.ReadAt(live[len(live)-int(r.size):], r.off); err != nil {
			return err
		}
	}
	next := q.gen + 1
	if err := q.dir.WriteAtomic(logName(next), live); err != nil {
		return err
	}
	if err := q.writeHead(next, 0); err != nil {
		// The head may name either generation now: keep both logs; the
		// next Open keeps the one the head names and removes the other.
		return err
	}
	nf, err := q.dir.OpenFile(logName(next), os.O_RDWR)
	if err != nil {
		return err
	}
	q.f.Close()
	_ = q.dir.Remove(logName(q.gen))
	q.f, q.gen = nf, next
	q.recs, q.end, q.head = recs, n, 0
	return nil
}

// Close closes the log file.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.f == nil {
		return nil
	}
	err := q.f.Close()
	q.f = nil
	q.headFile.Close()
	q.dir.Close()
	return err
}
