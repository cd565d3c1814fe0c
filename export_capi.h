/* Internal to libenos: declarations shared by export.go (cgo preamble) and
 * export_capi.c. Not installed. Declarations only: cgo copies the preamble of
 * files with //export into _cgo_export.h, which several C files include. */
#ifndef ENOS_EXPORT_CAPI_H
#define ENOS_EXPORT_CAPI_H

#include <stddef.h>
#include <stdint.h>
#include "enos.h"

/* Copies msg (len bytes, need not be NUL-terminated) into the calling
 * thread's last-error buffer, truncating if needed. Called from Go, which runs
 * an export on the calling C thread, so __thread storage is the caller's. */
void enosc_set_last_error(const char *msg, size_t len);

#endif
