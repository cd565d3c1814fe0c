// SPDX-License-Identifier: Apache-2.0

package state

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestSecretRoundTripAndMode(t *testing.T) {
	dir := t.TempDir()
	if _, ok, err := LoadSecret(dir, "pk", "dk"); ok || err != nil {
		t.Fatalf("empty dir: %v %v", ok, err)
	}
	if err := SaveSecret(dir, "pk", "dk", "s3cr3t"); err != nil {
		t.Fatal(err)
	}
	s, ok, err := LoadSecret(dir, "pk", "dk")
	if err != nil || !ok || s != "s3cr3t" {
		t.Fatalf("%q %v %v", s, ok, err)
	}
	fi, err := os.Lstat(filepath.Join(dir, secretFile))
	if err != nil || fi.Mode().Perm() != 0o600 || !fi.Mode().IsRegular() {
		t.Fatalf("%v %v", fi.Mode(), err)
	}
	if _, err := os.Lstat(filepath.Join(dir, secretFile+".tmp")); !os.IsNotExist(err) {
		t.Fatalf("temporary file left: %v", err)
	}
	// Another device's file is an error, not "none saved".
	if _, ok, err := LoadSecret(dir, "pk", "other"); ok || err == nil {
		t.Fatalf("foreign file: %v %v", ok, err)
	}
}

func TestSecretRefusesTornEditedAndLinkedFiles(t *testing.T) {
	dir := t.TempDir()
	if err := SaveSecret(dir, "pk", "dk", "s3cr3t"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, secretFile)
	good, _ := os.ReadFile(path)
	for name, data := range map[string]string{
		"torn":      string(good[:len(good)-5]),
		"edited":    strings.Replace(string(good), "s3cr3t", "s3cr3T", 1),
		"no header": "{}",
		"empty":     "",
	} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := LoadSecret(dir, "pk", "dk"); ok || err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "s3cr3") {
			t.Errorf("%s: the error quotes the secret: %v", name, err)
		}
	}
	// A symbolic link, even to a good file, is refused on read.
	target := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.WriteFile(target, good, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := LoadSecret(dir, "pk", "dk"); ok || err == nil {
		t.Fatal("read through a symbolic link")
	}
	// A link planted under the temporary name is not written through.
	os.Remove(path)
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, path+".tmp"); err != nil {
		t.Fatal(err)
	}
	if err := SaveSecret(dir, "pk", "dk", "new"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Fatalf("wrote through the planted link: %q", b)
	}
	if s, ok, err := LoadSecret(dir, "pk", "dk"); err != nil || !ok || s != "new" {
		t.Fatalf("%q %v %v", s, ok, err)
	}
}

// A FIFO planted under the name must neither block the open nor be read.
func TestSecretRefusesFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, secretFile), 0o600); err != nil {
		t.Skip(err)
	}
	if _, ok, err := LoadSecret(dir, "pk", "dk"); ok || err == nil {
		t.Fatal("accepted a FIFO")
	}
}
