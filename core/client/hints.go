// SPDX-License-Identifier: Apache-2.0

package client

import (
	"strings"

	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// Hints end an error detail with what to check, where the library knows the
// likely cause, and point at docs/troubleshooting.md, which has one section
// per error code and CoAP code. They are constant text: never a secret, a
// SignKey, a signature or a token. Field names are given as enos_config spells
// them; docs/troubleshooting.md gives the CLI flag and Python argument of each.

// troubleshooting ends every hint.
const troubleshooting = " (docs/troubleshooting.md)"

func hint(text string) string { return "; " + text + troubleshooting }

// rejectionHint explains why EnOS refused a request to path. signed says
// whether the refused request carried option 2101; freshAuth whether the
// session was authenticated for this request (so the token cannot have
// expired).
func (c *Client) rejectionHint(coap uint8, path string, signed, freshAuth bool) string {
	if coap>>5 == 4 && !strings.Contains(path+"/", "/"+c.cfg.ProductKey+"/"+c.cfg.DeviceKey+"/") {
		return hint("the topic names another device than product_key/device_key: check the topic")
	}
	return rejectionHint(coap, signed, freshAuth)
}

func rejectionHint(coap uint8, signed, freshAuth bool) string {
	switch c := codes.Code(coap); {
	case c == codes.Unauthorized && freshAuth && signed:
		return hint("EnOS refused the signature of a fresh session: check sign_iv or run `enos probe`")
	case c == codes.Unauthorized && freshAuth:
		return hint("EnOS refused an unsigned request of a fresh session: use sign_mode auto or always, or run `enos probe`")
	case c == codes.Unauthorized: // not sent by requestLocked, which authenticates again first
		return hint("EnOS ended the session: authenticate again")
	case c == codes.BadOption && signed:
		return hint("EnOS does not know option 2101: use sign_mode auto or never, or run `enos probe`")
	case c == codes.BadOption:
		return hint("EnOS refused a critical option: for payloads larger than one block, set block_size -1 (off) or send smaller payloads")
	case c == codes.BadRequest:
		return hint("EnOS found the request malformed: check the topic and the payload")
	case c == codes.Forbidden:
		return hint("EnOS forbids it: check that the device is enabled in EnOS and may use this topic")
	case c == codes.NotFound:
		return hint("no such topic at EnOS: check the topic, product_key and device_key")
	case c == codes.MethodNotAllowed:
		return hint("EnOS does not allow this method on this topic")
	case c == codes.RequestEntityTooLarge:
		return hint("the payload is too large for EnOS: send smaller payloads")
	case coap>>5 == 5:
		return hint("EnOS failed to handle it: try again later (with a state_dir, reports are queued and retried)")
	}
	return hint("see the CoAP code")
}

// authHint explains why EnOS refused an authentication.
func authHint(coap uint8) string {
	switch c := codes.Code(coap); {
	case c == codes.Unauthorized || c == codes.Forbidden:
		return hint("check product_key, device_key and device_secret, and that the device exists and is enabled in EnOS; `enos auth` shows EnOS's answer")
	case c == codes.BadRequest:
		return hint("EnOS found the authentication request malformed: check lifetime_s and the keys")
	case c == codes.NotFound:
		return hint("this server has no /auth: is it EnOS's CoAP endpoint, coap-<enos-host>:5683?")
	case coap>>5 == 5:
		return hint("EnOS failed to handle it: try again later")
	}
	return hint("see the CoAP code")
}

// Hints of errors without a CoAP answer.
var (
	timeoutHint = hint("check the server address and port (5683), and that firewalls and NAT let UDP through both ways; `enos probe` tries the connection")
	networkHint = hint("check the server name and port, DNS and the route to it")
	lockedHint  = hint("one state_dir serves one client at a time")
	stateHint   = hint("check that the state_dir can be created and written by this process")
	fullHint    = hint("raise queue_max_count or queue_max_bytes, or wait until EnOS is reachable and the queue drains")
)
