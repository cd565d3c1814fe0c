/* SPDX-License-Identifier: Apache-2.0 */

/* commands: a device that receives commands from EnOS, prints each one and
 * replies to it.
 *
 *   commands SERVER PRODUCT_KEY DEVICE_KEY DEVICE_SECRET [--count N] [--timeout S] [--reply TEXT]
 *
 * The device polls EnOS for commands once a second (poll_interval_ms); EnOS
 * also announces commands in the responses to reports. Each command is
 * printed as "command TOPIC (N bytes): PAYLOAD" and answered on TOPIC_reply
 * with TEXT (default "ok"). With --count N it exits after N commands (status
 * 0), with --timeout S after S seconds (status 1 if fewer than N arrived);
 * otherwise it runs until interrupted.
 * Build: cc -Iinclude commands.c -Lbuild -lenos -lpthread */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "enos.h"

struct device {
    enos_client *client;
    const char *reply;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long received;
};

/* Runs on a libenos thread, one command at a time. It may call libenos,
 * enos_reply() included; it must copy what it keeps. */
static void on_command(void *user, const char *topic, const uint8_t *payload, size_t len) {
    struct device *d = (struct device *)user;
    size_t i;
    int rc;

    /* One line, written under the stream lock: the main thread prints too. */
    flockfile(stdout);
    printf("command %s (%lu bytes): ", topic, (unsigned long)len);
    for (i = 0; i < len; i++) {
        int ch = payload[i];
        if (ch >= 32 && ch < 127) {
            putchar(ch);
        } else {
            printf("\\x%02x", (unsigned)ch);
        }
    }
    putchar('\n');
    funlockfile(stdout);

    rc = enos_reply(d->client, topic, d->reply, strlen(d->reply));
    if (rc == ENOS_OK) {
        printf("replied on %s_reply: %s\n", topic, d->reply);
    } else {
        printf("reply FAILED: %s (%d): %s\n", enos_strerror(rc), rc, enos_last_error());
    }
    fflush(stdout);

    pthread_mutex_lock(&d->mu);
    d->received++;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

int main(int argc, char **argv) {
    enos_config cfg = ENOS_CONFIG_INIT;
    struct device d;
    long count = 0, timeout_s = 0;
    struct timespec deadline;
    int i, rc, status = 0;

    if (argc < 5) {
        fprintf(stderr, "usage: %s SERVER PRODUCT_KEY DEVICE_KEY DEVICE_SECRET [--count N] [--timeout S] [--reply TEXT]\n",
                argv[0]);
        return 2;
    }
    memset(&d, 0, sizeof d);
    d.reply = "ok";
    for (i = 5; i < argc; i++) {
        if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            count = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            timeout_s = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--reply") == 0 && i + 1 < argc) {
            d.reply = argv[++i];
        } else {
            fprintf(stderr, "%s: unknown argument %s\n", argv[0], argv[i]);
            return 2;
        }
    }
    pthread_mutex_init(&d.mu, NULL);
    pthread_cond_init(&d.cv, NULL);

    cfg.server = argv[1];
    cfg.product_key = argv[2];
    cfg.device_key = argv[3];
    cfg.device_secret = argv[4];
    cfg.poll_interval_ms = 1000; /* ask for commands after 1 s without traffic */

    if ((rc = enos_init(&cfg, &d.client)) != ENOS_OK) {
        fprintf(stderr, "init: %s: %s\n", enos_strerror(rc), enos_last_error());
        return 1;
    }
    if ((rc = enos_set_command_handler(d.client, on_command, &d)) != ENOS_OK ||
        (rc = enos_authenticate(d.client)) != ENOS_OK) {
        fprintf(stderr, "start: %s: %s\n", enos_strerror(rc), enos_last_error());
        enos_close(d.client);
        return 1;
    }
    printf("device %s/%s waiting for commands on %s\n", cfg.product_key, cfg.device_key, cfg.server);
    fflush(stdout);
    /* Ask at once rather than after the first poll interval. */
    if ((rc = enos_poll(d.client)) < 0) {
        fprintf(stderr, "poll: %s: %s\n", enos_strerror(rc), enos_last_error());
    }

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_s;
    pthread_mutex_lock(&d.mu);
    while (count == 0 || d.received < count) {
        if (timeout_s > 0) {
            if (pthread_cond_timedwait(&d.cv, &d.mu, &deadline) != 0 && (count == 0 || d.received < count)) {
                status = count > 0 ? 1 : 0;
                break;
            }
        } else {
            pthread_cond_wait(&d.cv, &d.mu);
        }
    }
    pthread_mutex_unlock(&d.mu);

    /* After enos_close (from outside the handler) the handler is not running
     * and never called again: d may go away. */
    enos_close(d.client);
    printf("%ld command(s) received\n", d.received);
    pthread_cond_destroy(&d.cv);
    pthread_mutex_destroy(&d.mu);
    return status;
}
