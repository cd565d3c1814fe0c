/* SPDX-License-Identifier: Apache-2.0 */

/* Reliability test 4: kill -9 of a reporting process, restart on the
 * same state directory.
 *
 * One binary, three roles:
 *   rel_crash [ROUNDS]                       the orchestrator (default 5 rounds)
 *   rel_crash report ADDR STATE ACKS START   a reporter: reports "k-START", "k-START+1", ...
 *                                            in a loop with a state_dir; after each report
 *                                            that returned ENOS_OK or ENOS_QUEUED it appends
 *                                            "ID RC" to ACKS and fsyncs before the next report
 *   rel_crash resume ADDR STATE ACKS START   the restarted process: enos_init on the same
 *                                            state_dir, enos_flush, 10 more reports, stats
 *
 * The orchestrator starts ONE enos-sim (separate process) for the whole run and,
 * per round: spawns a reporter, lets it report, and kills it with SIGKILL at a
 * random instant, in one of three situations:
 *   running  - the server answers normally;
 *   paused   - the sim is SIGSTOPped (server unreachable, no ICMP): the report in
 *              flight times out and is queued, later ones are queued at once; the
 *              kill lands while the queue holds reports;
 *   draining - the sim was paused, then SIGCONTed: the kill lands while the
 *              background worker delivers the queue.
 * Then it resumes the sim (waits 300 ms so the sim handles the datagrams it
 * buffered while stopped: those come from the dead process's socket and
 * must not race with the new process's requests) and runs a "resume" process
 * on the same state_dir. Checks per round:
 *   - the reporter really died of SIGKILL (no report ever returned an error);
 *   - the resume process's enos_init succeeds (the dead process's lock is gone),
 *     its enos_flush returns ENOS_OK, and it makes NO authentication
 *     (client stats auths = 0: the saved token is still valid);
 *   - the sim's auth count is unchanged by the restart, and over the whole
 *     run is exactly 1; its rejection count stays 0 (no sequence ever reused:
 *     a reused or lower sequence would be answered 4.01);
 *   - every id in ACKS (each report the killed process was told was delivered
 *     or queued) is in the sim's log; sequences in the log strictly increase.
 * Payloads recorded twice are counted and printed, not failed: after a kill
 * between delivery and the queue's bookkeeping, or after a timeout whose
 * request did arrive, at-least-once delivery resends a report with a new
 * sequence; that is expected (EnOS has no idempotency key to avoid it).
 *
 * REL_SEED=N replays the random kill instants of an earlier run. */
#include "rel.h"

#define ROUND_IDS 1000000L

static int reporter(int argc, char **argv, int resume) {
    const char *addr, *state, *acks;
    long start, id;
    enos_config cfg;
    enos_client *c = NULL;
    int fd, rc;
    char payload[64], line[64];
    if (argc < 6) {
        fprintf(stderr, "usage: %s report|resume ADDR STATE ACKS START\n", argv[0]);
        return 2;
    }
    addr = argv[2], state = argv[3], acks = argv[4], start = atol(argv[5]);
    cfg = rel_config(addr);
    cfg.state_dir = state;
    cfg.ack_timeout_ms = 30;
    cfg.max_retransmit = 3; /* window 30 ms * 1.5 * 15 = 675 ms */
    cfg.retry_interval_ms = 100;
    fd = open(acks, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0) {
        perror(acks);
        return 2;
    }
    rc = enos_init(&cfg, &c);
    if (rc != ENOS_OK) {
        fprintf(stderr, "%s: enos_init returned %d (%s): %s\n", argv[1], rc, enos_strerror(rc), enos_last_error());
        return 3;
    }
    if (resume) {
        enos_stats st0 = ENOS_STATS_INIT, st = ENOS_STATS_INIT;
        double t0 = h_now(), tf;
        int frc, fails = 0, i;
        enos_get_stats(c, &st0);
        frc = enos_flush(c, 30000);
        tf = h_now() - t0;
        if (frc != ENOS_OK) {
            fprintf(stderr, "resume: enos_flush returned %d (%s): %s\n", frc, enos_strerror(frc), enos_last_error());
            fails++;
        }
        for (i = 0; i < 10; i++) {
            id = start + i;
            snprintf(payload, sizeof payload, "k-%ld", id);
            rc = enos_report(c, payload, strlen(payload));
            if (rc != ENOS_OK) {
                fprintf(stderr, "resume: report %ld returned %d (%s): %s\n", id, rc, enos_strerror(rc), enos_last_error());
                fails++;
                continue;
            }
            snprintf(line, sizeof line, "%ld %d\n", id, rc);
            if (write(fd, line, strlen(line)) != (ssize_t)strlen(line) || fsync(fd) != 0) {
                return 2;
            }
        }
        enos_get_stats(c, &st);
        printf("    resume: found %llu queued reports, flush took %.2f s; client auths=%llu sent=%llu "
               "queue_delivered=%llu queued=%llu state_errors=%llu\n",
               (unsigned long long)st0.queued, tf, (unsigned long long)st.auths, (unsigned long long)st.sent,
               (unsigned long long)st.queue_delivered, (unsigned long long)st.queued,
               (unsigned long long)st.state_errors);
        if (st.auths != 0) {
            fprintf(stderr, "resume: the restarted client authenticated (%llu) although its saved token is valid\n",
                    (unsigned long long)st.auths);
            fails++;
        }
        if (st.queued != 0 || st.state_errors != 0) {
            fails++;
        }
        rc = enos_close(c);
        close(fd);
        return fails == 0 && rc == ENOS_OK ? 0 : 1;
    }
    for (id = start;; id++) {
        snprintf(payload, sizeof payload, "k-%ld", id);
        rc = enos_report(c, payload, strlen(payload));
        if (rc != ENOS_OK && rc != ENOS_QUEUED) {
            fprintf(stderr, "report: report %ld returned %d (%s): %s\n", id, rc, enos_strerror(rc), enos_last_error());
            return 3;
        }
        snprintf(line, sizeof line, "%ld %d\n", id, rc);
        if (write(fd, line, strlen(line)) != (ssize_t)strlen(line) || fsync(fd) != 0) {
            perror("acks");
            return 2;
        }
        rel_sleep_ms(1);
    }
}

