/* SPDX-License-Identifier: Apache-2.0 */

/* libenos asynchronous API tests (enos_report_async, enos_publish_async)
 * against enos-sim as a separate process (test/c/with-sim.sh --one) and
 * against a silent UDP socket: every callback exactly once, order per client,
 * close with requests outstanding (also from inside a callback), the
 * ENOS_ERR_BUSY bound, errors through the callback, and ENOS_ERR_NOFILE when
 * the process runs out of descriptors. Built as C99, C11 and C++. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include "harness.h"
#include "simlog.h"

static const char *sim_addr, *sim_log;
static char run_id[64];

/* ---- completion bookkeeping ------------------------------------------ */

#define MAX_JOBS 70000

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls[MAX_JOBS];   /* how many times each job's callback ran */
    int status[MAX_JOBS];  /* the status it got */
    int order[MAX_JOBS];   /* job indexes in completion order */
    int done;              /* callbacks so far */
    int same_thread;       /* callbacks that ran on the submitting thread */
    char last_error[256];  /* enos_last_error() seen by the last failing callback */
    pthread_t submitter;
    enos_client *close_in_callback; /* closed by the first callback, if set */
} tracker;

typedef struct {
    tracker *t;
    int index;
} job;

static job jobs[MAX_JOBS];

static void tracker_init(tracker *t) {
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->submitter = pthread_self();
}

static void on_done(void *user, int status) {
    job *j = (job *)user;
    tracker *t = j->t;
    enos_client *to_close;
    pthread_mutex_lock(&t->mu);
    to_close = t->close_in_callback;
    t->close_in_callback = NULL;
    pthread_mutex_unlock(&t->mu);
    if (to_close != NULL) {
        /* Must not deadlock, and must not wait for this very callback. */
        CHECK_RC(enos_close(to_close), ENOS_OK);
    }
    pthread_mutex_lock(&t->mu);
    t->calls[j->index]++;
    t->status[j->index] = status;
    t->order[t->done++] = j->index;
    if (pthread_equal(pthread_self(), t->submitter)) {
        t->same_thread++;
    }
    if (status < 0) {
        snprintf(t->last_error, sizeof t->last_error, "%s", enos_last_error());
    }
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

/* wait_for waits up to timeout_s for n callbacks; returns how many came. */
static int wait_for(tracker *t, int n, double timeout_s) {
    double end = h_now() + timeout_s;
    int done;
    pthread_mutex_lock(&t->mu);
    while (t->done < n && h_now() < end) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&t->cv, &t->mu, &ts);
    }
    done = t->done;
    pthread_mutex_unlock(&t->mu);
    return done;
}

