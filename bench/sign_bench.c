/* SPDX-License-Identifier: Apache-2.0 */

/* bench/sign_bench.c: enos_sign() through the C ABI against the same option-2101
 * signature computed directly with OpenSSL EVP, interleaved in one process.
 *
 *   openssl-fair   : per call SHA-256(secret) -> key, AES-128-CBC key setup, encrypt, hex
 *                    (what enos_sign does: it is stateless). EVP_MD / EVP_CIPHER are fetched
 *                    once and the EVP contexts are reused: the fastest honest use of EVP.
 *   openssl-cached : key schedule computed once; per call only IV reset + encrypt + hex
 *                    (reference: what a stateful client does, like libenos's core Signer).
 *
 * Usage: sign_bench [rounds] [iters-per-round]
 * Output: one "key value" line per result (parsed by bench/run.sh).
 */
#include "common.h"
#include <openssl/evp.h>
#include <enos.h>

static const char *SECRET = "sMgTXBUvDNeWGAJWnDcT";
static const char *TOKEN = "8GjM3fXkD2oQ";
static const unsigned char IV[16] = {'5','4','3','y','h','j','y','9','7','a','e','7','f','y','f','g'};

static EVP_MD *md;
static EVP_CIPHER *aes;
static EVP_MD_CTX *mctx;
static EVP_CIPHER_CTX *cfair, *ccached;

static size_t plaintext(unsigned char *p, const char *token, uint32_t seq) {
    size_t n = 0, tl = strlen(token);
    char d[12];
    int dl = 0;
    memcpy(p, "token", 5); n = 5;
    memcpy(p + n, token, tl); n += tl;
    memcpy(p + n, "sequence", 8); n += 8;
    do { d[dl++] = (char)('0' + seq % 10); seq /= 10; } while (seq);
    while (dl) p[n++] = (unsigned char)d[--dl];
    return n;
}

static void hex_upper(char *out, const unsigned char *b, int n) {
    static const char h[] = "0123456789ABCDEF";
    for (int i = 0; i < n; i++) { out[2*i] = h[b[i] >> 4]; out[2*i+1] = h[b[i] & 15]; }
    out[2*n] = 0;
}

static int encrypt_hex(EVP_CIPHER_CTX *c, const char *token, uint32_t seq, char *out) {
    unsigned char pt[300], ct[320];
    int l1 = 0, l2 = 0;
    size_t n = plaintext(pt, token, seq);
    if (!EVP_EncryptUpdate(c, ct, &l1, pt, (int)n) || !EVP_EncryptFinal_ex(c, ct + l1, &l2)) return -1;
    hex_upper(out, ct, l1 + l2);
    return 0;
}

static int ossl_fair(const char *secret, const char *token, uint32_t seq, const unsigned char *iv, char *out) {
    unsigned char d[32];
    unsigned int dl;
    if (!EVP_DigestInit_ex2(mctx, md, NULL) || !EVP_DigestUpdate(mctx, secret, strlen(secret)) ||
        !EVP_DigestFinal_ex(mctx, d, &dl)) return -1;
    if (!EVP_EncryptInit_ex2(cfair, aes, d + 8, iv, NULL)) return -1;
    return encrypt_hex(cfair, token, seq, out);
}

static int ossl_cached(const char *token, uint32_t seq, const unsigned char *iv, char *out) {
    if (!EVP_EncryptInit_ex2(ccached, NULL, NULL, iv, NULL)) return -1; /* keep key schedule, reset IV */
    return encrypt_hex(ccached, token, seq, out);
}

#define NV 3
static const char *names[NV] = {"enos_sign", "openssl_fair", "openssl_cached"};

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 30;
    int iters = argc > 2 ? atoi(argv[2]) : 50000;
    char a[256], b[256], c[256];
    unsigned char d[32];
    unsigned int dl;

    md = EVP_MD_fetch(NULL, "SHA256", NULL);
    aes = EVP_CIPHER_fetch(NULL, "AES-128-CBC", NULL);
    mctx = EVP_MD_CTX_new();
    cfair = EVP_CIPHER_CTX_new();
    ccached = EVP_CIPHER_CTX_new();
    if (!md || !aes || !mctx || !cfair || !ccached) { fprintf(stderr, "openssl setup failed\n"); return 1; }
    EVP_Digest(SECRET, strlen(SECRET), d, &dl, md, NULL);
    if (!EVP_EncryptInit_ex2(ccached, aes, d + 8, IV, NULL)) return 1;

    /* 1. identical output (docs/protocol.md test vectors + random sequences) */
    const char *want1 = "A3A7B1325BCE9F925F54E6D8134AA3EB3F57D08BE168FA28B47327C8C9F13C23";
    uint32_t seqs[] = {1, 2, 9, 10, 99, 1000000, 2147483647};
    for (size_t i = 0; i < sizeof seqs / sizeof *seqs; i++) {
        int rc = enos_sign(SECRET, TOKEN, seqs[i], NULL, a, sizeof a);
        if (rc != ENOS_OK) { fprintf(stderr, "enos_sign: %s\n", enos_last_error()); return 1; }
        if (ossl_fair(SECRET, TOKEN, seqs[i], IV, b) || ossl_cached(TOKEN, seqs[i], IV, c)) return 1;
        if (strcmp(a, b) || strcmp(a, c)) {
            fprintf(stderr, "MISMATCH seq %u:\n enos    %s\n openssl %s\n cached  %s\n", seqs[i], a, b, c);
            return 1;
        }
        if (seqs[i] == 1 && strcmp(a, want1)) { fprintf(stderr, "test vector mismatch: %s\n", a); return 1; }
    }
    printf("sign_identical yes (%zu sequences incl. docs/protocol.md vectors)\n", sizeof seqs / sizeof *seqs);

    /* 2. interleaved timing: each round runs every variant, order rotated */
    double *ns[NV];
    for (int v = 0; v < NV; v++) ns[v] = calloc((size_t)rounds, sizeof(double));
    uint32_t seq = 1;
    volatile int sink = 0;
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < NV; k++) {
            int v = (r + k) % NV;
            uint64_t t0 = now_ns();
            for (int i = 0; i < iters; i++, seq = seq % 2000000000u + 1) {
                switch (v) {
                case 0: sink += enos_sign(SECRET, TOKEN, seq, NULL, a, sizeof a); break;
                case 1: sink += ossl_fair(SECRET, TOKEN, seq, IV, a); break;
                case 2: sink += ossl_cached(TOKEN, seq, IV, a); break;
                }
            }
            ns[v][r] = (double)(now_ns() - t0) / iters;
        }
    }
    double med[NV];
    for (int v = 0; v < NV; v++) {
        /* median over rounds */
        for (int i = 0; i < rounds; i++)
            for (int j = i + 1; j < rounds; j++)
                if (ns[v][j] < ns[v][i]) { double t = ns[v][i]; ns[v][i] = ns[v][j]; ns[v][j] = t; }
        med[v] = ns[v][rounds / 2];
        printf("sign_ns_%s %.1f\n", names[v], med[v]);
    }
    printf("sign_ratio_openssl_fair_over_enos %.2f\n", med[1] / med[0]);
    printf("sign_ratio_openssl_cached_over_enos %.2f\n", med[2] / med[0]);
    printf("sign_rounds %d\nsign_iters %d\n", rounds, iters);
    return sink == 12345 ? 2 : 0;
}
