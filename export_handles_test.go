// SPDX-License-Identifier: Apache-2.0

package main

import (
	"sync"
	"testing"
)

func TestHandleTableNeverZeroNeverReused(t *testing.T) {
	tab := newHandleTable[string]()
	a, ok := tab.add("a")
	if !ok || a == 0 {
		t.Fatalf("add: id %d ok %v", a, ok)
	}
	if _, ok := tab.remove(a); !ok {
		t.Fatal("remove of a live id failed")
	}
	if _, ok := tab.remove(a); ok {
		t.Fatal("second remove succeeded")
	}
	if _, ok := tab.get(a); ok {
		t.Fatal("get after remove succeeded")
	}
	b, _ := tab.add("b")
	if b == a || b == 0 {
		t.Fatalf("id reused or zero: a=%d b=%d", a, b)
	}
	if _, ok := tab.get(0); ok {
		t.Fatal("get(0) succeeded")
	}
}

func TestHandleTableExhausted(t *testing.T) {
	tab := newHandleTable[int]()
	tab.maxID = 2
	for i := 0; i < 2; i++ {
		if _, ok := tab.add(i); !ok {
			t.Fatalf("add %d failed", i)
		}
	}
	if id, ok := tab.add(3); ok {
		t.Fatalf("add past max gave id %d", id)
	}
}

func TestHandleTableConcurrentRemoveHasOneWinner(t *testing.T) {
	tab := newHandleTable[int]()
	const n = 64
	ids := make([]uint64, n)
	for i := range ids {
		ids[i], _ = tab.add(i)
	}
	var mu sync.Mutex
	wins := map[uint64]int{}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, id := range ids {
				if _, ok := tab.remove(id); ok {
					mu.Lock()
					wins[id]++
					mu.Unlock()
				}
				tab.get(id)
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if wins[id] != 1 {
			t.Fatalf("id %d removed %d times", id, wins[id])
		}
	}
	if tab.len() != 0 {
		t.Fatalf("table not empty: %d", tab.len())
	}
}
