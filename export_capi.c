/* SPDX-License-Identifier: Apache-2.0 */

/* The public C ABI of libenos (include/enos.h).
 *
 * Each enos_* function here is a thin adapter over a Go export (enosgo_*,
 * export.go) that keeps the header's exact types (const, enos_client *) and
 * turns handles into integers. Because this file includes enos.h and defines
 * the functions, the compiler checks the public header against the
 * implementation. Only enos_* symbols leave the shared library (libenos.map).
 *
 * Pure-C parts that need no Go: the thread-local last error, enos_strerror and
 * enos_version. */
#include <string.h>
#include "export_capi.h"
#include "_cgo_export.h"

#define ENOS_LAST_ERROR_MAX 512

static __thread char last_error[ENOS_LAST_ERROR_MAX];

void enosc_set_last_error(const char *msg, size_t len) {
    if (len >= sizeof last_error) {
        len = sizeof last_error - 1;
        /* do not cut a UTF-8 sequence in half */
        while (len > 0 && ((unsigned char)msg[len] & 0xC0) == 0x80) {
            len--;
        }
    }
    if (len > 0) {
        memcpy(last_error, msg, len);
    }
    last_error[len] = '\0';
}

const char *enos_last_error(void) {
    return last_error;
}

const char *enos_strerror(int status) {
    switch (status) {
    case ENOS_OK:           return "success";
    case ENOS_ERR_INVALID:  return "invalid argument";
    case ENOS_ERR_BUFFER:   return "output buffer too small";
    case ENOS_ERR_NETWORK:  return "network error: server unreachable";
    case ENOS_ERR_TIMEOUT:  return "timeout: no answer within the retransmission window";
    case ENOS_ERR_AUTH:     return "authentication refused by EnOS";
    case ENOS_ERR_REJECTED: return "request rejected by EnOS (4.xx/5.xx)";
    case ENOS_ERR_CLOSED:   return "client closed or not a client";
    case ENOS_ERR_STATE:    return "state directory locked, unreadable or unwritable";
    case ENOS_ERR_FULL:     return "offline queue full";
    case ENOS_ERR_BUSY:     return "too many asynchronous requests outstanding";
    case ENOS_ERR_NOFILE:   return "out of file descriptors";
    case ENOS_QUEUED:       return "queued for later delivery";
    case ENOS_ERR_INTERNAL: return "internal error in libenos";
    default:                return "unknown error";
    }
}

const char *enos_version(void) {
    return ENOS_VERSION_STRING;
}

static uintptr_t handle_of(enos_client *client) {
    return (uintptr_t)client;
}

int enos_init(const enos_config *config, enos_client **client) {
    uintptr_t id = 0;
    int rc = enosgo_init((enos_config *)config, client != NULL ? 1 : 0, &id);
    if (rc == ENOS_OK) {
        *client = (enos_client *)id;
    }
    return rc;
}

int enos_authenticate(enos_client *client) {
    return enosgo_authenticate(handle_of(client));
}

int enos_report(enos_client *client, const void *payload, size_t len) {
    return enosgo_report(handle_of(client), (void *)payload, len);
}

int enos_publish(enos_client *client, const char *topic, const void *payload, size_t len,
                 int *coap_code, void *reply, size_t reply_size, size_t *reply_len) {
    return enosgo_publish(handle_of(client), (char *)topic, (void *)payload, len,
                          coap_code, reply, reply_size, reply_len);
}

int enos_next_sign(enos_client *client, char *out, size_t out_size, uint32_t *sequence) {
    return enosgo_next_sign(handle_of(client), out, out_size, sequence);
}

int enos_sign(const char *device_secret, const char *token, uint32_t sequence, const uint8_t *iv,
              char *out, size_t out_size) {
    /* Lengths measured here: a C strlen is ~2 ns, a C.strlen from Go is a whole cgo call. */
    return enosgo_sign((char *)device_secret, device_secret ? strlen(device_secret) : 0,
                       (char *)token, token ? strlen(token) : 0, sequence, (uint8_t *)iv, out, out_size);
}

