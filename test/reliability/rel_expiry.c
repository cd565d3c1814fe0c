/* SPDX-License-Identifier: Apache-2.0 */

/* Reliability test 2: forced token expiry every 50 messages.
 *
 * enos-sim runs as a separate process with --expire-after 50: the 51st message
 * of every session gets 4.01 and the session ends, so the client must
 * re-authenticate and resend (with a new sequence of the new session). On top,
 * 10 % loss each way (--drop-requests/--drop-responses 0.1) so that lost 4.01s
 * and lost auth responses are exercised too. COUNT (default 1000) reports
 * "exp-00000".. from one client. Checks:
 *   - every report returns ENOS_OK;
 *   - the sim's log holds each payload exactly once, in order, sequences
 *     strictly increasing within each session (the sequence restarts after an
 *     authentication, so the check is per session: a drop of the sequence is
 *     allowed only where the sim started a new session, i.e. exactly
 *     sessions-1 times);
 *   - re-authentications: COUNT/50 sessions, so the client's stats say
 *     auths = COUNT/50 and reauths = COUNT/50 - 1, and the sim agrees
 *     (auths = COUNT/50, expirations = rejections = COUNT/50 - 1).
 *
 * Usage: rel_expiry [COUNT [EXPIRE_AFTER [ACK_TIMEOUT_MS]]] */
#include "rel.h"

int main(int argc, char **argv) {
    long count = argc > 1 ? atol(argv[1]) : 1000;
    const char *every = argc > 2 ? argv[2] : "50";
    long per = atol(every);
    long sessions = (count + per - 1) / per;
    const char *extra[] = {"--device", V_PK ":" V_DK ":" V_SECRET, "--expire-after", every,
                           "--drop-requests", "0.1", "--drop-responses", "0.1", "--seed", "7", NULL};
    rel_sim sim;
    rel_sim_stats_t ss;
    enos_config cfg;
    enos_client *c = NULL;
    enos_stats st;
    rel_rec *recs;
    size_t n, i;
    long ok = 0, bad = 0, k, missing = 0, dups = 0, order = 0, restarts = 0, seq_bad = 0, max_run = 0, run = 0;
    unsigned char *seen;
    double t0, dt;
    char payload[64];

    TEST("forced token expiry every 50 messages");
    rel_sim_start(&sim, "expiry", "127.0.0.1:0", extra);
    cfg = rel_config(sim.addr);
    cfg.ack_timeout_ms = argc > 3 ? atoi(argv[3]) : 10;
    cfg.max_retransmit = 10;
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    t0 = h_now();
    for (k = 0; k < count; k++) {
        int rc;
        snprintf(payload, sizeof payload, "exp-%05ld", k);
        rc = enos_report(c, payload, strlen(payload));
        if (rc == ENOS_OK) {
            ok++;
        } else if (bad++ < 5) {
            fprintf(stderr, "report %ld returned %d (%s): %s\n", k, rc, enos_strerror(rc), enos_last_error());
        }
    }
    dt = h_now() - t0;
    st = rel_client_stats(c);
    CHECK_RC(enos_close(c), ENOS_OK);
    CHECK(rel_sim_stats(&sim, &ss) == 0);
    rel_sim_stop(&sim, NULL);

    /* The log: ids once and in order; sequences increase within a session
     * (a new session restarts at 1, so count those restarts). */
    n = rel_read_log(sim.log, &recs);
    seen = (unsigned char *)calloc((size_t)count, 1);
    for (i = 0; i < n; i++) {
        long id = rel_payload_id(recs[i].payload, "exp");
        if (id < 0 || id >= count) {
            continue;
        }
        if (seen[id]) {
            dups++;
        }
        seen[id] = 1;
        if (i > 0 && id <= rel_payload_id(recs[i - 1].payload, "exp")) {
            order++;
        }
        if (i > 0 && recs[i].seq <= recs[i - 1].seq) {
            if (recs[i].seq == 1) {
                restarts++; /* a new session */
            } else {
                seq_bad++;
            }
            max_run = run > max_run ? run : max_run;
            run = 0;
        }
        run++;
    }
    max_run = run > max_run ? run : max_run;
    for (k = 0; k < count; k++) {
        missing += !seen[k];
    }
    printf("expiry: %ld/%ld reports acknowledged in %.1f s; client auths=%llu reauths=%llu retransmissions=%llu; "
           "sim auths=%ld expirations=%ld rejections=%ld duplicates=%ld\n",
           ok, count, dt, (unsigned long long)st.auths, (unsigned long long)st.reauths,
           (unsigned long long)st.retransmissions, ss.auths, ss.expirations, ss.rejections, ss.duplicates);
    printf("    sim log: records=%zu missing=%ld duplicates=%ld out_of_order=%ld sessions_seen=%ld "
           "longest_session=%ld seq_not_increasing=%ld (expected %ld sessions of at most %ld)\n",
           n, missing, dups, order, restarts + 1, max_run, seq_bad, sessions, per);
    rel_print_client_stats("client", &st);
    rel_print_sim_stats("sim", &ss);
    CHECK(ok == count);
    CHECK(n == (size_t)count);
    CHECK(missing == 0 && dups == 0 && order == 0 && seq_bad == 0);
    CHECK(restarts + 1 == sessions);
    CHECK(max_run <= per);
    CHECK(st.auths == (uint64_t)sessions);
    CHECK(st.reauths == (uint64_t)sessions - 1);
    CHECK(ss.auths == sessions);
    CHECK(ss.expirations == sessions - 1);
    CHECK(ss.rejections == sessions - 1);
    CHECK(ss.reports == count);
    /* every retransmission followed a dropped request or shows up as a duplicate (see rel_loss.c) */
    CHECK(ok != count || st.retransmissions == (uint64_t)(ss.dropped_requests + ss.duplicates));
    free(seen);
    free(recs);
    return h_finish();
}
