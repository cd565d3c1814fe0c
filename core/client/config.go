// SPDX-License-Identifier: Apache-2.0

package client

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/libenos/libenos/core/sign"
	"github.com/libenos/libenos/core/transport"
)

// Bounds of the transmission parameters. Each is checked alone, and their
// retransmission window (ACK timeout × 1.5 × (2^(MAX_RETRANSMIT+1) − 1), the
// longest one exchange may block) at most MaxWindow.
const (
	MaxWindow        = 2 * time.Hour
	MaxAckTimeout    = 60 * time.Second
	MinAckTimeout    = time.Millisecond
	MaxMaxRetransmit = 10
	maxKeyLen        = 255 // a Uri-Path option holds at most 255 bytes
	maxSecretLen     = 4096
)

// normalize validates cfg and fills in defaults. Error messages name the field
// but never echo the secret.
func (cfg Config) normalize() (Config, error) {
	var err error
	if cfg, err = cfg.normalizeSecurity(); err != nil {
		return cfg, err
	}
	if cfg.Server, err = serverAddr(cfg.Server); err != nil {
		return cfg, inField(FieldServer, err)
	}
	if err := checkSegment("product key", cfg.ProductKey); err != nil {
		return cfg, inField(FieldProductKey, err)
	}
	if err := checkSegment("device key", cfg.DeviceKey); err != nil {
		return cfg, inField(FieldDeviceKey, err)
	}
	if cfg.DeviceSecret == "" && !cfg.activates() {
		return cfg, inField(FieldDeviceSecret, errorf(CodeInvalid, "device secret is empty"))
	}
	if len(cfg.DeviceSecret) > maxSecretLen {
		return cfg, inField(FieldDeviceSecret, errorf(CodeInvalid, "device secret is longer than %d bytes", maxSecretLen))
	}
	switch {
	case cfg.Lifetime == 0:
		cfg.Lifetime = DefaultLifetime
	case sign.CheckLifetime(cfg.Lifetime) != nil:
		return cfg, inField(FieldLifetime, errorf(CodeInvalid, "lifetime %d s is outside 30..86400", cfg.Lifetime))
	}
	switch {
	case cfg.AckTimeout == 0:
		cfg.AckTimeout = DefaultAckTimeout
	case cfg.AckTimeout < MinAckTimeout || cfg.AckTimeout > MaxAckTimeout:
		return cfg, inField(FieldAckTimeout, errorf(CodeInvalid, "ACK timeout %v is outside 1 ms..60 s", cfg.AckTimeout))
	}
	switch {
	case cfg.MaxRetransmit == 0:
		cfg.MaxRetransmit = DefaultMaxRetransmit
	case cfg.MaxRetransmit < 0:
		cfg.MaxRetransmit = 0
	case cfg.MaxRetransmit > MaxMaxRetransmit:
		return cfg, inField(FieldMaxRetransmit, errorf(CodeInvalid, "max retransmit %d is above %d", cfg.MaxRetransmit, MaxMaxRetransmit))
	}
	if w := cfg.params().Window(); w > MaxWindow {
		return cfg, inField(FieldMaxRetransmit, errorf(CodeInvalid,
			"ack timeout %v with max retransmit %d makes a retransmission window of %v (ack timeout × 1.5 × (2^(max retransmit+1) − 1)), above the maximum %v",
			cfg.AckTimeout, cfg.MaxRetransmit, w.Round(time.Second), MaxWindow))
	}
	if cfg.SignMode < SignAuto || cfg.SignMode > SignNever {
		return cfg, inField(FieldSignMode, errorf(CodeInvalid, "sign mode %d is not 0 (auto), 1 (always) or 2 (never)", cfg.SignMode))
	}
	if cfg.SignIV != nil && len(cfg.SignIV) != 16 {
		return cfg, inField(FieldSignIV, errorf(CodeInvalid, "sign IV must be 16 bytes, got %d", len(cfg.SignIV)))
	}
	if cfg.QueueMaxCount, err = orDefault("queue max count", cfg.QueueMaxCount, DefaultQueueMaxCount, 1<<24); err != nil {
		return cfg, inField(FieldQueueMaxCount, err)
	}
	if cfg.QueueMaxBytes, err = orDefault("queue max bytes", cfg.QueueMaxBytes, DefaultQueueMaxBytes, 1<<40); err != nil {
		return cfg, inField(FieldQueueMaxBytes, err)
	}
	if cfg.RetryInterval, err = orDefault("retry interval", cfg.RetryInterval, DefaultRetryInterval, maxRetryInterval); err != nil {
		return cfg, inField(FieldRetryInterval, err)
	}
	if cfg.PollInterval < 0 || (cfg.PollInterval > 0 && cfg.PollInterval < 10*time.Millisecond) {
		return cfg, inField(FieldPollInterval, errorf(CodeInvalid, "poll interval %v is neither 0 (off) nor at least 10 ms", cfg.PollInterval))
	}
	if cfg.BlockSize != 0 && cfg.BlockSize != BlockOff {
		if err := cfg.params().Validate(); err != nil {
			return cfg, &Error{Code: CodeInvalid, Field: FieldBlockSize, Msg: fmt.Sprintf("block size %d", cfg.BlockSize), Err: err}
		}
	}
	if cfg.CommandQueue, err = orDefault("command queue", cfg.CommandQueue, DefaultCommandQueue, 1<<20); err != nil {
		return cfg, inField(FieldCommandQueue, err)
	}
	return cfg, nil
}

