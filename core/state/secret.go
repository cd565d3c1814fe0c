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
	"strings"
)

// The device secret a dynamic activation (DTLS, secureMode 3) obtained. It is
// the device's only credential from then on, and EnOS may refuse to hand it
// out twice: it is kept with the same care as the session, through Dir (the
// directory's owner and mode checked, no symbolic link or hard link followed,
// Dir.WriteAtomic: temporary file, fsync, rename, fsync of the directory),
// readable by the owner only.
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
	d, err := OpenDir(dir)
	if err != nil {
		return "", false, err
	}
	defer d.Close()
	f, err := d.OpenFile(secretFile, os.O_RDONLY)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("device secret file: %w", err)
	}
	defer f.Close()
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
	d, err := OpenDir(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.WriteAtomic(secretFile, data)
}
