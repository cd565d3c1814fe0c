// SPDX-License-Identifier: Apache-2.0

//go:build !linux

package testutil

import "testing"

// Tmpfs skips the test: mounting a small tmpfs is done on Linux only.
func Tmpfs(tb testing.TB, size int64) string {
	tb.Skip("the full-disk tests mount a tmpfs, which they do on Linux only")
	return ""
}

// FillFS is not reached (Tmpfs skips).
func FillFS(tb testing.TB, dir string) string { tb.Skip("Linux only"); return "" }

// FreeBytes is not reached (Tmpfs skips).
func FreeBytes(tb testing.TB, dir string) int64 { tb.Skip("Linux only"); return 0 }
