/* SPDX-License-Identifier: Apache-2.0 */

/* Internal to libenos: declarations shared by export_thing.go (cgo preamble)
 * and export_thing_capi.c. Not installed. */
#ifndef ENOS_EXPORT_THING_CAPI_H
#define ENOS_EXPORT_THING_CAPI_H

#include <stddef.h>
#include <stdint.h>

/* Sets the calling thread's enos_last_reply_code() and
 * enos_last_reply_message() (msg: len bytes, need not be NUL-terminated;
 * truncated if needed). Called from Go on the calling C thread. */
void enosc_set_last_reply(int32_t code, const char *msg, size_t len);

#endif
