// SPDX-License-Identifier: Apache-2.0

package client

import (
	"errors"
	"testing"
	"time"
)

// Every invalid field is reported by its identifier, which front ends map to
// their own names (the C ABI's enos_config members).
func TestNewReportsTheInvalidField(t *testing.T) {
	good := func() Config {
		return Config{Server: "127.0.0.1:5683", ProductKey: "pk", DeviceKey: "dk", DeviceSecret: "s"}
	}
	for _, c := range []struct {
		field ConfigField
		bad   func(*Config)
	}{
		{FieldServer, func(c *Config) { c.Server = "" }},
		{FieldProductKey, func(c *Config) { c.ProductKey = "a/b" }},
		{FieldDeviceKey, func(c *Config) { c.DeviceKey = "" }},
		{FieldDeviceSecret, func(c *Config) { c.DeviceSecret = "" }},
		{FieldLifetime, func(c *Config) { c.Lifetime = 29 }},
		{FieldLifetime, func(c *Config) { c.Lifetime = 86401 }},
		{FieldAckTimeout, func(c *Config) { c.AckTimeout = -time.Second }},
		{FieldMaxRetransmit, func(c *Config) { c.MaxRetransmit = MaxMaxRetransmit + 1 }},
		{FieldSignMode, func(c *Config) { c.SignMode = 7 }},
		{FieldSignIV, func(c *Config) { c.SignIV = []byte{1} }},
		{FieldQueueMaxCount, func(c *Config) { c.QueueMaxCount = -1 }},
		{FieldQueueMaxBytes, func(c *Config) { c.QueueMaxBytes = -1 }},
		{FieldRetryInterval, func(c *Config) { c.RetryInterval = -1 }},
		{FieldPollInterval, func(c *Config) { c.PollInterval = time.Millisecond }},
		{FieldCommandQueue, func(c *Config) { c.CommandQueue = -1 }},
		{FieldBlockSize, func(c *Config) { c.BlockSize = 100 }},
	} {
		cfg := good()
		c.bad(&cfg)
		_, err := cfg.normalize()
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeInvalid || e.Field != c.field {
			t.Errorf("field %d: err = %#v, want CodeInvalid about field %d", c.field, err, c.field)
		}
	}
	if _, err := good().normalize(); err != nil {
		t.Fatalf("the good config is refused: %v", err)
	}
	if n := len(ConfigFields()); n != int(numConfigFields)-1 || ConfigFields()[0] != FieldServer {
		t.Fatalf("ConfigFields() has %d fields", n)
	}
}
