/* SPDX-License-Identifier: Apache-2.0 */

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

/* Trampolines: Go cannot call a C function pointer, so it passes the pointer
 * (as an integer) here. enosc_call_command marks the calling thread as being
 * inside the command handler of client `handle` for the duration of the call;
 * enosc_call_log marks it as inside the log handler (and drops a message
 * logged from inside the log handler instead of recursing). */
void enosc_call_command(uintptr_t fn, uintptr_t user, uintptr_t handle,
                        const char *topic, const uint8_t *payload, size_t len);
void enosc_call_log(uintptr_t fn, uintptr_t user, int level, const char *msg);

/* Calls an enos_done_fn: sets the calling thread's last error to msg (len
 * bytes) first, and marks the thread as inside a done callback of client
 * `handle` for the duration of the call. */
void enosc_call_done(uintptr_t fn, uintptr_t user, uintptr_t handle, int status,
                     const char *msg, size_t len);

/* The client whose done callback runs on the calling thread (0: none). */
uintptr_t enosc_done_handle(void);

#endif
