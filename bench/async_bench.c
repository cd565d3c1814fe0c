/* SPDX-License-Identifier: Apache-2.0 */

/* bench/async_bench.c: N libenos clients (one device each) driven by ONE C
 * thread with enos_report_async: ROUNDS rounds, every client reports once per
 * round, back to back (the next round is submitted while the last completes;
 * a client's reports stay in order). ENOS_ERR_BUSY (too many outstanding) is
 * met with a 100 µs pause. Latency is from enos_report_async to the callback.
 *
 *   async_bench run HOST:PORT N ROUNDS
 *
 * Devices as scale_bench's (scale_bench gen). Prints "key value" lines (prefix async_). */
#include "common.h"
#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <stdatomic.h>
#include <enos.h>


static uint64_t *submitted, *lat; /* [round * N + i] */
static atomic_long completed, failures;

static void on_done(void *user, int status) {
    size_t idx = (size_t)(uintptr_t)user;
    lat[idx] = now_ns() - submitted[idx];
    if (status != ENOS_OK && atomic_fetch_add(&failures, 1) < 5)
        fprintf(stderr, "report %zu: %s: %s\n", idx, enos_strerror(status), enos_last_error());
    atomic_fetch_add(&completed, 1);
}

int main(int argc, char **argv) {
    char dk[32], sec[64];
    if (argc != 5 || strcmp(argv[1], "run") != 0) {
        fprintf(stderr, "usage: %s run HOST:PORT N ROUNDS\n", argv[0]);
        return 2;
    }
    const char *server = argv[2];
    int n = atoi(argv[3]), rounds = atoi(argv[4]);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    printf("async_clients %d\nasync_rounds %d\nasync_c_threads 1\n", n, rounds);
    (void)enos_version();
    long base_rss = proc_status("VmRSS");
    enos_client **clients = calloc((size_t)n, sizeof *clients);
    submitted = calloc((size_t)n * rounds, sizeof *submitted);
    lat = calloc((size_t)n * rounds, sizeof *lat);
    for (int i = 0; i < n; i++) {
        enos_config cfg = ENOS_CONFIG_INIT;
        bench_device_key(i, dk, sizeof dk); bench_device_secret(i, sec, sizeof sec);
        cfg.server = server; cfg.product_key = BENCH_PK; cfg.device_key = dk; cfg.device_secret = sec;
        if (enos_init(&cfg, &clients[i]) != ENOS_OK) { fprintf(stderr, "enos_init %d: %s\n", i, enos_last_error()); return 1; }
    }
    unsigned char payload[16];
    memset(payload, 0x5A, sizeof payload);
    long busy = 0;
    uint64_t start = now_ns(), cpu0 = cpu_ns(), round1_end = 0;
    for (int k = 0; k < rounds; k++) {
        for (int i = 0; i < n; i++) {
            size_t idx = (size_t)k * n + i;
            submitted[idx] = now_ns();
            int rc;
            while ((rc = enos_report_async(clients[i], payload, sizeof payload, on_done, (void *)(uintptr_t)idx)) == ENOS_ERR_BUSY) {
                busy++;
                usleep(100);
            }
            if (rc != ENOS_OK) { fprintf(stderr, "enos_report_async: %s\n", enos_last_error()); return 1; }
        }
        if (k == 0) { /* the first round authenticates every client: time it apart */
            while (atomic_load(&completed) < n) usleep(500);
            round1_end = now_ns();
            printf("async_first_round_ms %.1f\n", (double)(round1_end - start) / 1e6);
            printf("async_after_round1_per_client_bytes %.0f\n",
                   (double)(proc_status("VmRSS") - base_rss) * 1024.0 / n - 16.0 * rounds);
            printf("async_after_round1_threads %ld\nasync_after_round1_fds %ld\n", proc_status("Threads"), count_fds());
        }
    }
    while (atomic_load(&completed) < (long)n * rounds) usleep(200);
    uint64_t end = now_ns();
    size_t nss = (size_t)n * (rounds - 1);
    printf("async_steady_msgs %zu\n", nss);
    if (rounds > 1) {
        printf("async_steady_msgs_per_s %.0f\n", (double)nss / ((double)(end - round1_end) / 1e9));
        printf("async_steady_p50_us %.1f\n", pct_us(lat + n, nss, 50));
        printf("async_steady_p99_us %.1f\n", pct_us(lat + n, nss, 99));
    }
    printf("async_cpu_us_per_msg %.1f\n", (double)(cpu_ns() - cpu0) / 1e3 / ((double)n * rounds));
    printf("async_busy_pauses %ld\n", busy);
    printf("async_peak_threads %ld\n", proc_status("Threads"));
    printf("async_failures %ld\n", atomic_load(&failures));
    for (int i = 0; i < n; i++) enos_close(clients[i]);
    return atomic_load(&failures) ? 1 : 0;
}
