/* SPDX-License-Identifier: Apache-2.0 */

/* libenos C API tests that need no simulator: signatures and their vectors,
 * argument validation, buffers, handles and close, strerror, version,
 * thread-local last error, unreachable servers. Built as C99, C11 and C++. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include "harness.h"

#define CANARY 0xA5

static int all_canary(const char *buf, size_t from, size_t to) {
    size_t i;
    for (i = from; i < to; i++) {
        if ((unsigned char)buf[i] != CANARY) {
            return 0;
        }
    }
    return 1;
}

static void valid_config(enos_config *cfg, const char *server) {
    enos_config init = ENOS_CONFIG_INIT;
    *cfg = init;
    cfg->server = server;
    cfg->product_key = V_PK;
    cfg->device_key = V_DK;
    cfg->device_secret = V_SECRET;
}

static void test_version(void) {
    char buf[64];
    TEST("version");
    snprintf(buf, sizeof buf, "%d.%d.%d", ENOS_VERSION_MAJOR, ENOS_VERSION_MINOR, ENOS_VERSION_PATCH);
    CHECK_STREQ(buf, ENOS_VERSION_STRING);
    CHECK_STREQ(enos_version(), ENOS_VERSION_STRING);
}

static void test_strerror(void) {
    static const int codes[] = {ENOS_OK, ENOS_ERR_INVALID, ENOS_ERR_BUFFER, ENOS_ERR_NETWORK,
                                ENOS_ERR_TIMEOUT, ENOS_ERR_AUTH, ENOS_ERR_REJECTED,
                                ENOS_ERR_CLOSED, ENOS_ERR_STATE, ENOS_ERR_FULL, ENOS_QUEUED,
                                ENOS_ERR_INTERNAL};
    static const int odd[] = {INT_MIN, INT_MIN + 1, -1000, -100, -98, -10, 2, 99, 1000, INT_MAX};
    size_t i, j;
    int all_ok = 1;
    long k;
    TEST("strerror");
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *s = enos_strerror(codes[i]);
        CHECK(s != NULL && s[0] != '\0');
        CHECK(strcmp(s, enos_strerror(12345)) != 0); /* known codes are not "unknown" */
        for (j = 0; j < i; j++) {
            CHECK(strcmp(s, enos_strerror(codes[j])) != 0); /* and distinct */
        }
    }
    for (i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        const char *s = enos_strerror(odd[i]);
        CHECK(s != NULL && s[0] != '\0');
    }
    for (k = -300; k <= 300; k++) {
        const char *s = enos_strerror((int)k);
        if (s == NULL || s[0] == '\0') {
            all_ok = 0;
        }
    }
    CHECK(all_ok);
}

static void test_sign_vectors(void) {
    static const uint8_t zero_iv[16] = {0};
    static const uint8_t default_iv[16] = {'5', '4', '3', 'y', 'h', 'j', 'y', '9',
                                           '7', 'a', 'e', '7', 'f', 'y', 'f', 'g'};
    char out[ENOS_SIGN_SIZE(12)];
    TEST("sign vectors");
    CHECK(ENOS_SIGN_SIZE(12) == 97);
    CHECK(sizeof out == 97);
    CHECK_RC(enos_sign(V_SECRET, V_TOKEN, 1, NULL, out, sizeof out), ENOS_OK);
    CHECK_STREQ(out, "A3A7B1325BCE9F925F54E6D8134AA3EB3F57D08BE168FA28B47327C8C9F13C23");
    CHECK_RC(enos_sign(V_SECRET, V_TOKEN, 2, NULL, out, sizeof out), ENOS_OK);
    CHECK_STREQ(out, "A3A7B1325BCE9F925F54E6D8134AA3EB6E5110A05C0FDC31F36F203174D89D8B");
    CHECK_RC(enos_sign(V_SECRET, V_TOKEN, 2147483647u, NULL, out, sizeof out), ENOS_OK);
    CHECK_STREQ(out, "A3A7B1325BCE9F925F54E6D8134AA3EB7FA78F2B2C4577FB50F4F5B2C6A969D6C80BB4CD92C15BED2BA262C216D351FE");
    CHECK(strlen(out) + 1 == ENOS_SIGN_SIZE(strlen(V_TOKEN)));
    CHECK_RC(enos_sign(V_SECRET, V_TOKEN, 1, zero_iv, out, sizeof out), ENOS_OK);
    CHECK_STREQ(out, "F0CE00D594FE20BA7FDF501A5490FA2E1428FD245245FCA3A599F8CDBFF6BA48");
    CHECK_RC(enos_sign(V_SECRET, V_TOKEN, 1, default_iv, out, sizeof out), ENOS_OK);
    CHECK_STREQ(out, "A3A7B1325BCE9F925F54E6D8134AA3EB3F57D08BE168FA28B47327C8C9F13C23");
    /* the empty token is allowed (sign mode always with a token-less auth response) */
    CHECK_RC(enos_sign(V_SECRET, "", 1, NULL, out, sizeof out), ENOS_OK);
    CHECK(strlen(out) == 32);
}

