// SPDX-License-Identifier: Apache-2.0

package main

/*
#include "export_capi.h"
*/
import "C"

import (
	"unsafe"

	"github.com/libenos/libenos/core/client"
)

// readSecurity reads enos_config's security fields, when they lie within
// size, into out. It reports whether device_secret may be NULL: a DTLS
// device that activates itself with its product secret.
func readSecurity(fn string, cfg *C.enos_config, size uintptr, out *client.Config) (secretOptional bool, rc C.int) {
	var z C.enos_config
	has := func(off, sz uintptr) bool { return off+sz <= size }
	if has(unsafe.Offsetof(z.security), unsafe.Sizeof(z.security)) {
		out.Security = client.Security(cfg.security)
	}
	if has(unsafe.Offsetof(z.product_secret), unsafe.Sizeof(z.product_secret)) && cfg.product_secret != nil {
		if out.ProductSecret, rc = cString(fn, "config->product_secret", cfg.product_secret); rc != 0 {
			return false, rc
		}
	}
	return out.ProductSecret != "" && cfg.device_secret == nil, 0
}
