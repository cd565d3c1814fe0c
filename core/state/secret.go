// SPDX-License-Identifier: Apache-2.0

package state

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// The device secret a dynamic activation (DTLS, secureMode 3) obtained. It is
// the device's only credential from then on, and EnOS may refuse to hand it
// out twice: it is written as carefully as the session (temporary file,
// fsync, rename, fsync of the directory), readable by the owner only, and
// never through a symbolic link planted in the directory.
const (
	secretFile    = "device-secret"
	secretHeader  = "libenos-device-secret 1 "
	maxSecretFile = 64 << 10
)

type secretBody struct {
	ProductKey   string `json:"productKey"`
	DeviceKey    string `json:"deviceKey"`
	DeviceSecret string `json:"deviceSecret"`
}

// LoadSecret returns the device secret saved in dir for the device. ok is
// false when none was saved. A file that is torn, edited, not a regular file,
// or another device's is an error: the caller must not activate again over it.
func LoadSecret(dir, productKey, deviceKey string) (secret string, ok bool, err error) {
	f, err := os.OpenFile(filepath.Join(dir, secretFile), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("device secret file: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return "", false, errors.New("device secret file is not a regular file")
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", false, fmt.Errorf("device secret file: %w", err)
	}
	if len(b) > maxSecretFile {
		return "", false, errors.New("device secret file is too large")
	}
	sum, body, found := strings.Cut(string(b), "\n")
	if !found || !strings.HasPrefix(sum, secretHeader) {
		return "", false, errors.New("device secret file has no libenos header")
	}
	want := sha256.Sum256([]byte(body))
	if sum[len(secretHeader):] != hex.EncodeToString(want[:]) {
		return "", false, errors.New("device secret file checksum mismatch (torn or edited)")
	}
	var v secretBody
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		return "", false, errors.New("device secret file is not valid JSON")
	}
	if v.ProductKey != productKey || v.DeviceKey != deviceKey {
		return "", false, errors.New("device secret file belongs to another device")
	}
	if v.DeviceSecret == "" {
		return "", false, errors.New("device secret file holds an empty secret")
	}
	return v.DeviceSecret, true, nil
}

// SaveSecret writes the device secret atomically and durably, mode 0600.
func SaveSecret(dir, productKey, deviceKey, secret string) error {
	body, err := json.Marshal(secretBody{ProductKey: productKey, DeviceKey: deviceKey, DeviceSecret: secret})
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	data := append([]byte(secretHeader+hex.EncodeToString(sum[:])+"\n"), body...)
	path := filepath.Join(dir, secretFile)
	tmp := path + ".tmp"
	// A leftover temporary file (a crash), or anything planted under its
	// name, goes first: O_EXCL and O_NOFOLLOW then refuse to write through
	// a link that appears in between.
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