static void test_sign_size_macro(void) {
    /* ENOS_SIGN_SIZE(n) must fit the longest sequence for every token length. */
    char token[80], out[ENOS_SIGN_SIZE(79)];
    size_t n;
    int ok = 1;
    TEST("ENOS_SIGN_SIZE");
    for (n = 0; n < sizeof token; n++) {
        memset(token, 'x', n);
        token[n] = '\0';
        if (enos_sign(V_SECRET, token, 2147483647u, NULL, out, ENOS_SIGN_SIZE(n)) != ENOS_OK ||
            strlen(out) + 1 != ENOS_SIGN_SIZE(n)) {
            ok = 0;
            fprintf(stderr, "token length %u: %s\n", (unsigned)n, enos_last_error());
        }
    }
    CHECK(ok);
}

static void test_auth_sign_vectors(void) {
    char out[ENOS_AUTH_SIGN_SIZE];
    TEST("auth_sign vectors");
    CHECK(ENOS_AUTH_SIGN_SIZE == 65);
    CHECK_RC(enos_auth_sign(V_PK, V_DK, V_SECRET, 3600, out, sizeof out), ENOS_OK);
    CHECK_STREQ(out, "F5E24B19438C8A44DE47C64FB2852D5762C628A8EAB6688851C9FF3E46218B6B");
    CHECK_RC(enos_auth_sign(V_PK, V_DK, V_SECRET, 86400, out, sizeof out), ENOS_OK);
    CHECK_STREQ(out, "ADC0630D767DD4FCB5ACF0D9B62907B48A733D66B08C1CEF6D6B7007EBBFA18A");
    CHECK_RC(enos_auth_sign(V_PK, V_DK, V_SECRET, 30, out, sizeof out), ENOS_OK);
    CHECK(strlen(out) == 64);
}

static void test_sign_invalid(void) {
    char out[ENOS_SIGN_SIZE(12)];
    TEST("enos_sign invalid arguments");
    CHECK_INVALID(enos_sign(NULL, V_TOKEN, 1, NULL, out, sizeof out), "device_secret");
    CHECK_INVALID(enos_sign("", V_TOKEN, 1, NULL, out, sizeof out), "device_secret");
    CHECK_INVALID(enos_sign(V_SECRET, NULL, 1, NULL, out, sizeof out), "token");
    CHECK_INVALID(enos_sign(V_SECRET, V_TOKEN, 0, NULL, out, sizeof out), "sequence");
    CHECK_INVALID(enos_sign(V_SECRET, V_TOKEN, 2147483648u, NULL, out, sizeof out), "sequence");
    CHECK_INVALID(enos_sign(V_SECRET, V_TOKEN, 0xFFFFFFFFu, NULL, out, sizeof out), "sequence");
    CHECK_INVALID(enos_sign(V_SECRET, V_TOKEN, 1, NULL, NULL, sizeof out), "out");
    CHECK_INVALID(enos_sign(V_SECRET, V_TOKEN, 1, NULL, NULL, 0), "out");
}

static void test_auth_sign_invalid(void) {
    char out[ENOS_AUTH_SIGN_SIZE];
    TEST("enos_auth_sign invalid arguments");
    CHECK_INVALID(enos_auth_sign(NULL, V_DK, V_SECRET, 3600, out, sizeof out), "product_key");
    CHECK_INVALID(enos_auth_sign("", V_DK, V_SECRET, 3600, out, sizeof out), "product_key");
    CHECK_INVALID(enos_auth_sign(V_PK, NULL, V_SECRET, 3600, out, sizeof out), "device_key");
    CHECK_INVALID(enos_auth_sign(V_PK, "", V_SECRET, 3600, out, sizeof out), "device_key");
    CHECK_INVALID(enos_auth_sign(V_PK, V_DK, NULL, 3600, out, sizeof out), "device_secret");
    CHECK_INVALID(enos_auth_sign(V_PK, V_DK, "", 3600, out, sizeof out), "device_secret");
    CHECK_INVALID(enos_auth_sign(V_PK, V_DK, V_SECRET, 29, out, sizeof out), "lifetime");
    CHECK_INVALID(enos_auth_sign(V_PK, V_DK, V_SECRET, 0, out, sizeof out), "lifetime");
    CHECK_INVALID(enos_auth_sign(V_PK, V_DK, V_SECRET, -1, out, sizeof out), "lifetime");
    CHECK_INVALID(enos_auth_sign(V_PK, V_DK, V_SECRET, 86401, out, sizeof out), "lifetime");
    CHECK_INVALID(enos_auth_sign(V_PK, V_DK, V_SECRET, 3600, NULL, sizeof out), "out");
}

