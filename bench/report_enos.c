/* SPDX-License-Identifier: Apache-2.0 */

/* bench/report_enos.c: sequential enos_report() round trips through the C ABI.
 * Usage: report_enos HOST:PORT PK DK SECRET N [WARMUP]
 * Prints "key value" lines: enos_msgs_per_s, enos_p50_us, enos_p99_us, ... */
#include "common.h"
#include <enos.h>

int main(int argc, char **argv) {
    if (argc < 6) { fprintf(stderr, "usage: %s HOST:PORT PK DK SECRET N [WARMUP]\n", argv[0]); return 2; }
    int n = atoi(argv[5]), warm = argc > 6 ? atoi(argv[6]) : 200;
    enos_config cfg = ENOS_CONFIG_INIT;
    enos_client *c = NULL;
    cfg.server = argv[1]; cfg.product_key = argv[2]; cfg.device_key = argv[3]; cfg.device_secret = argv[4];
    if (enos_init(&cfg, &c) != ENOS_OK) { fprintf(stderr, "enos_init: %s\n", enos_last_error()); return 1; }
    if (enos_authenticate(c) != ENOS_OK) { fprintf(stderr, "enos_authenticate: %s\n", enos_last_error()); return 1; }
    unsigned char payload[16];
    memset(payload, 0xA5, sizeof payload);
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
    print_round_trips("enos", lat, n, secs, cpu_ns() - c0);
    enos_close(c);
    return 0;
}
