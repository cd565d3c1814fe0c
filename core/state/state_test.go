// SPDX-License-Identifier: Apache-2.0

package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	id := Identity("srv", "pk", "dk", "secret")
	s, err := Open(dir, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Load(); ok || err != nil {
		t.Fatalf("empty dir: ok=%v err=%v", ok, err)
	}
	want := Session{Token: "tok", Signing: true, Reserved: 512, LastSeen: time.Now().Round(0).UTC()}
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(dir, id)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, ok, err := s2.Load()
	if err != nil || !ok || got.Token != want.Token || got.Reserved != 512 || !got.LastSeen.Equal(want.LastSeen) || !got.Signing {
		t.Fatalf("got %+v ok=%v err=%v", got, ok, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, sessionFile))
	if st, _ := os.Stat(filepath.Join(dir, sessionFile)); st.Mode().Perm() != 0o600 {
		t.Errorf("session file mode %v", st.Mode())
	}
	if strings.Contains(string(b), "secret") {
		t.Error("the session file contains the secret")
	}
}

func TestLockRefusesSecondOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, "a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, "a"); err != ErrLocked {
		t.Fatalf("second open: %v", err)
	}
	s.Close()
	s2, err := Open(dir, "a")
	if err != nil {
		t.Fatalf("after close: %v", err)
	}
	s2.Close()
}

func TestCorruptAndForeignFilesAreDetected(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, "me")
	defer s.Close()
	if err := s.Save(Session{Token: "t", Reserved: 5}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, sessionFile)
	good, _ := os.ReadFile(path)
	cases := map[string][]byte{
		"garbage":   []byte("\x00\x01garbage"),
		"empty":     {},
		"truncated": good[:len(good)-3],
		"edited":    edit(good, 40),
	}
	for name, data := range cases {
		os.WriteFile(path, data, 0o600)
		if _, ok, err := s.Load(); ok || err == nil {
			t.Errorf("%s: ok=%v err=%v", name, ok, err)
		}
	}
	os.WriteFile(path, good, 0o600)
	otherDir := t.TempDir()
	other, _ := Open(otherDir, "someone else")
	defer other.Close()
	os.WriteFile(filepath.Join(otherDir, sessionFile), good, 0o600)
	if _, ok, err := other.Load(); ok || err == nil {
		t.Errorf("foreign file: ok=%v err=%v", ok, err)
	}
}

func edit(b []byte, at int) []byte {
	out := append([]byte{}, b...)
	out[at] ^= 1
	return out
}
