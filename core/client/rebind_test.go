// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/libenos/libenos/core/logging"
)

// TestStaleAnswerIsLoggedAndRecovered: EnOS answering the client's first
// socket from its duplicate cache (our Message ID, another token) must not
// make the report time out: it is sent again from a fresh socket, and the
// host hears about it with a warning.
func TestStaleAnswerIsLoggedAndRecovered(t *testing.T) {
	var mu sync.Mutex
	var warnings []string
	logging.SetHandler(func(l logging.Level, m string) {
		if l == logging.Warn {
			mu.Lock()
			warnings = append(warnings, m)
			mu.Unlock()
		}
	}, logging.Warn)
	defer logging.SetHandler(nil, logging.Off)

	first := "" // the first sender's answers carry another token: an old exchange under that MID
	addr := startFakeEnos(t, func(_ *message.Message, path string, from net.Addr, resp *message.Message) {
		if first == "" {
			first = from.String()
		}
		if strings.HasPrefix(path, "/auth/") {
			resp.Code, resp.Payload = codes.Content, []byte(`{"token":"tok"}`)
		}
		if from.String() == first {
			resp.Token = []byte("old-tokn")
		}
	})
	c := newClient(t, addr)
	if _, err := c.Report(context.Background(), []byte("r")); err != nil {
		t.Fatalf("Report: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(warnings) != 1 || !strings.Contains(warnings[0], "duplicate cache") {
		t.Fatalf("warnings %q; want one about the duplicate cache", warnings)
	}
}
