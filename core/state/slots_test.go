// SPDX-License-Identifier: Apache-2.0

package state

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/libenos/libenos/internal/testutil"
)

// A full file system must not stop a session save: the file's room is
// reserved when the directory is opened.
func TestSaveNeedsNoFreeSpace(t *testing.T) {
	dir := testutil.Tmpfs(t, 256<<10)
	s, err := Open(dir, "me")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	testutil.FillFS(t, dir)
	if free := testutil.FreeBytes(t, dir); free > 0 {
		t.Fatalf("%d bytes still free", free)
	}
	for i := uint32(1); i <= 5; i++ {
		if err := s.Save(Session{Token: "tok", Reserved: 256 * i}); err != nil {
			t.Fatalf("save %d on a full file system: %v", i, err)
		}
	}
	got, ok, err := s.Load()
	if err != nil || !ok || got.Reserved != 5*256 {
		t.Fatalf("got %+v ok=%v err=%v", got, ok, err)
	}
}

// A write torn by a crash spoils only the slot being written: the previous
// session is loaded.
func TestTornSaveKeepsThePreviousSession(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, "me")
	defer s.Close()
	s.Save(Session{Token: "tok", Reserved: 256})
	s.Save(Session{Token: "tok", Reserved: 512}) // the second slot
	path := filepath.Join(dir, sessionFile)
	b, _ := os.ReadFile(path)
	for i := sessionSlot + 30; i < sessionSlot+60; i++ { // tear the newest record
		b[i] = 0
	}
	os.WriteFile(path, b, 0o600)
	got, ok, err := s.Load()
	if err != nil || !ok || got.Reserved != 256 {
		t.Fatalf("after a torn save: %+v ok=%v err=%v, want the previous session (256)", got, ok, err)
	}
	// The next save goes to the torn slot, keeping the good one.
	if err := s.Save(Session{Token: "tok", Reserved: 768}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Load(); got.Reserved != 768 {
		t.Fatalf("got %d", got.Reserved)
	}
}

// A session file of libenos 1.0 is read, and replaced by the first save.
func TestLegacySessionFileIsUpgraded(t *testing.T) {
	dir := t.TempDir()
	legacy := "libenos-session 1 d7a8389f5e0eb78585f4212d0e3400ce5dcb4dbe5916a86789379eb6aedc2066\n{\"identity\":\"me\",\"token\":\"secret-token\",\"signing\":false,\"reserved\":256,\"lastSeen\":\"2026-11-27T22:06:01.106990938Z\"}"
	os.WriteFile(filepath.Join(dir, sessionFile), []byte(legacy), 0o600)
	s, err := Open(dir, "me")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, ok, err := s.Load()
	if err != nil || !ok || got.Token != "secret-token" || got.Reserved != 256 {
		t.Fatalf("legacy file: %+v ok=%v err=%v", got, ok, err)
	}
	if err := s.Save(Session{Token: "t2", Reserved: 512}); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(dir, sessionFile)); st.Size() != 2*sessionSlot {
		t.Errorf("upgraded file has %d bytes", st.Size())
	}
	if got, ok, _ := s.Load(); !ok || got.Token != "t2" {
		t.Fatalf("after upgrade: %+v", got)
	}
}

// A token too long for a slot grows the file once; the session survives.
func TestLongTokenGrowsTheSlots(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, "me")
	defer s.Close()
	long := string(make([]byte, 6000))
	for i := range 3 {
		if err := s.Save(Session{Token: long, Reserved: uint32(i+1) * 256}); err != nil {
			t.Fatal(err)
		}
	}
	got, ok, err := s.Load()
	if err != nil || !ok || len(got.Token) != 6000 || got.Reserved != 768 {
		t.Fatalf("long token: %d bytes, reserved %d, ok=%v err=%v", len(got.Token), got.Reserved, ok, err)
	}
}
