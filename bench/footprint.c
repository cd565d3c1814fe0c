/* SPDX-License-Identifier: Apache-2.0 */

/* bench/footprint.c: what libenos costs a C host that uses one device.
 *   footprint HOST:PORT PK DK SECRET
 * Re-executes itself once so that the time from process start (execve, before
 * the dynamic loader maps libenos and the Go runtime starts) to the first
 * acknowledged report can be measured: the first instance stamps
 * CLOCK_MONOTONIC into ENOS_BENCH_T0 and execs the second. */
#include "common.h"
#include <unistd.h>
#include <enos.h>

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: %s HOST:PORT PK DK SECRET\n", argv[0]); return 2; }
    const char *t0s = getenv("ENOS_BENCH_T0");
    if (!t0s) {
        char b[32];
        snprintf(b, sizeof b, "%llu", (unsigned long long)now_ns());
        setenv("ENOS_BENCH_T0", b, 1);
        execv("/proc/self/exe", argv);
        perror("execv");
        return 1;
    }
    uint64_t t0 = strtoull(t0s, NULL, 10);
    uint64_t t_main = now_ns();
    long rss_main = proc_status("VmRSS"), thr_main = proc_status("Threads");
    enos_config cfg = ENOS_CONFIG_INIT;
    enos_client *c = NULL;
    cfg.server = argv[1]; cfg.product_key = argv[2]; cfg.device_key = argv[3]; cfg.device_secret = argv[4];
    if (enos_init(&cfg, &c) != ENOS_OK) { fprintf(stderr, "enos_init: %s\n", enos_last_error()); return 1; }
    uint64_t t_init = now_ns();
    long rss_init = proc_status("VmRSS"), thr_init = proc_status("Threads");
    unsigned char p[16] = {1};
    int rc = enos_report(c, p, sizeof p);
    uint64_t t_rep = now_ns();
    if (rc != ENOS_OK) { fprintf(stderr, "enos_report: %s\n", enos_last_error()); return 1; }
    long rss_rep = proc_status("VmRSS"), thr_rep = proc_status("Threads");
    for (int i = 0; i < 1000; i++) enos_report(c, p, sizeof p);
    printf("fp_exec_to_main_ms %.2f\n", (double)(t_main - t0) / 1e6);
    printf("fp_exec_to_init_ms %.2f\n", (double)(t_init - t0) / 1e6);
    printf("fp_exec_to_first_ack_ms %.2f\n", (double)(t_rep - t0) / 1e6);
    printf("fp_first_report_ms %.2f\n", (double)(t_rep - t_init) / 1e6);
    printf("fp_rss_at_main_kb %ld\nfp_rss_after_init_kb %ld\nfp_rss_after_report_kb %ld\n", rss_main, rss_init, rss_rep);
    printf("fp_rss_after_1000_reports_kb %ld\n", proc_status("VmRSS"));
    printf("fp_threads_at_main %ld\nfp_threads_after_init %ld\nfp_threads_after_report %ld\n", thr_main, thr_init, thr_rep);
    printf("fp_vmsize_kb %ld\n", proc_status("VmSize"));
    enos_close(c);
    return 0;
}