static int count_calls(tracker *t, int n, int want_calls) {
    int i, bad = 0;
    pthread_mutex_lock(&t->mu);
    for (i = 0; i < n; i++) {
        if (t->calls[i] != want_calls) {
            bad++;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return bad;
}

/* ---- helpers ---------------------------------------------------------- */

static void config_for(enos_config *cfg, const char *server) {
    enos_config init = ENOS_CONFIG_INIT;
    *cfg = init;
    cfg->server = server;
    cfg->product_key = V_PK;
    cfg->device_key = V_DK;
    cfg->device_secret = V_SECRET;
    cfg->ack_timeout_ms = 200;
    cfg->max_retransmit = 1;
}

/* A UDP socket that never answers; its address goes to addr. */
static int silent_server(char *addr, size_t size) {
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        return -1;
    }
    snprintf(addr, size, "127.0.0.1:%d", ntohs(sa.sin_port));
    return fd;
}

static size_t make_payload(char *buf, size_t size, const char *kind, int i) {
    return (size_t)snprintf(buf, size, "%s-%s-%05d", run_id, kind, i);
}

/* ---- tests ------------------------------------------------------------ */

static tracker tr; /* large: static */

static void test_invalid(void) {
    enos_config cfg;
    enos_client *c = NULL;
    job j;
    TEST("invalid arguments are refused at once and never call back");
    tracker_init(&tr);
    j.t = &tr;
    j.index = 0;
    CHECK_INVALID(enos_report_async(NULL, "x", 1, on_done, &j), "client");
    config_for(&cfg, sim_addr);
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK_INVALID(enos_report_async(c, "x", 1, NULL, &j), "fn");
    CHECK_INVALID(enos_report_async(c, NULL, 3, on_done, &j), "payload");
    CHECK_INVALID(enos_publish_async(c, NULL, "x", 1, on_done, &j), "topic");
    CHECK_INVALID(enos_publish_async(c, "no-slash", "x", 1, on_done, &j), "topic");
    CHECK_RC(enos_close(c), ENOS_OK);
    CHECK_RC(enos_report_async(c, "x", 1, on_done, &j), ENOS_ERR_CLOSED);
    h_sleep_ms(100);
    CHECK(tr.done == 0);
}

static void test_order_exactly_once(void) {
    enum { N = 300 };
    enos_config cfg;
    enos_client *c = NULL;
    char payload[96], topic[160], *log;
    const char *pos;
    long seq, last = 0;
    int i, in_order = 1, found = 0;
    TEST("one thread, async reports: each callback once, ENOS_OK, recorded in the order accepted");
    tracker_init(&tr);
    config_for(&cfg, sim_addr);
    cfg.ack_timeout_ms = 1000;
    cfg.max_retransmit = 4;
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    for (i = 0; i < N; i++) {
        size_t n = make_payload(payload, sizeof payload, "async", i);
        jobs[i].t = &tr;
        jobs[i].index = i;
        if (i % 10 == 9) {
            snprintf(topic, sizeof topic, "/sys/%s/%s/thing/event/async/post", V_PK, V_DK);
            CHECK_RC(enos_publish_async(c, topic, payload, n, on_done, &jobs[i]), ENOS_OK);
        } else {
            CHECK_RC(enos_report_async(c, payload, n, on_done, &jobs[i]), ENOS_OK);
        }
        memset(payload, 0, sizeof payload); /* the library copied it */
    }
    CHECK(wait_for(&tr, N, 60) == N);
    CHECK(count_calls(&tr, N, 1) == 0);
    for (i = 0; i < N; i++) {
        if (tr.status[i] != ENOS_OK) {
            fprintf(stderr, "    job %d: status %d (%s)\n", i, tr.status[i], tr.last_error);
            CHECK(tr.status[i] == ENOS_OK);
            break;
        }
        if (tr.order[i] != i) {
            in_order = 0;
        }
    }
    CHECK(in_order);
    CHECK(tr.same_thread == 0);
    CHECK_RC(enos_close(c), ENOS_OK);
    CHECK(tr.done == N); /* nothing more after close */

    log = read_file(sim_log);
    CHECK(log != NULL);
    if (log == NULL) {
        return;
    }
    pos = log;
    for (i = 0; i < N; i++) {
        char needle[300], enc[200];
        const char *hit, *s;
        size_t n = make_payload(payload, sizeof payload, "async", i);
        b64((const unsigned char *)payload, n, enc);
        snprintf(needle, sizeof needle, "\"payload\":\"%s\"", enc);
        hit = strstr(pos, needle);
        if (hit == NULL) {
            fprintf(stderr, "    report %d not found after report %d in %s\n", i, i - 1, sim_log);
            break;
        }
        for (s = hit; s > log && s[-1] != '\n'; s--) {
        }
        s = strstr(s, "\"sequence\":");
        seq = s != NULL ? strtol(s + 11, NULL, 10) : -1;
        if (seq <= last) {
            in_order = 0;
        }
        last = seq;
        pos = hit + strlen(needle);
        found++;
    }
    CHECK(found == N);
    CHECK(in_order);
    free(log);
}

static void test_close_outstanding(void) {
    enum { N = 50 };
    enos_config cfg;
    enos_client *c = NULL;
    char addr[64];
    int fd = silent_server(addr, sizeof addr), i, closed = 0;
    TEST("enos_close with reports outstanding: every callback once, ENOS_ERR_CLOSED, before close returns");
    CHECK(fd >= 0);
    tracker_init(&tr);
    config_for(&cfg, addr);
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    for (i = 0; i < N; i++) {
        jobs[i].t = &tr;
        jobs[i].index = i;
        CHECK_RC(enos_report_async(c, "x", 1, on_done, &jobs[i]), ENOS_OK);
    }
    h_sleep_ms(50); /* the first one is waiting for an answer */
    CHECK_RC(enos_close(c), ENOS_OK);
    CHECK(tr.done == N); /* all called before enos_close returned */
    CHECK(count_calls(&tr, N, 1) == 0);
    for (i = 0; i < N; i++) {
        closed += tr.status[i] == ENOS_ERR_CLOSED;
    }
    CHECK(closed == N);
    h_sleep_ms(100);
    CHECK(tr.done == N);
    close(fd);
}

static void test_close_in_callback(void) {
    enum { N = 40 };
    enos_config cfg;
    enos_client *c = NULL;
    int i, closed = 0;
    TEST("enos_close from inside a callback: no deadlock; the rest end with ENOS_ERR_CLOSED");
    tracker_init(&tr);
    config_for(&cfg, sim_addr);
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    tr.close_in_callback = c;
    for (i = 0; i < N; i++) {
        jobs[i].t = &tr;
        jobs[i].index = i;
        CHECK_RC(enos_report_async(c, "y", 1, on_done, &jobs[i]), ENOS_OK);
    }
    CHECK(wait_for(&tr, N, 30) == N);
    CHECK(count_calls(&tr, N, 1) == 0);
    for (i = 1; i < N; i++) {
        closed += tr.status[i] == ENOS_ERR_CLOSED;
    }
    CHECK(closed >= N - 2); /* the first (and one racing it) may have been delivered */
    CHECK_RC(enos_close(c), ENOS_ERR_CLOSED);
}

static void test_busy(void) {
    enum { N = 65536 };
    enos_config cfg;
    enos_client *c = NULL;
    char addr[64];
    int fd = silent_server(addr, sizeof addr), i, accepted = 0, rc = ENOS_OK;
    TEST("ENOS_ERR_BUSY after the outstanding bound, never before 4,096; close ends them all");
    CHECK(fd >= 0);
    tracker_init(&tr);
    config_for(&cfg, addr);
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    for (i = 0; i < N + 10 && i < MAX_JOBS; i++) {
        jobs[i].t = &tr;
        jobs[i].index = i;
        rc = enos_report_async(c, "z", 1, on_done, &jobs[i]);
        if (rc != ENOS_OK) {
            break;
        }
        accepted++;
    }
    CHECK(accepted >= 4096);
    CHECK(accepted <= N);
    CHECK_RC(rc, ENOS_ERR_BUSY);
    CHECK(strstr(enos_last_error(), "outstanding") != NULL);
    CHECK_RC(enos_close(c), ENOS_OK);
    CHECK(tr.done == accepted);
    CHECK(count_calls(&tr, accepted, 1) == 0);
    close(fd);
}

static void test_errors_through_callback(void) {
    enos_config cfg;
    enos_client *c = NULL;
    job j;
    TEST("a refused authentication reaches the callback as ENOS_ERR_AUTH with its detail");
    tracker_init(&tr);
    config_for(&cfg, sim_addr);
    cfg.device_secret = "not-the-secret";
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    j.t = &tr;
    j.index = 0;
    CHECK_RC(enos_report_async(c, "w", 1, on_done, &j), ENOS_OK);
    CHECK(wait_for(&tr, 1, 30) == 1);
    CHECK(tr.status[0] == ENOS_ERR_AUTH);
    CHECK(strstr(tr.last_error, "enos_report_async") != NULL);
    CHECK(strstr(tr.last_error, "not-the-secret") == NULL);
    CHECK_RC(enos_close(c), ENOS_OK);
}

static int open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (d == NULL) {
        return -1;
    }
    while (readdir(d) != NULL) {
        n++;
    }
    closedir(d);
    return n - 3; /* ".", ".." and the directory's own descriptor */
}

