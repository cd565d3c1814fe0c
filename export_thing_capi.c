/* SPDX-License-Identifier: Apache-2.0 */

/* The thing-model part of the C ABI (include/enos.h, "Thing model"): thin
 * adapters over the Go exports of export_thing.go, and the thread-local
 * last reply code and message. */
#include <string.h>
#include "export_capi.h"
#include "export_thing_capi.h"
#include "_cgo_export.h"

#define ENOS_LAST_REPLY_MAX 256

static __thread int32_t last_reply_code;
static __thread char last_reply_message[ENOS_LAST_REPLY_MAX];

void enosc_set_last_reply(int32_t code, const char *msg, size_t len) {
    if (len >= sizeof last_reply_message) {
        len = sizeof last_reply_message - 1; /* Go passes printable ASCII only */
    }
    if (len > 0) {
        memcpy(last_reply_message, msg, len);
    }
    last_reply_message[len] = '\0';
    last_reply_code = code;
}

int32_t enos_last_reply_code(void) {
    return last_reply_code;
}

const char *enos_last_reply_message(void) {
    return last_reply_message;
}

int enos_thing_request(enos_client *client, const char *method, const char *params_json,
                       char *data, size_t data_size, size_t *data_len) {
    return enosgo_thing_request((uintptr_t)client, (char *)method, (char *)params_json, data, data_size, data_len);
}

int enos_post_measurepoints(enos_client *client, const char *measurepoints_json, int64_t time_ms) {
    return enosgo_post_measurepoints((uintptr_t)client, (char *)measurepoints_json, time_ms);
}

int enos_post_event(enos_client *client, const char *event_id, const char *events_json, int64_t time_ms) {
    return enosgo_post_event((uintptr_t)client, (char *)event_id, (char *)events_json, time_ms);
}

int enos_reply_result(enos_client *client, const char *command_topic, const void *command_payload, size_t len,
                      int32_t code, const char *data_json) {
    return enosgo_reply_result((uintptr_t)client, (char *)command_topic, (void *)command_payload, len, code,
                               (char *)data_json);
}
