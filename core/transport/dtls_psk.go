// SPDX-License-Identifier: Apache-2.0

package transport

import "errors"

// PSK is a DTLS pre-shared key and the identity that names it.
type PSK struct {
	Identity string
	Key      []byte
}

// ErrHandshake: the server refused the DTLS handshake (an alert), or answered
// it but never completed it, which is what a server does when it cannot
// verify our Finished message because our key differs from its own. A build
// without DTLS never returns it.
var ErrHandshake = errors.New("DTLS handshake refused (wrong key or identity)")
