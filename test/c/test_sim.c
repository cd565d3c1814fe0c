/* SPDX-License-Identifier: Apache-2.0 */

/* libenos C API tests against enos-sim running as a separate process
 * (started by test/c/with-sim.sh, which exports ENOS_SIM_*): reports
 * acknowledged and recorded in order, publish replies, rejections,
 * next_sign, wrong credentials, many threads, forced session expiry.
 * Built as C99, C11 and C++. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <pthread.h>
#include <unistd.h>
#include "harness.h"
#include "simlog.h"

#define CANARY 0xA5

static const char *sim_addr, *sim_log, *expire_addr, *expire_log;
static int expire_after;
static char run_id[64]; /* makes payloads unique to this run */

/* ---- the simulator's JSON-lines log ---------------------------------- */

/* Finds the record whose payload is p[0..n) at or after *pos; returns its
 * sequence (or -1 if absent) and its topic in topic (if not NULL), and moves
 * *pos past the record. */
static long find_record(const char *log, const char **pos, const void *p, size_t n,
                        char *topic, size_t topic_size) {
    char needle[600], enc[520];
    const char *hit, *line, *s;
    if (n > 384) {
        return -1;
    }
    b64((const unsigned char *)p, n, enc);
    snprintf(needle, sizeof needle, "\"payload\":\"%s\"", enc);
    hit = strstr(*pos, needle);
    if (hit == NULL) {
        return -1;
    }
    for (line = hit; line > log && line[-1] != '\n'; line--) {
    }
    *pos = hit + strlen(needle);
    if (topic != NULL) {
        const char *t = strstr(line, "\"topic\":\"");
        size_t k = 0;
        if (t != NULL && t < hit) {
            for (t += 9; *t != '"' && k + 1 < topic_size; t++) {
                topic[k++] = *t;
            }
        }
        topic[k] = '\0';
    }
    s = strstr(line, "\"sequence\":");
    if (s == NULL || s > hit) {
        return -1;
    }
    return strtol(s + 11, NULL, 10);
}

/* ---- helpers ---------------------------------------------------------- */

static void config_for(enos_config *cfg, const char *server) {
    enos_config init = ENOS_CONFIG_INIT;
    *cfg = init;
    cfg->server = server;
    cfg->product_key = V_PK;
    cfg->device_key = V_DK;
    cfg->device_secret = V_SECRET;
    cfg->ack_timeout_ms = 500;
    cfg->max_retransmit = 2;
}

static size_t make_payload(char *buf, size_t size, const char *kind, int i) {
    /* printable prefix plus binary bytes, including NUL and 0xFF */
    int n = snprintf(buf, size, "%s-%s-%03d", run_id, kind, i);
    buf[n] = '\0';
    buf[n + 1] = (char)0xFF;
    buf[n + 2] = (char)i;
    return (size_t)n + 3;
}

/* ---- tests ------------------------------------------------------------ */

static void test_reports_in_order(void) {
    enos_config cfg;
    enos_client *c = NULL;
    char payload[128], *log;
    const char *pos;
    size_t lens[8];
    long seq, last = 0;
    int i, found = 0, increasing = 1;
    TEST("reports acknowledged and recorded in order");
    config_for(&cfg, sim_addr);
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK_RC(enos_authenticate(c), ENOS_OK);
    for (i = 0; i < 8; i++) {
        lens[i] = make_payload(payload, sizeof payload, "order", i);
        CHECK_RC(enos_report(c, payload, lens[i]), ENOS_OK);
    }
    CHECK_RC(enos_report(c, NULL, 0), ENOS_OK); /* an empty report is allowed */
    CHECK_RC(enos_close(c), ENOS_OK);

    log = read_file(sim_log);
    CHECK(log != NULL);
    if (log == NULL) {
        return;
    }
    pos = log;
    for (i = 0; i < 8; i++) {
        char topic[128] = "";
        make_payload(payload, sizeof payload, "order", i);
        seq = find_record(log, &pos, payload, lens[i], topic, sizeof topic);
        if (seq < 0) {
            fprintf(stderr, "    report %d not found in order in %s\n", i, sim_log);
            break;
        }
        found++;
        if (seq <= last) {
            increasing = 0;
        }
        last = seq;
        if (i == 0) {
            CHECK(seq == 1); /* first message after authentication */
            CHECK_STREQ(topic, "/sys/" V_PK "/" V_DK "/thing/model/up_raw");
        }
    }
    CHECK(found == 8);
    CHECK(increasing);
    free(log);
}