static void test_buffers(void) {
    char buf[256];
    size_t n;
    int ok = 1;
    TEST("too-small buffers");
    /* enos_sign: every size below the need (97 for sequence 2147483647) */
    for (n = 0; n < 97; n++) {
        memset(buf, CANARY, sizeof buf);
        if (enos_sign(V_SECRET, V_TOKEN, 2147483647u, NULL, buf, n) != ENOS_ERR_BUFFER ||
            !all_canary(buf, 0, sizeof buf) || strstr(enos_last_error(), "out_size") == NULL) {
            ok = 0;
            fprintf(stderr, "enos_sign out_size %u: %s\n", (unsigned)n, enos_last_error());
        }
    }
    CHECK(ok);
    /* sequence 1 needs only 65 bytes: exact fit writes exactly 65 */
    memset(buf, CANARY, sizeof buf);
    CHECK_RC(enos_sign(V_SECRET, V_TOKEN, 1, NULL, buf, 64), ENOS_ERR_BUFFER);
    CHECK(all_canary(buf, 0, sizeof buf));
    CHECK_RC(enos_sign(V_SECRET, V_TOKEN, 1, NULL, buf, 65), ENOS_OK);
    CHECK(strlen(buf) == 64 && all_canary(buf, 65, sizeof buf));
    /* enos_auth_sign */
    ok = 1;
    for (n = 0; n < ENOS_AUTH_SIGN_SIZE; n++) {
        memset(buf, CANARY, sizeof buf);
        if (enos_auth_sign(V_PK, V_DK, V_SECRET, 3600, buf, n) != ENOS_ERR_BUFFER ||
            !all_canary(buf, 0, sizeof buf) || strstr(enos_last_error(), "out_size") == NULL) {
            ok = 0;
            fprintf(stderr, "enos_auth_sign out_size %u: %s\n", (unsigned)n, enos_last_error());
        }
    }
    CHECK(ok);
    memset(buf, CANARY, sizeof buf);
    CHECK_RC(enos_auth_sign(V_PK, V_DK, V_SECRET, 3600, buf, ENOS_AUTH_SIGN_SIZE), ENOS_OK);
    CHECK(strlen(buf) == 64 && all_canary(buf, ENOS_AUTH_SIGN_SIZE, sizeof buf));
}

static void test_init_invalid(void) {
    enos_config cfg;
    enos_client *c = (enos_client *)&cfg; /* must stay untouched on failure */
    enos_client *const before = c;
    static const uint8_t iv[16] = {0};
    TEST("enos_init invalid arguments");
    valid_config(&cfg, "127.0.0.1:5683");
    CHECK_INVALID(enos_init(NULL, &c), "config");
    CHECK_INVALID(enos_init(&cfg, NULL), "client");

    cfg.struct_size = 0;
    CHECK_INVALID(enos_init(&cfg, &c), "struct_size");
    cfg.struct_size = 4;
    CHECK_INVALID(enos_init(&cfg, &c), "struct_size");
    cfg.struct_size = (uint32_t)sizeof(enos_config) + 8;
    CHECK_INVALID(enos_init(&cfg, &c), "struct_size");

#define BAD_FIELD(field, value, word) do { \
        valid_config(&cfg, "127.0.0.1:5683"); cfg.field = value; \
        CHECK_INVALID(enos_init(&cfg, &c), word); } while (0)
    BAD_FIELD(server, NULL, "server");
    BAD_FIELD(server, "", "server");
    BAD_FIELD(product_key, NULL, "product_key");
    BAD_FIELD(product_key, "", "product_key");
    BAD_FIELD(device_key, NULL, "device_key");
    BAD_FIELD(device_key, "", "device_key");
    BAD_FIELD(device_secret, NULL, "device_secret");
    BAD_FIELD(device_secret, "", "device_secret");
    BAD_FIELD(product_key, "a/b", "product");
    BAD_FIELD(product_key, "a b", "product");
    BAD_FIELD(device_key, "x?y", "device");
    BAD_FIELD(device_key, "x#y", "device");
    BAD_FIELD(lifetime_s, 29, "lifetime");
    BAD_FIELD(lifetime_s, -1, "lifetime");
    BAD_FIELD(lifetime_s, 86401, "lifetime");
    BAD_FIELD(ack_timeout_ms, -1, "ack_timeout");
    BAD_FIELD(sign_mode, 3, "sign");
    BAD_FIELD(sign_mode, -1, "sign");
    BAD_FIELD(state_dir, "", "state_dir");
    BAD_FIELD(server, "127.0.0.1:notaport", "server");
    BAD_FIELD(server, "127.0.0.1:70000", "server");
#undef BAD_FIELD
    CHECK(c == before);
    (void)iv;
}

static void test_init_struct_size(void) {
    enos_config cfg;
    enos_client *c = NULL;
    TEST("enos_init struct_size");
    /* An older caller whose struct ends after device_secret: the fields beyond
     * struct_size hold garbage that must not be read (a bad pointer would crash). */
    valid_config(&cfg, "127.0.0.1:5683");
    cfg.struct_size = (uint32_t)(offsetof(enos_config, device_secret) + sizeof cfg.device_secret);
    cfg.lifetime_s = -5;
    cfg.ack_timeout_ms = -5;
    cfg.sign_mode = 99;
    cfg.sign_iv = (const uint8_t *)(uintptr_t)1;
    cfg.state_dir = (const char *)(uintptr_t)1;
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK(c != NULL);
    CHECK_RC(enos_close(c), ENOS_OK);
    /* up to and including lifetime_s */
    c = NULL;
    valid_config(&cfg, "127.0.0.1:5683");
    cfg.struct_size = (uint32_t)(offsetof(enos_config, lifetime_s) + sizeof cfg.lifetime_s);
    cfg.lifetime_s = 60;
    cfg.sign_iv = (const uint8_t *)(uintptr_t)1;
    cfg.state_dir = (const char *)(uintptr_t)1;
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK_RC(enos_close(c), ENOS_OK);
    /* the full struct with every optional field set */
    {
        static const uint8_t iv[16] = {0};
        c = NULL;
        valid_config(&cfg, "localhost");
        cfg.lifetime_s = 86400;
        cfg.ack_timeout_ms = 500;
        cfg.max_retransmit = -1;
        cfg.sign_mode = ENOS_SIGN_NEVER;
        cfg.sign_iv = iv;
        CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
        CHECK_RC(enos_close(c), ENOS_OK);
    }
}

