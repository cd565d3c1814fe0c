// SPDX-License-Identifier: Apache-2.0

package main

import (
	"math"
	"sync"
)

// handleTable maps the integers that C holds as enos_client* to Go values.
// C never holds a Go pointer. Ids start at 1 (0 is NULL) and are never reused,
// so a stale handle is reported as closed instead of reaching another client.
type handleTable[T any] struct {
	mu    sync.Mutex
	last  uint64
	maxID uint64 // largest id that fits in a C pointer
	m     map[uint64]T
}

func newHandleTable[T any]() *handleTable[T] {
	limit := uint64(math.MaxUint64)
	if ^uintptr(0) == math.MaxUint32 {
		limit = math.MaxUint32
	}
	return &handleTable[T]{maxID: limit, m: make(map[uint64]T)}
}

// add stores v under a fresh id; ok is false once ids are exhausted.
func (t *handleTable[T]) add(v T) (id uint64, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last >= t.maxID {
		return 0, false
	}
	t.last++
	t.m[t.last] = v
	return t.last, true
}

func (t *handleTable[T]) get(id uint64) (T, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.m[id]
	return v, ok
}

// remove deletes id and returns its value; only one caller wins for an id.
func (t *handleTable[T]) remove(id uint64) (T, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.m[id]
	if ok {
		delete(t.m, id)
	}
	return v, ok
}

func (t *handleTable[T]) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