/* Clients of one process share their sockets to a server, so running out of
 * descriptors shows only when a socket to a new server must be opened: with
 * no descriptor left, authenticating towards an address no other client uses
 * fails with ENOS_ERR_NOFILE (nothing is sent); with the limit restored, the
 * same clients authenticate against the simulator sharing one socket. */
static void test_nofile(void) {
    enum { N = 12 };
    enos_config cfg;
    enos_client *c[N];
    struct rlimit saved, low;
    int i, nofile = 0, other = 0, before, lowest;
    TEST("out of descriptors is ENOS_ERR_NOFILE, not a network error; clients share sockets");
    CHECK(getrlimit(RLIMIT_NOFILE, &saved) == 0);
    for (i = 0; i < N; i++) {
        config_for(&cfg, "127.0.0.1:9"); /* discard: no client of this test talks to it */
        c[i] = NULL;
        CHECK(enos_init(&cfg, &c[i]) == ENOS_OK);
    }
    /* The lowest free descriptor as the limit: no new one can be opened. */
    lowest = dup(0);
    CHECK(lowest >= 0);
    close(lowest);
    low = saved;
    low.rlim_cur = (rlim_t)lowest;
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    for (i = 0; i < N; i++) {
        int rc = c[i] != NULL ? enos_authenticate(c[i]) : ENOS_ERR_INVALID;
        if (rc == ENOS_ERR_NOFILE) {
            nofile++;
            if (nofile == 1) {
                CHECK(strstr(enos_last_error(), "file descriptors") != NULL);
            }
        } else {
            other++;
            fprintf(stderr, "    client %d: %d (%s)\n", i, rc, enos_last_error());
        }
    }
    CHECK(nofile == N);
    CHECK(other == 0);
    CHECK(setrlimit(RLIMIT_NOFILE, &saved) == 0);
    for (i = 0; i < N; i++) {
        if (c[i] != NULL) {
            enos_close(c[i]);
        }
    }
    before = open_fds();
    for (i = 0; i < N; i++) {
        config_for(&cfg, sim_addr);
        c[i] = NULL;
        CHECK(enos_init(&cfg, &c[i]) == ENOS_OK);
        CHECK(c[i] != NULL && enos_authenticate(c[i]) == ENOS_OK);
    }
    CHECK(open_fds() - before <= 1); /* one shared socket at most */
    for (i = 0; i < N; i++) {
        if (c[i] != NULL) {
            enos_close(c[i]);
        }
    }
}