static void test_null_client(void) {
    char out[ENOS_SIGN_SIZE(64)];
    int code = 7;
    size_t len = 7;
    uint32_t seq = 7;
    TEST("NULL client");
    CHECK_INVALID(enos_authenticate(NULL), "client");
    CHECK_INVALID(enos_report(NULL, "x", 1), "client");
    CHECK_INVALID(enos_publish(NULL, "/sys/a/b/thing/x", "x", 1, &code, out, sizeof out, &len), "client");
    CHECK_INVALID(enos_next_sign(NULL, out, sizeof out, &seq), "client");
    CHECK_INVALID(enos_close(NULL), "client");
    CHECK(code == 7 && len == 7 && seq == 7);
}

static void test_bad_args_on_client(void) {
    enos_config cfg;
    enos_client *c = NULL;
    char out[ENOS_SIGN_SIZE(64)];
    int code = 7;
    size_t len = 7;
    TEST("bad arguments on a live client");
    valid_config(&cfg, "127.0.0.1:9");
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK_INVALID(enos_report(c, NULL, 1), "payload");
    CHECK_INVALID(enos_publish(c, NULL, "x", 1, &code, out, sizeof out, &len), "topic");
    CHECK_INVALID(enos_publish(c, "", "x", 1, &code, out, sizeof out, &len), "topic");
    CHECK_INVALID(enos_publish(c, "sys/no/slash", "x", 1, &code, out, sizeof out, &len), "topic");
    CHECK_INVALID(enos_publish(c, "/sys/a/b/thing/x", NULL, 1, &code, out, sizeof out, &len), "payload");
    CHECK_INVALID(enos_publish(c, "/sys/a/b/thing/x", "x", 1, &code, NULL, 10, &len), "reply");
    CHECK_INVALID(enos_next_sign(c, NULL, 10, NULL), "out");
    memset(out, CANARY, sizeof out);
    CHECK_ERR_MSG(enos_next_sign(c, out, 0, NULL), ENOS_ERR_BUFFER, "out_size");
    CHECK(all_canary(out, 0, sizeof out));
    CHECK_RC(enos_close(c), ENOS_OK);
}

static void test_closed(void) {
    enos_config cfg;
    enos_client *c = NULL, *c2 = NULL;
    char out[ENOS_SIGN_SIZE(64)];
    size_t len;
    TEST("calls after close");
    valid_config(&cfg, "127.0.0.1:9");
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK_RC(enos_close(c), ENOS_OK);
    CHECK_ERR_MSG(enos_close(c), ENOS_ERR_CLOSED, "closed");
    CHECK_ERR_MSG(enos_authenticate(c), ENOS_ERR_CLOSED, "closed");
    CHECK_ERR_MSG(enos_report(c, "x", 1), ENOS_ERR_CLOSED, "closed");
    CHECK_ERR_MSG(enos_publish(c, "/sys/a/b/thing/x", "x", 1, NULL, out, sizeof out, &len), ENOS_ERR_CLOSED, "closed");
    CHECK_ERR_MSG(enos_next_sign(c, out, sizeof out, NULL), ENOS_ERR_CLOSED, "closed");
    /* a new client never gets the old handle */
    CHECK_RC(enos_init(&cfg, &c2), ENOS_OK);
    CHECK(c2 != c);
    CHECK_RC(enos_report(c, "x", 1), ENOS_ERR_CLOSED);
    CHECK_RC(enos_close(c2), ENOS_OK);
    /* something that never was a client */
    c = (enos_client *)(uintptr_t)0xdeadbeefu;
    CHECK_ERR_MSG(enos_report(c, "x", 1), ENOS_ERR_CLOSED, "not a client");
    CHECK_RC(enos_close(c), ENOS_ERR_CLOSED);
}

struct tls_arg {
    int rc;
    char seen[128];
};

static void *tls_thread(void *p) {
    struct tls_arg *a = (struct tls_arg *)p;
    char out[8];
    a->rc = enos_sign(V_SECRET, V_TOKEN, 0, NULL, out, sizeof out);
    snprintf(a->seen, sizeof a->seen, "%s", enos_last_error());
    return NULL;
}

static void test_last_error_thread_local(void) {
    pthread_t t;
    struct tls_arg a;
    char out[8];
    TEST("enos_last_error is thread-local");
    CHECK_RC(enos_auth_sign(V_PK, NULL, V_SECRET, 3600, out, sizeof out), ENOS_ERR_INVALID);
    CHECK(strstr(enos_last_error(), "device_key") != NULL);
    memset(&a, 0, sizeof a);
    CHECK(pthread_create(&t, NULL, tls_thread, &a) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(a.rc == ENOS_ERR_INVALID && strstr(a.seen, "sequence") != NULL);
    /* this thread still sees its own error */
    CHECK(strstr(enos_last_error(), "device_key") != NULL);
    /* a successful call leaves it unchanged */
    {
        char sig[ENOS_AUTH_SIGN_SIZE];
        CHECK_RC(enos_auth_sign(V_PK, V_DK, V_SECRET, 3600, sig, sizeof sig), ENOS_OK);
        CHECK(strstr(enos_last_error(), "device_key") != NULL);
    }
}

/* A loopback UDP port: closed (nothing listens: ICMP port unreachable) or a
 * black hole (bound, never read: no answer at all). */
static int udp_port(int keep_open, int *fd_out) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        return -1;
    }
    if (keep_open) {
        *fd_out = fd;
    } else {
        close(fd);
    }
    return ntohs(a.sin_port);
}

