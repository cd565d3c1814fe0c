/* SPDX-License-Identifier: Apache-2.0 */

/* measurepoints: a device that reports JSON thing-model measure points once a
 * second and answers EnOS's measurepoint/set service call.
 *
 *   measurepoints SERVER PRODUCT_KEY DEVICE_KEY DEVICE_SECRET [--count N] [--state-dir DIR]
 *
 * Every second it posts {"temp": T, "state": S} (thing.measurepoint.post, the
 * sample time taken by libenos at the call) and prints "posted ..." with
 * EnOS's verdict. Between posts it waits for commands; a call of
 * thing.service.measurepoint.set with {"measurepoints":{"state":N}} sets S to N
 * and is answered with enos_reply_result(): code 200 and {"state":N}, or code
 * 2001 (this device's own error code) when the call has no integer "state".
 * The product's model needs measure points "temp" (float) and "state" (int),
 * as in test/c/thing-model.json.
 *
 * With --state-dir, posts made while EnOS is unreachable are queued on disk and
 * delivered later in order ("queued" is printed). With --count N it exits after
 * N posts (status 0 when none failed), otherwise it runs until interrupted.
 * Build: cc -Iinclude measurepoints.c -Lbuild -lenos */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "enos.h"

#define SET_SUFFIX "/thing/service/measurepoint/set"

/* Reads the integer after "state": in a command's params. A demo shortcut: a
 * real device uses a JSON parser (libenos itself validates all JSON it sends
 * with one). */
static int find_state(const char *json, long *state) {
    const char *p = strstr(json, "\"state\"");
    char *end;
    if (p == NULL || (p = strchr(p + 7, ':')) == NULL) {
        return 0;
    }
    *state = strtol(p + 1, &end, 10);
    return end != p + 1 && (*end == '}' || *end == ',' || *end == ' ');
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Answers one command; only measurepoint/set calls are understood. */
static void handle_command(enos_client *c, const char *topic, const char *payload, size_t len, long *state) {
    char data[64];
    long v;
    int rc;
    if (!ends_with(topic, SET_SUFFIX)) {
        printf("ignored a command on %s\n", topic);
        return;
    }
    if (find_state(payload, &v)) {
        *state = v;
        snprintf(data, sizeof data, "{\"state\":%ld}", v);
        rc = enos_reply_result(c, topic, payload, len, 200, data);
        printf("set state to %ld; ", v);
    } else {
        rc = enos_reply_result(c, topic, payload, len, 2001, NULL);
        printf("measurepoint/set without an integer state; ");
    }
    if (rc == ENOS_OK) {
        printf("replied on %s_reply\n", topic);
    } else {
        printf("reply FAILED: %s (%d): %s\n", enos_strerror(rc), rc, enos_last_error());
    }
}

int main(int argc, char **argv) {
    enos_config cfg = ENOS_CONFIG_INIT;
    enos_client *c = NULL;
    long count = 0, n, state = 0, failures = 0;
    char mp[96], topic[256], payload[1025];
    size_t len;
    int i, rc;

    if (argc < 5) {
        fprintf(stderr, "usage: %s SERVER PRODUCT_KEY DEVICE_KEY DEVICE_SECRET [--count N] [--state-dir DIR]\n", argv[0]);
        return 2;
    }
    for (i = 5; i < argc; i++) {
        if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            count = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--state-dir") == 0 && i + 1 < argc) {
            cfg.state_dir = argv[++i];
        } else {
            fprintf(stderr, "%s: unknown argument %s\n", argv[0], argv[i]);
            return 2;
        }
    }
    cfg.server = argv[1];
    cfg.product_key = argv[2];
    cfg.device_key = argv[3];
    cfg.device_secret = argv[4];
    cfg.poll_interval_ms = 500; /* ask for commands when idle */
    if ((rc = enos_init(&cfg, &c)) != ENOS_OK) {
        fprintf(stderr, "init: %s: %s\n", enos_strerror(rc), enos_last_error());
        return 1;
    }
    printf("device %s/%s posting measure points to %s\n", cfg.product_key, cfg.device_key, cfg.server);
    fflush(stdout);

    for (n = 0; count == 0 || n < count; n++) {
        double temp = 20.0 + (double)(n % 10) / 2.0;
        snprintf(mp, sizeof mp, "{\"temp\":%.1f,\"state\":%ld}", temp, state);
        rc = enos_post_measurepoints(c, mp, 0);
        if (rc == ENOS_OK) {
            printf("posted %s\n", mp);
        } else if (rc == ENOS_QUEUED) {
            printf("queued %s\n", mp);
        } else {
            failures++;
            printf("post FAILED: %s (%d), EnOS code %d: %s\n", enos_strerror(rc), rc,
                   (int)enos_last_reply_code(), enos_last_error());
        }
        fflush(stdout);
        /* Wait up to a second for a command: the pace of the posts. */
        rc = enos_next_command(c, 1000, topic, sizeof topic, payload, sizeof payload - 1, &len);
        if (rc == ENOS_OK) {
            payload[len] = '\0';
            handle_command(c, topic, payload, len, &state);
            fflush(stdout);
        } else if (rc != ENOS_ERR_TIMEOUT) {
            printf("next command: %s: %s\n", enos_strerror(rc), enos_last_error());
        }
    }
    if (cfg.state_dir != NULL && enos_flush(c, 10000) != ENOS_OK) {
        printf("flush: %s\n", enos_last_error());
    }
    enos_close(c);
    printf("%ld posts, %ld failed\n", n, failures);
    return failures == 0 ? 0 : 1;
}