static pid_t spawn_role(const char *self, const char *role, const char *addr, const char *state,
                        const char *acks, long start) {
    char startbuf[32];
    const char *argv[7];
    pid_t pid;
    snprintf(startbuf, sizeof startbuf, "%ld", start);
    argv[0] = self, argv[1] = role, argv[2] = addr, argv[3] = state, argv[4] = acks, argv[5] = startbuf;
    argv[6] = NULL;
    fflush(stdout);
    fflush(stderr);
    if (posix_spawn(&pid, self, NULL, NULL, (char *const *)argv, environ) != 0) {
        rel_die("cannot spawn %s", self);
    }
    return pid;
}

static long count_lines(const char *path) {
    size_t len = 0;
    char *buf = rel_read_file(path, &len);
    long n = 0;
    size_t i;
    if (buf == NULL) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        n += buf[i] == '\n';
    }
    free(buf);
    return n;
}

/* The acknowledged ids (all rounds so far); marks their rc counts of this round. */
typedef struct {
    long *ids;
    int *rcs;
    long n;
} acklist;

static acklist read_acks(const char *path) {
    acklist a;
    size_t len = 0;
    char *buf = rel_read_file(path, &len), *p, *e;
    long cap = 1024;
    a.n = 0;
    a.ids = (long *)malloc((size_t)cap * sizeof(long));
    a.rcs = (int *)malloc((size_t)cap * sizeof(int));
    for (p = buf; p != NULL && *p; p = e + 1) {
        e = strchr(p, '\n');
        if (e == NULL) {
            break; /* torn last line (cannot happen: one write() per line, but be safe) */
        }
        if (a.n == cap) {
            cap *= 2;
            a.ids = (long *)realloc(a.ids, (size_t)cap * sizeof(long));
            a.rcs = (int *)realloc(a.rcs, (size_t)cap * sizeof(int));
        }
        a.ids[a.n] = strtol(p, &p, 10);
        a.rcs[a.n] = (int)strtol(p, NULL, 10);
        a.n++;
    }
    free(buf);
    return a;
}

