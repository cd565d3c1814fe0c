// SPDX-License-Identifier: Apache-2.0

// Package sign computes the two EnOS CoAP signatures: the authentication
// signature sent in POST /auth/{pk}/{dk}, and the per-message option-2101
// signature, AES-128-CBC over "token{T}sequence{S}" (see docs/protocol.md §2-3).
//
// Everything here is pure computation: no I/O, no global state.
package sign

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// MaxSequence is the largest sequence EnOS accepts: a positive signed 32-bit int.
const MaxSequence = 2147483647

// Lifetime bounds of an EnOS session, in seconds.
const (
	MinLifetime = 30
	MaxLifetime = 86400
)

// AuthSignLen is the length of an auth signature: SHA-256 as hex.
const AuthSignLen = 64

// DefaultIV is the IV the project chose for option 2101 (docs/protocol.md §3, Decision: the IV).
var DefaultIV = [16]byte{'5', '4', '3', 'y', 'h', 'j', 'y', '9', '7', 'a', 'e', '7', 'f', 'y', 'f', 'g'}

// ErrSequence is returned for a sequence outside 1..MaxSequence.
var ErrSequence = errors.New("sequence must be in 1..2147483647")

// ErrLifetime is returned for a lifetime outside MinLifetime..MaxLifetime.
var ErrLifetime = errors.New("lifetime must be in 30..86400 seconds")

// CheckLifetime returns ErrLifetime for a session lifetime (seconds) outside
// MinLifetime..MaxLifetime. It is the one place the range is checked: the
// client's configuration and the auth signature (and so enos_auth_sign) call
// it (docs/protocol.md §2).
func CheckLifetime(lifetime int) error {
	if lifetime < MinLifetime || lifetime > MaxLifetime {
		return ErrLifetime
	}
	return nil
}

// AuthSign returns the upper-case hex SHA-256 of
// "deviceKey{dk}lifetime{lifetime}productKey{pk}secureMode2{secret}".
func AuthSign(productKey, deviceKey, deviceSecret string, lifetime int) (string, error) {
	if err := CheckLifetime(lifetime); err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte("deviceKey"))
	h.Write([]byte(deviceKey))
	h.Write([]byte("lifetime"))
	h.Write([]byte(strconv.Itoa(lifetime)))
	h.Write([]byte("productKey"))
	h.Write([]byte(productKey))
	h.Write([]byte("secureMode2"))
	h.Write([]byte(deviceSecret))
	var sum [sha256.Size]byte
	return string(appendUpperHex(nil, h.Sum(sum[:0]))), nil
}

// SignKey returns bytes 9..24 (1-based) of SHA-256(deviceSecret).
func SignKey(deviceSecret string) [16]byte {
	d := sha256.Sum256([]byte(deviceSecret))
	var k [16]byte
	copy(k[:], d[8:24])
	return k
}

// SignLen is the length in hex characters of the option-2101 signature for a
// token of tokenLen bytes and the given sequence (PKCS#7 always adds 1..16 bytes).
func SignLen(tokenLen int, sequence uint32) int {
	n := len("token") + tokenLen + len("sequence") + decimalLen(sequence)
	return (n/aes.BlockSize + 1) * aes.BlockSize * 2
}

// MaxSignLen is SignLen for the longest sequence: a buffer of this size always fits.
func MaxSignLen(tokenLen int) int { return SignLen(tokenLen, MaxSequence) }

func decimalLen(v uint32) int {
	n := 1
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}

// Signer computes option-2101 signatures for one device secret and IV. The key
// schedule is computed once, and AppendSign builds the plaintext in a pooled
// buffer (plaintexts), so signing allocates nothing. A Signer holds no state
// that signing changes: it is safe for concurrent use.
type Signer struct {
	block cipher.Block
	iv    [16]byte
}

// plaintexts holds the buffers AppendSign builds a plaintext in: one per call
// in progress instead of one per Signer, which a process with many devices
// would pay for every idle one.
var plaintexts = sync.Pool{New: func() any { b := make([]byte, 0, 128); return &b }}

// NewSigner prepares a Signer. A nil iv means DefaultIV; otherwise it must be 16 bytes.
func NewSigner(deviceSecret string, iv []byte) (*Signer, error) {
	s := &Signer{iv: DefaultIV}
	if iv != nil {
		if len(iv) != aes.BlockSize {
			return nil, fmt.Errorf("sign IV must be 16 bytes, got %d", len(iv))
		}
		copy(s.iv[:], iv)
	}
	key := SignKey(deviceSecret)
	b, err := aes.NewCipher(key[:])
	if err != nil { // unreachable: the key is always 16 bytes
		return nil, err
	}
	s.block = b
	return s, nil
}

