// SPDX-License-Identifier: Apache-2.0

package client

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A state directory someone else can write to, or that holds a planted
// symbolic link, is refused with CodeState and a message that says why.
func TestUnsafeStateDirIsRefused(t *testing.T) {
	newCfg := func(dir string) Config {
		return Config{Server: "127.0.0.1:1", ProductKey: tPK, DeviceKey: tDK, DeviceSecret: tSecret, StateDir: dir}
	}
	open := t.TempDir()
	os.Chmod(open, 0o777)
	_, err := New(newCfg(open))
	wantCode(t, err, CodeState)
	if msg := err.Error(); !strings.Contains(msg, open) || !strings.Contains(msg, "writable by group or others") || !strings.Contains(msg, "chmod 700") {
		t.Errorf("message %q does not say what is wrong", msg)
	}

	planted := t.TempDir()
	target := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(target, []byte("keep me"), 0o644)
	os.Symlink(target, filepath.Join(planted, "queue.0.log"))
	_, err = New(newCfg(planted))
	wantCode(t, err, CodeState)
	if !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("message %q does not name the link", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep me" {
		t.Errorf("the link's target was changed: %q", b)
	}
	if strings.Contains(err.Error(), tSecret) {
		t.Error("the secret is in the message")
	}
}