/* Where payload i's record starts in the simulator's log (NULL: absent). */
static const char *find_record(const char *log, const char *kind, int i) {
    char payload[96], needle[300], enc[200];
    size_t n = make_payload(payload, sizeof payload, kind, i);
    b64((const unsigned char *)payload, n, enc);
    snprintf(needle, sizeof needle, "\"payload\":\"%s\"", enc);
    return strstr(log, needle);
}

static void test_async_then_blocking_order(void) {
    enum { N = 40 };
    enos_config cfg;
    enos_client *c = NULL;
    char payload[96], *log;
    const char *blocking;
    int i, after = 0;
    TEST("async reports, then a blocking enos_report on the same thread: it goes out after them");
    tracker_init(&tr);
    config_for(&cfg, sim_addr);
    cfg.ack_timeout_ms = 1000;
    cfg.max_retransmit = 4;
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    for (i = 0; i < N; i++) {
        size_t n = make_payload(payload, sizeof payload, "before", i);
        jobs[i].t = &tr;
        jobs[i].index = i;
        CHECK_RC(enos_report_async(c, payload, n, on_done, &jobs[i]), ENOS_OK);
    }
    {
        size_t n = make_payload(payload, sizeof payload, "blocking", 0);
        CHECK_RC(enos_report(c, payload, n), ENOS_OK);
    }
    CHECK(wait_for(&tr, N, 60) == N);
    CHECK_RC(enos_close(c), ENOS_OK);
    log = read_file(sim_log);
    CHECK(log != NULL);
    if (log == NULL) {
        return;
    }
    blocking = find_record(log, "blocking", 0);
    CHECK(blocking != NULL);
    for (i = 0; i < N && blocking != NULL; i++) {
        const char *hit = find_record(log, "before", i);
        after += hit != NULL && hit < blocking;
    }
    if (after != N) {
        fprintf(stderr, "    only %d of %d earlier async reports were recorded before the blocking one\n", after, N);
    }
    CHECK(after == N);
    free(log);
}

