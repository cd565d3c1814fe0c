/* SPDX-License-Identifier: Apache-2.0 */

/* Reliability test 5: concurrency and scale, against enos-sim as a
 * separate process.
 *
 * Part A: 16 threads x 200 reports on ONE client. Payloads "tNN-IIIII".
 *   Checks: every call ENOS_OK; the sim recorded 3,200 records, each payload
 *   exactly once; each thread's payloads in that thread's call order; the
 *   device's sequences strictly increasing over the whole log; zero
 *   rejections, one authentication.
 *
 * Part B: 1,000 clients (1,000 devices, registered with --devices FILE) x 10
 *   reports, driven by 50 threads (thread t drives clients t, t+50, ...,
 *   round by round). Payloads "m-R" per device. RLIMIT_NOFILE is raised for
 *   the 1,000 UDP sockets. Checks: every call ENOS_OK; per device exactly 10
 *   records, each once, in order, sequences strictly increasing; the sim has
 *   10,000 reports, 1,000 authentications, zero rejections.
 *   Meanwhile one more client reports to a black hole (a UDP socket that never
 *   answers; window 100 ms * 1.5 * 31 = 4.65 s): the 1,000 devices must not
 *   wait for it (part B must end while that report is still blocked, or at
 *   least before its window ran out), and it must end with ENOS_ERR_TIMEOUT.
 *
 * Usage: rel_scale [CLIENTS [THREADS_B [REPORTS_PER_THREAD_A]]] */
#include "rel.h"

#define A_THREADS 16
static long a_reports = 200; /* per thread */
#define B_REPORTS 10

static enos_client *shared_client;
static long a_failures;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *a_worker(void *arg) {
    long t = (long)(intptr_t)arg, i;
    char payload[64];
    for (i = 0; i < a_reports; i++) {
        int rc;
        snprintf(payload, sizeof payload, "t%02ld-%ld", t, i);
        rc = enos_report(shared_client, payload, strlen(payload));
        if (rc != ENOS_OK) {
            pthread_mutex_lock(&mu);
            if (a_failures++ < 5) {
                fprintf(stderr, "thread %ld report %ld returned %d (%s): %s\n", t, i, rc, enos_strerror(rc),
                        enos_last_error());
            }
            pthread_mutex_unlock(&mu);
        }
    }
    return NULL;
}

static enos_client **clients;
static long n_clients, n_threads_b, b_failures, b_ok;

static void *b_worker(void *arg) {
    long t = (long)(intptr_t)arg, round, k, ok = 0;
    char payload[32];
    for (round = 0; round < B_REPORTS; round++) {
        for (k = t; k < n_clients; k += n_threads_b) {
            int rc;
            snprintf(payload, sizeof payload, "m-%ld", round);
            rc = enos_report(clients[k], payload, strlen(payload));
            if (rc == ENOS_OK) {
                ok++;
            } else {
                pthread_mutex_lock(&mu);
                if (b_failures++ < 5) {
                    fprintf(stderr, "client %ld report %ld returned %d (%s): %s\n", k, round, rc, enos_strerror(rc),
                            enos_last_error());
                }
                pthread_mutex_unlock(&mu);
            }
        }
    }
    pthread_mutex_lock(&mu);
    b_ok += ok;
    pthread_mutex_unlock(&mu);
    return NULL;
}

static enos_client *slow_client;
static volatile int slow_done;
static int slow_rc;
static double slow_took;