int enos_auth_sign(const char *product_key, const char *device_key, const char *device_secret,
                   int32_t lifetime_s, char *out, size_t out_size) {
    return enosgo_auth_sign((char *)product_key, (char *)device_key, (char *)device_secret,
                            lifetime_s, out, out_size);
}

/* The client whose command handler runs on this thread (0: none), and
 * whether the log handler runs on this thread. */
static __thread uintptr_t in_command_handler;
static __thread uintptr_t in_done_callback;
static __thread int in_log_handler;

void enosc_call_command(uintptr_t fn, uintptr_t user, uintptr_t handle,
                        const char *topic, const uint8_t *payload, size_t len) {
    uintptr_t prev = in_command_handler;
    in_command_handler = handle;
    ((enos_command_fn)fn)((void *)user, topic, len > 0 ? payload : NULL, len);
    in_command_handler = prev;
}

void enosc_call_log(uintptr_t fn, uintptr_t user, int level, const char *msg) {
    if (in_log_handler) {
        return; /* the log handler called into libenos, which logged: never recurse */
    }
    in_log_handler = 1;
    ((enos_log_fn)fn)((void *)user, level, msg);
    in_log_handler = 0;
}

void enosc_call_done(uintptr_t fn, uintptr_t user, uintptr_t handle, int status,
                     const char *msg, size_t len) {
    enosc_set_last_error(msg, len);
    uintptr_t prev = in_done_callback;
    in_done_callback = handle;
    ((enos_done_fn)fn)((void *)user, status);
    in_done_callback = prev;
}

uintptr_t enosc_done_handle(void) {
    return in_done_callback;
}

int enos_report_async(enos_client *client, const void *payload, size_t len, enos_done_fn fn, void *user) {
    return enosgo_report_async(handle_of(client), (void *)payload, len, (uintptr_t)fn, (uintptr_t)user);
}

int enos_publish_async(enos_client *client, const char *topic, const void *payload, size_t len,
                       enos_done_fn fn, void *user) {
    return enosgo_publish_async(handle_of(client), (char *)topic, (void *)payload, len,
                                (uintptr_t)fn, (uintptr_t)user);
}

int enos_close(enos_client *client) {
    uintptr_t h = handle_of(client);
    /* Inside one of its own callbacks, enos_close cannot wait for them. */
    /* From a callback of another client, the core also must not wait for
     * a client whose callbacks wait for that one (enos_close in a cycle). */
    return enosgo_close(h, h != 0 && (in_command_handler == h || in_done_callback == h), in_done_callback);
}

int enos_flush(enos_client *client, int32_t timeout_ms) {
    return enosgo_flush(handle_of(client), timeout_ms);
}

int enos_get_stats(enos_client *client, enos_stats *stats) {
    return enosgo_get_stats(handle_of(client), stats);
}

int enos_set_command_handler(enos_client *client, enos_command_fn fn, void *user) {
    uintptr_t h = handle_of(client);
    return enosgo_set_command_handler(h, (uintptr_t)fn, (uintptr_t)user, h != 0 && in_command_handler == h);
}

int enos_poll(enos_client *client) {
    return enosgo_poll(handle_of(client));
}

int enos_next_command(enos_client *client, int32_t timeout_ms, char *topic, size_t topic_size,
                      void *payload, size_t payload_size, size_t *payload_len) {
    return enosgo_next_command(handle_of(client), timeout_ms, topic, topic_size,
                               payload, payload_size, payload_len);
}

int enos_reply(enos_client *client, const char *command_topic, const void *payload, size_t len) {
    return enosgo_reply(handle_of(client), (char *)command_topic, (void *)payload, len);
}

int enos_set_log_handler(enos_log_fn fn, void *user, int level) {
    return enosgo_set_log_handler((uintptr_t)fn, (uintptr_t)user, level, in_log_handler);
}
