// SPDX-License-Identifier: Apache-2.0

package sim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// ParseDevice parses "PK:DK:SECRET". The secret may itself contain ':'.
func ParseDevice(s string) (Device, error) {
	parts := strings.SplitN(strings.TrimSpace(s), ":", 3)
	if len(parts) != 3 {
		return Device{}, fmt.Errorf("device %q: want PRODUCTKEY:DEVICEKEY:SECRET", redact(s))
	}
	d := Device{ProductKey: parts[0], DeviceKey: parts[1], Secret: parts[2]}
	if err := validateDevice(d); err != nil {
		return Device{}, fmt.Errorf("device %s/%s: %w", d.ProductKey, d.DeviceKey, err)
	}
	return d, nil
}

// redact keeps a malformed device spec's secret out of error messages.
func redact(s string) string {
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		return s[:i+1] + "***"
	}
	return "***"
}

// ReadDevices reads a devices file: either a JSON array of
// {"productKey","deviceKey","secret"} objects, or one PK:DK:SECRET per line
// (blank lines and lines starting with '#' are ignored).
func ReadDevices(r io.Reader) ([]Device, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '[' {
		var ds []Device
		if err := json.Unmarshal(t, &ds); err != nil {
			return nil, fmt.Errorf("devices JSON: %w", err)
		}
		for i, d := range ds {
			if err := validateDevice(d); err != nil {
				return nil, fmt.Errorf("devices JSON entry %d: %w", i+1, err)
			}
		}
		return ds, nil
	}
	var ds []Device
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		d, err := ParseDevice(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		ds = append(ds, d)
	}
	return ds, sc.Err()
}
