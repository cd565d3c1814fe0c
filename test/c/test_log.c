/* SPDX-License-Identifier: Apache-2.0 */

/* libenos C API tests of enos_set_log_handler (process-wide, so a program of
 * its own) against enos-sim (test/c/with-sim.sh): silent by default, levels,
 * a corrupt state file gives a WARN, bad levels, no secret or SignKey in any
 * message at DEBUG level, and a removed handler is never called again.
 * Built as C99, C11 and C++. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>
#include "harness.h"

/* docs/protocol.md §8's vector: SignKey of V_SECRET = SHA-256(secret)[8:24] */
#define V_SIGNKEY "E12C6EB6A77242CBCCEF8B14261A0CE7"
#define WRONG_SECRET "thisIsNotTheSecret42"

static const char *addr, *control_pk, *dk, *secret;

struct logbuf {
    pthread_mutex_t mu;
    int n, by_level[5], bad_level, nested_rc;
    int try_nested;
    char text[1 << 16];
    size_t len;
};
static struct logbuf lb;

static void on_log(void *user, int level, const char *msg) {
    struct logbuf *b = (struct logbuf *)user;
    size_t n = strlen(msg);
    pthread_mutex_lock(&b->mu);
    b->n++;
    if (level >= ENOS_LOG_ERROR && level <= ENOS_LOG_DEBUG) {
        b->by_level[level]++;
    } else {
        b->bad_level++;
    }
    if (b->len + n + 16 < sizeof b->text) {
        b->len += (size_t)sprintf(b->text + b->len, "%d %s\n", level, msg);
    }
    pthread_mutex_unlock(&b->mu);
    if (b->try_nested) {
        b->try_nested = 0;
        b->nested_rc = enos_set_log_handler(NULL, NULL, ENOS_LOG_OFF);
    }
}

static void reset_log(void) {
    pthread_mutex_lock(&lb.mu);
    memset(lb.by_level, 0, sizeof lb.by_level);
    lb.n = lb.bad_level = 0;
    lb.len = 0;
    lb.text[0] = '\0';
    pthread_mutex_unlock(&lb.mu);
}

static void config_for(enos_config *cfg, const char *server, const char *sec, const char *dir) {
    enos_config init = ENOS_CONFIG_INIT;
    *cfg = init;
    cfg->server = server;
    cfg->product_key = control_pk;
    cfg->device_key = dk;
    cfg->device_secret = sec;
    cfg->state_dir = dir;
    cfg->ack_timeout_ms = 200;
}