// inField names the Config field an error is about (Error.Field).
func inField(field ConfigField, err error) error {
	if e, ok := err.(*Error); ok {
		e.Field = field
	}
	return err
}

func (cfg Config) params() transport.Params {
	return transport.Params{AckTimeout: cfg.AckTimeout, MaxRetransmit: cfg.MaxRetransmit, BlockSize: cfg.BlockSize}
}

// orDefault maps 0 to def and checks 1..max.
func orDefault[T int | int64 | time.Duration](what string, v, def, max T) (T, error) {
	switch {
	case v == 0:
		return def, nil
	case v < 0 || v > max:
		return v, errorf(CodeInvalid, "%s %v is outside 1..%v", what, v, max)
	}
	return v, nil
}

// serverAddr turns "host", "host:port", "[v6]:port" or a bare IPv6 address
// into "host:port".
func serverAddr(s string) (string, error) {
	if s == "" {
		return "", errorf(CodeInvalid, "server is empty")
	}
	if strings.ContainsAny(s, " /?#\t\r\n") {
		return "", errorf(CodeInvalid, "server %q is not a host or host:port", s)
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// No port: a name, an IPv4 address, "[v6]" or a bare IPv6 address.
		host, port = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), DefaultPort
	}
	if host == "" {
		return "", errorf(CodeInvalid, "server %q has no host", s)
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return "", errorf(CodeInvalid, "server %q has an invalid port", s)
	}
	return net.JoinHostPort(host, port), nil
}

// checkSegment accepts what can stand as one URI path segment.
func checkSegment(what, v string) error {
	if v == "" {
		return errorf(CodeInvalid, "%s is empty", what)
	}
	if len(v) > maxKeyLen {
		return errorf(CodeInvalid, "%s is longer than %d bytes", what, maxKeyLen)
	}
	if v == "." || v == ".." {
		return errorf(CodeInvalid, "%s %q cannot be a URI path segment", what, v)
	}
	for i := 0; i < len(v); i++ {
		if b := v[i]; b <= ' ' || b >= 0x7f || b == '/' || b == '?' || b == '#' || b == '%' {
			return errorf(CodeInvalid, "%s %q cannot be a URI path segment (character %q)", what, v, b)
		}
	}
	return nil
}

// topicPath turns an MQTT topic ("/sys/pk/dk/...", with or without the
// "/topic" prefix) into the CoAP URI path "/topic/...".
func topicPath(topic string) (string, error) {
	if topic == "" || topic[0] != '/' {
		return "", errorf(CodeInvalid, "topic %q must start with '/'", topic)
	}
	p := topic
	if !strings.HasPrefix(p, "/topic/") {
		p = "/topic" + p
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if err := checkSegment("topic segment", seg); err != nil {
			return "", errorf(CodeInvalid, "topic %q is not a valid path: %v", topic, err)
		}
	}
	return p, nil
}