/* A callback that makes a blocking report of its own client while more
 * requests of that client wait behind it. */
static enos_client *blocking_client;
static int blocking_rc = 99;
static void on_done_blocking(void *user, int status) {
    job *j = (job *)user;
    if (j->index == 0) {
        char payload[96];
        size_t n = make_payload(payload, sizeof payload, "incallback", 0);
        blocking_rc = enos_report(blocking_client, payload, n);
    }
    on_done(user, status);
}

static void test_blocking_in_callback(void) {
    enum { N = 10 };
    enos_config cfg;
    int i;
    TEST("a blocking enos_report inside a callback, more requests behind it: no deadlock");
    tracker_init(&tr);
    config_for(&cfg, sim_addr);
    cfg.ack_timeout_ms = 1000;
    cfg.max_retransmit = 4;
    CHECK_RC(enos_init(&cfg, &blocking_client), ENOS_OK);
    for (i = 0; i < N; i++) {
        jobs[i].t = &tr;
        jobs[i].index = i;
        CHECK_RC(enos_report_async(blocking_client, "z", 1, on_done_blocking, &jobs[i]), ENOS_OK);
    }
    CHECK(wait_for(&tr, N, 30) == N);
    if (tr.done != N) {
        fprintf(stderr, "    deadlocked: %d of %d callbacks\n", tr.done, N);
        h_finish();
        _exit(1);
    }
    CHECK_RC(blocking_rc, ENOS_OK);
    CHECK_RC(enos_close(blocking_client), ENOS_OK);
}

/* Two clients whose first callbacks, running at the same time, each close
 * the other client. */
static enos_client *cross[2];
static pthread_mutex_t cross_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cross_cv = PTHREAD_COND_INITIALIZER;
static int cross_started, cross_finished, cross_rc[2];
static void on_done_cross(void *user, int status) {
    int me = (int)(intptr_t)user;
    double end = h_now() + 5;
    (void)status;
    pthread_mutex_lock(&cross_mu);
    cross_started++;
    pthread_cond_broadcast(&cross_cv);
    while (cross_started < 2 && h_now() < end) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec++;
        pthread_cond_timedwait(&cross_cv, &cross_mu, &ts);
    }
    pthread_mutex_unlock(&cross_mu);
    cross_rc[me] = enos_close(cross[1 - me]);
    pthread_mutex_lock(&cross_mu);
    cross_finished++;
    pthread_cond_broadcast(&cross_cv);
    pthread_mutex_unlock(&cross_mu);
}

static void test_cross_close(void) {
    enos_config cfg;
    char addr[64];
    int fd = silent_server(addr, sizeof addr), i;
    double end;
    TEST("callbacks of two clients close each other at the same time: no deadlock");
    CHECK(fd >= 0);
    config_for(&cfg, addr);
    for (i = 0; i < 2; i++) {
        CHECK_RC(enos_init(&cfg, &cross[i]), ENOS_OK);
    }
    for (i = 0; i < 2; i++) {
        CHECK_RC(enos_report_async(cross[i], "x", 1, on_done_cross, (void *)(intptr_t)i), ENOS_OK);
    }
    end = h_now() + 30;
    pthread_mutex_lock(&cross_mu);
    while (cross_finished < 2 && h_now() < end) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec++;
        pthread_cond_timedwait(&cross_cv, &cross_mu, &ts);
    }
    i = cross_finished;
    pthread_mutex_unlock(&cross_mu);
    if (i < 2) {
        fprintf(stderr, "    deadlocked: %d of 2 callbacks returned from enos_close\n", i);
        CHECK(i == 2);
        h_finish();
        _exit(1);
    }
    /* Each closed the other: both OK, or one lost the race and found it closed. */
    CHECK(cross_rc[0] == ENOS_OK || cross_rc[1] == ENOS_OK);
    CHECK(cross_rc[0] == ENOS_OK || cross_rc[0] == ENOS_ERR_CLOSED);
    CHECK(cross_rc[1] == ENOS_OK || cross_rc[1] == ENOS_ERR_CLOSED);
    close(fd);
}

