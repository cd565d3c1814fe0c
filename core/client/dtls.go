// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/libenos/libenos/core/logging"
	"github.com/libenos/libenos/core/sign"
	"github.com/libenos/libenos/core/transport"
)

// Security selects how a Client talks to EnOS.
type Security int

const (
	// SecurityNone is CoAP over UDP: POST /auth, then option 2101 on every
	// request. Payloads travel in clear (see README.md, "Security").
	SecurityNone Security = 0
	// SecurityDTLS is CoAP over DTLS 1.2 with a pre-shared key derived from
	// the device secret (secureMode 2) or, once, from the product secret
	// (secureMode 3, dynamic activation). No /auth, no token, no option 2101.
	SecurityDTLS Security = 1
)

// DefaultDTLSPort is EnOS's CoAP-over-DTLS port.
const DefaultDTLSPort = "5684"

// DTLSAvailable says whether this build of libenos carries DTLS.
const DTLSAvailable = transport.DTLSAvailable

// Secure modes of the PSK identity.
const (
	secureModeDevice  = 2 // key from the device secret
	secureModeProduct = 3 // key from the product secret: dynamic activation
)

// normalizeSecurity checks Security and ProductSecret, and gives a DTLS
// server without a port the DTLS port.
func (cfg Config) normalizeSecurity() (Config, error) {
	switch cfg.Security {
	case SecurityNone:
		if cfg.ProductSecret != "" {
			return cfg, inField(FieldProductSecret, errorf(CodeInvalid, "product secret is for DTLS only (activation, secureMode 3)"))
		}
		return cfg, nil
	case SecurityDTLS:
	default:
		return cfg, inField(FieldSecurity, errorf(CodeInvalid, "security %d is not 0 (none) or 1 (DTLS)", cfg.Security))
	}
	if !DTLSAvailable {
		return cfg, inField(FieldSecurity, errorf(CodeInvalid, "this libenos was built without DTLS"))
	}
	if len(cfg.ProductSecret) > maxSecretLen {
		return cfg, inField(FieldProductSecret, errorf(CodeInvalid, "product secret is longer than %d bytes", maxSecretLen))
	}
	if cfg.activates() && cfg.StateDir == "" {
		return cfg, inField(FieldStateDir, errorf(CodeInvalid, "activation with the product secret needs a state directory to keep the device secret"))
	}
	if cfg.DeviceSecret == "" && cfg.ProductSecret == "" {
		return cfg, inField(FieldDeviceSecret, errorf(CodeInvalid, "device secret is empty (and no product secret to activate with)"))
	}
	if cfg.Server != "" {
		if _, _, err := net.SplitHostPort(cfg.Server); err != nil && !strings.ContainsAny(cfg.Server, " /?#\t\r\n") {
			host := strings.TrimSuffix(strings.TrimPrefix(cfg.Server, "["), "]")
			if host != "" {
				cfg.Server = net.JoinHostPort(host, DefaultDTLSPort)
			}
		}
	}
	return cfg, nil
}

// activates says whether the device has to activate itself (secureMode 3):
// DTLS, a product secret and no device secret.
func (cfg Config) activates() bool {
	return cfg.Security == SecurityDTLS && cfg.DeviceSecret == "" && cfg.ProductSecret != ""
}

// pskIdentity is EnOS's PSK identity: "{pk},{dk},{secureMode},{lifetime}".
func pskIdentity(cfg Config, secureMode int) string {
	return cfg.ProductKey + "," + cfg.DeviceKey + "," + strconv.Itoa(secureMode) + "," + strconv.Itoa(cfg.Lifetime)
}

// pskFor is the PSK of a secret: the 16 bytes of its SHA-256 that are also
// the SignKey (digest bytes 9..24), raw.
func pskFor(cfg Config, secureMode int, secret string) transport.PSK {
	k := sign.SignKey(secret)
	return transport.PSK{Identity: pskIdentity(cfg, secureMode), Key: k[:]}
}

func newDTLSConn(cfg Config) (*transport.DTLSConn, error) {
	psk := pskFor(cfg, secureModeDevice, cfg.DeviceSecret)
	if cfg.activates() {
		// Until handshakeDTLS has read the state directory (and maybe
		// activated), the only key there is the product's.
		psk = pskFor(cfg, secureModeProduct, cfg.ProductSecret)
	}
	d, err := transport.NewDTLS(cfg.Server, cfg.params(), psk)
	if err != nil {
		return nil, &Error{Code: CodeInvalid, Msg: "DTLS", Err: err}
	}
	return d, nil
}

// handshakeDTLS is authenticate over DTLS: a new handshake, after an
// activation if the device has no secret yet. Called with fifoLock held.
func (c *Client) handshakeDTLS(ctx context.Context) error {
	if c.sessGen > 0 {
		c.stats.reauths.Add(1)
		c.logf(logging.Info, "new DTLS handshake")
	}
	c.sess = session{}
	if c.cfg.activates() && !c.activated {
		if err := c.activateOnce(ctx); err != nil {
			return err
		}
	}
	c.stats.auths.Add(1)
	if err := c.dtls.Handshake(ctx); err != nil {
		c.stats.failed.Add(1)
		err = dtlsError(ctx, "the DTLS handshake", err)
		c.logf(logging.Warn, "%v", err)
		return err
	}
	c.sess = session{valid: true, lastSeen: time.Now()}
	c.sessGen++
	c.logf(logging.Info, "DTLS session established (secureMode %d, lifetime %d s)", secureModeDevice, c.cfg.Lifetime)
	return nil
}

// doDTLS is do over DTLS.
func (c *Client) doDTLS(ctx context.Context, req *transport.Request) (transport.Response, error) {
	r, err := c.dtls.Do(ctx, req)
	if err != nil {
		c.stats.failed.Add(1)
		return r, dtlsError(ctx, req.Path, err)
	}
	return r, nil
}

func dtlsError(ctx context.Context, what string, err error) error {
	if errors.Is(err, transport.ErrHandshake) {
		return &Error{Code: CodeAuth, Msg: "the server refused the DTLS handshake: wrong key or identity, or the device is unknown or disabled"}
	}
	if errors.Is(err, transport.ErrTimeout) && strings.HasPrefix(what, "the ") {
		return &Error{Code: CodeTimeout, Msg: "no answer to " + what + " within the retransmission window"}
	}
	return transportError(ctx, what, err)
}
