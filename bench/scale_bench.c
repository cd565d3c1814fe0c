/* SPDX-License-Identifier: Apache-2.0 */

/* bench/scale_bench.c: a gateway process with N libenos clients (one device
 * each, its own enos_client), each reporting every PERIOD ms for ROUNDS rounds,
 * driven by a pool of T C threads on a fixed schedule (client i is due at
 * start + i*PERIOD/N + k*PERIOD). Latency is measured per enos_report call.
 *
 *   scale_bench gen FILE N                    write the enos-sim --devices file
 *   scale_bench run HOST:PORT N PERIOD_MS ROUNDS THREADS
 *
 * Prints "key value" lines (prefix scale_). */
#include "common.h"
#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <stdatomic.h>
#include <enos.h>


static int n_clients, period_ms, rounds, nthreads;
static enos_client **clients;
static uint64_t start_ns;
static uint64_t *lat;          /* [round * N + i] call latency */
static uint64_t *lag;          /* [round * N + i] start - due */
static atomic_int completed, failures;

static void sleep_until(uint64_t t) {
    struct timespec ts = {(time_t)(t / 1000000000u), (long)(t % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
}

static void *worker(void *arg) {
    int j = (int)(intptr_t)arg;
    unsigned char payload[16];
    memset(payload, 0x5A, sizeof payload);
    for (int k = 0; k < rounds; k++) {
        for (int i = j; i < n_clients; i += nthreads) {
            uint64_t due = start_ns + (uint64_t)k * period_ms * 1000000ull +
                           (uint64_t)i * period_ms * 1000000ull / (uint64_t)n_clients;
            sleep_until(due);
            uint64_t a = now_ns();
            int rc = enos_report(clients[i], payload, sizeof payload);
            uint64_t b = now_ns();
            if (rc != ENOS_OK) {
                if (atomic_fetch_add(&failures, 1) < 5)
                    fprintf(stderr, "enos_report client %d round %d: %s: %s\n", i, k, enos_strerror(rc), enos_last_error());
            }
            lat[(size_t)k * n_clients + i] = b - a;
            lag[(size_t)k * n_clients + i] = a > due ? a - due : 0;
            atomic_fetch_add(&completed, 1);
        }
    }
    return NULL;
}

static void snap(const char *when, long base_rss) {
    long rss = proc_status("VmRSS");
    printf("scale_%s_rss_kb %ld\n", when, rss);
    printf("scale_%s_per_client_bytes %.0f\n", when, (double)(rss - base_rss) * 1024.0 / n_clients);
    printf("scale_%s_threads %ld\n", when, proc_status("Threads"));
    printf("scale_%s_fds %ld\n", when, count_fds());
}

int main(int argc, char **argv) {
    char dk[32], sec[64];
    if (argc == 4 && strcmp(argv[1], "gen") == 0) {
        FILE *f = fopen(argv[2], "w");
        int n = atoi(argv[3]);
        if (!f) { perror(argv[2]); return 1; }
        for (int i = 0; i < n; i++) { bench_device_key(i, dk, sizeof dk); bench_device_secret(i, sec, sizeof sec); fprintf(f, "%s:%s:%s\n", BENCH_PK, dk, sec); }
        return fclose(f) ? 1 : 0;
    }
    if (argc != 7 || strcmp(argv[1], "run") != 0) {
        fprintf(stderr, "usage: %s gen FILE N | run HOST:PORT N PERIOD_MS ROUNDS THREADS\n", argv[0]);
        return 2;
    }
    const char *server = argv[2];
    /* one UDP socket per client: raise the soft fd limit to the hard one */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)atoi(argv[3]) + 64) {
        fprintf(stderr, "scale_bench: RLIMIT_NOFILE %lu is too low for %s clients (one socket each)\n",
                (unsigned long)rl.rlim_cur, argv[3]);
        return 1;
    }
    n_clients = atoi(argv[3]); period_ms = atoi(argv[4]); rounds = atoi(argv[5]); nthreads = atoi(argv[6]);
    printf("scale_clients %d\nscale_period_ms %d\nscale_rounds %d\nscale_c_threads %d\n", n_clients, period_ms, rounds, nthreads);

    (void)enos_version();
    long base_rss = proc_status("VmRSS");
    printf("scale_baseline_rss_kb %ld\nscale_baseline_threads %ld\nscale_baseline_fds %ld\n",
           base_rss, proc_status("Threads"), count_fds());

    clients = calloc((size_t)n_clients, sizeof *clients);
    lat = calloc((size_t)n_clients * rounds, sizeof *lat);
    lag = calloc((size_t)n_clients * rounds, sizeof *lag);
    uint64_t t0 = now_ns();
    for (int i = 0; i < n_clients; i++) {
        enos_config cfg = ENOS_CONFIG_INIT;
        bench_device_key(i, dk, sizeof dk); bench_device_secret(i, sec, sizeof sec);
        cfg.server = server; cfg.product_key = BENCH_PK; cfg.device_key = dk; cfg.device_secret = sec;
        if (enos_init(&cfg, &clients[i]) != ENOS_OK) { fprintf(stderr, "enos_init %d: %s\n", i, enos_last_error()); return 1; }
    }
    printf("scale_init_all_ms %.1f\n", (double)(now_ns() - t0) / 1e6);
    /* calloc'd result arrays are untouched pages until written; baseline was taken before them. */
    snap("after_init", base_rss);

    pthread_t *th = calloc((size_t)nthreads, sizeof *th);
    start_ns = now_ns() + 100000000ull;
    uint64_t cpu0 = cpu_ns();
    for (int j = 0; j < nthreads; j++) pthread_create(&th[j], NULL, worker, (void *)(intptr_t)j);
    /* after the first round (every client authenticated and has its socket) */
    while (atomic_load(&completed) < n_clients) usleep(2000);
    printf("scale_first_round_ms %.1f\n", (double)(now_ns() - start_ns) / 1e6);
    snap("after_round1", base_rss + (long)((size_t)n_clients * rounds * 16 / 1024)); /* minus the bench's own arrays */
    for (int j = 0; j < nthreads; j++) pthread_join(th[j], NULL);
    uint64_t end = now_ns();
    printf("scale_cpu_us_per_msg %.1f\n", (double)(cpu_ns() - cpu0) / 1e3 / ((double)n_clients * rounds));
    printf("scale_cpu_percent %.1f\n", (double)(cpu_ns() - cpu0) * 100.0 / (double)(end - start_ns + 100000000ull));

    size_t n1 = (size_t)n_clients, nss = (size_t)n_clients * (rounds - 1);
    printf("scale_round1_p50_us %.1f\n", pct_us(lat, n1, 50));  /* includes authentication */
    printf("scale_round1_p99_us %.1f\n", pct_us(lat, n1, 99));
    if (rounds > 1) {
        uint64_t *ss = lat + n1, *sl = lag + n1;
        /* steady state: rounds 2..R; the rate is reports over the span of those rounds */
        double span = (double)(end - (start_ns + (uint64_t)period_ms * 1000000ull)) / 1e9;
        printf("scale_steady_msgs %zu\nscale_steady_msgs_per_s %.0f\n", nss, (double)nss / span);
        printf("scale_target_msgs_per_s %.0f\n", (double)n_clients * 1000.0 / period_ms);
        printf("scale_steady_p50_us %.1f\n", pct_us(ss, nss, 50));
        printf("scale_steady_p99_us %.1f\n", pct_us(ss, nss, 99));
        printf("scale_steady_max_us %.1f\n", pct_us(ss, nss, 100));
        printf("scale_steady_lag_p99_us %.1f\n", pct_us(sl, nss, 99));
    }
    printf("scale_failures %d\n", atomic_load(&failures));
    printf("scale_peak_rss_kb %ld\n", proc_status("VmHWM"));
    t0 = now_ns();
    for (int i = 0; i < n_clients; i++) enos_close(clients[i]);
    printf("scale_close_all_ms %.1f\n", (double)(now_ns() - t0) / 1e6);
    return atomic_load(&failures) ? 1 : 0;
}