static void test_unreachable(void) {
    enos_config cfg;
    enos_client *c = NULL;
    char server[64];
    int fd = -1, port;
    double t0, dt;
    TEST("closed port: ENOS_ERR_NETWORK");
    port = udp_port(0, NULL);
    CHECK(port > 0);
    snprintf(server, sizeof server, "127.0.0.1:%d", port);
    valid_config(&cfg, server);
    cfg.ack_timeout_ms = 200;
    cfg.max_retransmit = 2; /* window 200 ms * 1.5 * 7 = 2.1 s */
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    t0 = h_now();
    CHECK_RC(enos_report(c, "x", 1), ENOS_ERR_NETWORK);
    dt = h_now() - t0;
    CHECK(dt < 2.1 + 1.0);
    fprintf(stderr, "    closed port failed after %.3f s: %s\n", dt, enos_last_error());
    t0 = h_now();
    CHECK_RC(enos_authenticate(c), ENOS_ERR_NETWORK); /* again: the client does not get stuck */
    CHECK(h_now() - t0 < 2.1 + 1.0);
    CHECK_RC(enos_close(c), ENOS_OK);

    TEST("black hole: ENOS_ERR_TIMEOUT within the window");
    port = udp_port(1, &fd);
    CHECK(port > 0);
    snprintf(server, sizeof server, "127.0.0.1:%d", port);
    valid_config(&cfg, server);
    cfg.ack_timeout_ms = 100;
    cfg.max_retransmit = 2; /* MAX_TRANSMIT_WAIT = 100 ms * 1.5 * (2^3 - 1) = 1.05 s */
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    t0 = h_now();
    CHECK_RC(enos_report(c, "x", 1), ENOS_ERR_TIMEOUT);
    dt = h_now() - t0;
    CHECK(dt >= 0.1);          /* it did wait for an ACK */
    CHECK(dt < 1.05 + 1.0);    /* and no longer than the window (plus scheduling slack) */
    fprintf(stderr, "    black hole failed after %.3f s: %s\n", dt, enos_last_error());

    TEST("black hole, no retransmission");
    CHECK_RC(enos_close(c), ENOS_OK);
    cfg.max_retransmit = ENOS_RETRANSMIT_NONE; /* window 100 ms * 1.5 = 0.15 s */
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    t0 = h_now();
    CHECK_RC(enos_authenticate(c), ENOS_ERR_TIMEOUT);
    dt = h_now() - t0;
    CHECK(dt < 0.15 + 1.0);
    CHECK_RC(enos_close(c), ENOS_OK);
    if (fd >= 0) {
        close(fd);
    }
}

struct blocked_arg {
    enos_client *c;
    int rc;
    double took;
};

static void *blocked_report(void *p) {
    struct blocked_arg *a = (struct blocked_arg *)p;
    double t0 = h_now();
    a->rc = enos_report(a->c, "x", 1);
    a->took = h_now() - t0;
    return NULL;
}

static void test_close_while_blocked(void) {
    enos_config cfg;
    struct blocked_arg a;
    pthread_t t;
    char server[64];
    int fd = -1, port;
    TEST("close while another thread is blocked");
    port = udp_port(1, &fd);
    CHECK(port > 0);
    snprintf(server, sizeof server, "127.0.0.1:%d", port);
    valid_config(&cfg, server);
    cfg.ack_timeout_ms = 1000;
    cfg.max_retransmit = 3; /* window 1 s * 1.5 * 15 = 22.5 s */
    memset(&a, 0, sizeof a);
    CHECK_RC(enos_init(&cfg, &a.c), ENOS_OK);
    CHECK(pthread_create(&t, NULL, blocked_report, &a) == 0);
    {
        struct timespec ts;
        ts.tv_sec = 0;
        ts.tv_nsec = 300L * 1000 * 1000;
        nanosleep(&ts, NULL);
    }
    CHECK_RC(enos_close(a.c), ENOS_OK);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_RC(a.rc, ENOS_ERR_CLOSED);
    CHECK(a.took < 3.0);
    fprintf(stderr, "    blocked report returned %d after %.3f s\n", a.rc, a.took);
    if (fd >= 0) {
        close(fd);
    }
}


/* ---- offline queue, statistics, commands, logging ---------------------- */

static void noop_command(void *user, const char *topic, const uint8_t *payload, size_t len) {
    (void)user; (void)topic; (void)payload; (void)len;
}
static void noop_log(void *user, int level, const char *msg) {
    (void)user; (void)level; (void)msg;
}

