// SPDX-License-Identifier: Apache-2.0

package queue

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every name the queue uses, planted as a symbolic link to a file outside the
// state directory: the queue must refuse to open, and the target must keep
// its content (the old code truncated it) and no file may appear where a
// dangling link points.
func TestSymlinkedQueueFilesAreRefusedAndNeverFollowed(t *testing.T) {
	for _, name := range []string{"queue.0.log", "queue.1.log", "queue.1.log.tmp", headFile, headFile + ".tmp"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			outside := t.TempDir()
			target := filepath.Join(outside, "precious")
			os.WriteFile(target, []byte("precious data"), 0o644)
			os.Symlink(target, filepath.Join(dir, name))
			dangling := filepath.Join(outside, "planted")
			os.Symlink(dangling, filepath.Join(dir, name+"-dangling"))

			q, err := Open(dir, 100, 1<<20)
			if err == nil {
				// Use it as a client would: append, deliver (a rewrite).
				q.Append(item(0))
				q.Pop()
				q.Close()
				t.Errorf("a queue with %s a symlink opened", name)
			} else if !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "symbolic link") {
				t.Errorf("refusal does not name the link: %v", err)
			}
			if b, err := os.ReadFile(target); err != nil || string(b) != "precious data" {
				t.Errorf("the symlink's target was changed: %q, %v", b, err)
			}
			if _, err := os.Lstat(dangling); err == nil {
				t.Error("a file was created outside the state directory")
			}
		})
	}
}

func TestQueueRefusesGroupWritableDir(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o777)
	if q, err := Open(dir, 100, 1<<20); err == nil || !strings.Contains(err.Error(), "writable by group or others") {
		t.Errorf("group-writable directory: %v", err)
		if q != nil {
			q.Close()
		}
	}
}