static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    int rounds, r;
    unsigned seed;
    const char *extra[] = {"--device", V_PK ":" V_DK ":" V_SECRET, NULL};
    rel_sim sim;
    rel_sim_stats_t before, after, fin;
    char state[REL_PATH], acks[REL_PATH];
    long total_dups = 0, total_queued_acks = 0, total_ok_acks = 0;
    double t_all = h_now();

    if (argc > 1 && strcmp(argv[1], "report") == 0) {
        return reporter(argc, argv, 0);
    }
    if (argc > 1 && strcmp(argv[1], "resume") == 0) {
        return reporter(argc, argv, 1);
    }
    rounds = argc > 1 ? atoi(argv[1]) : 5;
    seed = getenv("REL_SEED") ? (unsigned)strtoul(getenv("REL_SEED"), NULL, 10) : (unsigned)time(NULL) ^ (unsigned)getpid();
    srand(seed);
    TEST("kill -9 of a reporting process, restart on the same state directory");
    printf("crash: %d rounds, REL_SEED=%u\n", rounds, seed);
    snprintf(state, sizeof state, "%s/crash-state-%ld", rel_tmp(), (long)getpid());
    snprintf(acks, sizeof acks, "%s/crash-acks-%ld.txt", rel_tmp(), (long)getpid());
    unlink(acks);
    rel_sim_start(&sim, "crash", "127.0.0.1:0", extra);

    for (r = 0; r < rounds; r++) {
        int kind = r < 3 ? r : rand() % 3;
        long lines0 = count_lines(acks), lines_at_kill, ok_acks = 0, queued_acks = 0, i, missing = 0, dups = 0;
        long run_ms = 0, pause_ms = 0, after_ms = 0;
        char when[160];
        int status = 0, paused = 0;
        double t0;
        pid_t pid, rpid;
        acklist a;
        rel_rec *recs;
        size_t n, j;
        long *logged;
        uint32_t last_seq = 0;
        long seq_bad = 0;

        pid = spawn_role(argv[0], "report", sim.addr, state, acks, (long)r * ROUND_IDS);
        /* let it authenticate (round 0) / resume and get going: 20 acknowledged reports */
        t0 = h_now();
        while (count_lines(acks) < lines0 + 20 && h_now() - t0 < 15 && waitpid(pid, &status, WNOHANG) == 0) {
            rel_sleep_ms(5);
        }
        run_ms = 50 + rand() % 700;
        rel_sleep_ms(run_ms);
        if (kind >= 1) {
            rel_sim_pause(&sim);
            paused = 1;
            /* paused: long enough that the report in flight times out (675 ms) and more get queued */
            pause_ms = kind == 1 ? 750 + rand() % 1500 : 800 + rand() % 700;
            rel_sleep_ms(pause_ms);
            if (kind == 2) {
                rel_sim_resume(&sim);
                paused = 0;
                after_ms = rand() % 150; /* the worker is delivering the queue now */
                rel_sleep_ms(after_ms);
            }
        }
        lines_at_kill = count_lines(acks);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        if (paused) {
            rel_sim_resume(&sim);
        }
        rel_sleep_ms(300); /* let the sim handle what it buffered while stopped */
        CHECK(rel_sim_stats(&sim, &before) == 0);

        rpid = spawn_role(argv[0], "resume", sim.addr, state, acks, (long)r * ROUND_IDS + ROUND_IDS / 2);
        waitpid(rpid, &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        CHECK(rel_sim_stats(&sim, &after) == 0);

        /* every acknowledged id (all rounds) must be in the log */
        a = read_acks(acks);
        for (i = lines0; i < a.n && i < lines_at_kill; i++) {
            if (a.rcs[i] == ENOS_QUEUED) {
                queued_acks++;
            } else {
                ok_acks++;
            }
        }
        n = rel_read_log(sim.log, &recs);
        logged = (long *)malloc((n + 1) * sizeof(long));
        for (j = 0; j < n; j++) {
            logged[j] = rel_payload_id(recs[j].payload, "k");
            if (j > 0 && recs[j].seq <= last_seq) {
                seq_bad++;
            }
            last_seq = recs[j].seq;
        }
        qsort(logged, n, sizeof(long), cmp_long);
        for (j = 1; j < n; j++) {
            dups += logged[j] == logged[j - 1];
        }
        for (i = 0; i < a.n; i++) {
            if (bsearch(&a.ids[i], logged, n, sizeof(long), cmp_long) == NULL) {
                if (missing++ < 5) {
                    fprintf(stderr, "round %d: acknowledged report k-%ld (rc %d) is not in the sim's log\n", r,
                            a.ids[i], a.rcs[i]);
                }
            }
        }
        if (kind == 0) {
            snprintf(when, sizeof when, "running (%ld ms into the run)", run_ms);
        } else if (kind == 1) {
            snprintf(when, sizeof when, "the sim was paused (%ld ms into a pause, after %ld ms running)", pause_ms,
                     run_ms);
        } else {
            snprintf(when, sizeof when, "draining (%ld ms after a %ld ms pause ended)", after_ms, pause_ms);
        }
        printf("crash round %d: killed while %s; the killed process had been told ENOS_OK %ld times, ENOS_QUEUED "
               "%ld times; after restart: sim auths %ld -> %ld, rejections %ld; acknowledged ids missing from the "
               "log: %ld of %ld (all rounds); payloads recorded twice in this round: %ld; seq_not_increasing=%ld\n",
               r, when, ok_acks, queued_acks, before.auths, after.auths, after.rejections, missing, a.n,
               dups - total_dups, seq_bad);
        total_dups = dups;
        total_ok_acks += ok_acks;
        total_queued_acks += queued_acks;
        CHECK(lines_at_kill > lines0); /* the reporter did report */
        CHECK(after.auths == before.auths); /* no new authentication on restart */
        CHECK(after.auths == 1);            /* and none in any round: one session throughout */
        CHECK(after.rejections == 0);       /* no sequence reused: zero 4.01 */
        CHECK(missing == 0);
        CHECK(seq_bad == 0);
        free(a.ids);
        free(a.rcs);
        free(logged);
        free(recs);
    }
    rel_sim_stop(&sim, &fin);
    printf("crash: %d kills in %.1f s; the killed processes were told ENOS_OK %ld and ENOS_QUEUED %ld times, all "
           "recorded; payloads recorded twice (at-least-once after a kill or a timeout): %ld\n",
           rounds, h_now() - t_all, total_ok_acks, total_queued_acks, total_dups);
    rel_print_sim_stats("sim summary", &fin);
    CHECK(fin.auths == 1 && fin.rejections == 0);
    CHECK(total_queued_acks > 0); /* the kills did hit processes with queued reports */
    return h_finish();
}
