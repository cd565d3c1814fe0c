// SPDX-License-Identifier: Apache-2.0

package client

import (
	"strings"

	"github.com/libenos/libenos/core/sign"
	"github.com/libenos/libenos/core/transport"
)

// Size limits are checked before a request is queued, authenticated or
// sequenced: a payload that can never be delivered is CodeInvalid at once,
// and nothing of it is read (a C caller's length is only compared, never
// used to copy, until it passed).

// CoAP message overhead around the options (RFC 7252 §3): the 4-byte header,
// the 8-byte token libenos always sends, and the payload marker.
const (
	coapHeader    = 4
	coapToken     = 8
	payloadMarker = 1
	// blockOptions is the most Block1 (27) and Size1 (60) add to a message:
	// each at most 1 header byte, 1 extended delta byte and 3 value bytes.
	blockOptions = 2 * (1 + 1 + 3)
	minBlock     = 16 // the smallest RFC 7959 block
	uriPathID    = 11
)

// optionLen is the encoded size of one CoAP option with the given delta to
// the previous option number and value length.
func optionLen(delta, n int) int {
	ext := func(v int) int {
		switch {
		case v < 13:
			return 0
		case v < 269:
			return 1
		}
		return 2
	}
	return 1 + ext(delta) + ext(n) + n
}

// datagramRoom is how many payload bytes fit one datagram (MaxDatagram) next
// to the header, token, Uri-Path options of path and a signature of signLen
// bytes (0: none); negative when even an empty payload does not fit.
func datagramRoom(path string, signLen int) int {
	used := coapHeader + coapToken + payloadMarker
	delta := uriPathID
	for len(path) > 0 { // each non-empty segment is one Uri-Path option
		seg := path
		if i := strings.IndexByte(path, '/'); i >= 0 {
			seg, path = path[:i], path[i+1:]
		} else {
			path = ""
		}
		if seg != "" {
			used += optionLen(delta, len(seg))
			delta = 0
		}
	}
	if signLen > 0 {
		used += optionLen(int(transport.OptionSign)-uriPathID, signLen)
	}
	return transport.MaxDatagram - used
}

// sessionSignLen is the longest signature of the current session (0 when it
// does not sign, or before the first authentication, when the token is not
// known yet). Called with fifoLock held; the result goes to c.signLen.
func (c *Client) sessionSignLen() int64 {
	if !c.sess.valid || !c.sess.signing {
		return 0
	}
	return int64(sign.MaxSignLen(len(c.sess.token)))
}

// checkSize refuses a payload that can never be delivered to path: above
// MaxPayload, or, with block-wise transfer off, above what fits one datagram.
// signLen is the signature of the current session (0 when not known), so a
// payload that fits without a signature but not with this session's is
// refused too. The message names the limit.
func (c *Client) checkSize(path string, n int, signLen int) error {
	if n > MaxPayload {
		return errorf(CodeInvalid, "payload of %d bytes is above the maximum of %d bytes", n, MaxPayload)
	}
	room := datagramRoom(path, signLen)
	sig := ""
	if signLen > 0 {
		sig = " and this session's signature"
	}
	if c.cfg.BlockSize == BlockOff {
		if n > room {
			return errorf(CodeInvalid, "payload of %d bytes does not fit one datagram with block-wise transfer off: at most %d bytes next to the path%s", n, max(room, 0), sig)
		}
		return nil
	}
	if n > room && room-blockOptions < minBlock {
		return errorf(CodeInvalid, "the path%s leave no room for a payload block in a %d-byte datagram", sig, transport.MaxDatagram)
	}
	return nil
}

// checkRequestSize is checkSize with the current session's signature.
func (c *Client) checkRequestSize(path string, n int) error {
	return c.checkSize(path, n, int(c.signLen.Load()))
}
