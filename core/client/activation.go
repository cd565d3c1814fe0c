// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/libenos/libenos/core/logging"
	"github.com/libenos/libenos/core/state"
	"github.com/libenos/libenos/core/transport"
)

// Dynamic activation (secureMode 3): a device that knows only its product's
// secret handshakes with it, asks EnOS for its own device secret with
// GET /topic/ext/session/{pk}/{dk}/thing/activate/info, keeps that secret in
// the state directory and from then on connects with secureMode 2. A later
// run with the same state directory finds the secret and never activates
// again (EnOS may refuse a second activation, and the secret would be lost).

// activateOnce makes the device secret known: from the state directory when
// an earlier run activated, else by activating now. Called with fifoLock held.
func (c *Client) activateOnce(ctx context.Context) error {
	secret, ok, err := state.LoadSecret(c.cfg.StateDir, c.cfg.ProductKey, c.cfg.DeviceKey)
	if err != nil {
		c.stats.stateErrors.Add(1)
		return &Error{Code: CodeState, Msg: "cannot read the device secret kept by an earlier activation (not activating again)", Err: err}
	}
	if !ok {
		if secret, err = c.activate(ctx); err != nil {
			return err
		}
	}
	c.dtls.SetPSK(pskFor(c.cfg, secureModeDevice, secret))
	c.activated = true
	return nil
}

// activatePath is the topic that hands an activating device its secret.
func (c *Client) activatePath() string {
	return "/topic/ext/session/" + c.cfg.ProductKey + "/" + c.cfg.DeviceKey + "/thing/activate/info"
}

// activate runs the activation over a secureMode 3 session and saves the
// device secret before anything else uses it.
func (c *Client) activate(ctx context.Context) (string, error) {
	c.logf(logging.Info, "activating the device with its product secret (secureMode 3)")
	c.dtls.SetPSK(pskFor(c.cfg, secureModeProduct, c.cfg.ProductSecret))
	c.stats.auths.Add(1)
	if err := c.dtls.Handshake(ctx); err != nil {
		c.stats.failed.Add(1)
		return "", dtlsError(ctx, "the DTLS handshake for activation", err)
	}
	path := c.activatePath()
	tr, err := c.doDTLS(ctx, &transport.Request{Code: codes.GET, Path: path, ContentFormat: -1})
	if err != nil {
		return "", err
	}
	if tr.Code>>5 != 2 {
		c.stats.failed.Add(1)
		return "", &Error{Code: CodeAuth, CoAP: uint8(tr.Code), Msg: "EnOS refused the activation with " + CodeString(uint8(tr.Code)) + detail(tr.Payload)}
	}
	secret, err := ParseActivation(tr.Payload, c.cfg.ProductKey, c.cfg.DeviceKey)
	if err != nil {
		return "", &Error{Code: CodeAuth, CoAP: uint8(tr.Code), Msg: "unreadable activation reply", Err: err}
	}
	if err := state.SaveSecret(c.cfg.StateDir, c.cfg.ProductKey, c.cfg.DeviceKey, secret); err != nil {
		c.stats.stateErrors.Add(1)
		return "", &Error{Code: CodeState, Msg: "activated, but cannot save the device secret", Err: err}
	}
	c.logf(logging.Info, "activated; the device secret is kept in the state directory")
	return secret, nil
}

// ParseActivation reads the activation reply
// {"id","version","method":"thing.activate.info","params":{"assetId",
// "productKey","deviceKey","deviceSecret"}} and returns the device secret.
// A reply for another device, without a secret or with an absurd one is an
// error; errors never quote the secret.
func ParseActivation(payload []byte, productKey, deviceKey string) (string, error) {
	var v struct {
		Method *string `json:"method"`
		Params *struct {
			ProductKey   *string `json:"productKey"`
			DeviceKey    *string `json:"deviceKey"`
			DeviceSecret *string `json:"deviceSecret"`
		} `json:"params"`
	}
	if err := json.Unmarshal(payload, &v); err != nil {
		return "", errors.New("not a JSON object")
	}
	if v.Method != nil && *v.Method != "thing.activate.info" {
		return "", fmt.Errorf("method is %q, not thing.activate.info", truncate(*v.Method))
	}
	p := v.Params
	if p == nil {
		return "", errors.New("no params")
	}
	if p.ProductKey != nil && *p.ProductKey != productKey {
		return "", errors.New("params.productKey is another product's")
	}
	if p.DeviceKey != nil && *p.DeviceKey != deviceKey {
		return "", errors.New("params.deviceKey is another device's")
	}
	if p.DeviceSecret == nil || *p.DeviceSecret == "" {
		return "", errors.New("no params.deviceSecret")
	}
	s := *p.DeviceSecret
	if len(s) > maxSecretLen {
		return "", fmt.Errorf("params.deviceSecret is longer than %d bytes", maxSecretLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return "", errors.New("params.deviceSecret holds control characters")
		}
	}
	return s, nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
