// SPDX-License-Identifier: Apache-2.0

package queue

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libenos/libenos/internal/testutil"
)

// Append stops while the reserve is still free, and a file system filled by
// someone else does not stop delivery: every Pop persists its head without
// needing a free block, so a reopen resumes after the last delivered record.
func TestFullFileSystem(t *testing.T) {
	fs := testutil.Tmpfs(t, 1<<20)
	dir := filepath.Join(fs, "q")
	q, err := Open(dir, 1<<20, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	big := Item{Topic: "/t", Payload: make([]byte, 4000)}
	n := 0
	for ; n < 1000; n++ {
		if err = q.Append(big); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrNoRoom) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("after %d appends: %v, want ErrNoRoom naming the directory", n, err)
	}
	if free := testutil.FreeBytes(t, fs); free < minReserve-8192 {
		t.Errorf("only %d bytes left free", free)
	}
	// Someone else takes the rest.
	filler := testutil.FillFS(t, fs)
	if err := q.Append(item(0)); !errors.Is(err, ErrNoRoom) {
		t.Fatalf("append on a full file system: %v", err)
	}
	for i := 0; i < n/2; i++ {
		if err := q.Pop(); err != nil {
			t.Fatalf("pop %d on a full file system: %v", i, err)
		}
	}
	q.Close()
	q, err = Open(dir, 1<<20, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := q.Len(); c != n-n/2 {
		t.Fatalf("%d records after reopen, want %d", c, n-n/2)
	}
	for i := n / 2; i < n; i++ {
		if err := q.Pop(); err != nil {
			t.Fatalf("pop %d on a full file system: %v", i, err)
		}
	}
	q.Close()
	q, _ = Open(dir, 1<<20, 1<<30)
	defer q.Close()
	if c, _ := q.Len(); c != 0 {
		t.Fatalf("%d records after draining", c)
	}
	// With room again, it accepts again.
	os.Remove(filler)
	if err := q.Append(item(1)); err != nil {
		t.Fatal(err)
	}
}

// A head file of libenos 1.0 is read, and converted at Open so that later
// deliveries write it in place.
func TestLegacyHeadFileIsConverted(t *testing.T) {
	dir := t.TempDir()
	q, _ := Open(dir, 100, 1<<20)
	for i := 0; i < 3; i++ {
		q.Append(item(i))
	}
	q.Close()
	var b [20]byte
	binary.BigEndian.PutUint64(b[:8], 0)
	binary.BigEndian.PutUint64(b[8:16], uint64(len(encode(item(0))))) // one delivered
	binary.BigEndian.PutUint32(b[16:], crc32.Checksum(b[:16], castagnoli))
	os.WriteFile(filepath.Join(dir, headFile), b[:], 0o600)
	q, err := Open(dir, 100, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if q.HeadLost || q.headFile.Legacy() {
		t.Fatalf("HeadLost %v, still legacy %v", q.HeadLost, q.headFile.Legacy())
	}
	if got := drain(t, q); len(got) != 2 || got[0] != "payload-1" {
		t.Fatalf("got %v", got)
	}
}
