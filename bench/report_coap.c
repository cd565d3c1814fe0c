/* SPDX-License-Identifier: Apache-2.0 */

/* bench/report_coap.c: the C client a user would write instead of using libenos:
 * libcoap 3 (UDP, no DTLS) + OpenSSL. It authenticates (POST /auth/{pk}/{dk},
 * JSON, parses the token) and sends the same signed CON POSTs (option 2101,
 * AES-128-CBC key cached once per session, the natural choice in C) to up_raw.
 * Usage: report_coap HOST PORT PK DK SECRET N [WARMUP]
 * Prints "key value" lines: coap_msgs_per_s, coap_p50_us, coap_p99_us, ... */
#include "common.h"
#include <arpa/inet.h>
#include <syslog.h>
#include <coap3/coap.h>
#include <openssl/evp.h>

#define OPT_SIGN 2101
static const unsigned char IV[16] = {'5','4','3','y','h','j','y','9','7','a','e','7','f','y','f','g'};

static int done;
static coap_pdu_code_t got_code;
static char got_data[512];
static size_t got_len;
static uint8_t want_tok[8];
static size_t want_tok_len;

static coap_response_t on_response(coap_session_t *s, const coap_pdu_t *sent, const coap_pdu_t *rcvd,
                                   const coap_mid_t mid) {
    (void)s; (void)sent; (void)mid;
    coap_bin_const_t t = coap_pdu_get_token(rcvd);
    if (t.length != want_tok_len || memcmp(t.s, want_tok, t.length) != 0) return COAP_RESPONSE_OK;
    size_t len = 0;
    const uint8_t *data = NULL;
    got_code = coap_pdu_get_code(rcvd);
    got_len = 0;
    if (coap_get_data(rcvd, &len, &data) && len < sizeof got_data) { memcpy(got_data, data, len); got_len = len; }
    got_data[got_len] = 0;
    done = 1;
    return COAP_RESPONSE_OK;
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

/* One CON request; waits for the response. Returns the CoAP code or -1. */
static int request(coap_context_t *ctx, coap_session_t *sess, const char *path, int cf,
                   const char *sign, const void *payload, size_t len) {
    coap_pdu_t *pdu = coap_new_pdu(COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST, sess);
    if (!pdu) return -1;
    coap_session_new_token(sess, &want_tok_len, want_tok);
    coap_add_token(pdu, want_tok_len, want_tok);
    add_path(pdu, path);
    if (cf >= 0) {
        uint8_t b[4];
        coap_add_option(pdu, COAP_OPTION_CONTENT_FORMAT, coap_encode_var_safe(b, sizeof b, (unsigned)cf), b);
    }
    if (sign) coap_add_option(pdu, OPT_SIGN, strlen(sign), (const uint8_t *)sign);
    if (len) coap_add_data(pdu, len, payload);
    done = 0;
    if (coap_send(sess, pdu) == COAP_INVALID_MID) return -1;
    uint64_t deadline = now_ns() + 95000000000ull; /* RFC 7252 MAX_TRANSMIT_WAIT */
    while (!done && now_ns() < deadline) coap_io_process(ctx, 1000);
    return done ? (int)got_code : -1;
}

static void hex_upper(char *out, const unsigned char *b, size_t n) {
    static const char h[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) { out[2*i] = h[b[i] >> 4]; out[2*i+1] = h[b[i] & 15]; }
    out[2*n] = 0;
}

int main(int argc, char **argv) {
    if (argc < 7) { fprintf(stderr, "usage: %s HOST PORT PK DK SECRET N [WARMUP]\n", argv[0]); return 2; }
    const char *pk = argv[3], *dk = argv[4], *secret = argv[5];
    int n = atoi(argv[6]), warm = argc > 7 ? atoi(argv[7]) : 200;
    coap_startup();
    coap_set_log_level(LOG_ERR);
    coap_address_t dst;
    coap_address_init(&dst);
    dst.addr.sin.sin_family = AF_INET;
    dst.addr.sin.sin_port = htons((uint16_t)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &dst.addr.sin.sin_addr) != 1) { fprintf(stderr, "bad IPv4 %s\n", argv[1]); return 2; }
    dst.size = sizeof(struct sockaddr_in);
    coap_context_t *ctx = coap_new_context(NULL);
    coap_session_t *sess = ctx ? coap_new_client_session(ctx, NULL, &dst, COAP_PROTO_UDP) : NULL;
    if (!sess) { fprintf(stderr, "libcoap session failed\n"); return 1; }
    coap_register_response_handler(ctx, on_response);

    /* auth: sign = upper hex SHA-256("deviceKey{dk}lifetime{l}productKey{pk}secureMode2{secret}") */
    char buf[1024], sig[256], path[512];
    unsigned char d[32];
    unsigned int dl;
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    int l = snprintf(buf, sizeof buf, "deviceKey%slifetime3600productKey%ssecureMode2%s", dk, pk, secret);
    EVP_Digest(buf, (size_t)l, d, &dl, md, NULL);
    hex_upper(sig, d, 32);
    l = snprintf(buf, sizeof buf, "{\"secureMode\":2,\"lifetime\":3600,\"sign\":\"%s\"}", sig);
    snprintf(path, sizeof path, "/auth/%s/%s", pk, dk);
    int code = request(ctx, sess, path, 50, NULL, buf, (size_t)l);
    if (code != COAP_RESPONSE_CODE(205) && (code >> 5) != 2) { fprintf(stderr, "auth failed: code %d %s\n", code, got_data); return 1; }
    char token[256] = "";
    const char *t = strstr(got_data, "\"token\"");
    if (t && (t = strchr(t + 7, '"')) != NULL) {
        const char *e = strchr(++t, '"');
        if (e && (size_t)(e - t) < sizeof token) { memcpy(token, t, (size_t)(e - t)); token[e - t] = 0; }
    }
    if (!token[0]) { fprintf(stderr, "no token in %s\n", got_data); return 1; }

    /* signing key: SHA-256(secret)[8:24], schedule kept for the session */
    EVP_Digest(secret, strlen(secret), d, &dl, md, NULL);
    EVP_CIPHER *aes = EVP_CIPHER_fetch(NULL, "AES-128-CBC", NULL);
    EVP_CIPHER_CTX *cctx = EVP_CIPHER_CTX_new();
    EVP_EncryptInit_ex2(cctx, aes, d + 8, IV, NULL);
    snprintf(path, sizeof path, "/topic/sys/%s/%s/thing/model/up_raw", pk, dk);

    unsigned char payload[16];
    memset(payload, 0xA5, sizeof payload);
    uint64_t *lat = calloc((size_t)n, sizeof *lat);
    uint32_t seq = 0;
    uint64_t t0 = 0, c0 = 0;
    for (int i = -warm; i < n; i++) {
        if (i == 0) { t0 = now_ns(); c0 = cpu_ns(); }
        uint64_t a = now_ns();
        unsigned char pt[300], ct[320];
        int l1 = 0, l2 = 0;
        int pl = snprintf((char *)pt, sizeof pt, "token%ssequence%u", token, ++seq);
        EVP_EncryptInit_ex2(cctx, NULL, NULL, IV, NULL);
        EVP_EncryptUpdate(cctx, ct, &l1, pt, pl);
        EVP_EncryptFinal_ex(cctx, ct + l1, &l2);
        hex_upper(sig, ct, (size_t)(l1 + l2));
        payload[0] = (unsigned char)i;
        code = request(ctx, sess, path, -1, sig, payload, sizeof payload);
        if ((code >> 5) != 2) { fprintf(stderr, "report #%d: code %d.%02d %s\n", i, code >> 5, code & 31, got_data); return 1; }
        if (i >= 0) lat[i] = now_ns() - a;
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    print_round_trips("coap", lat, n, secs, cpu_ns() - c0);
    coap_session_release(sess);
    coap_free_context(ctx);
    coap_cleanup();
    return 0;
}
