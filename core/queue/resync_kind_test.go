// SPDX-License-Identifier: Apache-2.0

package queue

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Raw and thing-model records interleaved: one corrupt byte anywhere in one
// record (of either kind) costs that record only; every other record comes
// back after the reopen with its own kind, in order. The kind bit in the
// topic-length field is never taken for corruption.
func TestResyncKeepsKindsAroundACorruptRecord(t *testing.T) {
	const n = 12
	mixed := func(i int) Item {
		if i%2 == 1 {
			return Item{Topic: "/topic/sys/p/d/thing/measurepoint/post", Payload: []byte(fmt.Sprintf(`{"id":"%d"}`, i)), Kind: KindThing}
		}
		return Item{Topic: "/topic/sys/p/d/thing/model/up_raw", Payload: []byte(fmt.Sprintf("raw-%d", i))}
	}
	write := func(dir string) []int64 {
		q, err := Open(dir, 1000, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		var offs []int64
		for i := range n {
			offs = append(offs, q.end)
			if err := q.Append(mixed(i)); err != nil {
				t.Fatal(err)
			}
		}
		offs = append(offs, q.end)
		q.Close()
		return offs
	}
	offs := write(t.TempDir())
	for _, victim := range []int{3, 4} { // a thing record, a raw record
		for pos := offs[victim]; pos < offs[victim+1]; pos++ {
			dir := t.TempDir()
			write(dir)
			path := filepath.Join(dir, logName(0))
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b[pos] ^= 0x80 // also flips the kind bit itself when it hits it
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			q, err := Open(dir, 1000, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			var got []Item
			for {
				it, ok, err := q.Peek()
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					break
				}
				it.Payload = append([]byte(nil), it.Payload...)
				got = append(got, it)
				if err := q.Pop(); err != nil {
					t.Fatal(err)
				}
			}
			q.Close()
			if len(got) != n-1 {
				t.Fatalf("record %d byte %d flipped: %d records kept, want %d", victim, pos-offs[victim], len(got), n-1)
			}
			for i, it := range got {
				w := i
				if i >= victim {
					w++
				}
				want := mixed(w)
				if it.Topic != want.Topic || it.Kind != want.Kind || string(it.Payload) != string(want.Payload) {
					t.Fatalf("record %d byte %d flipped: record %d is %+v, want %+v", victim, pos-offs[victim], i, it, want)
				}
			}
		}
	}
}
