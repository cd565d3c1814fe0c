// SPDX-License-Identifier: Apache-2.0

package state

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// plantSymlink makes dir/name a symbolic link to a file outside dir that
// holds known content, and returns a check that the target is untouched.
func plantSymlink(t *testing.T, dir, name string) func() {
	t.Helper()
	outside := t.TempDir()
	target := filepath.Join(outside, "precious")
	if err := os.WriteFile(target, []byte("precious data"), 0o644); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(outside, "created-by-libenos")
	if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		b, err := os.ReadFile(target)
		if err != nil || string(b) != "precious data" {
			t.Errorf("%s: the symlink's target was changed: %q, %v", name, b, err)
		}
		if st, err := os.Stat(target); err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("%s: the symlink's target mode changed: %v", name, st.Mode())
		}
		if _, err := os.Lstat(dangling); err == nil {
			t.Errorf("%s: a file was created outside the state directory", name)
		}
	}
}

// useStore runs what a client does with a state directory.
func useStore(dir string) error {
	s, err := Open(dir, "me")
	if err != nil {
		return err
	}
	defer s.Close()
	_, _, _ = s.Load()
	return s.Save(Session{Token: "secret-token", Reserved: 256, LastSeen: time.Now()})
}

func TestSymlinkedStateFilesAreRefusedAndNeverFollowed(t *testing.T) {
	for _, name := range []string{lockFile, sessionFile, sessionFile + ".tmp"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			untouched := plantSymlink(t, dir, name)
			err := useStore(dir)
			if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "symbolic link") {
				t.Errorf("a state directory with %s a symlink: %v, want a refusal naming it", name, err)
			}
			untouched()
		})
	}
}

func TestDanglingSymlinkCreatesNothing(t *testing.T) {
	for _, name := range []string{lockFile, sessionFile, sessionFile + ".tmp"} {
		dir := t.TempDir()
		outside := t.TempDir()
		want := filepath.Join(outside, "planted")
		os.Symlink(want, filepath.Join(dir, name))
		if err := useStore(dir); err == nil {
			t.Errorf("%s: a dangling symlink was accepted", name)
		}
		if _, err := os.Lstat(want); err == nil {
			t.Errorf("%s: libenos created the symlink's target %s", name, want)
		}
	}
}

func TestFifoStateFileIsRefusedWithoutBlocking(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, sessionFile), 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	done := make(chan error, 1)
	go func() { done <- useStore(dir) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("a FIFO named session: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("opening a state directory with a FIFO hangs")
	}
}

func TestGroupOrOtherWritableDirIsRefused(t *testing.T) {
	for _, mode := range []os.FileMode{0o777, 0o770, 0o702, 0o1777} {
		dir := t.TempDir()
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		_, err := Open(dir, "me")
		if err == nil || !strings.Contains(err.Error(), "writable by group or others") || !strings.Contains(err.Error(), dir) {
			t.Errorf("mode %v: %v", mode, err)
		}
	}
	// Readable by others is fine: nothing secret can be read without the
	// files' own 0600.
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	s, err := Open(dir, "me")
	if err != nil {
		t.Fatalf("mode 0755: %v", err)
	}
	s.Close()
}

func TestDirOwnedByAnotherUserIsRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a directory to another user")
	}
	dir := t.TempDir()
	if err := os.Chown(dir, 65534, 65534); err != nil { // nobody
		t.Fatal(err)
	}
	_, err := Open(dir, "me")
	if err == nil || !strings.Contains(err.Error(), "owned by") {
		t.Errorf("a directory owned by nobody: %v", err)
	}
}

func TestMissingDirIsCreatedPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s, err := Open(dir, "me")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("created %v, %v; want mode 0700", st.Mode(), err)
	}
}

func TestTempFileIsPrivateEvenWhenAStaleOneIsNot(t *testing.T) {
	dir := t.TempDir()
	// A stale temporary file left world-readable (by an older version, or a
	// crash): the session must not be written into it with its mode.
	stale := filepath.Join(dir, sessionFile+".tmp")
	if err := os.WriteFile(stale, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(stale, 0o644)
	s, err := Open(dir, "me")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Save(Session{Token: "tok", Reserved: 1}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, sessionFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("session file %v, %v; want 0600", st.Mode(), err)
	}
}

// A session file someone made world-readable becomes private again before
// libenos writes the token into it.
func TestReadableSessionFileIsMadePrivate(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, "me")
	s.Save(Session{Token: "tok", Reserved: 1})
	s.Close()
	path := filepath.Join(dir, sessionFile)
	os.Chmod(path, 0o644)
	s, err := Open(dir, "me")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Save(Session{Token: "tok2", Reserved: 2}); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("session file mode %v after a save, want 0600", st.Mode().Perm())
	}
}
