/* SPDX-License-Identifier: Apache-2.0 */

/* gateway: one process speaking for many devices, from one thread, with
 * asynchronous reports; every device answers the commands EnOS sends it.
 *
 *   gateway SERVER DEVICES_FILE [--rounds N] [--interval-ms MS] [--state-dir DIR]
 *           [--poll-ms MS] [--linger-ms MS]
 *
 * DEVICES_FILE has one device per line, PRODUCT_KEY:DEVICE_KEY:SECRET ('#'
 * starts a comment). Every round, each device reports "DEVICE_KEY round R"
 * with enos_report_async(); the main thread never waits for the network: it
 * only waits, between rounds, until the round's callbacks have come (or for
 * --interval-ms, whichever is longer). A refused request (ENOS_ERR_BUSY: too
 * many outstanding) is retried after a short pause. Commands are printed as
 * "command DEVICE_KEY TOPIC: PAYLOAD" and answered with "ok" on TOPIC_reply
 * with enos_publish_async(). With --state-dir DIR, each device keeps its
 * session and offline queue in DIR/DEVICE_KEY (created 0700).
 *
 * Prints "delivered D queued Q failed F" at the end and exits 0 when nothing
 * failed. Devices share a few UDP sockets; with --state-dir each holds a few
 * open files: raise the descriptor limit for thousands then (ulimit -n, or
 * LimitNOFILE= in a systemd unit; see README.md).
 * Build: cc -Iinclude gateway.c -Lbuild -lenos -lpthread */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "enos.h"

struct device {
    char *product_key, *device_key, *secret;
    enos_client *client;
};

/* Outcomes, updated by callbacks on library threads. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long outstanding, delivered, queued, failed, replied;

static void on_report(void *user, int status) {
    struct device *d = (struct device *)user;
    if (status < 0) {
        /* enos_last_error() is this request's detail, on this thread. */
        fprintf(stderr, "gateway: %s: %s: %s\n", d->device_key, enos_strerror(status), enos_last_error());
    }
    pthread_mutex_lock(&mu);
    outstanding--;
    if (status == ENOS_OK) {
        delivered++;
    } else if (status == ENOS_QUEUED) {
        queued++;
    } else {
        failed++;
    }
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

static void on_reply_sent(void *user, int status) {
    struct device *d = (struct device *)user;
    if (status < 0) {
        fprintf(stderr, "gateway: %s: reply: %s: %s\n", d->device_key, enos_strerror(status), enos_last_error());
    }
    pthread_mutex_lock(&mu);
    replied += status == ENOS_OK;
    pthread_mutex_unlock(&mu);
}

