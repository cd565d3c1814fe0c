// SPDX-License-Identifier: Apache-2.0

//go:build linux

package testutil

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// Tmpfs mounts a fresh tmpfs of size bytes on a new directory and returns
// the directory (mode 0700, owned by the test's user); it is unmounted when
// the test ends. Tests of a full file system use it. It skips the test when
// not root (mount needs CAP_SYS_ADMIN) or when mounting is refused (e.g. a
// container without the capability).
func Tmpfs(tb testing.TB, size int64) string {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("mounting a small tmpfs to fill it needs root; skipped as non-root")
	}
	dir := filepath.Join(tb.TempDir(), "fs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	opts := "size=" + strconv.FormatInt(size, 10) + ",mode=0700"
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, opts); err != nil {
		tb.Skipf("cannot mount a tmpfs (%v); the full-disk test needs CAP_SYS_ADMIN", err)
	}
	tb.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			tb.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// FillFS writes a file in dir until the file system has no free block left,
// and returns its path (remove it to free the space).
func FillFS(tb testing.TB, dir string) string {
	tb.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for _, chunk := range []int{4096, 512, 1} {
		for {
			if _, err := f.Write(buf[:chunk]); err != nil {
				break
			}
		}
	}
	return path
}

// FreeBytes is the space an unprivileged user may still use in dir's file system.
func FreeBytes(tb testing.TB, dir string) int64 {
	tb.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		tb.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}