static void test_queued_through_callback(void) {
    enum { N = 5 };
    enos_config cfg;
    enos_client *c = NULL;
    char addr[64], dir[] = "/tmp/enos-async-queued-XXXXXX", cmd[128];
    int fd = silent_server(addr, sizeof addr), i, queued = 0;
    TEST("with a state_dir, an undeliverable async report calls back ENOS_QUEUED (a success), each once");
    CHECK(fd >= 0);
    CHECK(mkdtemp(dir) != NULL);
    tracker_init(&tr);
    config_for(&cfg, addr);
    cfg.ack_timeout_ms = 50;
    cfg.max_retransmit = 1;
    cfg.retry_interval_ms = 30000;
    cfg.state_dir = dir;
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    for (i = 0; i < N; i++) {
        jobs[i].t = &tr;
        jobs[i].index = i;
        CHECK_RC(enos_report_async(c, "q", 1, on_done, &jobs[i]), ENOS_OK);
    }
    CHECK(wait_for(&tr, N, 30) == N);
    CHECK(count_calls(&tr, N, 1) == 0);
    for (i = 0; i < N; i++) {
        queued += tr.status[i] == ENOS_QUEUED;
    }
    if (queued != N) {
        fprintf(stderr, "    %d of %d callbacks got ENOS_QUEUED (first status %d)\n", queued, N, tr.status[0]);
    }
    CHECK(queued == N);
    CHECK(tr.order[0] == 0 && tr.order[N - 1] == N - 1);
    CHECK_RC(enos_close(c), ENOS_OK);
    close(fd);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

/* Threads submitting while another thread closes the client. */
typedef struct {
    enos_client *c;
    int base, accepted, last_rc;
} racer;
static void *race_submit(void *arg) {
    racer *r = (racer *)arg;
    int i;
    for (i = 0; i < 5000; i++) {
        int rc;
        jobs[r->base + r->accepted].t = &tr;
        jobs[r->base + r->accepted].index = r->base + r->accepted;
        rc = enos_report_async(r->c, "r", 1, on_done, &jobs[r->base + r->accepted]);
        if (rc != ENOS_OK) {
            r->last_rc = rc;
            break;
        }
        r->accepted++;
    }
    return NULL;
}

static void test_close_races_submits(void) {
    enum { THREADS = 4 };
    enos_config cfg;
    enos_client *c = NULL;
    pthread_t th[THREADS];
    racer rs[THREADS];
    int i, total = 0, done_at_close, bad;
    TEST("enos_close racing enos_report_async of 4 threads: every accepted request called back exactly once");
    tracker_init(&tr);
    config_for(&cfg, sim_addr);
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    for (i = 0; i < THREADS; i++) {
        rs[i].c = c;
        rs[i].base = i * 5000;
        rs[i].accepted = 0;
        rs[i].last_rc = 0;
        CHECK(pthread_create(&th[i], NULL, race_submit, &rs[i]) == 0);
    }
    h_sleep_ms(20);
    CHECK_RC(enos_close(c), ENOS_OK);
    pthread_mutex_lock(&tr.mu);
    done_at_close = tr.done;
    pthread_mutex_unlock(&tr.mu);
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        total += rs[i].accepted;
        CHECK(rs[i].accepted == 5000 || rs[i].last_rc == ENOS_ERR_CLOSED);
    }
    CHECK(wait_for(&tr, total, 30) == total);
    h_sleep_ms(100);
    bad = 0;
    pthread_mutex_lock(&tr.mu);
    for (i = 0; i < THREADS; i++) {
        int k;
        for (k = 0; k < rs[i].accepted; k++) {
            bad += tr.calls[rs[i].base + k] != 1;
        }
    }
    if (bad != 0 || tr.done != total || done_at_close != total) {
        fprintf(stderr, "    %d accepted, %d callbacks (%d when enos_close returned), %d not called exactly once\n",
                total, tr.done, done_at_close, bad);
    }
    CHECK(bad == 0);
    CHECK(tr.done == total);
    /* enos_close returned after every callback of a request accepted before it. */
    CHECK(done_at_close == total);
    pthread_mutex_unlock(&tr.mu);
}

