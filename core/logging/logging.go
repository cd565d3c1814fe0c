// Package logging routes libenos's diagnostics to a handler the host installs.
// It is silent until a handler is set. Callers never pass secrets, SignKeys
// or tokens: messages name devices by product and device key only.
package logging

import (
	"fmt"
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

// Handler receives one formatted message. It may be called from any goroutine.
type Handler func(level Level, msg string)

type sink struct {
	fn    Handler
	level Level
}

var current atomic.Pointer[sink]

// SetHandler installs fn for messages at level or more severe; a nil fn or
// level Off silences logging.
func SetHandler(fn Handler, level Level) {
	if fn == nil || level <= Off {
		current.Store(nil)
		return
	}
	current.Store(&sink{fn: fn, level: level})
}

// Enabled says whether a message at level would be delivered, so callers can
// skip building expensive messages.
func Enabled(level Level) bool {
	s := current.Load()
	return s != nil && level <= s.level
}

func logf(level Level, format string, args []any) {
	s := current.Load()
	if s == nil || level > s.level {
		return
	}
	s.fn(level, fmt.Sprintf(format, args...))
}

// Logf logs at level.
func Logf(level Level, format string, args ...any) { logf(level, format, args) }
