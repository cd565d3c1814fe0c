// SPDX-License-Identifier: Apache-2.0

// Package logging routes libenos's diagnostics to a handler the host installs.
// It is silent until a handler is set. Callers never pass secrets, SignKeys
// or tokens: messages name devices by product and device key only.
package logging

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Level orders messages; a handler receives its level and everything more severe.
type Level int32

const (
	Off   Level = 0
	Error Level = 1
	Warn  Level = 2
	Info  Level = 3
	Debug Level = 4
)

// Handler receives one formatted message. It may be called from any
// goroutine, concurrently with itself.
type Handler func(level Level, msg string)

// sink is one installed handler. calls counts the calls in progress; once
// retired, it takes no new call, and retire waits (on idle) for the last one.
type sink struct {
	fn    Handler
	level Level

	mu      sync.Mutex
	calls   int
	retired bool
	idle    sync.Cond
}

var (
	setMu   sync.Mutex // serializes SetHandler; never held while a handler runs
	current atomic.Pointer[sink]
)

// SetHandler installs fn for messages at level or more severe; a nil fn or
// level Off silences logging. When it returns, the previous handler is not
// running and is never called again, so whatever it uses may be freed. It
// must not be called from inside a handler (it would wait for itself).
func SetHandler(fn Handler, level Level) {
	var next *sink
	if fn != nil && level > Off {
		next = &sink{fn: fn, level: level}
		next.idle.L = &next.mu
	}
	setMu.Lock()
	defer setMu.Unlock()
	if old := current.Swap(next); old != nil {
		old.retire()
	}
}

// enter registers a call; false once the sink is retired.
func (s *sink) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retired {
		return false
	}
	s.calls++
	return true
}

func (s *sink) exit() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls--
	if s.calls == 0 && s.retired {
		s.idle.Broadcast()
	}
}

// retire refuses new calls and waits until the running ones have returned.
func (s *sink) retire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retired = true
	for s.calls > 0 {
		s.idle.Wait()
	}
}

// Enabled says whether a message at level would be delivered, so callers can
// skip building expensive messages.
func Enabled(level Level) bool {
	s := current.Load()
	return s != nil && level <= s.level
}

func logf(level Level, format string, args []any) {
	s := current.Load()
	if s == nil || level > s.level || !s.enter() {
		return
	}
	defer s.exit()
	s.fn(level, fmt.Sprintf(format, args...))
}

// Logf logs at level.
func Logf(level Level, format string, args ...any) { logf(level, format, args) }
