/* SPDX-License-Identifier: Apache-2.0 */

/* Reliability test 1: reports through a lossy network.
 *
 * Starts enos-sim as a separate process with --drop-requests 0.2
 * --drop-responses 0.2 --seed N (real loss on the wire: the sim's UDP relay
 * drops datagrams both ways), then sends COUNT (default 1000) reports
 * "loss-00000".."loss-00999" from one client, one after another, with a short
 * ACK timeout. Checks:
 *   - every enos_report() returns ENOS_OK (acknowledged);
 *   - the sim's --log holds each payload exactly once, in order, with strictly
 *     increasing sequences (a lost response must be answered from the
 *     server's dedup cache on retransmission, never recorded twice);
 *   - the sim saw the loss (dropped requests/responses > 0), the client
 *     retransmitted, the sim counted the retransmissions as duplicates, and
 *     enos_stats.retransmissions equals what the sim saw (dropped requests +
 *     duplicates).
 *
 * max_retransmit is 10 (not the default 4): with 20 % loss each way a
 * transmission round-trips with probability 0.64, so an exchange fails all 11
 * transmissions with probability 0.36^11 ~ 1.3e-5 (8 retransmissions would
 * leave 1e-4 per report, ~10 % per run of 1,000 - a statistical timeout, not a
 * bug). The seed makes the drop pattern repeatable.
 *
 * Usage: rel_loss [COUNT [ACK_TIMEOUT_MS [SEED [MORE SIM FLAGS...]]]]
 * (e.g. `rel_loss 300 20 5 --jitter 40ms` adds reordering and late responses) */
#include "rel.h"

int main(int argc, char **argv) {
    long count = argc > 1 ? atol(argv[1]) : 1000;
    int ack = argc > 2 ? atoi(argv[2]) : 20;
    const char *seed = argc > 3 ? argv[3] : "42";
    const char *extra[40] = {"--device", V_PK ":" V_DK ":" V_SECRET, "--drop-requests", "0.2",
                             "--drop-responses", "0.2", "--seed", seed, NULL};
    int k, nx = 8;
    rel_sim sim;
    rel_sim_stats_t ss;
    enos_config cfg;
    enos_client *c = NULL;
    enos_stats st;
    rel_rec *recs;
    rel_stream s;
    size_t n;
    long i, ok = 0, bad = 0;
    double t0, dt, worst = 0;
    char payload[64];

    for (k = 4; k < argc && nx < 38; k++) {
        extra[nx++] = argv[k]; /* more sim flags, e.g. --jitter 30ms */
    }
    extra[nx] = NULL;
    TEST("reports through 20% request loss and 20% response loss");
    rel_sim_start(&sim, "loss", "127.0.0.1:0", extra);
    cfg = rel_config(sim.addr);
    cfg.ack_timeout_ms = ack;
    cfg.max_retransmit = 10;
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    t0 = h_now();
    for (i = 0; i < count; i++) {
        double t1 = h_now();
        int rc;
        snprintf(payload, sizeof payload, "loss-%05ld", i);
        rc = enos_report(c, payload, strlen(payload));
        if (h_now() - t1 > worst) {
            worst = h_now() - t1;
        }
        if (rc == ENOS_OK) {
            ok++;
        } else if (bad++ < 5) {
            fprintf(stderr, "report %ld returned %d (%s): %s\n", i, rc, enos_strerror(rc), enos_last_error());
        }
    }
    dt = h_now() - t0;
    st = rel_client_stats(c);
    CHECK_RC(enos_close(c), ENOS_OK);
    CHECK(rel_sim_stats(&sim, &ss) == 0);
    rel_sim_stop(&sim, NULL);

    n = rel_read_log(sim.log, &recs);
    s = rel_check_stream(recs, n, V_DK, "loss", 0, count);
    printf("loss: %ld/%ld reports acknowledged in %.1f s (%.1f ms/report, slowest %.0f ms); "
           "client retransmissions=%llu; sim droppedRequests=%ld droppedResponses=%ld duplicates=%ld\n",
           ok, count, dt, 1000 * dt / (double)count, 1000 * worst, (unsigned long long)st.retransmissions,
           ss.dropped_requests, ss.dropped_responses, ss.duplicates);
    /* Ground truth for enos_stats.retransmissions: of an exchange's T datagrams the relay
     * dropped D, the first that got through was new, the other T-D-1 were duplicates, so
     * T-1 = D + duplicates, summed over exchanges that succeeded (all of them here). */
    printf("    enos_stats.retransmissions %llu vs sim droppedRequests + duplicates = %ld\n",
           (unsigned long long)st.retransmissions, ss.dropped_requests + ss.duplicates);
    rel_print_stream("sim log", &s);
    rel_print_client_stats("client", &st);
    rel_print_sim_stats("sim", &ss);
    CHECK(ok == count);
    REL_CHECK_STREAM(s, count);
    CHECK(n == (size_t)count); /* nothing else recorded */
    CHECK(ss.reports == count);
    CHECK(ss.rejections == 0);
    CHECK(ss.auths == 1);
    CHECK(st.auths == 1 && st.reauths == 0);
    CHECK(st.sent == (uint64_t)count);
    /* the network really was lossy, and the loss was absorbed by retransmission */
    CHECK(ss.dropped_requests > 0 && ss.dropped_responses > 0);
    CHECK(st.retransmissions > 0);
    CHECK(ss.duplicates > 0);
    CHECK(ok != count || st.retransmissions == (uint64_t)(ss.dropped_requests + ss.duplicates));
    free(recs);
    return h_finish();
}
