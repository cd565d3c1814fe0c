// SPDX-License-Identifier: Apache-2.0

package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"

	"github.com/libenos/libenos/internal/sim"
)

// TestOversizedReportsAreRefusedBeforeAnything: with EnOS unreachable, a
// report that can never be delivered (above MaxPayload; with block-wise off,
// above one datagram) used to be queued (codeQueued) and later dropped as
// "refused" although EnOS never saw it. It is CodeInvalid at once, before
// anything is sent, authenticated, sequenced or queued.
func TestOversizedReportsAreRefusedBeforeAnything(t *testing.T) {
	s := startSim(t, sim.Config{})
	g := startGate(t, s.Addr())
	g.setOpen(false) // EnOS silent
	short := func(c *Config) { c.AckTimeout = 10 * time.Millisecond; c.MaxRetransmit = 1 }
	for _, tc := range []struct {
		name  string
		size  int
		block int
	}{
		{"65537 bytes", MaxPayload + 1, 0},
		{"100 KB", 100_000, 0},
		{"2 MB", 2 << 20, 0},
		{"2000 bytes with block-wise off", 2000, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, g.Addr(), withState(t.TempDir()), short, func(c *Config) { c.BlockSize = tc.block })
			err := reportQ(c, context.Background(), make([]byte, tc.size))
			wantCode(t, err, CodeInvalid)
			if !strings.Contains(err.Error(), "at most") && !strings.Contains(err.Error(), "maximum") {
				t.Errorf("error %q does not name the limit", err)
			}
			_, err = c.Publish(context.Background(), "/sys/"+tPK+"/"+tDK+"/thing/event/post", make([]byte, tc.size))
			wantCode(t, err, CodeInvalid)
			if st := c.Stats(); st.Auths != 0 || st.QueuedTotal != 0 || st.Queued != 0 {
				t.Errorf("stats %+v: authenticated or queued a report that can never be delivered", st)
			}
			// Also behind a queued report (the queue's fast path).
			wantCode(t, reportQ(c, context.Background(), []byte("small")), codeQueued)
			wantCode(t, reportQ(c, context.Background(), make([]byte, tc.size)), CodeInvalid)
			if st := c.Stats(); st.QueuedTotal != 1 {
				t.Errorf("stats %+v: the oversized report went into the queue", st)
			}
		})
	}
}

// TestOversizedReportConsumesNoSequence: online, an oversized report must not
// authenticate or consume a sequence first.
func TestOversizedReportConsumesNoSequence(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr())
	ctx := context.Background()
	wantCode(t, reportQ(c, ctx, make([]byte, MaxPayload+1)), CodeInvalid)
	if n := s.AuthCount(tPK, tDK); n != 0 {
		t.Fatalf("%d authentications for a report that can never be sent", n)
	}
	if err := reportQ(c, ctx, []byte("a")); err != nil {
		t.Fatal(err)
	}
	wantCode(t, reportQ(c, ctx, make([]byte, MaxPayload+1)), CodeInvalid)
	if err := reportQ(c, ctx, []byte("b")); err != nil {
		t.Fatal(err)
	}
	if si, _ := c.Session(ctx); si.Sequence != 2 {
		t.Errorf("sequence %d after two delivered reports: the refused one consumed one", si.Sequence)
	}
}

// TestSingleDatagramLimitIsExact: with block-wise off, the largest payload the
// size check accepts is delivered, one more byte is refused. The limit is
// the one the error message names.
func TestSingleDatagramLimitIsExact(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newClient(t, s.Addr(), func(c *Config) { c.BlockSize = -1 })
	ctx := context.Background()
	if err := reportQ(c, ctx, []byte("x")); err != nil { // a session: its signature counts
		t.Fatal(err)
	}
	err := reportQ(c, ctx, make([]byte, transport1472))
	wantCode(t, err, CodeInvalid)
	var limit int
	i := strings.Index(err.Error(), "at most")
	if i < 0 {
		t.Fatalf("error %q does not name the limit", err)
	}
	if _, serr := fmt.Sscanf(err.Error()[i:], "at most %d", &limit); serr != nil || limit < 1000 {
		t.Fatalf("cannot read the limit from %q", err)
	}
	if err := reportQ(c, ctx, bytes.Repeat([]byte("y"), limit)); err != nil {
		t.Fatalf("a payload of the announced maximum %d: %v", limit, err)
	}
	wantCode(t, reportQ(c, ctx, make([]byte, limit+1)), CodeInvalid)
	recs := s.Records()
	if got := len(recs[len(recs)-1].Payload); got != limit {
		t.Errorf("recorded %d bytes, want %d", got, limit)
	}
}

