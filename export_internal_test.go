// SPDX-License-Identifier: Apache-2.0

package main

// Tests of the Go-level helpers of the export layer. A test file cannot use
// cgo, so C values are reached through type inference (see cPtr) and the
// last error through lastError; each test locks its goroutine to its OS
// thread because the last error is thread-local.

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/libenos/libenos/core/client"
)

// cPtr returns a pointer to a NUL-terminated copy of s, typed as the *C.char
// parameter of f (which a test file cannot name).
func cPtr[P ~*E, E, R1, R2 any](_ func(string, string, P) (R1, R2), s string) P {
	b := append([]byte(s), 0)
	return P((*E)(unsafe.Pointer(&b[0])))
}

// cAt returns &b[0] with the type of like.
func cAt[P ~*E, E any](like P, b []byte) P {
	return P((*E)(unsafe.Pointer(&b[0])))
}

func lockThread(t *testing.T) {
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
}

func wantLastError(t *testing.T, want string) {
	t.Helper()
	if got := lastError(); got != want {
		t.Errorf("last error:\n got %q\nwant %q", got, want)
	}
}

func TestFailErrUnknownKindIsInternal(t *testing.T) {
	lockThread(t)
	const internal = int(client.CodeInternal)
	if internal != -99 {
		t.Fatalf("client.CodeInternal = %d, want -99 (ENOS_ERR_INTERNAL)", internal)
	}
	// A foreign error (not a *client.Error): its message passes through.
	if rc := int(failErr("enos_test", errors.New("something odd"))); rc != internal {
		t.Errorf("foreign error: rc %d, want %d", rc, internal)
	}
	wantLastError(t, "enos_test: something odd")
	// A code include/enos.h does not define is never passed to C.
	if rc := int(failErr("enos_test", &client.Error{Code: 42, Msg: "made up"})); rc != internal {
		t.Errorf("unknown code 42: rc %d, want %d", rc, internal)
	}
	wantLastError(t, "enos_test: internal error: code 42: made up")
	// Nor is OK for an error (the caller would think it succeeded).
	if rc := int(failErr("enos_test", &client.Error{Code: client.CodeOK, Msg: "not an error"})); rc != internal {
		t.Errorf("CodeOK error: rc %d, want %d", rc, internal)
	}
	wantLastError(t, "enos_test: internal error: code 0: not an error")
	// A known code is kept, with the core's message.
	if rc := int(failErr("enos_test", &client.Error{Code: client.CodeTimeout, Msg: "no answer"})); rc != int(client.CodeTimeout) {
		t.Errorf("timeout: rc %d, want %d", rc, int(client.CodeTimeout))
	}
	wantLastError(t, "enos_test: no answer")
}

func TestGuardTurnsPanicIntoInternal(t *testing.T) {
	lockThread(t)
	rc := failErr("enos_test", errors.New("seed")) // a C.int, which this file cannot name
	rc = 0
	func() {
		defer guard("enos_test", &rc)
		panic("boom")
	}()
	if int(rc) != int(client.CodeInternal) {
		t.Fatalf("rc %d after a panic, want %d", int(rc), int(client.CodeInternal))
	}
	wantLastError(t, "enos_test: internal error (recovered panic): boom")

	// A long panic message is cut to 200 bytes.
	rc = 0
	func() {
		defer guard("enos_test", &rc)
		panic(strings.Repeat("x", 500))
	}()
	if int(rc) != int(client.CodeInternal) {
		t.Fatalf("rc %d after a long panic, want %d", int(rc), int(client.CodeInternal))
	}
	wantLastError(t, "enos_test: internal error (recovered panic): "+strings.Repeat("x", 200))

	// Without a panic guard changes nothing.
	rc = 0
	func() {
		defer guard("enos_test", &rc)
	}()
	if rc != 0 {
		t.Fatalf("rc %d without a panic", int(rc))
	}
}

func TestCStringMessages(t *testing.T) {
	lockThread(t)
	s, rc := cString("enos_test", "config->server", nil)
	if s != "" || int(rc) != int(client.CodeInvalid) {
		t.Errorf("NULL: %q %d", s, int(rc))
	}
	wantLastError(t, "enos_test: config->server is NULL")
	s, rc = cString("enos_test", "product_key", cPtr(cString, ""))
	if s != "" || int(rc) != int(client.CodeInvalid) {
		t.Errorf("empty: %q %d", s, int(rc))
	}
	wantLastError(t, "enos_test: product_key is empty")
	if s, rc = cString("enos_test", "x", cPtr(cString, "abc")); s != "abc" || rc != 0 {
		t.Errorf("abc: %q %d", s, int(rc))
	}
}