static void write_file(const char *dir, const char *name, const char *text) {
    char path[256];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

/* Runs init on a state dir with a corrupt session file. */
static int corrupt_session_init(const char *dir) {
    enos_config cfg;
    enos_client *c = NULL;
    int rc;
    config_for(&cfg, addr, secret, dir);
    write_file(dir, "session", "this is not a libenos session file\n");
    rc = enos_init(&cfg, &c);
    if (rc == ENOS_OK) {
        enos_close(c);
    }
    return rc;
}

static void test_silent_by_default(const char *dir) {
    char out[] = "/tmp/enos-logout-XXXXXX";
    int fd, saved1, saved2;
    long size;
    FILE *f;
    TEST("silent by default: nothing on stdout or stderr");
    fflush(stdout);
    fflush(stderr);
    fd = mkstemp(out);
    CHECK(fd >= 0);
    saved1 = dup(1);
    saved2 = dup(2);
    dup2(fd, 1);
    dup2(fd, 2);
    CHECK_RC(corrupt_session_init(dir), ENOS_OK);
    fflush(stdout);
    fflush(stderr);
    dup2(saved1, 1);
    dup2(saved2, 2);
    close(saved1);
    close(saved2);
    close(fd);
    f = fopen(out, "rb");
    CHECK(f != NULL);
    if (f != NULL) {
        fseek(f, 0, SEEK_END);
        size = ftell(f);
        fclose(f);
        CHECK(size == 0);
    }
    unlink(out);
}

static void test_levels(const char *dir) {
    TEST("levels: a corrupt state file is a WARN");
    CHECK_RC(enos_set_log_handler(on_log, &lb, ENOS_LOG_WARN), ENOS_OK);
    reset_log();
    CHECK_RC(corrupt_session_init(dir), ENOS_OK);
    CHECK(lb.by_level[ENOS_LOG_WARN] >= 1);
    CHECK(lb.by_level[ENOS_LOG_INFO] == 0 && lb.by_level[ENOS_LOG_DEBUG] == 0 && lb.bad_level == 0);
    CHECK(strstr(lb.text, "2 ") == lb.text && strstr(lb.text, "session") != NULL);
    CHECK(strstr(lb.text, dk) != NULL); /* names the device */
    fprintf(stderr, "    got: %s", lb.text);
    /* ERROR only: the WARN is filtered */
    CHECK_RC(enos_set_log_handler(on_log, &lb, ENOS_LOG_ERROR), ENOS_OK);
    reset_log();
    CHECK_RC(corrupt_session_init(dir), ENOS_OK);
    CHECK(lb.n == 0);
    /* OFF and NULL silence */
    CHECK_RC(enos_set_log_handler(on_log, &lb, ENOS_LOG_OFF), ENOS_OK);
    reset_log();
    CHECK_RC(corrupt_session_init(dir), ENOS_OK);
    CHECK(lb.n == 0);
    CHECK_RC(enos_set_log_handler(NULL, &lb, ENOS_LOG_DEBUG), ENOS_OK);
    CHECK_RC(corrupt_session_init(dir), ENOS_OK);
    CHECK(lb.n == 0);

    TEST("bad levels, and no enos_set_log_handler from inside the handler");
    CHECK_INVALID(enos_set_log_handler(on_log, &lb, -1), "level");
    CHECK_INVALID(enos_set_log_handler(on_log, &lb, ENOS_LOG_DEBUG + 1), "level");
    CHECK_RC(enos_set_log_handler(on_log, &lb, ENOS_LOG_WARN), ENOS_OK);
    lb.nested_rc = 12345;
    lb.try_nested = 1;
    reset_log();
    CHECK_RC(corrupt_session_init(dir), ENOS_OK);
    CHECK_RC(lb.nested_rc, ENOS_ERR_INVALID);
    reset_log();
    CHECK_RC(corrupt_session_init(dir), ENOS_OK); /* the handler is still installed */
    CHECK(lb.n >= 1);
    CHECK_RC(enos_set_log_handler(NULL, NULL, ENOS_LOG_OFF), ENOS_OK);
}

static void test_no_secrets(const char *dir) {
    enos_config cfg;
    enos_client *c = NULL, *bad = NULL;
    char topic[128], payload[64];
    size_t plen;
    int i;
    TEST("DEBUG level: no secret or SignKey in any message");
    CHECK_RC(enos_set_log_handler(on_log, &lb, ENOS_LOG_DEBUG), ENOS_OK);
    reset_log();
    CHECK_RC(corrupt_session_init(dir), ENOS_OK);
    config_for(&cfg, addr, secret, dir);
    cfg.poll_interval_ms = 20;
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK_RC(enos_authenticate(c), ENOS_OK);
    for (i = 0; i < 5; i++) {
        CHECK_RC(enos_report(c, "log test", 8), ENOS_OK);
    }
    CHECK(enos_poll(c) >= 0);
    CHECK_RC(enos_next_command(c, 0, topic, sizeof topic, payload, sizeof payload, &plen), ENOS_ERR_TIMEOUT);
    CHECK(enos_reply(c, "/sys/a/b/thing/model/down_raw", "x", 1) < 0);
    h_sleep_ms(100);
    CHECK_RC(enos_close(c), ENOS_OK); /* saves the session, with the token */
    /* resume from the saved session (INFO), then a failing authentication */
    c = NULL;
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK_RC(enos_report(c, "resumed", 7), ENOS_OK);
    CHECK_RC(enos_close(c), ENOS_OK);
    config_for(&cfg, addr, WRONG_SECRET, NULL);
    CHECK_RC(enos_init(&cfg, &bad), ENOS_OK);
    CHECK_RC(enos_authenticate(bad), ENOS_ERR_AUTH);
    CHECK_RC(enos_report(bad, "x", 1), ENOS_ERR_AUTH);
    CHECK_RC(enos_close(bad), ENOS_OK);
    /* a device whose server is down, with a state_dir: queue and retry messages */
    {
        char dir2[] = "/tmp/enos-logq-XXXXXX", cmd[96];
        CHECK(mkdtemp(dir2) != NULL);
        config_for(&cfg, "127.0.0.1:9", secret, dir2);
        cfg.ack_timeout_ms = 10;
        cfg.max_retransmit = -1;
        cfg.retry_interval_ms = 20;
        CHECK_RC(enos_init(&cfg, &bad), ENOS_OK);
        CHECK(enos_report(bad, "offline", 7) == ENOS_QUEUED);
        CHECK_RC(enos_flush(bad, 200), ENOS_ERR_TIMEOUT);
        CHECK_RC(enos_close(bad), ENOS_OK);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir2);
        CHECK(system(cmd) == 0);
    }
    pthread_mutex_lock(&lb.mu);
    fprintf(stderr, "    %d messages (error %d, warn %d, info %d, debug %d)\n", lb.n,
            lb.by_level[1], lb.by_level[2], lb.by_level[3], lb.by_level[4]);
    CHECK(lb.n >= 2);
    CHECK(lb.by_level[ENOS_LOG_INFO] >= 1); /* resumed saved session */
    CHECK(lb.by_level[ENOS_LOG_DEBUG] >= 1); /* offline queue waits */
    CHECK(strstr(lb.text, secret) == NULL);
    CHECK(strstr(lb.text, WRONG_SECRET) == NULL);
    CHECK(strstr(lb.text, V_SIGNKEY) == NULL);
    {
        /* the SignKey in lower case too */
        char lower[sizeof V_SIGNKEY];
        size_t k;
        for (k = 0; k < sizeof V_SIGNKEY; k++) {
            lower[k] = (char)((V_SIGNKEY[k] >= 'A' && V_SIGNKEY[k] <= 'F') ? V_SIGNKEY[k] + 32 : V_SIGNKEY[k]);
        }
        CHECK(strstr(lb.text, lower) == NULL);
    }
    pthread_mutex_unlock(&lb.mu);

    TEST("a removed log handler is never called again");
    CHECK_RC(enos_set_log_handler(NULL, NULL, ENOS_LOG_OFF), ENOS_OK);
    reset_log();
    CHECK_RC(corrupt_session_init(dir), ENOS_OK);
    h_sleep_ms(100);
    CHECK(lb.n == 0);
}

int main(void) {
    char dir[] = "/tmp/enos-logtest-XXXXXX", cmd[96];
    addr = getenv("ENOS_SIM_ADDR");
    control_pk = getenv("ENOS_SIM_PK");
    dk = getenv("ENOS_SIM_DK");
    secret = getenv("ENOS_SIM_SECRET");
    if (!addr || !control_pk || !dk || !secret) {
        fprintf(stderr, "run me with test/c/with-sim.sh (ENOS_SIM_* not set)\n");
        printf("0 passed, 1 failed\n");
        return 1;
    }
    pthread_mutex_init(&lb.mu, NULL);
    if (mkdtemp(dir) == NULL) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    test_silent_by_default(dir);
    test_levels(dir);
    test_no_secrets(dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return h_finish();
}
