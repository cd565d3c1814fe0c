// SPDX-License-Identifier: Apache-2.0

package queue

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// A queue written by libenos 1.0 (testdata/v1.0: three reports appended by
// the 1.0 code, the first one popped) still reads back, as KindRaw items.
func TestReadsQueueOf10(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"queue.0.log", "queue.head"} {
		b, err := os.ReadFile(filepath.Join("testdata", "v1.0", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	q, err := Open(dir, 100, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if q.Dropped != 0 || q.HeadLost {
		t.Fatalf("Dropped %d HeadLost %v", q.Dropped, q.HeadLost)
	}
	for _, want := range [][]byte{[]byte("second"), {0, 1, 2}} {
		it, ok, err := q.Peek()
		if err != nil || !ok {
			t.Fatalf("Peek: %v %v", ok, err)
		}
		if it.Topic != "/topic/sys/pk/dk/thing/model/up_raw" || !bytes.Equal(it.Payload, want) || it.Kind != KindRaw {
			t.Fatalf("got %+v, want payload %q", it, want)
		}
		if err := q.Pop(); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := q.Len(); n != 0 {
		t.Fatalf("%d left", n)
	}
}

// Kinds survive a reopen, interleaved, in order.
func TestKindRoundTrip(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, 100, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	items := []Item{
		{Topic: "/topic/a", Payload: []byte("raw"), Kind: KindRaw},
		{Topic: "/topic/sys/pk/dk/thing/measurepoint/post", Payload: []byte(`{"id":"1"}`), Kind: KindThing},
		{Topic: "/topic/b", Payload: nil, Kind: KindThing},
	}
	for _, it := range items {
		if err := q.Append(it); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()
	if q, err = Open(dir, 100, 1<<20); err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for _, want := range items {
		it, ok, err := q.Peek()
		if err != nil || !ok || it.Topic != want.Topic || it.Kind != want.Kind || !bytes.Equal(it.Payload, want.Payload) {
			t.Fatalf("got %+v %v %v, want %+v", it, ok, err, want)
		}
		if err := q.Pop(); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Append(Item{Topic: "/t", Kind: 7}); err == nil {
		t.Error("unknown kind accepted")
	}
	if err := q.Append(Item{Topic: "/" + string(make([]byte, maxTopicLen))}); err == nil {
		t.Error("topic longer than the length field accepted")
	}
}