func TestCTopicMessages(t *testing.T) {
	lockThread(t)
	const hint = "e.g. /sys/{pk}/{dk}/thing/..."
	for _, c := range []struct {
		p    string
		null bool
		want string
	}{
		{null: true, want: "enos_publish: topic is NULL"},
		{p: "", want: "enos_publish: topic is empty"},
		{p: "sys/a", want: `enos_publish: topic "sys/a" must start with '/' (e.g. /sys/{pk}/{dk}/thing/...)`},
	} {
		p := cPtr(cString, c.p)
		if c.null {
			p = nil
		}
		if _, rc := cTopic("enos_publish", "topic", hint, p); int(rc) != int(client.CodeInvalid) {
			t.Errorf("%q: rc %d", c.p, int(rc))
		}
		wantLastError(t, c.want)
	}
	_, rc := cTopic("enos_reply", "command_topic", "pass the topic the command came with", cPtr(cString, "x"))
	if int(rc) != int(client.CodeInvalid) {
		t.Errorf("reply: rc %d", int(rc))
	}
	wantLastError(t, `enos_reply: command_topic "x" must start with '/' (pass the topic the command came with)`)
	if s, rc := cTopic("enos_reply", "command_topic", "", cPtr(cString, "/a/b")); s != "/a/b" || rc != 0 {
		t.Errorf("/a/b: %q %d", s, int(rc))
	}
}

func TestCheckStructSizeMessages(t *testing.T) {
	lockThread(t)
	v := client.Version // = enos_version(), abi/check.sh checks
	for _, c := range []struct {
		name, init, tooSmall string
		size                 uintptr
		want                 string
	}{
		{"config", "ENOS_CONFIG_INIT", "to hold the required fields (%d)", 0,
			"enos_init: config->struct_size is 0; initialize the config with ENOS_CONFIG_INIT"},
		{"config", "ENOS_CONFIG_INIT", "to hold the required fields (%d)", 4,
			"enos_init: config->struct_size 4 is too small to hold the required fields (40)"},
		{"config", "ENOS_CONFIG_INIT", "to hold the required fields (%d)", 120,
			"enos_init: config->struct_size 120 is larger than this libenos " + v + " knows (112): built against a newer header?"},
		{"stats", "ENOS_STATS_INIT", "(at least %d)", 0,
			"enos_init: stats->struct_size is 0; initialize the stats with ENOS_STATS_INIT"},
		{"stats", "ENOS_STATS_INIT", "(at least %d)", 8,
			"enos_init: stats->struct_size 8 is too small (at least 40)"},
	} {
		if rc := checkStructSize("enos_init", c.name, c.init, c.tooSmall, c.size, 40, 112); int(rc) != int(client.CodeInvalid) {
			t.Errorf("%s %d: rc %d", c.name, c.size, int(rc))
		}
		wantLastError(t, c.want)
	}
	for _, size := range []uintptr{40, 64, 112} {
		if rc := checkStructSize("enos_init", "config", "ENOS_CONFIG_INIT", "(%d)", size, 40, 112); rc != 0 {
			t.Errorf("size %d: rc %d", size, int(rc))
		}
	}
}

func TestWriteStringAndPutCString(t *testing.T) {
	lockThread(t)
	buf := []byte("zzzzzzzz")
	out := cAt(cPtr(cString, ""), buf) // a *C.char at buf
	if rc := writeString("enos_test", out, 3, "abc"); int(rc) != int(client.CodeBuffer) {
		t.Errorf("too small: rc %d", int(rc))
	}
	wantLastError(t, "enos_test: out_size 3 is too small: need 4 bytes")
	if string(buf) != "zzzzzzzz" {
		t.Errorf("buffer touched on failure: %q", buf)
	}
	if rc := writeString("enos_test", out, 4, "abc"); rc != 0 {
		t.Errorf("fits: rc %d", int(rc))
	}
	if string(buf) != "abc\x00zzzz" {
		t.Errorf("buffer %q", buf)
	}
	putCString(out, "")
	if string(buf) != "\x00bc\x00zzzz" {
		t.Errorf("buffer after empty %q", buf)
	}
}

// Every field the core can report has its enos_config name, so no
// configuration error reaches C without saying which member is wrong.
func TestCFieldsNameEveryConfigField(t *testing.T) {
	for _, f := range client.ConfigFields() {
		if cFields[f] == "" {
			t.Errorf("client.ConfigField %d has no enos_config name in cFields", f)
		}
	}
	err := configError(&client.Error{Code: client.CodeInvalid, Field: client.FieldLifetime, Msg: "lifetime 29 s is outside 30..86400"})
	if got := err.Error(); got != "config->lifetime_s: lifetime 29 s is outside 30..86400" {
		t.Errorf("configError = %q", got)
	}
}