static void test_publish(void) {
    enos_config cfg;
    enos_client *c = NULL;
    char reply[64], payload[128], topic[128] = "", *log;
    const char *pos;
    int code = -1;
    size_t len = 99, n;
    const char *mp = "/sys/" V_PK "/" V_DK "/thing/measurepoint/post";
    TEST("publish to a topic");
    config_for(&cfg, sim_addr);
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    n = make_payload(payload, sizeof payload, "publish", 0);
    memset(reply, CANARY, sizeof reply);
    CHECK_RC(enos_publish(c, mp, payload, n, &code, reply, sizeof reply, &len), ENOS_OK);
    CHECK(code == 68); /* 2.04 Changed */
    CHECK(ENOS_COAP_CLASS(code) == 2 && ENOS_COAP_DETAIL(code) == 4);
    /* a thing-model topic: the payload is no JSON envelope, so EnOS's JSON
     * reply (still 2.04) says 1220 "Payload format error"; reply holds its start */
    CHECK(len > sizeof reply && memcmp(reply, "{\"id\":\"\",\"code\":1220,", 21) == 0);
    /* "/topic" prefix accepted; outputs optional */
    n = make_payload(payload, sizeof payload, "publish", 1);
    CHECK_RC(enos_publish(c, "/topic/sys/" V_PK "/" V_DK "/thing/measurepoint/post", payload, n,
                          NULL, NULL, 0, NULL), ENOS_OK);

    log = read_file(sim_log);
    CHECK(log != NULL);
    if (log != NULL) {
        pos = log;
        n = make_payload(payload, sizeof payload, "publish", 0);
        CHECK(find_record(log, &pos, payload, n, topic, sizeof topic) > 0);
        CHECK_STREQ(topic, mp);
        n = make_payload(payload, sizeof payload, "publish", 1);
        CHECK(find_record(log, &pos, payload, n, topic, sizeof topic) > 0);
        CHECK_STREQ(topic, mp);
        free(log);
    }

    TEST("publish rejected, reply truncated");
    /* a topic of a device the server does not know: 4.xx even after re-authentication */
    memset(reply, CANARY, sizeof reply);
    code = -1;
    len = 0;
    CHECK_RC(enos_publish(c, "/sys/nopk/nodk/thing/model/up_raw", "x", 1, &code, reply, 4, &len),
             ENOS_ERR_REJECTED);
    CHECK(ENOS_COAP_CLASS(code) == 4);
    CHECK(len > 4); /* the full length: the reply was truncated to 4 bytes */
    CHECK((unsigned char)reply[4] == CANARY && (unsigned char)reply[sizeof reply - 1] == CANARY);
    CHECK(strlen(enos_last_error()) > 0);
    fprintf(stderr, "    rejected: code %d.%02d, reply %u bytes, last error: %s\n",
            ENOS_COAP_CLASS(code), ENOS_COAP_DETAIL(code), (unsigned)len, enos_last_error());
    /* the client still works */
    CHECK_RC(enos_report(c, "after-reject", 12), ENOS_OK);
    CHECK_RC(enos_close(c), ENOS_OK);
}

