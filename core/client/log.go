// SPDX-License-Identifier: Apache-2.0

package client

import "github.com/libenos/libenos/core/logging"

// logf logs one line naming the device by its keys. Never pass the secret,
// the SignKey, a signature or the token.
func (c *Client) logf(level logging.Level, format string, args ...any) {
	if !logging.Enabled(level) {
		return
	}
	logging.Logf(level, "libenos %s/%s: "+format, append([]any{c.cfg.ProductKey, c.cfg.DeviceKey}, args...)...)
}