/* Runs on a library thread, one command of this device at a time. */
static void on_command(void *user, const char *topic, const uint8_t *payload, size_t len) {
    struct device *d = (struct device *)user;
    char reply_topic[512];
    flockfile(stdout);
    printf("command %s %s: %.*s\n", d->device_key, topic, (int)len, len > 0 ? (const char *)payload : "");
    fflush(stdout);
    funlockfile(stdout);
    if (snprintf(reply_topic, sizeof reply_topic, "%s_reply", topic) >= (int)sizeof reply_topic) {
        return;
    }
    if (enos_publish_async(d->client, reply_topic, "ok", 2, on_reply_sent, d) != ENOS_OK) {
        fprintf(stderr, "gateway: %s: reply refused: %s\n", d->device_key, enos_last_error());
    }
}

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *dup_str(const char *s, size_t n) {
    char *p = (char *)malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* read_devices parses the devices file; returns the count, or -1. */
static long read_devices(const char *path, struct device **out) {
    FILE *f = fopen(path, "r");
    char line[1024];
    long n = 0, cap = 0;
    struct device *ds = NULL;
    if (f == NULL) {
        fprintf(stderr, "gateway: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        char *p = line, *c1, *c2, *end;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        end = p + strcspn(p, "\r\n");
        *end = '\0';
        if (*p == '\0' || *p == '#') {
            continue;
        }
        c1 = strchr(p, ':');
        c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL) {
            fprintf(stderr, "gateway: %s: a line is not PRODUCT_KEY:DEVICE_KEY:SECRET\n", path);
            fclose(f);
            return -1;
        }
        if (n == cap) {
            struct device *grown;
            cap = cap ? cap * 2 : 64;
            grown = (struct device *)realloc(ds, (size_t)cap * sizeof *ds);
            if (grown == NULL) {
                fclose(f);
                return -1;
            }
            ds = grown;
        }
        ds[n].product_key = dup_str(p, (size_t)(c1 - p));
        ds[n].device_key = dup_str(c1 + 1, (size_t)(c2 - c1 - 1));
        ds[n].secret = dup_str(c2 + 1, strlen(c2 + 1));
        ds[n].client = NULL;
        n++;
    }
    fclose(f);
    *out = ds;
    return n;
}

int main(int argc, char **argv) {
    const char *server, *file, *state_dir = NULL;
    long rounds = 3, interval_ms = 1000, poll_ms = 0, linger_ms = 0, n, i, r;
    struct device *ds = NULL;
    char dir[4096];
    int rc, status = 0;
    if (argc < 3) {
        fprintf(stderr, "usage: gateway SERVER DEVICES_FILE [--rounds N] [--interval-ms MS] [--state-dir DIR]"
                        " [--poll-ms MS] [--linger-ms MS]\n");
        return 2;
    }
    server = argv[1];
    file = argv[2];
    for (i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--rounds") == 0) {
            rounds = atol(argv[i + 1]);
        } else if (strcmp(argv[i], "--interval-ms") == 0) {
            interval_ms = atol(argv[i + 1]);
        } else if (strcmp(argv[i], "--state-dir") == 0) {
            state_dir = argv[i + 1];
        } else if (strcmp(argv[i], "--poll-ms") == 0) {
            poll_ms = atol(argv[i + 1]);
        } else if (strcmp(argv[i], "--linger-ms") == 0) {
            linger_ms = atol(argv[i + 1]);
        } else {
            fprintf(stderr, "gateway: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (i != argc) {
        fprintf(stderr, "gateway: option %s needs a value\n", argv[i]);
        return 2;
    }
    n = read_devices(file, &ds);
    if (n <= 0) {
        fprintf(stderr, "gateway: no devices\n");
        return 1;
    }
    if (state_dir != NULL && mkdir(state_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "gateway: %s: %s\n", state_dir, strerror(errno));
        return 1;
    }

    for (i = 0; i < n; i++) {
        enos_config cfg = ENOS_CONFIG_INIT;
        cfg.server = server;
        cfg.product_key = ds[i].product_key;
        cfg.device_key = ds[i].device_key;
        cfg.device_secret = ds[i].secret;
        cfg.poll_interval_ms = (int32_t)poll_ms;
        if (state_dir != NULL) {
            snprintf(dir, sizeof dir, "%s/%s", state_dir, ds[i].device_key);
            cfg.state_dir = dir; /* enos_init copies it */
        }
        rc = enos_init(&cfg, &ds[i].client);
        if (rc != ENOS_OK) {
            fprintf(stderr, "gateway: %s: %s\n", ds[i].device_key, enos_last_error());
            return 1;
        }
        enos_set_command_handler(ds[i].client, on_command, &ds[i]);
    }

    for (r = 1; r <= rounds; r++) {
        double start = now_s();
        for (i = 0; i < n; i++) {
            char payload[256];
            int len = snprintf(payload, sizeof payload, "%s round %ld", ds[i].device_key, r);
            pthread_mutex_lock(&mu);
            outstanding++;
            pthread_mutex_unlock(&mu);
            while ((rc = enos_report_async(ds[i].client, payload, (size_t)len, on_report, &ds[i])) == ENOS_ERR_BUSY) {
                sleep_ms(5); /* too many in flight: let some finish */
            }
            if (rc != ENOS_OK) {
                fprintf(stderr, "gateway: %s: %s\n", ds[i].device_key, enos_last_error());
                pthread_mutex_lock(&mu);
                outstanding--;
                failed++;
                pthread_mutex_unlock(&mu);
            }
        }
        /* Wait for this round's callbacks, then for the rest of the interval. */
        pthread_mutex_lock(&mu);
        while (outstanding > 0) {
            pthread_cond_wait(&cv, &mu);
        }
        pthread_mutex_unlock(&mu);
        printf("round %ld: %ld devices in %.3f s\n", r, n, now_s() - start);
        fflush(stdout);
        if (r < rounds && (now_s() - start) * 1000 < (double)interval_ms) {
            sleep_ms(interval_ms - (long)((now_s() - start) * 1000));
        }
    }
    if (linger_ms > 0) {
        sleep_ms(linger_ms); /* stay for commands (answered on library threads) */
    }

    for (i = 0; i < n; i++) {
        enos_close(ds[i].client); /* waits for its outstanding callbacks */
        free(ds[i].product_key);
        free(ds[i].device_key);
        free(ds[i].secret);
    }
    free(ds);
    printf("delivered %ld queued %ld failed %ld replies %ld\n", delivered, queued, failed, replied);
    status = failed == 0 ? 0 : 1;
    return status;
}