static void test_config_v020_fields(void) {
    enos_config cfg;
    enos_client *c = NULL;
    TEST("enos_init queue, command and block fields");
#define BAD_FIELD(field, value, word) do { \
        valid_config(&cfg, "127.0.0.1:9"); cfg.field = (value); c = NULL; \
        CHECK_INVALID(enos_init(&cfg, &c), word); CHECK(c == NULL); \
    } while (0)
    BAD_FIELD(queue_max_count, -1, "queue_max_count");
    BAD_FIELD(queue_max_bytes, -1, "queue_max_bytes");
    BAD_FIELD(retry_interval_ms, -1, "retry_interval_ms");
    BAD_FIELD(poll_interval_ms, -1, "poll_interval_ms");
    BAD_FIELD(poll_interval_ms, 5, "poll_interval_ms");
    BAD_FIELD(command_queue, -1, "command_queue");
    BAD_FIELD(block_size, -2, "block_size");
    BAD_FIELD(block_size, 100, "block_size");
    BAD_FIELD(block_size, 2048, "block_size");
    BAD_FIELD(block_size, 8, "block_size");
#undef BAD_FIELD
    /* every new field set to a valid value */
    valid_config(&cfg, "127.0.0.1:9");
    cfg.queue_max_count = 5;
    cfg.queue_max_bytes = 4096;
    cfg.retry_interval_ms = 10;
    cfg.poll_interval_ms = 10;
    cfg.command_queue = 1;
    cfg.block_size = 16;
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK_RC(enos_close(c), ENOS_OK);
    valid_config(&cfg, "127.0.0.1:9");
    cfg.block_size = ENOS_BLOCK_OFF;
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK_RC(enos_close(c), ENOS_OK);
    /* an older caller whose struct ends at state_dir: garbage beyond is not read */
    valid_config(&cfg, "127.0.0.1:9");
    cfg.struct_size = (uint32_t)(offsetof(enos_config, state_dir) + sizeof cfg.state_dir);
    cfg.queue_max_count = -5;
    cfg.queue_max_bytes = -5;
    cfg.poll_interval_ms = 3;
    cfg.block_size = 77;
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK_RC(enos_close(c), ENOS_OK);
}

static void test_new_functions_bad_args(void) {
    enos_config cfg;
    enos_client *c = NULL;
    enos_stats st = ENOS_STATS_INIT;
    char topic[64], payload[16];
    size_t plen = 7;
    TEST("queue/command/log functions: NULL client");
    CHECK_INVALID(enos_flush(NULL, 0), "client");
    CHECK_INVALID(enos_get_stats(NULL, &st), "client");
    CHECK_INVALID(enos_set_command_handler(NULL, noop_command, NULL), "client");
    CHECK_INVALID(enos_set_command_handler(NULL, NULL, NULL), "client");
    CHECK_INVALID(enos_poll(NULL), "client");
    CHECK_INVALID(enos_next_command(NULL, 0, topic, sizeof topic, payload, sizeof payload, &plen), "client");
    CHECK_INVALID(enos_reply(NULL, "/sys/a/b/thing/model/down_raw", "x", 1), "client");
    CHECK(plen == 7);

    TEST("queue/command/log functions: bad arguments on a live client");
    valid_config(&cfg, "127.0.0.1:9");
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK_INVALID(enos_get_stats(c, NULL), "stats");
    st.struct_size = 0;
    CHECK_INVALID(enos_get_stats(c, &st), "struct_size");
    st.struct_size = 4;
    CHECK_INVALID(enos_get_stats(c, &st), "struct_size");
    st.struct_size = (uint32_t)sizeof st + 8;
    CHECK_INVALID(enos_get_stats(c, &st), "struct_size");
    CHECK_INVALID(enos_next_command(c, 0, NULL, 10, payload, sizeof payload, &plen), "topic");
    CHECK_INVALID(enos_next_command(c, 0, topic, sizeof topic, payload, sizeof payload, NULL), "payload_len");
    CHECK_INVALID(enos_next_command(c, 0, topic, sizeof topic, NULL, 5, &plen), "payload");
    CHECK_INVALID(enos_reply(c, NULL, "x", 1), "command_topic");
    CHECK_INVALID(enos_reply(c, "", "x", 1), "command_topic");
    CHECK_INVALID(enos_reply(c, "sys/a/b/thing/model/down_raw", "x", 1), "command_topic");
    CHECK_INVALID(enos_reply(c, "/sys/a/b/thing/model/down_raw", NULL, 1), "payload");
    CHECK_INVALID(enos_set_log_handler(noop_log, NULL, -1), "level");
    CHECK_INVALID(enos_set_log_handler(noop_log, NULL, 5), "level");
    CHECK_INVALID(enos_set_log_handler(NULL, NULL, 99), "level");
    CHECK_RC(enos_set_log_handler(NULL, NULL, ENOS_LOG_DEBUG), ENOS_OK);
    CHECK_RC(enos_set_log_handler(noop_log, NULL, ENOS_LOG_OFF), ENOS_OK);
    CHECK_RC(enos_set_log_handler(NULL, NULL, ENOS_LOG_OFF), ENOS_OK);

    TEST("queue/command/log functions: valid calls without network");
    /* no state_dir: no queue, flush is immediate */
    CHECK_RC(enos_flush(c, 0), ENOS_OK);
    CHECK_RC(enos_flush(c, -1), ENOS_OK);
    {
        enos_stats full = ENOS_STATS_INIT;
        memset(&full, 0xff, sizeof full);
        full.struct_size = (uint32_t)sizeof full;
        CHECK_RC(enos_get_stats(c, &full), ENOS_OK);
        CHECK(full.struct_size == sizeof full);
        CHECK(full.sent == 0 && full.failed == 0 && full.auths == 0 && full.queued == 0 &&
              full.commands == 0 && full.state_errors == 0 && full.queue_dropped == 0);
        /* an older caller: nothing beyond struct_size is written */
        memset(&full, CANARY, sizeof full);
        full.struct_size = (uint32_t)offsetof(enos_stats, auths);
        CHECK_RC(enos_get_stats(c, &full), ENOS_OK);
        CHECK(full.sent == 0 && full.failed == 0 && full.retransmissions == 0);
        CHECK(all_canary((const char *)&full, offsetof(enos_stats, auths), sizeof full));
    }
    CHECK_RC(enos_set_command_handler(c, noop_command, NULL), ENOS_OK);
    CHECK_RC(enos_set_command_handler(c, NULL, NULL), ENOS_OK);
    CHECK_RC(enos_set_command_handler(c, NULL, NULL), ENOS_OK);
    {
        double t0 = h_now();
        memset(topic, CANARY, sizeof topic);
        CHECK_ERR_MSG(enos_next_command(c, 0, topic, sizeof topic, payload, sizeof payload, &plen), ENOS_ERR_TIMEOUT, "no command");
        CHECK(plen == 0);
        CHECK(all_canary(topic, 0, sizeof topic));
        CHECK_RC(enos_next_command(c, 100, topic, sizeof topic, NULL, 0, &plen), ENOS_ERR_TIMEOUT);
        CHECK(h_now() - t0 >= 0.09 && h_now() - t0 < 2.0);
    }
    CHECK_RC(enos_close(c), ENOS_OK);

    TEST("queue/command/log functions after close");
    CHECK_ERR_MSG(enos_flush(c, 0), ENOS_ERR_CLOSED, "closed");
    st.struct_size = (uint32_t)sizeof st;
    CHECK_ERR_MSG(enos_get_stats(c, &st), ENOS_ERR_CLOSED, "closed");
    CHECK_ERR_MSG(enos_set_command_handler(c, noop_command, NULL), ENOS_ERR_CLOSED, "closed");
    CHECK_ERR_MSG(enos_set_command_handler(c, NULL, NULL), ENOS_ERR_CLOSED, "closed");
    CHECK_ERR_MSG(enos_poll(c), ENOS_ERR_CLOSED, "closed");
    CHECK_ERR_MSG(enos_next_command(c, 0, topic, sizeof topic, payload, sizeof payload, &plen), ENOS_ERR_CLOSED, "closed");
    CHECK_ERR_MSG(enos_reply(c, "/sys/a/b/thing/model/down_raw", "x", 1), ENOS_ERR_CLOSED, "closed");
}