static void test_next_sign(void) {
    enos_config cfg;
    enos_client *c = NULL;
    char out[ENOS_SIGN_SIZE(256)], small[16];
    uint32_t s1 = 0, s2 = 0, s3 = 12345;
    TEST("next_sign consumes a sequence only on success");
    config_for(&cfg, sim_addr);
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK_RC(enos_next_sign(c, out, sizeof out, &s1), ENOS_OK);
    CHECK(s1 >= 1);
    CHECK(strlen(out) >= 32 && strlen(out) % 32 == 0);
    memset(small, CANARY, sizeof small);
    CHECK_RC(enos_next_sign(c, small, 10, &s3), ENOS_ERR_BUFFER);
    CHECK(strlen(enos_last_error()) > 0);
    CHECK(s3 == 12345);
    {
        size_t i;
        int untouched = 1;
        for (i = 0; i < sizeof small; i++) {
            untouched &= (unsigned char)small[i] == CANARY;
        }
        CHECK(untouched);
    }
    CHECK_RC(enos_next_sign(c, out, sizeof out, &s2), ENOS_OK);
    CHECK(s2 == s1 + 1);
    CHECK_RC(enos_next_sign(c, out, sizeof out, NULL), ENOS_OK);
    CHECK_RC(enos_report(c, "after-next-sign", 15), ENOS_OK); /* a larger sequence: accepted */
    CHECK_RC(enos_close(c), ENOS_OK);
}

static void test_wrong_credentials(void) {
    enos_config cfg;
    enos_client *c = NULL;
    double t0;
    TEST("wrong secret: ENOS_ERR_AUTH");
    config_for(&cfg, sim_addr);
    cfg.device_secret = "not-the-secret";
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    t0 = h_now();
    CHECK_RC(enos_authenticate(c), ENOS_ERR_AUTH);
    CHECK(strlen(enos_last_error()) > 0);
    CHECK(strstr(enos_last_error(), "not-the-secret") == NULL); /* no secret in messages */
    CHECK(strstr(enos_last_error(), "check product_key, device_key and device_secret") != NULL);
    CHECK(strstr(enos_last_error(), "docs/troubleshooting.md") != NULL);
    CHECK_RC(enos_report(c, "x", 1), ENOS_ERR_AUTH);
    CHECK(h_now() - t0 < 3.0); /* no retry loop */
    CHECK_RC(enos_close(c), ENOS_OK);

    TEST("wrong sign_iv: ENOS_ERR_REJECTED whose detail points at the fix");
    {
        static const uint8_t zero_iv[16] = {0};
        config_for(&cfg, sim_addr);
        cfg.sign_iv = zero_iv; /* the simulator runs with the default IV */
        CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
        CHECK_ERR_MSG(enos_report(c, "x", 1), ENOS_ERR_REJECTED, "4.01");
        CHECK(strstr(enos_last_error(), "EnOS refused the signature") != NULL);
        CHECK(strstr(enos_last_error(), "check sign_iv or run `enos probe`") != NULL);
        CHECK(strstr(enos_last_error(), "docs/troubleshooting.md") != NULL);
        CHECK(strstr(enos_last_error(), cfg.device_secret) == NULL);
        CHECK_RC(enos_close(c), ENOS_OK);
    }

    TEST("unknown device: ENOS_ERR_AUTH");
    config_for(&cfg, sim_addr);
    cfg.device_key = "no-such-device";
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK_RC(enos_report(c, "x", 1), ENOS_ERR_AUTH);
    CHECK_RC(enos_close(c), ENOS_OK);
}

#define THREADS 4
#define PER_THREAD 10

struct thr {
    enos_client *c;
    int id, failures;
};

static void *report_thread(void *p) {
    struct thr *t = (struct thr *)p;
    char payload[128];
    int i;
    for (i = 0; i < PER_THREAD; i++) {
        size_t n = make_payload(payload, sizeof payload, "thread", t->id * 100 + i);
        if (enos_report(t->c, payload, n) != ENOS_OK) {
            t->failures++;
            fprintf(stderr, "    thread %d report %d: %s\n", t->id, i, enos_last_error());
        }
    }
    return NULL;
}

