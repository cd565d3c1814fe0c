// SPDX-License-Identifier: Apache-2.0

package queue

import (
	"os"
	"path/filepath"
	"testing"
)

// writeRecords fills a fresh queue with n records and returns the log's path
// and each record's offset.
func writeRecords(t *testing.T, dir string, n int) (string, []int64) {
	t.Helper()
	q, err := Open(dir, 1000, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for i := 0; i < n; i++ {
		offs = append(offs, q.end)
		if err := q.Append(item(i)); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()
	return filepath.Join(dir, logName(0)), offs
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x5a
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// One corrupt byte costs its own record, never the records after it: every
// header byte of record 2 and several of its body are tried.
func TestOneCorruptByteLosesOneRecord(t *testing.T) {
	_, offs := writeRecords(t, t.TempDir(), 100)
	// Every header byte, and the body's first, second, middle and last.
	var positions []int64
	for i := int64(0); i < recHeader+2; i++ {
		positions = append(positions, offs[2]+i)
	}
	positions = append(positions, (offs[2]+offs[3])/2, offs[3]-1)
	for _, pos := range positions {
		dir := t.TempDir()
		path, _ := writeRecords(t, dir, 100)
		flipByte(t, path, pos)
		q, err := Open(dir, 1000, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if q.Dropped != offs[3]-offs[2] || q.Corrupt != 1 {
			t.Errorf("byte %d: Dropped %d Corrupt %d, want %d and 1", pos-offs[2], q.Dropped, q.Corrupt, offs[3]-offs[2])
		}
		got := drain(t, q)
		q.Close()
		if len(got) != 99 {
			t.Fatalf("byte %d of record 2 flipped: %d of 100 records kept, want 99", pos-offs[2], len(got))
		}
		for i, p := range got {
			want := i
			if i >= 2 {
				want = i + 1
			}
			if p != string(item(want).Payload) {
				t.Fatalf("byte %d: record %d is %q, want %q", pos-offs[2], i, p, item(want).Payload)
			}
		}
	}
}

// After a resynchronisation the skipped bytes stay skipped: the head file
// points past them, a reopen loses nothing more, and new records follow.
func TestResyncSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	path, offs := writeRecords(t, dir, 10)
	flipByte(t, path, offs[4]+recHeader+3)
	q, err := Open(dir, 1000, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ { // deliver 0..3 and 5: past the hole
		if err := q.Pop(); err != nil {
			t.Fatal(err)
		}
	}
	q.Append(item(10))
	q.Close()
	q, err = Open(dir, 1000, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	got := drain(t, q)
	if len(got) != 5 || got[0] != "payload-6" || got[4] != "payload-10" {
		t.Fatalf("after reopen got %v", got)
	}
}