struct waiter {
    enos_client *c;
    int which; /* 0: next_command, 1: flush */
    int rc;
    double took;
};

static void *wait_forever(void *p) {
    struct waiter *w = (struct waiter *)p;
    char topic[64];
    size_t plen;
    double t0 = h_now();
    if (w->which == 0) {
        w->rc = enos_next_command(w->c, -1, topic, sizeof topic, NULL, 0, &plen);
    } else {
        w->rc = enos_flush(w->c, -1);
    }
    w->took = h_now() - t0;
    return NULL;
}

static void test_close_ends_unlimited_waits(void) {
    enos_config cfg;
    char server[64], dir[] = "/tmp/enos-test-XXXXXX";
    struct waiter w[2];
    pthread_t th[2];
    enos_client *c = NULL;
    enos_stats st = ENOS_STATS_INIT;
    int i, port;
    TEST("enos_close ends enos_next_command(-1) and enos_flush(-1)");
    CHECK(mkdtemp(dir) != NULL);
    port = udp_port(0, NULL);
    snprintf(server, sizeof server, "127.0.0.1:%d", port);
    valid_config(&cfg, server);
    cfg.state_dir = dir;
    cfg.ack_timeout_ms = 20;
    cfg.max_retransmit = 1;
    cfg.retry_interval_ms = 50;
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK_RC(enos_report(c, "queued", 6), ENOS_QUEUED);
    CHECK_RC(enos_get_stats(c, &st), ENOS_OK);
    CHECK(st.queued == 1 && st.queued_total == 1 && st.queued_bytes > 0);
    CHECK_ERR_MSG(enos_flush(c, 0), ENOS_ERR_TIMEOUT, "queued");
    for (i = 0; i < 2; i++) {
        w[i].c = c;
        w[i].which = i;
        w[i].rc = 12345;
        CHECK(pthread_create(&th[i], NULL, wait_forever, &w[i]) == 0);
    }
    h_sleep_ms(300);
    CHECK_RC(enos_close(c), ENOS_OK);
    for (i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        CHECK_RC(w[i].rc, ENOS_ERR_CLOSED);
        CHECK(w[i].took < 3.0);
    }
    /* the queued report stays on disk for the next client on this directory */
    c = NULL;
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    st.struct_size = (uint32_t)sizeof st;
    CHECK_RC(enos_get_stats(c, &st), ENOS_OK);
    CHECK(st.queued == 1);
    CHECK_RC(enos_close(c), ENOS_OK);
    {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
    }
}

/* A payload that can never be delivered is ENOS_ERR_INVALID before anything
 * is sent, authenticated or queued; a huge len with a small buffer is only
 * compared, never copied (it used to crash the process in the queue). */
