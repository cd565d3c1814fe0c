// SPDX-License-Identifier: Apache-2.0

package queue

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpenLog opens a log of arbitrary content: Open must never panic, hang
// or fail on content alone; every record it keeps must be readable; and what
// it keeps must be stable (a second Open finds nothing more to drop).
func FuzzOpenLog(f *testing.F) {
	dir := f.TempDir()
	q, _ := Open(dir, 100, 1<<20)
	for i := 0; i < 4; i++ {
		q.Append(item(i))
	}
	q.Close()
	good, _ := os.ReadFile(filepath.Join(dir, logName(0)))
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add(append([]byte{magic, 0, 0, 0, 5, 1, 2, 3, 4}, good...))
	f.Add([]byte{magic, magic, magic, magic, magic, magic, magic, magic, magic, magic})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := fuzzDir(t)
		if err := os.WriteFile(filepath.Join(dir, logName(0)), data, 0o600); err != nil {
			t.Fatal(err)
		}
		q, err := Open(dir, 1<<20, 1<<30)
		if err != nil {
			t.Fatalf("Open failed on content: %v", err)
		}
		n, b := q.Len()
		if q.Dropped < 0 || q.Dropped > int64(len(data)) || b+q.Dropped != int64(len(data)) && n > 0 {
			t.Fatalf("Dropped %d, %d records of %d bytes from %d bytes", q.Dropped, n, b, len(data))
		}
		q.Close()
		q, err = Open(dir, 1<<20, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		if q.Dropped != 0 || q.Corrupt != 0 {
			t.Fatalf("second Open dropped %d more bytes", q.Dropped)
		}
		if n2, _ := q.Len(); n2 != n {
			t.Fatalf("second Open kept %d records, first %d", n2, n)
		}
		for i := 0; i < n; i++ {
			if _, ok, err := q.Peek(); !ok || err != nil {
				t.Fatalf("record %d of %d unreadable: %v", i, n, err)
			}
			if err := q.Pop(); err != nil {
				t.Fatal(err)
			}
		}
		if _, ok, _ := q.Peek(); ok {
			t.Fatal("records beyond Len")
		}
	})
}

// FuzzResync damages one byte of a log of valid records and appends garbage:
// every record but the damaged one must come back, in order, intact.
func FuzzResync(f *testing.F) {
	f.Add(uint8(10), uint16(150), byte(0x5a), []byte{})
	f.Add(uint8(3), uint16(0), byte(0xff), []byte{magic, 0, 0})
	f.Add(uint8(50), uint16(1000), byte(1), []byte("garbage after the last record"))
	f.Fuzz(func(t *testing.T, count uint8, pos uint16, xor byte, tail []byte) {
		n := int(count%64) + 1
		dir := fuzzDir(t)
		var offs []int64
		var b []byte
		for i := 0; i < n; i++ {
			offs = append(offs, int64(len(b)))
			b = append(b, encode(Item{Topic: "/topic/x", Payload: []byte(fmt.Sprintf("record %d", i))})...)
		}
		path := filepath.Join(dir, logName(0))
		at := int64(pos) % int64(len(b))
		b[at] ^= xor
		b = append(b, tail...)
		os.WriteFile(path, b, 0o600)
		damaged := -1
		if xor != 0 {
			for i := n - 1; i >= 0; i-- {
				if offs[i] <= at {
					damaged = i
					break
				}
			}
		}
		q, err := Open(dir, 1000, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		var got []string
		for {
			it, ok, err := q.Peek()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			got = append(got, string(it.Payload))
			q.Pop()
		}
		want := 0
		for i := 0; i < n; i++ {
			if i == damaged {
				continue
			}
			if want >= len(got) || got[want] != fmt.Sprintf("record %d", i) {
				t.Fatalf("byte %d ^ %#x (record %d) + %d bytes of tail: got %q", at, xor, damaged, len(tail), got)
			}
			want++
		}
		// A tail may hold records of its own (the fuzzer can forge them): they
		// come after the real ones.
	})
}

// encode is one record as Append writes it.
func encode(it Item) []byte {
	body := binary.BigEndian.AppendUint16(nil, uint16(len(it.Topic)))
	body = append(append(body, it.Topic...), it.Payload...)
	rec := []byte{magic}
	rec = binary.BigEndian.AppendUint32(rec, uint32(len(body)))
	rec = binary.BigEndian.AppendUint32(rec, crc32.Checksum(body, castagnoli))
	return append(rec, body...)
}

// fuzzDir is a fresh directory, in memory when /dev/shm is there: Open
// fsyncs, which on a disk slows fuzzing a hundredfold.
func fuzzDir(t *testing.T) string {
	dir, err := os.MkdirTemp("/dev/shm", "libenos-fuzz-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
