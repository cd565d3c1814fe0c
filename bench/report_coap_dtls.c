/* SPDX-License-Identifier: Apache-2.0 */

/* bench/report_coap_dtls.c: the C client a user would write instead of using
 * libenos over DTLS: libcoap 3's library with OpenSSL's DTLS 1.2, PSK identity
 * "{pk},{dk},2,3600" and key SHA-256(secret)[8:24] (raw bytes), the same CON
 * POSTs to up_raw as bench/report_coap.c but without /auth and option 2101
 * (the handshake authenticates).
 * Usage: report_coap_dtls HOST PORT PK DK SECRET N [WARMUP]
 * Prints "key value" lines: coapdtls_handshake_us (session creation to
 * COAP_EVENT_DTLS_CONNECTED), coapdtls_first_report_us (session creation to
 * the first report's 2.xx, handshake included), then the round-trip keys of
 * print_round_trips (coapdtls_msgs_per_s, coapdtls_cpu_us_per_msg, ...), and
 * coapdtls_handshake2_us: the handshake of a second session in the same process. */
#include "common.h"
#include <arpa/inet.h>
#include <syslog.h>
#include <coap3/coap.h>
#include <openssl/evp.h>

static int done, connected, failed;
static coap_pdu_code_t got_code;
static uint8_t want_tok[8];
static size_t want_tok_len;

static coap_response_t on_response(coap_session_t *s, const coap_pdu_t *sent, const coap_pdu_t *rcvd,
                                   const coap_mid_t mid) {
    (void)s; (void)sent; (void)mid;
    coap_bin_const_t t = coap_pdu_get_token(rcvd);
    if (t.length != want_tok_len || memcmp(t.s, want_tok, t.length) != 0) return COAP_RESPONSE_OK;
    got_code = coap_pdu_get_code(rcvd);
    done = 1;
    return COAP_RESPONSE_OK;
}

static int on_event(coap_session_t *s, const coap_event_t ev) {
    (void)s;
    if (ev == COAP_EVENT_DTLS_CONNECTED) connected = 1;
    if (ev == COAP_EVENT_DTLS_ERROR || ev == COAP_EVENT_DTLS_CLOSED) failed = 1;
    return 0;
}

static void add_path(coap_pdu_t *pdu, const char *path) {
    const char *p = path;
    while (*p == '/') p++;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        coap_add_option(pdu, COAP_OPTION_URI_PATH, l, (const uint8_t *)p);
        p += l;
        while (*p == '/') p++;
    }
}

/* One CON POST; waits for the response. Returns the CoAP code or -1. */
static int post(coap_context_t *ctx, coap_session_t *sess, const char *path, const void *payload, size_t len) {
    coap_pdu_t *pdu = coap_new_pdu(COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST, sess);
    if (!pdu) return -1;
    coap_session_new_token(sess, &want_tok_len, want_tok);
    coap_add_token(pdu, want_tok_len, want_tok);
    add_path(pdu, path);
    coap_add_data(pdu, len, payload);
    done = 0;
    if (coap_send(sess, pdu) == COAP_INVALID_MID) return -1;
    uint64_t deadline = now_ns() + 95000000000ull; /* RFC 7252 MAX_TRANSMIT_WAIT */
    while (!done && !failed && now_ns() < deadline) coap_io_process(ctx, 1000);
    return done ? (int)got_code : -1;
}