const transport1472 = 1472

// TestDatagramRoomMatchesTheEncoder: datagramRoom's arithmetic agrees with
// go-coap's encoder for short and long segments and signatures.
func TestDatagramRoomMatchesTheEncoder(t *testing.T) {
	for _, path := range []string{"/topic/sys/a/b/thing/model/up_raw", "/topic/sys/" + strings.Repeat("p", 255) + "/" + strings.Repeat("d", 20) + "/x"} {
		for _, signLen := range []int{0, 12, 96, 300, 1000} {
			var opts message.Options
			buf := make([]byte, 4096)
			opts, n, err := opts.SetPath(buf, path)
			if err != nil {
				t.Fatal(err)
			}
			if signLen > 0 {
				opts = opts.Add(message.Option{ID: 2101, Value: bytes.Repeat([]byte("s"), signLen)})
			}
			_ = n
			m := message.Message{Token: make([]byte, 8), Options: opts, Code: codes.POST, Type: message.Confirmable, Payload: []byte{1}}
			size, err := coder.DefaultCoder.Size(m)
			if err != nil {
				t.Fatal(err)
			}
			if want := 1472 - size + 1; datagramRoom(path, signLen) != want {
				t.Errorf("path %d bytes, sign %d: room %d, encoder says %d", len(path), signLen, datagramRoom(path, signLen), want)
			}
		}
	}
}

// bigTokenEnos is a raw UDP fake of an EnOS whose session token is too long
// for any signed request to fit a datagram. It answers /auth with that token
// and anything else 2.04, and counts the other requests it saw.
type bigTokenEnos struct {
	addr         string
	auths, other atomic.Int32
}

func startBigTokenEnos(t *testing.T, tokenLen int) *bigTokenEnos {
	t.Helper()
	e := &bigTokenEnos{}
	e.addr = startFakeEnos(t, func(_ *message.Message, path string, _ net.Addr, resp *message.Message) {
		if strings.HasPrefix(path, "/auth/") {
			e.auths.Add(1)
			resp.Code = codes.Content
			resp.Payload = []byte(`{"token":"` + strings.Repeat("T", tokenLen) + `"}`)
		} else {
			e.other.Add(1)
		}
	})
	return e
}

// TestLocalErrorsNeverDropQueuedReports: five reports queued during an
// outage; EnOS comes back but hands out a token so long that no signed
// request fits a datagram. Every delivery fails locally (CodeInvalid): the
// queue used to drop all five as "refused" although EnOS never saw them. They
// stay queued; only EnOS's own refusal drops a report.
func TestLocalErrorsNeverDropQueuedReports(t *testing.T) {
	e := startBigTokenEnos(t, 700)
	g := startGate(t, e.addr)
	g.setOpen(false)
	c := newClient(t, g.Addr(), withState(t.TempDir()), func(c *Config) { c.AckTimeout = 10 * time.Millisecond; c.MaxRetransmit = 1 })
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		wantCode(t, reportQ(c, ctx, []byte(fmt.Sprint(i))), codeQueued)
	}
	g.setOpen(true)
	// Wait until the worker has authenticated with the big token (its
	// delivery attempt in that session fails locally), then let it retry
	// for a while longer.
	var after time.Time
	deadline := time.Now().Add(20 * time.Second)
	for c.Stats().QueueDropped == 0 && time.Now().Before(deadline) {
		if after.IsZero() && e.auths.Load() > 0 {
			after = time.Now().Add(500 * time.Millisecond)
		}
		if !after.IsZero() && time.Now().After(after) {
			break
		}
		fctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		_ = c.Flush(fctx)
		cancel()
	}
	st := c.Stats()
	if st.QueueDropped != 0 || st.Queued != 5 {
		t.Fatalf("stats %+v: queued reports dropped after a local error", st)
	}
	if e.auths.Load() < 1 {
		t.Fatalf("stats %+v: the worker never reached EnOS", st)
	}
	if n := e.other.Load(); n != 0 {
		t.Fatalf("EnOS saw %d requests", n)
	}
	// A direct report in that session is refused locally, and says why.
	err := reportQ(c, ctx, []byte("x"))
	if CodeOf(err) != CodeInvalid && CodeOf(err) != codeQueued {
		t.Fatalf("err = %v", err)
	}
	var ce *Error
	if errors.As(err, &ce) && ce.Code == CodeInvalid && !strings.Contains(err.Error(), "signature") {
		t.Errorf("error %q does not say the signature is what does not fit", err)
	}
}