// Sign returns the upper-case hex option-2101 value for token and sequence.
// It allocates once, for the string, when the signature fits signStack bytes
// (tokens up to 104 bytes); a longer token costs one allocation more.
func (s *Signer) Sign(token string, sequence uint32) (string, error) {
	var buf [signStack]byte // stays on the stack: AppendSign does not keep dst
	out, err := s.AppendSign(buf[:0], token, sequence)
	return string(out), err
}

// signStack is the stack buffer of Sign: MaxSignLen of a 104-byte token.
const signStack = 256

// AppendSign appends the upper-case hex signature to dst and returns it.
func (s *Signer) AppendSign(dst []byte, token string, sequence uint32) ([]byte, error) {
	if sequence < 1 || sequence > MaxSequence {
		return dst, ErrSequence
	}
	bp := plaintexts.Get().(*[]byte)
	defer plaintexts.Put(bp)
	p := append((*bp)[:0], "token"...)
	p = append(p, token...)
	p = append(p, "sequence"...)
	p = strconv.AppendUint(p, uint64(sequence), 10)
	pad := aes.BlockSize - len(p)%aes.BlockSize
	for i := 0; i < pad; i++ {
		p = append(p, byte(pad))
	}
	*bp = p // keep the grown buffer for the next call
	// CBC by hand: cipher.NewCBCEncrypter allocates on every call.
	prev := s.iv[:]
	for off := 0; off < len(p); off += aes.BlockSize {
		blk := p[off : off+aes.BlockSize]
		subtle.XORBytes(blk, blk, prev)
		s.block.Encrypt(blk, blk)
		prev = blk
	}
	return appendUpperHex(dst, p), nil
}

// Open decrypts a hex option-2101 value and returns its token and sequence.
// It is what a server does; the simulator uses it to judge clients.
func (s *Signer) Open(signHex string) (token string, sequence uint32, err error) {
	ct, err := hex.DecodeString(signHex)
	if err != nil || len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return "", 0, errors.New("signature is not hex of whole AES blocks")
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(s.block, s.iv[:]).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > aes.BlockSize {
		return "", 0, errors.New("signature has bad padding")
	}
	for _, b := range pt[len(pt)-pad:] {
		if int(b) != pad {
			return "", 0, errors.New("signature has bad padding")
		}
	}
	return ParsePlaintext(string(pt[:len(pt)-pad]))
}

// ParsePlaintext splits "token{T}sequence{S}" at the last "sequence".
func ParsePlaintext(pt string) (token string, sequence uint32, err error) {
	const pre, mid = "token", "sequence"
	if len(pt) < len(pre) || pt[:len(pre)] != pre {
		return "", 0, errors.New("signature plaintext does not start with \"token\"")
	}
	i := strings.LastIndex(pt, mid)
	if i < len(pre) {
		return "", 0, errors.New("signature plaintext has no \"sequence\"")
	}
	digits := pt[i+len(mid):]
	if len(digits) == 0 || len(digits) > 10 || digits[0] == '0' {
		return "", 0, errors.New("signature sequence is not a canonical decimal")
	}
	v, err := strconv.ParseUint(digits, 10, 32)
	if err != nil || v < 1 || v > MaxSequence {
		return "", 0, ErrSequence
	}
	return pt[len(pre):i], uint32(v), nil
}

// appendUpperHex appends the upper-case hex of src to dst. It converts four
// bytes at a time in a uint64 (SWAR): spread the eight nibbles into eight
// bytes, then add '0', plus 7 more for nibbles above 9 ('A' - '9' - 1).
func appendUpperHex(dst, src []byte) []byte {
	const digits = "0123456789ABCDEF"
	n := len(dst)
	dst = slices.Grow(dst, 2*len(src))[:n+2*len(src)]
	out := dst[n:]
	i := 0
	for ; i+4 <= len(src); i += 4 {
		x := uint64(binary.BigEndian.Uint32(src[i:]))
		x = (x | x<<16) & 0x0000FFFF0000FFFF
		x = (x | x<<8) & 0x00FF00FF00FF00FF
		x = (x | x<<4) & 0x0F0F0F0F0F0F0F0F
		x += 0x3030303030303030 + 7*(((x+0x0606060606060606)>>4)&0x0101010101010101)
		binary.BigEndian.PutUint64(out[2*i:], x)
	}
	for ; i < len(src); i++ {
		out[2*i] = digits[src[i]>>4]
		out[2*i+1] = digits[src[i]&0x0f]
	}
	return dst
}
