// SPDX-License-Identifier: Apache-2.0

package queue

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func item(i int) Item {
	return Item{Topic: "/topic/sys/p/d/thing/model/up_raw", Payload: []byte(fmt.Sprintf("payload-%d", i))}
}

func drain(t *testing.T, q *Queue) []string {
	t.Helper()
	var out []string
	for {
		it, ok, err := q.Peek()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out
		}
		out = append(out, string(it.Payload))
		if err := q.Pop(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOrderAndPersistence(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, 100, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := q.Append(item(i)); err != nil {
			t.Fatal(err)
		}
	}
	// Deliver three, then "crash" (close without anything else) and reopen.
	for i := 0; i < 3; i++ {
		if err := q.Pop(); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()
	q, err = Open(dir, 100, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if n, _ := q.Len(); n != 7 {
		t.Fatalf("%d records after reopen, want 7", n)
	}
	got := drain(t, q)
	if len(got) != 7 || got[0] != "payload-3" || got[6] != "payload-9" {
		t.Fatalf("got %v", got)
	}
	it, ok, _ := q.Peek()
	if ok {
		t.Fatalf("empty queue returned %v", it)
	}
	// Emptying the queue leaves one empty log.
	logs, _ := filepath.Glob(filepath.Join(dir, "queue.*.log"))
	if len(logs) != 1 {
		t.Fatalf("logs %v", logs)
	}
	if st, _ := os.Stat(logs[0]); st.Size() != 0 {
		t.Fatalf("empty queue's log has %d bytes", st.Size())
	}
}

func TestBounds(t *testing.T) {
	q, err := Open(t.TempDir(), 3, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for i := 0; i < 3; i++ {
		if err := q.Append(item(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Append(item(3)); err != ErrFull {
		t.Fatalf("4th append: %v", err)
	}
	q2, _ := Open(t.TempDir(), 100, 100)
	defer q2.Close()
	if err := q2.Append(Item{Topic: "/t", Payload: make([]byte, 50)}); err != nil {
		t.Fatal(err)
	}
	if err := q2.Append(Item{Topic: "/t", Payload: make([]byte, 50)}); err != ErrFull {
		t.Fatalf("over the byte bound: %v", err)
	}
	if got := drain(t, q); len(got) != 3 {
		t.Fatalf("got %v", got)
	}
}

func TestTornTailIsCutOff(t *testing.T) {
	dir := t.TempDir()
	q, _ := Open(dir, 100, 1<<20)
	for i := 0; i < 3; i++ {
		q.Append(item(i))
	}
	q.Close()
	logs, _ := filepath.Glob(filepath.Join(dir, "queue.*.log"))
	f, _ := os.OpenFile(logs[0], os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{magic, 0, 0, 0, 50, 1, 2}) // a record cut short by a crash
	f.Close()
	q, err := Open(dir, 100, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if q.Dropped != 7 {
		t.Errorf("Dropped = %d, want 7", q.Dropped)
	}
	q.Append(item(3))
	if got := drain(t, q); len(got) != 4 || got[3] != "payload-3" {
		t.Fatalf("got %v", got)
	}
}

func TestCorruptHeadReplaysInsteadOfLosing(t *testing.T) {
	dir := t.TempDir()
	q, _ := Open(dir, 100, 1<<20)
	for i := 0; i < 4; i++ {
		q.Append(item(i))
	}
	q.Pop()
	q.Close()
	os.WriteFile(filepath.Join(dir, headFile), []byte("garbage"), 0o600)
	q, err := Open(dir, 100, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if !q.HeadLost {
		t.Error("HeadLost not reported")
	}
	if got := drain(t, q); len(got) != 4 {
		t.Fatalf("got %v: records lost", got)
	}
}

func TestCompaction(t *testing.T) {
	dir := t.TempDir()
	q, _ := Open(dir, 1<<20, 1<<30)
	payload := make([]byte, 64<<10)
	n := compactAt/len(payload) + 8
	for i := 0; i < n; i++ {
		p := append([]byte(nil), payload...)
		p[0] = byte(i)
		if err := q.Append(Item{Topic: "/t", Payload: p}); err != nil {
			t.Fatal(err)
		}
	}
	// Pop most of it: the log is rewritten when the dead prefix passes compactAt.
	for i := 0; i < n-3; i++ {
		q.Pop()
	}
	if q.gen == 0 || q.head >= compactAt {
		t.Fatalf("no rewrite: generation %d head %d", q.gen, q.head)
	}
	recSize := int64(recHeader + 2 + len("/t") + len(payload))
	if c, b := q.Len(); c != 3 || b != 3*recSize {
		t.Fatalf("Len after rewrite = %d, %d; want 3, %d", c, b, 3*recSize)
	}
	q.Close()
	q, _ = Open(dir, 1<<20, 1<<30)
	defer q.Close()
	if c, b := q.Len(); c != 3 || b != 3*recSize {
		t.Fatalf("Len after reopen = %d, %d; want 3, %d", c, b, 3*recSize)
	}
	got := drain(t, q)
	if len(got) != 3 || got[0][0] != byte(n-3) || len(got[2]) != len(payload) {
		t.Fatalf("got %d records", len(got))
	}
}

func TestLeftoverGenerationIsRemoved(t *testing.T) {
	dir := t.TempDir()
	q, _ := Open(dir, 100, 1<<20)
	q.Append(item(0))
	q.Close()
	// A crash during a rewrite left the next generation's log behind.
	os.WriteFile(filepath.Join(dir, "queue.1.log"), []byte("partial"), 0o600)
	q, err := Open(dir, 100, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	logs, _ := filepath.Glob(filepath.Join(dir, "queue.*.log"))
	if len(logs) != 1 || logs[0] != filepath.Join(dir, logName(q.gen)) {
		t.Fatalf("logs after reopen %v, want only %s", logs, filepath.Join(dir, logName(q.gen)))
	}
	if got := drain(t, q); len(got) != 1 || got[0] != "payload-0" {
		t.Fatalf("got %v", got)
	}
}