/* Two clients whose first callbacks, running at the same time, each make a
 * blocking report of the other client while both have requests waiting. */
static enos_client *pair[2];
static int pair_started, pair_finished, pair_rc[2] = {99, 99}, pair_calls;
static void on_done_pair(void *user, int status) {
    int me = (int)((intptr_t)user & 1), first = (int)((intptr_t)user >> 1) == 0;
    double end = h_now() + 5;
    (void)status;
    pthread_mutex_lock(&cross_mu);
    pair_calls++;
    pthread_cond_broadcast(&cross_cv);
    pthread_mutex_unlock(&cross_mu);
    if (!first) {
        return;
    }
    pthread_mutex_lock(&cross_mu);
    pair_started++;
    pthread_cond_broadcast(&cross_cv);
    while (pair_started < 2 && h_now() < end) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec++;
        pthread_cond_timedwait(&cross_cv, &cross_mu, &ts);
    }
    pthread_mutex_unlock(&cross_mu);
    pair_rc[me] = enos_report(pair[1 - me], "cross", 5);
    pthread_mutex_lock(&cross_mu);
    pair_finished++;
    pthread_cond_broadcast(&cross_cv);
    pthread_mutex_unlock(&cross_mu);
}

static void test_cross_blocking(void) {
    enos_config cfg;
    int i, k, finished, calls;
    double end;
    TEST("callbacks of two clients make blocking reports of each other, both with requests waiting: no deadlock");
    config_for(&cfg, sim_addr);
    cfg.ack_timeout_ms = 1000;
    cfg.max_retransmit = 4;
    for (i = 0; i < 2; i++) {
        CHECK_RC(enos_init(&cfg, &pair[i]), ENOS_OK);
    }
    for (k = 0; k < 3; k++) {
        for (i = 0; i < 2; i++) {
            CHECK_RC(enos_report_async(pair[i], "p", 1, on_done_pair, (void *)(intptr_t)(k << 1 | i)), ENOS_OK);
        }
    }
    end = h_now() + 30;
    pthread_mutex_lock(&cross_mu);
    while ((pair_finished < 2 || pair_calls < 6) && h_now() < end) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec++;
        pthread_cond_timedwait(&cross_cv, &cross_mu, &ts);
    }
    finished = pair_finished;
    calls = pair_calls;
    pthread_mutex_unlock(&cross_mu);
    if (finished < 2 || calls < 6) {
        fprintf(stderr, "    deadlocked: %d of 2 blocking reports returned, %d of 6 callbacks\n", finished, calls);
        CHECK(finished == 2);
        h_finish();
        _exit(1);
    }
    CHECK_RC(pair_rc[0], ENOS_OK);
    CHECK_RC(pair_rc[1], ENOS_OK);
    for (i = 0; i < 2; i++) {
        CHECK_RC(enos_close(pair[i]), ENOS_OK);
    }
}

int main(void) {
    sim_addr = getenv("ENOS_SIM_ADDR");
    sim_log = getenv("ENOS_SIM_LOG");
    if (sim_addr == NULL || sim_log == NULL) {
        fprintf(stderr, "run me with test/c/with-sim.sh\n");
        return 2;
    }
    snprintf(run_id, sizeof run_id, "a%ld-%d", (long)time(NULL), (int)getpid());
    test_invalid();
    test_order_exactly_once();
    test_close_outstanding();
    test_close_in_callback();
    test_busy();
    test_errors_through_callback();
    test_nofile();
    test_async_then_blocking_order();
    test_blocking_in_callback();
    test_cross_close();
    test_queued_through_callback();
    test_close_races_submits();
    test_cross_blocking();
    return h_finish();
}
