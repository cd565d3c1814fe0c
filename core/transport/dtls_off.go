// SPDX-License-Identifier: Apache-2.0

//go:build nodtls

package transport

import (
	"context"
	"errors"
)

// DTLSAvailable says whether this build carries DTLS: built with the nodtls
// tag, it does not (a smaller library; see README.md, "Security").
const DTLSAvailable = false

// ErrNoDTLS is what NewDTLS returns in a build without DTLS.
var ErrNoDTLS = errors.New("this libenos was built without DTLS (build tag nodtls)")

// DTLSConn cannot be made in a build without DTLS.
type DTLSConn struct{}

// NewDTLS fails with ErrNoDTLS.
func NewDTLS(string, Params, PSK) (*DTLSConn, error) { return nil, ErrNoDTLS }

func (*DTLSConn) Close() error                                   { return nil }
func (*DTLSConn) Handshake(context.Context) error                { return ErrNoDTLS }
func (*DTLSConn) Do(context.Context, *Request) (Response, error) { return Response{}, ErrNoDTLS }
func (*DTLSConn) SetPSK(PSK)                                     {}
