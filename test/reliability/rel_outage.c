/* SPDX-License-Identifier: Apache-2.0 */

/* Reliability test 3: the simulator is stopped for 20 s and
 * restarted on the same port (all sessions lost).
 *
 * One client with a state_dir (so it has an offline queue):
 *   A. sim #1 up: 20 reports "out-0".."out-19", each ENOS_OK.
 *   B. sim #1 stopped (SIGTERM; the port is closed, the client gets ICMP port
 *      unreachable). For OUTAGE seconds (default 20) one report every 100 ms:
 *      each must return ENOS_QUEUED (stored on disk, not yet delivered), and
 *      enos_get_stats().queued must count them.
 *   C. sim #2 started on the same address (a fresh process: it knows no
 *      session, so the client's saved token gets 4.01). WITHOUT any call from
 *      the test, the background worker must re-authenticate by itself and
 *      drain the queue (polled with enos_get_stats for up to 15 s); then
 *      enos_flush() must return ENOS_OK, and 20 more reports go out ENOS_OK.
 * Checks: sim #1 recorded 0..19 once in order; sim #2 recorded every outage
 * report and then the 20 later ones, each once, in order, with strictly
 * increasing sequences; client stats: reauths = 1, queue_delivered = queued_total =
 * outage reports, queued = 0; sim #2: exactly 1 authentication (the client's
 * own) and exactly 1 rejection (the 4.01 for the lost session).
 *
 * Usage: rel_outage [OUTAGE_SECONDS] */
#include "rel.h"

int main(int argc, char **argv) {
    double outage = argc > 1 ? atof(argv[1]) : 20.0;
    const char *extra[] = {"--device", V_PK ":" V_DK ":" V_SECRET, NULL};
    rel_sim sim1, sim2;
    rel_sim_stats_t s1, s2;
    enos_config cfg;
    enos_client *c = NULL;
    enos_stats st_mid, st;
    rel_rec *recs;
    rel_stream r1, r2;
    size_t n;
    char state[REL_PATH], payload[64], addr[64];
    long id = 0, a_end, b_end, queued_rc = 0, other_rc = 0, i;
    double t0, slowest = 0, drained_after = -1, t_restart;
    int rc;

    TEST("simulator stopped for 20 s and restarted");
    snprintf(state, sizeof state, "%s/outage-state-%ld", rel_tmp(), (long)getpid());
    rel_sim_start(&sim1, "outage1", "127.0.0.1:0", extra);
    snprintf(addr, sizeof addr, "%s", sim1.addr);
    cfg = rel_config(addr);
    cfg.ack_timeout_ms = 50;
    cfg.max_retransmit = 3;
    cfg.retry_interval_ms = 200;
    cfg.state_dir = state;
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);

    /* A. server up */
    for (i = 0; i < 20; i++, id++) {
        snprintf(payload, sizeof payload, "out-%ld", id);
        CHECK_RC(enos_report(c, payload, strlen(payload)), ENOS_OK);
    }
    a_end = id;

    /* B. server down */
    rel_sim_stop(&sim1, &s1);
    t0 = h_now();
    while (h_now() - t0 < outage) {
        double t1 = h_now(), d;
        snprintf(payload, sizeof payload, "out-%ld", id);
        rc = enos_report(c, payload, strlen(payload));
        d = h_now() - t1;
        slowest = d > slowest ? d : slowest;
        if (rc == ENOS_QUEUED) {
            queued_rc++;
        } else if (other_rc++ < 5) {
            fprintf(stderr, "outage report %ld returned %d (%s): %s\n", id, rc, enos_strerror(rc), enos_last_error());
        }
        id++;
        rel_sleep_ms(100 - (long)(1000 * d) > 0 ? 100 - (long)(1000 * d) : 0);
    }
    b_end = id;
    st_mid = rel_client_stats(c);

    /* C. server back on the same port, knowing no session */
    rel_sim_start(&sim2, "outage2", addr, extra);
    t_restart = h_now();
    while (h_now() - t_restart < 15) {
        enos_stats s = rel_client_stats(c);
        if (s.queued == 0) {
            drained_after = h_now() - t_restart;
            break;
        }
        rel_sleep_ms(20);
    }
    CHECK_RC(enos_flush(c, 10000), ENOS_OK);
    for (i = 0; i < 20; i++, id++) {
        snprintf(payload, sizeof payload, "out-%ld", id);
        CHECK_RC(enos_report(c, payload, strlen(payload)), ENOS_OK);
    }
    st = rel_client_stats(c);
    CHECK_RC(enos_close(c), ENOS_OK);
    CHECK(rel_sim_stats(&sim2, &s2) == 0);
    rel_sim_stop(&sim2, NULL);

    n = rel_read_log(sim1.log, &recs);
    r1 = rel_check_stream(recs, n, V_DK, "out", 0, a_end);
    CHECK(n == (size_t)a_end);
    free(recs);
    n = rel_read_log(sim2.log, &recs);
    r2 = rel_check_stream(recs, n, V_DK, "out", a_end, id);
    CHECK(n == (size_t)(id - a_end));
    free(recs);

    printf("outage: %.0f s down: %ld/%ld reports returned ENOS_QUEUED (slowest call %.0f ms), queued=%llu on disk=%llu B; "
           "after restart the queue drained by itself in %.2f s; client reauths=%llu, queue_delivered=%llu; "
           "sim#2 auths=%ld rejections=%ld\n",
           outage, queued_rc, b_end - a_end, 1000 * slowest, (unsigned long long)st_mid.queued,
           (unsigned long long)st_mid.queued_bytes, drained_after, (unsigned long long)st.reauths,
           (unsigned long long)st.queue_delivered, s2.auths, s2.rejections);
    rel_print_stream("sim#1 log (before)", &r1);
    rel_print_stream("sim#2 log (outage + after)", &r2);
    rel_print_client_stats("client during outage", &st_mid);
    rel_print_client_stats("client at end", &st);
    rel_print_sim_stats("sim#1", &s1);
    rel_print_sim_stats("sim#2", &s2);

    REL_CHECK_STREAM(r1, a_end);
    REL_CHECK_STREAM(r2, id - a_end);
    CHECK(queued_rc == b_end - a_end && other_rc == 0);
    CHECK(b_end - a_end >= (long)(outage * 5)); /* the outage really was reported through */
    CHECK(st_mid.queued == (uint64_t)(b_end - a_end));
    CHECK(drained_after >= 0);
    CHECK(st.queued == 0);
    CHECK(st.queued_total == (uint64_t)(b_end - a_end));
    CHECK(st.queue_delivered == (uint64_t)(b_end - a_end));
    CHECK(st.queue_dropped == 0);
    CHECK(st.auths == 2 && st.reauths == 1);
    CHECK(s1.auths == 1 && s1.rejections == 0);
    CHECK(s2.auths == 1);
    CHECK(s2.rejections == 1); /* the one 4.01 that told the client its session was gone */
    return h_finish();
}
