// SPDX-License-Identifier: Apache-2.0

package state

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadSession: any session file content loads without a panic, either as
// a session of this identity or as an error / nothing; a Save afterwards
// always works and is read back.
func FuzzLoadSession(f *testing.F) {
	dir := f.TempDir()
	s, _ := Open(dir, "me")
	s.Save(Session{Token: "tok", Reserved: 256})
	s.Save(Session{Token: "tok", Reserved: 512})
	s.Close()
	good, _ := os.ReadFile(filepath.Join(dir, sessionFile))
	f.Add(good)
	f.Add(good[:sessionSlot])
	f.Add([]byte("libenos-session 1 00\n{}"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir, err := os.MkdirTemp("/dev/shm", "libenos-fuzz-")
		if err != nil {
			dir = t.TempDir()
		} else {
			defer os.RemoveAll(dir)
		}
		if err := os.WriteFile(filepath.Join(dir, sessionFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir, "me")
		if err != nil {
			t.Fatalf("Open failed on content: %v", err)
		}
		defer s.Close()
		_, _, _ = s.Load()
		if err := s.Save(Session{Token: "t", Reserved: 7}); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.Load()
		if err != nil || !ok || got.Reserved != 7 {
			t.Fatalf("after save: %+v ok=%v err=%v", got, ok, err)
		}
	})
}
