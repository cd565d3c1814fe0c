package client

import (
	"errors"
	"fmt"
)

// Code classifies every error the client returns. The values are the C ABI's
// ENOS_ERR_* codes (include/enos.h), so the export layer passes them through.
type Code int

const (
	CodeQueued   Code = 1 // not delivered yet, but safe in the offline queue
	CodeOK       Code = 0
	CodeInvalid  Code = -1  // argument empty, malformed or out of range
	CodeBuffer   Code = -2  // output buffer too small; nothing consumed, nothing sent
	CodeNetwork  Code = -3  // server unreachable: resolve, send or ICMP error
	CodeTimeout  Code = -4  // no answer within the retransmission window
	CodeAuth     Code = -5  // EnOS refused authentication
	CodeRejected Code = -6  // EnOS answered 4.xx/5.xx after any re-authentication
	CodeClosed   Code = -7  // client closed
	CodeState    Code = -8  // state directory locked by another client, unreadable or unwritable
	CodeFull     Code = -9  // offline queue full; the report was not accepted
	CodeInternal Code = -99 // a bug in libenos
)

// Error is the error type of this package: a Code and a human-readable detail
// that never contains a secret, a SignKey or a token.
type Error struct {
	Code Code
	Msg  string
	// CoAP is the response code when the server answered (Rejected, Auth), else 0.
	CoAP uint8
	Err  error // the underlying cause, if any
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the Code of err: CodeOK for nil, CodeInternal for foreign errors.
func CodeOf(err error) Code {
	if err == nil {
		return CodeOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}
