// SPDX-License-Identifier: Apache-2.0

// Package client is the libenos device client: it authenticates with EnOS,
// keeps the session token and the message sequence, signs every request with
// option 2101 and delivers CON requests with RFC 7252 retransmission.
//
// A Client is safe for concurrent use. Its requests go out one at a time, in
// call order (RFC 7252 NSTART = 1, and EnOS rejects a sequence that is not
// larger than the previous one).
package client

import (
	"context"
	"time"

	"github.com/libenos/libenos/core/transport"
)

// SignMode says when requests carry option 2101 (docs/protocol.md §3).
type SignMode int

const (
	SignAuto   SignMode = 0 // sign when the auth response carried a token; stop after two consistent 4.02s (see confirmNo2101)
	SignAlways SignMode = 1
	SignNever  SignMode = 2
)

// Defaults applied by New to zero fields of Config.
const (
	DefaultPort          = "5683"
	DefaultLifetime      = 3600 // seconds
	DefaultAckTimeout    = 2 * time.Second
	DefaultMaxRetransmit = 4
)

// Config describes one device. Zero values take the documented defaults.
type Config struct {
	Server        string        // "host" or "host:port" (default port 5683)
	ProductKey    string        // a URI path segment: no '/', '?', '#', spaces or control characters
	DeviceKey     string        // same rules as ProductKey
	DeviceSecret  string        // never logged
	Lifetime      int           // seconds, 30..86400; 0 means 3600
	AckTimeout    time.Duration // RFC 7252 ACK_TIMEOUT; 0 means 2 s
	MaxRetransmit int           // RFC 7252 MAX_RETRANSMIT, 1..10; 0 means 4; RetransmitNone (any negative) means none
	SignMode      SignMode
	SignIV        []byte // 16 bytes; nil means sign.DefaultIV
	StateDir      string // "" means nothing persisted; else session and offline queue live here

	QueueMaxCount int           // offline queue bound in reports; 0 means 10000
	QueueMaxBytes int64         // offline queue bound in bytes on disk; 0 means 16 MiB
	RetryInterval time.Duration // first wait before the queue retries; doubles up to 30 s; 0 means 1 s
	PollInterval  time.Duration // poll for commands when idle this long; 0 means never
	CommandQueue  int           // commands waiting for the host; 0 means 256
	// BlockSize is the RFC 7959 Block1 size for payloads that do not fit one
	// block: 0 means 1024, BlockOff turns block-wise transfer off (larger
	// payloads are then refused), else a power of two 16..1024. Payloads
	// above MaxPayload are always refused.
	BlockSize int

	// Security is SecurityNone (CoAP over UDP, POST /auth and option 2101)
	// or SecurityDTLS (CoAP over DTLS 1.2 with a pre-shared key, default
	// port 5684; see dtls.go).
	Security Security
	// ProductSecret (DTLS only, never logged): with DeviceSecret empty, the
	// device activates itself once with its product's secret (secureMode 3)
	// and keeps the device secret EnOS returns in StateDir (required).
	ProductSecret string
}

// Values of Config fields that turn a mechanism off. In every numeric field
// of Config, 0 means the default: "none" and "off" have names of their own
// (C: ENOS_RETRANSMIT_NONE, ENOS_BLOCK_OFF).
const (
	RetransmitNone = -1 // Config.MaxRetransmit: send each request once
	BlockOff       = -1 // Config.BlockSize: no block-wise transfer
)

// MaxPayload is the largest payload a request may carry (block-wise).
const MaxPayload = transport.MaxPayload

// Response is what EnOS answered to a request.
type Response struct {
	Code    uint8  // CoAP code, class<<5 | detail: 2.04 is 68
	Payload []byte // owned by the caller
}

// CodeString renders a CoAP code as "c.dd", e.g. "2.04".
func CodeString(code uint8) string {
	const digits = "0123456789"
	c, d := code>>5, code&0x1f
	return string([]byte{digits[c], '.', digits[d/10], digits[d%10]})
}

// Signature is one option-2101 value and the sequence it consumed.
type Signature struct {
	Value    string
	Sequence uint32
}

// SessionInfo describes the current session. Token is a credential: show it
// only where the user asked for it, never in a log.
type SessionInfo struct {
	Authenticated bool
	Token         string
	Signing       bool   // requests carry option 2101
	Sequence      uint32 // last sequence used (0: none yet)
}

// OnDedicatedThread marks ctx for callers that have an OS thread of their own,
// as every call from C has: waiting for an answer then starts with a short
// blocking wait on that thread instead of a hand-off between threads
// (see transport.OnDedicatedThread).
func OnDedicatedThread(ctx context.Context) context.Context {
	return transport.OnDedicatedThread(ctx)
}
