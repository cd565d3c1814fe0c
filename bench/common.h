/* SPDX-License-Identifier: Apache-2.0 */

/* Shared helpers for the libenos benchmark programs (bench/). */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Percentile (0..100) of n samples; sorts v in place. */
static inline double pct_us(uint64_t *v, size_t n, double p) {
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, cmp_u64);
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return (double)v[i] / 1000.0;
}

/* VmRSS / VmHWM in KB, Threads from /proc/self/status. */
static inline long proc_status(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') { v = atol(line + kl + 1); break; }
    fclose(f);
    return v;
}

/* CPU time (user + system) of the whole process so far, in ns. */
static inline uint64_t cpu_ns(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

static inline long count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    long n = 0;
    struct dirent *e;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the DIR's own fd */
}
/* The results of a sequential round-trip run, as "PRE_key value" lines:
 * count, rate, mean, p50/p99/max latency (sorts lat), CPU per message, RSS
 * and threads. report_enos and report_coap print the same keys. */
static inline void print_round_trips(const char *pre, uint64_t *lat, int n, double secs, uint64_t cpu_ns_used) {
    printf("%s_msgs %d\n%s_msgs_per_s %.0f\n%s_mean_us %.1f\n", pre, n, pre, n / secs, pre, secs * 1e6 / n);
    printf("%s_p50_us %.1f\n", pre, pct_us(lat, (size_t)n, 50));
    printf("%s_p99_us %.1f\n", pre, pct_us(lat, (size_t)n, 99));
    printf("%s_max_us %.1f\n", pre, pct_us(lat, (size_t)n, 100));
    printf("%s_cpu_us_per_msg %.1f\n", pre, (double)cpu_ns_used / 1e3 / n);
    printf("%s_rss_kb %ld\n%s_threads %ld\n", pre, proc_status("VmRSS"), pre, proc_status("Threads"));
}
/* The many-device benchmarks' devices (scale_bench gen writes them for
 * enos-sim; async_bench and scale_bench run them): product key, device key
 * and secret of device i. */
#define BENCH_PK "BenchPK"
static inline void bench_device_key(int i, char *b, size_t n) { snprintf(b, n, "dev%05d", i); }
static inline void bench_device_secret(int i, char *b, size_t n) { snprintf(b, n, "secret-%05d-xyzzy", i); }
#endif
