/* SPDX-License-Identifier: Apache-2.0 */

/* bench/report_enos_dtls.c: libenos over DTLS through the C ABI, measuring
 * what bench/report_coap_dtls.c measures for libcoap.
 * Usage: report_enos_dtls HOST:PORT PK DK SECRET N [WARMUP]
 * Prints "key value" lines: enosdtls_handshake_us (enos_init to the end of
 * enos_authenticate, i.e. the DTLS handshake), enosdtls_first_report_us
 * (enos_init to the first report's acknowledgement, handshake included), then
 * the round-trip keys of print_round_trips (enosdtls_msgs_per_s, ...), and
 * enosdtls_handshake2_us: the handshake of a second client in the same process. */
#include "common.h"
#include <enos.h>

int main(int argc, char **argv) {
    if (argc < 6) { fprintf(stderr, "usage: %s HOST:PORT PK DK SECRET N [WARMUP]\n", argv[0]); return 2; }
    int n = atoi(argv[5]), warm = argc > 6 ? atoi(argv[6]) : 200;
    enos_config cfg = ENOS_CONFIG_INIT;
    enos_client *c = NULL;
    cfg.server = argv[1]; cfg.product_key = argv[2]; cfg.device_key = argv[3]; cfg.device_secret = argv[4];
    cfg.security = ENOS_SECURITY_DTLS;
    unsigned char payload[16];
    memset(payload, 0xA5, sizeof payload);

    uint64_t s0 = now_ns();
    if (enos_init(&cfg, &c) != ENOS_OK) { fprintf(stderr, "enos_init: %s\n", enos_last_error()); return 1; }
    if (enos_authenticate(c) != ENOS_OK) { fprintf(stderr, "enos_authenticate: %s\n", enos_last_error()); return 1; }
    uint64_t hs = now_ns() - s0;
    if (enos_report(c, payload, sizeof payload) != ENOS_OK) { fprintf(stderr, "first report: %s\n", enos_last_error()); return 1; }
    uint64_t first = now_ns() - s0;
    printf("enosdtls_handshake_us %.1f\nenosdtls_first_report_us %.1f\n", hs / 1e3, first / 1e3);

    uint64_t *lat = calloc((size_t)n, sizeof *lat);
    for (int i = 0; i < warm; i++)
        if (enos_report(c, payload, sizeof payload) != ENOS_OK) { fprintf(stderr, "warmup: %s\n", enos_last_error()); return 1; }
    uint64_t t0 = now_ns(), c0 = cpu_ns();
    for (int i = 0; i < n; i++) {
        uint64_t a = now_ns();
        payload[0] = (unsigned char)i;
        int rc = enos_report(c, payload, sizeof payload);
        if (rc != ENOS_OK) { fprintf(stderr, "enos_report #%d: %s: %s\n", i, enos_strerror(rc), enos_last_error()); return 1; }
        lat[i] = now_ns() - a;
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    print_round_trips("enosdtls", lat, n, secs, cpu_ns() - c0);
    enos_close(c);
    /* A second client in the same process: the handshake without the Go
     * runtime's and the library's first-use costs. */
    s0 = now_ns();
    if (enos_init(&cfg, &c) != ENOS_OK || enos_authenticate(c) != ENOS_OK) { fprintf(stderr, "second handshake: %s\n", enos_last_error()); return 1; }
    printf("enosdtls_handshake2_us %.1f\n", (now_ns() - s0) / 1e3);
    enos_close(c);
    return 0;
}
