// SPDX-License-Identifier: Apache-2.0

// Package repocheck holds tests about the repository itself rather than
// about one package's code.
package repocheck

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// outside matches references to documents that do not ship with the
// project: the team's notes kept beside the repository and issue-tracker
// numbers. What users need is written in docs/ instead. (The patterns are
// split so that this file does not match itself.)
var outside = regexp.MustCompile(`(?i)` + `shared` + `/|engineering` + `-notes|\bissue` + ` #?[0-9]`)

// bareProtocolDoc matches the protocol document's file name not preceded by
// "docs/": outside docs/, it must be named by its path in the repository.
var bareProtocolDoc = regexp.MustCompile(`(^|[^/])` + `protocol` + `\.md`)

// repoRoot is the directory of go.mod above this package.
func repoRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// TestNoReferencesOutsideTheRepository fails when a file of the product (code,
// comments, docs, help texts, tests, scripts, build files) points at a
// document that does not ship with it.
func TestNoReferencesOutsideTheRepository(t *testing.T) {
	root := repoRoot(t)
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			// Build output, VCS data and tool caches are not the product.
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "build" || d.Name() == "__pycache__") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.IndexByte(data, 0) >= 0 {
			return nil // binary
		}
		checked++
		inDocs := strings.HasPrefix(filepath.ToSlash(rel), "docs/")
		for i, line := range strings.Split(string(data), "\n") {
			if m := outside.FindString(line); m != "" {
				t.Errorf("%s:%d refers to %q, which is not part of the repository: write it in docs/ instead", rel, i+1, m)
			}
			if !inDocs && bareProtocolDoc.MatchString(line) {
				t.Errorf("%s:%d names the protocol document without its path: write docs/%s", rel, i+1, "protocol"+".md")
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d files checked under %s: the walk is broken", checked, root)
	}
}
