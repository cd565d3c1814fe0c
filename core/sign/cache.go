// SPDX-License-Identifier: Apache-2.0

package sign

import (
	"strings"
	"sync"
)

// SignerCache keeps recently used Signers keyed by device secret and IV, for
// stateless callers (the C function enos_sign) that sign for the same device
// again and again: a hit skips SHA-256 of the secret and the AES key
// expansion. It holds copies of the secrets it has seen (and their keys) in
// memory, like any Signer does. The zero value is ready to use and it is safe
// for concurrent use: it is a sync.Pool, per-P and lock-free, so concurrent
// callers do not contend; the GC may empty it, which costs one recomputation.
type SignerCache struct {
	pool sync.Pool // of *cachedSigner
}

type cachedSigner struct {
	secret string
	iv     [16]byte
	s      *Signer
}

// AppendSign appends the option-2101 signature of token and sequence, made
// with deviceSecret and iv, to dst, as Signer.AppendSign does. deviceSecret
// and token are only read during the call (they may view memory the caller
// reuses afterwards): the cache keeps its own copy of the secret.
func (c *SignerCache) AppendSign(dst []byte, deviceSecret string, iv [16]byte, token string, sequence uint32) ([]byte, error) {
	if sequence < 1 || sequence > MaxSequence {
		return dst, ErrSequence
	}
	e, _ := c.pool.Get().(*cachedSigner)
	if e == nil || e.iv != iv || e.secret != deviceSecret {
		s, err := NewSigner(deviceSecret, iv[:])
		if err != nil { // unreachable: iv is 16 bytes
			return dst, err
		}
		e = &cachedSigner{secret: strings.Clone(deviceSecret), iv: iv, s: s}
	}
	out, err := e.s.AppendSign(dst, token, sequence)
	c.pool.Put(e)
	return out, err
}