static void *slow_worker(void *arg) {
    double t0 = h_now();
    (void)arg;
    slow_rc = enos_report(slow_client, "slow", 4);
    slow_took = h_now() - t0;
    __atomic_store_n(&slow_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void part_a(void) {
    const char *extra[] = {"--device", V_PK ":" V_DK ":" V_SECRET, NULL};
    rel_sim sim;
    rel_sim_stats_t ss;
    enos_config cfg;
    enos_stats st;
    pthread_t th[A_THREADS];
    rel_rec *recs;
    size_t n;
    long t, bad_threads = 0;
    double t0, dt;
    char prefix[16];

    TEST("16 threads x N reports on one client");
    rel_sim_start(&sim, "threads", "127.0.0.1:0", extra);
    cfg = rel_config(sim.addr);
    cfg.ack_timeout_ms = 200;
    CHECK_RC(enos_init(&cfg, &shared_client), ENOS_OK);
    t0 = h_now();
    for (t = 0; t < A_THREADS; t++) {
        pthread_create(&th[t], NULL, a_worker, (void *)(intptr_t)t);
    }
    for (t = 0; t < A_THREADS; t++) {
        pthread_join(th[t], NULL);
    }
    dt = h_now() - t0;
    st = rel_client_stats(shared_client);
    CHECK_RC(enos_close(shared_client), ENOS_OK);
    CHECK(rel_sim_stats(&sim, &ss) == 0);
    rel_sim_stop(&sim, NULL);
    n = rel_read_log(sim.log, &recs);
    for (t = 0; t < A_THREADS; t++) {
        rel_stream s;
        snprintf(prefix, sizeof prefix, "t%02ld", t);
        s = rel_check_stream(recs, n, V_DK, prefix, 0, a_reports);
        if (s.distinct != a_reports || s.missing || s.duplicates || s.out_of_order || s.seq_not_increasing ||
            s.records != a_reports) {
            bad_threads++;
            rel_print_stream(prefix, &s);
        }
        REL_CHECK_STREAM(s, a_reports);
    }
    printf("threads: %d threads x %ld reports on one client in %.2f s (%.0f reports/s): %ld failures; sim recorded %zu, "
           "threads with a missing/doubled/out-of-order payload: %ld; sim rejections=%ld auths=%ld\n",
           A_THREADS, a_reports, dt, A_THREADS * a_reports / dt, a_failures, n, bad_threads, ss.rejections, ss.auths);
    rel_print_client_stats("client", &st);
    CHECK(a_failures == 0);
    CHECK(n == (size_t)A_THREADS * a_reports);
    CHECK(ss.reports == A_THREADS * a_reports);
    CHECK(ss.rejections == 0);
    CHECK(ss.auths == 1);
    free(recs);
}

static void part_b(long count, long threads) {
    rel_sim sim;
    rel_sim_stats_t ss;
    char devfile[REL_PATH], (*dks)[32], (*secrets)[48], prefix[8] = "m";
    const char *extra[] = {"--devices", devfile, NULL};
    pthread_t *th, slow_th;
    FILE *f;
    long i, bad_devices = 0, lim, init_fail = 0;
    rel_rec *recs;
    size_t n, j;
    double t0, dt;
    int hole, slow_still_blocked;
    struct sockaddr_in sa;
    socklen_t salen = sizeof sa;
    char hole_addr[64];
    enos_config cfg;
    size_t *first, *cnt;

    TEST("N clients x 10 reports");
    n_clients = count;
    n_threads_b = threads;
    lim = rel_raise_nofile(count + 1024);
    dks = (char(*)[32])calloc((size_t)count, 32);
    secrets = (char(*)[48])calloc((size_t)count, 48);
    clients = (enos_client **)calloc((size_t)count, sizeof *clients);
    rel_path(devfile, sizeof devfile, "devices.txt");
    f = fopen(devfile, "w");
    if (f == NULL) {
        rel_die("cannot write %s", devfile);
    }
    for (i = 0; i < count; i++) {
        snprintf(dks[i], 32, "dev%04ld", i);
        snprintf(secrets[i], 48, "secret-%04ld-%08lx", i, (unsigned long)(i * 2654435761UL));
        fprintf(f, "RelPK01:%s:%s\n", dks[i], secrets[i]);
    }
    fclose(f);
    rel_sim_start(&sim, "scale", "127.0.0.1:0", extra);

    for (i = 0; i < count; i++) {
        cfg = rel_config(sim.addr);
        cfg.product_key = "RelPK01";
        cfg.device_key = dks[i];
        cfg.device_secret = secrets[i];
        cfg.ack_timeout_ms = 500;
        if (enos_init(&cfg, &clients[i]) != ENOS_OK && init_fail++ < 3) {
            fprintf(stderr, "enos_init of client %ld: %s\n", i, enos_last_error());
        }
    }
    CHECK(init_fail == 0);

    /* a device whose server never answers, in the same process */
    hole = socket(AF_INET, SOCK_DGRAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(hole, (struct sockaddr *)&sa, sizeof sa);
    getsockname(hole, (struct sockaddr *)&sa, &salen);
    snprintf(hole_addr, sizeof hole_addr, "127.0.0.1:%d", ntohs(sa.sin_port));
    cfg = rel_config(hole_addr);
    cfg.ack_timeout_ms = 100;
    cfg.max_retransmit = 4;
    CHECK_RC(enos_init(&cfg, &slow_client), ENOS_OK);
    pthread_create(&slow_th, NULL, slow_worker, NULL);
    rel_sleep_ms(50);

    th = (pthread_t *)calloc((size_t)threads, sizeof *th);
    t0 = h_now();
    for (i = 0; i < threads; i++) {
        pthread_create(&th[i], NULL, b_worker, (void *)(intptr_t)i);
    }
    for (i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
    }
    dt = h_now() - t0;
    slow_still_blocked = !__atomic_load_n(&slow_done, __ATOMIC_SEQ_CST);
    for (i = 0; i < count; i++) {
        if (clients[i] != NULL && enos_close(clients[i]) != ENOS_OK) {
            h_failed++;
        }
    }
    pthread_join(slow_th, NULL);
    CHECK_RC(enos_close(slow_client), ENOS_OK);
    close(hole);
    CHECK(rel_sim_stats(&sim, &ss) == 0);
    rel_sim_stop(&sim, NULL);

    /* per device: 10 records, once, in order, sequences increasing */
    n = rel_read_log(sim.log, &recs);
    first = (size_t *)calloc((size_t)count, sizeof(size_t));
    cnt = (size_t *)calloc((size_t)count, sizeof(size_t));
    {
        /* group records by device without an O(n * devices) scan */
        rel_rec *sorted = (rel_rec *)malloc((n + 1) * sizeof *sorted);
        size_t *pos = (size_t *)calloc((size_t)count + 1, sizeof(size_t));
        for (j = 0; j < n; j++) {
            long d = strtol(recs[j].dk + 3, NULL, 10);
            if (d >= 0 && d < count) {
                cnt[d]++;
            }
        }
        for (i = 0; i < count; i++) {
            first[i] = i == 0 ? 0 : first[i - 1] + cnt[i - 1];
            pos[i] = first[i];
        }
        for (j = 0; j < n; j++) {
            long d = strtol(recs[j].dk + 3, NULL, 10);
            if (d >= 0 && d < count) {
                sorted[pos[d]++] = recs[j]; /* stable: keeps log order */
            }
        }
        for (i = 0; i < count; i++) {
            rel_stream s = rel_check_stream(sorted + first[i], cnt[i], dks[i], prefix, 0, B_REPORTS);
            if (s.distinct != B_REPORTS || s.missing || s.duplicates || s.out_of_order || s.seq_not_increasing ||
                s.records != B_REPORTS || cnt[i] != B_REPORTS) {
                if (bad_devices++ < 5) {
                    rel_print_stream(dks[i], &s);
                }
            }
        }
        free(sorted);
        free(pos);
    }
    printf("clients: %ld clients x %d reports (%ld threads, RLIMIT_NOFILE %ld) in %.2f s (%.0f reports/s): "
           "%ld/%ld acknowledged; sim recorded %zu, devices with a missing/doubled/out-of-order record: %ld; "
           "sim auths=%ld rejections=%ld\n",
           count, B_REPORTS, threads, lim, dt, (double)(count * B_REPORTS) / dt, b_ok, count * B_REPORTS, n,
           bad_devices, ss.auths, ss.rejections);
    printf("    black-hole device in the same process: report returned %d (%s) after %.2f s; the %ld clients were done "
           "%s\n",
           slow_rc, enos_strerror(slow_rc), slow_took, count,
           slow_still_blocked ? "while it was still blocked" : "only after it had returned");
    CHECK(b_failures == 0 && b_ok == count * B_REPORTS);
    CHECK(n == (size_t)(count * B_REPORTS));
    CHECK(bad_devices == 0);
    CHECK(ss.reports == count * B_REPORTS);
    CHECK(ss.auths == count);
    CHECK(ss.rejections == 0);
    CHECK(slow_rc == ENOS_ERR_TIMEOUT);
    CHECK(slow_still_blocked || dt < slow_took);
    free(first);
    free(cnt);
    free(recs);
    free(th);
    free(clients);
    free(dks);
    free(secrets);
}

int main(int argc, char **argv) {
    long count = argc > 1 ? atol(argv[1]) : 1000;
    long threads = argc > 2 ? atol(argv[2]) : 50;
    if (argc > 3) {
        a_reports = atol(argv[3]);
    }
    part_a();
    part_b(count, threads);
    return h_finish();
}