int main(int argc, char **argv) {
    if (argc < 7) { fprintf(stderr, "usage: %s HOST PORT PK DK SECRET N [WARMUP]\n", argv[0]); return 2; }
    const char *pk = argv[3], *dk = argv[4], *secret = argv[5];
    int n = atoi(argv[6]), warm = argc > 7 ? atoi(argv[7]) : 200;
    coap_startup();
    coap_set_log_level(LOG_ERR);
    coap_dtls_set_log_level(LOG_ERR);
    if (!coap_dtls_is_supported()) { fprintf(stderr, "this libcoap has no DTLS\n"); return 1; }
    coap_address_t dst;
    coap_address_init(&dst);
    dst.addr.sin.sin_family = AF_INET;
    dst.addr.sin.sin_port = htons((uint16_t)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &dst.addr.sin.sin_addr) != 1) { fprintf(stderr, "bad IPv4 %s\n", argv[1]); return 2; }
    dst.size = sizeof(struct sockaddr_in);

    /* PSK: identity "{pk},{dk},2,3600", key = SHA-256(secret)[8:24] */
    char identity[512], path[512];
    unsigned char d[32];
    unsigned int dl;
    snprintf(identity, sizeof identity, "%s,%s,2,3600", pk, dk);
    EVP_Digest(secret, strlen(secret), d, &dl, EVP_sha256(), NULL);
    coap_dtls_cpsk_t psk;
    memset(&psk, 0, sizeof psk);
    psk.version = COAP_DTLS_CPSK_SETUP_VERSION;
    psk.psk_info.identity.s = (const uint8_t *)identity;
    psk.psk_info.identity.length = strlen(identity);
    psk.psk_info.key.s = d + 8;
    psk.psk_info.key.length = 16;

    coap_context_t *ctx = coap_new_context(NULL);
    if (!ctx) { fprintf(stderr, "libcoap context failed\n"); return 1; }
    coap_register_response_handler(ctx, on_response);
    coap_register_event_handler(ctx, on_event);
    snprintf(path, sizeof path, "/topic/sys/%s/%s/thing/model/up_raw", pk, dk);
    unsigned char payload[16];
    memset(payload, 0xA5, sizeof payload);

    /* Handshake and first report, from session creation. */
    uint64_t s0 = now_ns();
    coap_session_t *sess = coap_new_client_session_psk2(ctx, NULL, &dst, COAP_PROTO_DTLS, &psk);
    if (!sess) { fprintf(stderr, "libcoap DTLS session failed\n"); return 1; }
    uint64_t deadline = s0 + 95000000000ull;
    while (!connected && !failed && now_ns() < deadline) coap_io_process(ctx, 1000);
    if (!connected) { fprintf(stderr, "DTLS handshake failed\n"); return 1; }
    uint64_t hs = now_ns() - s0;
    int code = post(ctx, sess, path, payload, sizeof payload);
    if ((code >> 5) != 2) { fprintf(stderr, "first report: code %d\n", code); return 1; }
    uint64_t first = now_ns() - s0;
    printf("coapdtls_handshake_us %.1f\ncoapdtls_first_report_us %.1f\n", hs / 1e3, first / 1e3);

    uint64_t *lat = calloc((size_t)n, sizeof *lat);
    uint64_t t0 = 0, c0 = 0;
    for (int i = -warm; i < n; i++) {
        if (i == 0) { t0 = now_ns(); c0 = cpu_ns(); }
        uint64_t a = now_ns();
        payload[0] = (unsigned char)i;
        code = post(ctx, sess, path, payload, sizeof payload);
        if ((code >> 5) != 2) { fprintf(stderr, "report #%d: code %d\n", i, code); return 1; }
        if (i >= 0) lat[i] = now_ns() - a;
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    print_round_trips("coapdtls", lat, n, secs, cpu_ns() - c0);
    coap_session_release(sess);
    /* A second session in the same process, as report_enos_dtls does. */
    connected = failed = 0;
    s0 = now_ns();
    sess = coap_new_client_session_psk2(ctx, NULL, &dst, COAP_PROTO_DTLS, &psk);
    deadline = s0 + 95000000000ull;
    while (sess && !connected && !failed && now_ns() < deadline) coap_io_process(ctx, 1000);
    if (!connected) { fprintf(stderr, "second DTLS handshake failed\n"); return 1; }
    printf("coapdtls_handshake2_us %.1f\n", (now_ns() - s0) / 1e3);
    coap_session_release(sess);
    coap_free_context(ctx);
    coap_cleanup();
    return 0;
}
