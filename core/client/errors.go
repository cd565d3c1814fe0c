// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/libenos/libenos/core/transport"
)

// Code classifies every error the client returns. The values are the C ABI's
// ENOS_ERR_* codes (include/enos.h), so the export layer passes them through.
// A queued report is not an error (see Outcome).
type Code int

const (
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
	CodeBusy     Code = -10 // too many asynchronous requests outstanding; nothing was accepted
	CodeNoFile   Code = -11 // the process is out of file descriptors (EMFILE/ENFILE); nothing was sent
	CodeInternal Code = -99 // a bug in libenos
)

// Error is the error type of this package: a Code and a human-readable detail
// that never contains a secret, a SignKey or a token.
type Error struct {
	Code Code
	Msg  string
	// CoAP is the response code when the server answered (Rejected, Auth), else 0.
	CoAP uint8
	// Field identifies the Config field a CodeInvalid from New is about, or FieldNone.
	Field ConfigField
	Err   error // the underlying cause, if any
	// Hint ends the message with what to check, "; ... (docs/troubleshooting.md)",
	// where the library knows the likely cause (hints.go), else "".
	Hint string
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error() + e.Hint
	}
	return e.Msg + e.Hint
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

func transportError(ctx context.Context, path string, err error) error {
	var ne *transport.NetError
	switch {
	case errors.Is(err, transport.ErrClosed):
		return errClosed
	case errors.Is(err, transport.ErrTimeout):
		return &Error{Code: CodeTimeout, Msg: "no answer to " + path + " within the retransmission window", Hint: timeoutHint}
	case errors.Is(err, transport.ErrTooBig):
		return &Error{Code: CodeInvalid, Msg: "request to " + path + " is too large", Err: err}
	case errors.Is(err, transport.ErrStale):
		return &Error{Code: CodeInternal, Msg: "cannot resend " + path, Err: err}
	case errors.Is(err, transport.ErrBlock2):
		return &Error{Code: CodeRejected, Msg: "EnOS answered " + path + " block-wise (Block2), which libenos does not support", Err: err}
	case errors.Is(err, transport.ErrBlockwise):
		return &Error{Code: CodeRejected, Msg: "EnOS broke the block-wise transfer to " + path, Err: err}
	case errors.Is(err, transport.ErrReset):
		return &Error{Code: CodeRejected, Msg: "EnOS reset the request to " + path}
	case errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE):
		// Not the network: retrying cannot help until descriptors are freed.
		return &Error{Code: CodeNoFile, Msg: "cannot open a socket: the process is out of file descriptors (raise ulimit -n / LimitNOFILE, or use fewer clients)", Err: err}
	case errors.As(err, &ne):
		return &Error{Code: CodeNetwork, Msg: "cannot reach the server", Err: ne.Err, Hint: networkHint}
	case ctx.Err() != nil:
		return ctxError(ctx.Err())
	}
	return &Error{Code: CodeInternal, Msg: "transport", Err: err}
}

func ctxError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: CodeTimeout, Msg: "deadline exceeded", Err: err}
	}
	return &Error{Code: CodeTimeout, Msg: "cancelled", Err: err}
}

// detail renders a short, printable excerpt of a diagnostic payload.
func detail(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	const maxDetail = 120
	b := make([]byte, 0, maxDetail+3)
	for _, ch := range p {
		if len(b) >= maxDetail {
			b = append(b, "..."...)
			break
		}
		if ch < ' ' || ch >= 0x7f {
			ch = '?'
		}
		b = append(b, ch)
	}
	return " (" + string(b) + ")"
}
