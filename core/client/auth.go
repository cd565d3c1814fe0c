// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/libenos/libenos/core/logging"
	"github.com/libenos/libenos/core/transport"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// authenticate runs POST /auth/{pk}/{dk} and starts a new session.
func (c *Client) authenticate(ctx context.Context) error {
	if c.dtls != nil {
		return c.handshakeDTLS(ctx) // the handshake authenticates
	}
	if c.sessGen > 0 { // a session existed
		c.stats.reauths.Add(1)
		c.logf(logging.Info, "re-authenticating")
	}
	c.sess = session{}
	c.stats.auths.Add(1)
	payload, err := c.authPayload()
	if err != nil {
		return err
	}
	tr, err := c.do(ctx, &transport.Request{Code: codes.POST, Path: c.authPath, ContentFormat: contentJSON, Payload: payload})
	if err != nil {
		return err
	}
	resp := &Response{Code: uint8(tr.Code), Payload: tr.Payload}
	switch {
	case resp.Code>>5 == 2:
	case resp.Code>>5 == 4:
		err := &Error{Code: CodeAuth, CoAP: resp.Code, Msg: "EnOS refused authentication with " + CodeString(resp.Code) + detail(resp.Payload), Hint: authHint(resp.Code)}
		c.logf(logging.Warn, "%v", err)
		return err
	default:
		err := &Error{Code: CodeRejected, CoAP: resp.Code, Msg: "EnOS answered " + CodeString(resp.Code) + " to authentication" + detail(resp.Payload), Hint: authHint(resp.Code)}
		c.logf(logging.Warn, "%v", err)
		return err
	}
	token, hasToken, err := parseToken(resp.Payload)
	if err != nil {
		return &Error{Code: CodeAuth, CoAP: resp.Code, Msg: "unreadable authentication response", Err: err}
	}
	c.sess = session{
		valid:    true,
		token:    token,
		signing:  c.cfg.SignMode == SignAlways || (c.cfg.SignMode == SignAuto && hasToken && !c.no2101),
		lastSeen: time.Now(),
	}
	c.sessGen++
	c.signLen.Store(c.sessionSignLen())
	c.reserved = 0
	c.persist.memOnly, c.persist.memOnlyNext = c.persist.memOnlyNext, false
	if c.store != nil && !c.persist.memOnly {
		if err := c.saveState(0); err != nil {
			// See persistState: this token must not sign; one more
			// authentication, for a session kept in memory only.
			c.logf(logging.Warn, "%v; authenticating again, the new session is kept in memory only", err)
			c.sess = session{}
			c.persist.memOnlyNext = true
			return c.authenticate(ctx)
		}
	}
	c.logf(logging.Info, "authenticated (token: %v, signing: %v, lifetime %d s)", hasToken, c.sess.signing, c.cfg.Lifetime)
	c.takeCommands(ctx, nil, &tr) // EnOS may announce commands in any response
	return nil
}

// parseToken reads {"token":"..."} or {"data":{"token":"..."}}; an empty
// payload means no token (later EnOS documentation).
func parseToken(payload []byte) (token string, ok bool, err error) {
	if len(payload) == 0 {
		return "", false, nil
	}
	var v struct {
		Token *string `json:"token"`
		Data  *struct {
			Token *string `json:"token"`
		} `json:"data"`
	}
	if err := json.Unmarshal(payload, &v); err != nil {
		return "", false, errors.New("payload is not a JSON object with a string token")
	}
	switch {
	case v.Token != nil && *v.Token != "":
		return *v.Token, true, nil
	case v.Data != nil && v.Data.Token != nil && *v.Data.Token != "":
		return *v.Data.Token, true, nil
	}
	return "", false, nil
}