static void test_threads(void) {
    enos_config cfg;
    enos_client *c = NULL;
    pthread_t th[THREADS];
    struct thr t[THREADS];
    char payload[128], *log;
    int i, j, failures = 0, found = 0, order_ok = 1;
    TEST("one client, many threads");
    config_for(&cfg, sim_addr);
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    for (i = 0; i < THREADS; i++) {
        t[i].c = c;
        t[i].id = i;
        t[i].failures = 0;
        CHECK(pthread_create(&th[i], NULL, report_thread, &t[i]) == 0);
    }
    for (i = 0; i < THREADS; i++) {
        CHECK(pthread_join(th[i], NULL) == 0);
        failures += t[i].failures;
    }
    CHECK(failures == 0);
    CHECK_RC(enos_close(c), ENOS_OK);
    log = read_file(sim_log);
    CHECK(log != NULL);
    if (log == NULL) {
        return;
    }
    /* every report recorded once, and each thread's reports in its call order */
    for (i = 0; i < THREADS; i++) {
        const char *pos = log;
        for (j = 0; j < PER_THREAD; j++) {
            size_t n = make_payload(payload, sizeof payload, "thread", i * 100 + j);
            if (find_record(log, &pos, payload, n, NULL, 0) > 0) {
                found++;
            } else {
                order_ok = 0;
            }
        }
    }
    CHECK(found == THREADS * PER_THREAD);
    CHECK(order_ok);
    free(log);
}

static void test_expiry(void) {
    enos_config cfg;
    enos_client *c = NULL;
    char payload[128], *log;
    const char *pos;
    int i, ok = 1;
    int n;
    TEST("forced expiry: re-authentication is transparent");
    CHECK(expire_addr != NULL && expire_after > 0);
    if (expire_addr == NULL || expire_after <= 0) {
        return;
    }
    n = 3 * expire_after + 1;
    config_for(&cfg, expire_addr);
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    for (i = 0; i < n; i++) {
        size_t len = make_payload(payload, sizeof payload, "expire", i);
        CHECK_RC(enos_report(c, payload, len), ENOS_OK);
    }
    CHECK_RC(enos_close(c), ENOS_OK);
    log = read_file(expire_log);
    CHECK(log != NULL);
    if (log == NULL) {
        return;
    }
    pos = log;
    for (i = 0; i < n; i++) {
        size_t len = make_payload(payload, sizeof payload, "expire", i);
        long seq = find_record(log, &pos, payload, len, NULL, 0);
        /* sessions of expire_after messages, each starting again at 1 */
        if (seq != (long)(i % expire_after) + 1) {
            ok = 0;
            fprintf(stderr, "    report %d: sequence %ld, want %d\n", i, seq, i % expire_after + 1);
        }
    }
    CHECK(ok);
    free(log);
}

int main(void) {
    const char *e;
    sim_addr = getenv("ENOS_SIM_ADDR");
    sim_log = getenv("ENOS_SIM_LOG");
    expire_addr = getenv("ENOS_SIM_EXPIRE_ADDR");
    expire_log = getenv("ENOS_SIM_EXPIRE_LOG");
    e = getenv("ENOS_SIM_EXPIRE_AFTER");
    expire_after = e != NULL ? atoi(e) : 0;
    if (sim_addr == NULL || sim_log == NULL) {
        fprintf(stderr, "test_sim: run me through test/c/with-sim.sh (ENOS_SIM_ADDR, ENOS_SIM_LOG unset)\n");
        printf("0 passed, 1 failed\n");
        return 1;
    }
    snprintf(run_id, sizeof run_id, "run%ld", (long)getpid());
    test_reports_in_order();
    test_publish();
    test_next_sign();
    test_wrong_credentials();
    test_threads();
    test_expiry();
    return h_finish();
}