static void test_oversized_reports(void) {
    enos_config cfg;
    char server[64], dir[] = "/tmp/enos-test-XXXXXX";
    enos_client *c = NULL;
    enos_stats st = ENOS_STATS_INIT;
    static char big[ENOS_MAX_PAYLOAD + 1];
    char small[16] = "tiny";
    int port;
    TEST("oversized reports: ENOS_ERR_INVALID, nothing queued, no crash");
    CHECK(mkdtemp(dir) != NULL);
    port = udp_port(0, NULL);
    snprintf(server, sizeof server, "127.0.0.1:%d", port);
    valid_config(&cfg, server);
    cfg.state_dir = dir;
    cfg.ack_timeout_ms = 20;
    cfg.max_retransmit = 1;
    cfg.retry_interval_ms = 50;
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK_INVALID(enos_report(c, small, (size_t)1 << 30), "maximum");
    CHECK_INVALID(enos_report(c, big, sizeof big), "65536");
    CHECK_RC(enos_get_stats(c, &st), ENOS_OK);
    CHECK(st.auths == 0 && st.queued_total == 0);
    CHECK_RC(enos_report(c, small, 4), ENOS_QUEUED);
    /* behind a queued report too */
    CHECK_INVALID(enos_report(c, small, (size_t)1 << 30), "maximum");
    CHECK_INVALID(enos_report(c, big, sizeof big), "maximum");
    CHECK_RC(enos_get_stats(c, &st), ENOS_OK);
    CHECK(st.queued_total == 1);
    CHECK_RC(enos_close(c), ENOS_OK);

    TEST("block-wise off: a payload above one datagram is ENOS_ERR_INVALID");
    cfg.block_size = -1;
    c = NULL;
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK_INVALID(enos_report(c, big, 2000), "one datagram");
    CHECK_RC(enos_get_stats(c, &st), ENOS_OK);
    CHECK(st.queued == 1); /* the one from before, nothing new */
    CHECK_RC(enos_close(c), ENOS_OK);
    {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
    }
}

/* ack_timeout_ms and max_retransmit are each in range, but their window
 * (60 s * 1.5 * 2047, about 51 hours) is not: refused at init, naming the field. */
static void test_window_bound(void) {
    enos_config cfg;
    enos_client *c = NULL;
    TEST("retransmission window above 2 hours: ENOS_ERR_INVALID");
    valid_config(&cfg, "127.0.0.1");
    cfg.ack_timeout_ms = 60000;
    cfg.max_retransmit = 10;
    CHECK_INVALID(enos_init(&cfg, &c), "config->max_retransmit");
    CHECK(c == NULL);
    cfg.max_retransmit = 5; /* 60 s * 1.5 * 63 = 94.5 min */
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK_RC(enos_close(c), ENOS_OK);
}

/* Reports racing enos_close() with a state_dir (reports going into the
 * offline queue) return ENOS_ERR_CLOSED, never ENOS_ERR_STATE. */
struct racer {
    enos_client *c;
    int rc;
    volatile int started;
};

static void *race_reports(void *p) {
    struct racer *r = (struct racer *)p;
    for (;;) {
        int rc = enos_report(r->c, "r", 1);
        r->started = 1;
        if (rc != ENOS_QUEUED) {
            r->rc = rc;
            return NULL;
        }
    }
}

static void test_reports_racing_close(void) {
    enos_config cfg;
    char server[64], dir[] = "/tmp/enos-test-XXXXXX";
    struct racer r[4];
    pthread_t th[4];
    enos_client *c = NULL;
    int i, round, fd = -1, port;
    char cmd[128];
    TEST("reports racing enos_close: ENOS_ERR_CLOSED, not ENOS_ERR_STATE");
    CHECK(mkdtemp(dir) != NULL);
    port = udp_port(1, &fd); /* a black hole: every report is queued */
    snprintf(server, sizeof server, "127.0.0.1:%d", port);
    for (round = 0; round < 5; round++) {
        valid_config(&cfg, server);
        cfg.state_dir = dir;
        cfg.ack_timeout_ms = 10;
        cfg.max_retransmit = -1;
        c = NULL;
        CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
        CHECK_RC(enos_report(c, "q", 1), ENOS_QUEUED);
        for (i = 0; i < 4; i++) {
            r[i].c = c;
            r[i].rc = 12345;
            r[i].started = 0;
            CHECK(pthread_create(&th[i], NULL, race_reports, &r[i]) == 0);
        }
        for (i = 0; i < 4; i++) {
            while (!r[i].started) {
                h_sleep_ms(1);
            }
        }
        CHECK_RC(enos_close(c), ENOS_OK);
        for (i = 0; i < 4; i++) {
            pthread_join(th[i], NULL);
            CHECK_RC(r[i].rc, ENOS_ERR_CLOSED);
        }
    }
    if (fd >= 0) {
        close(fd);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

int main(void) {
    test_version();
    test_strerror();
    test_sign_vectors();
    test_sign_size_macro();
    test_auth_sign_vectors();
    test_sign_invalid();
    test_auth_sign_invalid();
    test_buffers();
    test_init_invalid();
    test_init_struct_size();
    test_null_client();
    test_bad_args_on_client();
    test_closed();
    test_last_error_thread_local();
    test_unreachable();
    test_close_while_blocked();
    test_config_v020_fields();
    test_new_functions_bad_args();
    test_close_ends_unlimited_waits();
    test_oversized_reports();
    test_window_bound();
    test_reports_racing_close();
    return h_finish();
}
