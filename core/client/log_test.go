// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libenos/libenos/core/logging"
	"github.com/libenos/libenos/core/sign"
	"github.com/libenos/libenos/internal/sim"
)

// TestLogsNeverHoldSecrets runs every path that logs at debug level and
// checks that no line holds the secret, the SignKey, the token or a signature.
func TestLogsNeverHoldSecrets(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	logging.SetHandler(func(_ logging.Level, m string) {
		mu.Lock()
		lines = append(lines, m)
		mu.Unlock()
	}, logging.Debug)
	defer logging.SetHandler(nil, logging.Off)

	s := startSim(t, sim.Config{ExpireAfter: 2, CommandStyle: "get"})
	dir := t.TempDir()
	c := newClient(t, s.Addr(), withState(dir))
	queueCommands(t, s, 1)
	for i := 0; i < 5; i++ {
		if _, err := c.Report(context.Background(), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	sess, _ := c.Session(context.Background())
	sig, _ := c.NextSignature(context.Background(), 500)
	c.Close()
	bad := newClient(t, s.Addr(), func(c *Config) { c.DeviceSecret = "Wrong-Secret-99" })
	bad.Report(context.Background(), nil)
	hole := newClient(t, "127.0.0.1:9", withState(t.TempDir()), func(c *Config) { c.AckTimeout = 10 * time.Millisecond; c.MaxRetransmit = 1 })
	hole.Report(context.Background(), []byte("q"))
	hole.Close()

	key := sign.SignKey(tSecret)
	secrets := []string{tSecret, "Wrong-Secret-99", strings.ToUpper(hex.EncodeToString(key[:])), hex.EncodeToString(key[:]), sess.Token, sig.Value}
	mu.Lock()
	defer mu.Unlock()
	if len(lines) < 10 {
		t.Fatalf("only %d log lines: the debug paths did not run", len(lines))
	}
	for _, l := range lines {
		for _, sec := range secrets {
			if sec != "" && strings.Contains(l, sec) {
				t.Fatalf("log line holds a secret: %q", l)
			}
		}
	}
}
