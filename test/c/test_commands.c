/* SPDX-License-Identifier: Apache-2.0 */

/* libenos C API tests of commands, the offline queue and statistics against
 * enos-sim running as separate processes (started by test/c/with-sim.sh):
 * commands queued through the simulators' control channels (inline and get
 * command styles) arrive once and in order through the handler and through
 * enos_next_command(); replies reach the reply topic; enos_reply() and
 * enos_close() from inside the handler; a slow handler does not stall other
 * clients; poll_interval_ms; flush and stats with a state_dir.
 * Built as C99, C11 and C++. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include "harness.h"
#include "simlog.h"

#define MAXCMD 16

struct sim {
    const char *name, *addr, *log, *control;
};
static struct sim sims[2];
static const char *pk, *dk, *secret, *dk2, *secret2;
static char run_id[24];

/* ---- helpers ------------------------------------------------------------ */

/* Queues a command for device (pk, d) through the simulator's control channel
 * (one JSON line each way over loopback TCP). topic NULL: the default. */
static int sim_command(const struct sim *s, const char *d, const char *topic, const char *payload) {
    struct sockaddr_in a;
    char host[64], req[1024], enc[512], resp[256];
    const char *colon = strrchr(s->control, ':');
    int fd, ok = 0;
    size_t n = 0;
    ssize_t r;
    if (colon == NULL || (size_t)(colon - s->control) >= sizeof host || strlen(payload) > 300) {
        return 0;
    }
    memcpy(host, s->control, (size_t)(colon - s->control));
    host[colon - s->control] = '\0';
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        return 0;
    }
    b64((const unsigned char *)payload, strlen(payload), enc);
    if (topic != NULL) {
        snprintf(req, sizeof req, "{\"op\":\"command\",\"productKey\":\"%s\",\"deviceKey\":\"%s\",\"topic\":\"%s\",\"payload\":\"%s\"}\n",
                 pk, d, topic, enc);
    } else {
        snprintf(req, sizeof req, "{\"op\":\"command\",\"productKey\":\"%s\",\"deviceKey\":\"%s\",\"payload\":\"%s\"}\n",
                 pk, d, enc);
    }
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return 0;
    }
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && write(fd, req, strlen(req)) == (ssize_t)strlen(req)) {
        while (n < sizeof resp - 1 && (r = read(fd, resp + n, sizeof resp - 1 - n)) > 0) {
            n += (size_t)r;
            if (memchr(resp, '\n', n) != NULL) {
                break;
            }
        }
        resp[n] = '\0';
        ok = strstr(resp, "\"ok\":true") != NULL;
        if (!ok) {
            fprintf(stderr, "    control channel answered: %s\n", resp);
        }
    }
    close(fd);
    return ok;
}

/* Counts records in the simulator's log with this topic and payload. */
static int count_records(const struct sim *s, const char *topic, const char *payload) {
    char needle[1024], enc[512];
    char *log = read_file(s->log);
    const char *p;
    int n = 0;
    if (log == NULL) {
        return -1;
    }
    b64((const unsigned char *)payload, strlen(payload), enc);
    snprintf(needle, sizeof needle, "\"topic\":\"%s\",\"sequence\":", topic);
    for (p = log; (p = strstr(p, needle)) != NULL; p++) {
        const char *eol = strchr(p, '\n');
        const char *pl = strstr(p, "\"payload\":\"");
        if (pl != NULL && (eol == NULL || pl < eol) && strncmp(pl + 11, enc, strlen(enc)) == 0 &&
            pl[11 + strlen(enc)] == '"') {
            n++;
        }
    }
    free(log);
    return n;
}

static void config_for(enos_config *cfg, const char *server, const char *device, const char *sec) {
    enos_config init = ENOS_CONFIG_INIT;
    *cfg = init;
    cfg->server = server;
    cfg->product_key = pk;
    cfg->device_key = device;
    cfg->device_secret = sec;
    cfg->ack_timeout_ms = 300;
}

/* ---- a recording command handler ----------------------------------------- */

struct rec {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n;
    char topic[MAXCMD][128];
    char payload[MAXCMD][128];
    enos_client *client;
    int reply;        /* reply from inside the handler */
    int reply_rc[MAXCMD];
    int close_at;     /* 1-based: enos_close(client) from inside call close_at; 0: never */
    int close_rc;
    int block_first;  /* the first call waits until released */
    int released;
    int inside;       /* a call is running */
    int sleep_ms;     /* each call sleeps this long */
};

static void rec_init(struct rec *r) {
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->close_rc = 12345;
}

static void rec_destroy(struct rec *r) {
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
}

static void on_command(void *user, const char *topic, const uint8_t *payload, size_t len) {
    struct rec *r = (struct rec *)user;
    int i;
    pthread_mutex_lock(&r->mu);
    r->inside = 1;
    i = r->n;
    if (i < MAXCMD) {
        snprintf(r->topic[i], sizeof r->topic[i], "%s", topic);
        snprintf(r->payload[i], sizeof r->payload[i], "%.*s", (int)(len < 127 ? len : 127),
                 payload != NULL ? (const char *)payload : "");
    }
    r->n++;
    pthread_cond_broadcast(&r->cv);
    if (r->block_first && i == 0) {
        while (!r->released) {
            pthread_cond_wait(&r->cv, &r->mu);
        }
    }
    pthread_mutex_unlock(&r->mu);
    if (r->sleep_ms > 0) {
        h_sleep_ms(r->sleep_ms);
    }
    if (r->reply && i < MAXCMD) {
        char ack[160];
        snprintf(ack, sizeof ack, "ack:%.127s", r->payload[i]);
        r->reply_rc[i] = enos_reply(r->client, topic, ack, strlen(ack));
    }
    if (r->close_at == i + 1) {
        r->close_rc = enos_close(r->client);
    }
    pthread_mutex_lock(&r->mu);
    r->inside = 0;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* Waits until the handler saw n commands; returns how many it saw. */
static int rec_wait(struct rec *r, int n, double timeout_s) {
    double end = h_now() + timeout_s;
    int got;
    pthread_mutex_lock(&r->mu);
    while (r->n < n && h_now() < end) {
        pthread_mutex_unlock(&r->mu);
        h_sleep_ms(10);
        pthread_mutex_lock(&r->mu);
    }
    got = r->n;
    pthread_mutex_unlock(&r->mu);
    return got;
}

/* Polls until the handler saw n commands (enos_poll returns before the
 * handler runs: it runs on a library thread). */
static int poll_until(enos_client *c, struct rec *r, int n) {
    int i;
    for (i = 0; i < 20 && rec_wait(r, n, 0.0) < n; i++) {
        int rc = enos_poll(c);
        if (rc < 0) {
            fprintf(stderr, "    enos_poll: %d %s\n", rc, enos_last_error());
            break;
        }
        rec_wait(r, n, 0.3);
    }
    return rec_wait(r, n, 2.0);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_handler(const struct sim *s) {
    enos_config cfg;
    enos_client *c = NULL;
    struct rec r;
    char want[MAXCMD][96], deftopic[128], svctopic[128], replytopic[160], name[96];
    const char *topics[5];
    int i, svc;
    snprintf(name, sizeof name, "handler (%s): once, in order, replies from inside", s->name);
    TEST(name);
    snprintf(deftopic, sizeof deftopic, "/sys/%s/%s/thing/model/down_raw", pk, dk);
    snprintf(svctopic, sizeof svctopic, "/sys/%s/%s/thing/service/reboot", pk, dk);
    rec_init(&r);
    r.reply = 1;
    config_for(&cfg, s->addr, dk, secret);
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    r.client = c;
    CHECK_RC(enos_set_command_handler(c, on_command, &r), ENOS_OK);
    CHECK_RC(enos_authenticate(c), ENOS_OK);
    /* One command has another topic. Inline style: it is the last one, because
     * enos_poll's GET of down_raw makes the simulator hand over the oldest
     * *down_raw* command, which would overtake an older command of another
     * topic (reported to the lead; see the final report). */
    svc = strcmp(s->name, "inline") == 0 ? 3 : 2;
    for (i = 0; i < 4; i++) {
        topics[i] = i == svc ? svctopic : deftopic;
        snprintf(want[i], sizeof want[i], "%s-%s-cmd%d", run_id, s->name, i);
        CHECK(sim_command(s, dk, i == svc ? svctopic : NULL, want[i]));
    }
    CHECK(poll_until(c, &r, 4) == 4);
    /* one more through a report's response */
    topics[4] = deftopic;
    snprintf(want[4], sizeof want[4], "%s-%s-cmd4", run_id, s->name);
    CHECK(sim_command(s, dk, NULL, want[4]));
    CHECK_RC(enos_report(c, "r", 1), ENOS_OK);
    CHECK(rec_wait(&r, 5, 3.0) == 5);
    /* nothing more arrives: exactly once */
    CHECK(enos_poll(c) == 0);
    h_sleep_ms(200);
    pthread_mutex_lock(&r.mu);
    CHECK(r.n == 5);
    for (i = 0; i < 5 && i < r.n; i++) {
        CHECK_STREQ(r.payload[i], want[i]);
        CHECK_STREQ(r.topic[i], topics[i]);
    }
    pthread_mutex_unlock(&r.mu);
    /* replies, posted from inside the handler, reached the reply topics */
    CHECK_RC(enos_set_command_handler(c, NULL, NULL), ENOS_OK); /* waits for the last call */
    for (i = 0; i < 5; i++) {
        char ack[160];
        CHECK_RC(r.reply_rc[i], ENOS_OK);
        snprintf(ack, sizeof ack, "ack:%.95s", want[i]);
        snprintf(replytopic, sizeof replytopic, "%s_reply", topics[i]);
        CHECK(count_records(s, replytopic, ack) == 1);
    }
    {
        enos_stats st = ENOS_STATS_INIT;
        CHECK_RC(enos_get_stats(c, &st), ENOS_OK);
        CHECK(st.commands == 5 && st.commands_dropped == 0);
        CHECK(st.sent >= 7 && st.auths >= 1);
    }
    CHECK_RC(enos_close(c), ENOS_OK);
    rec_destroy(&r);
}

static void test_pull(const struct sim *s) {
    enos_config cfg;
    enos_client *c = NULL;
    char want[4][96], topic[160], deftopic[128], payload[64], name[96], small[8];
    size_t plen;
    int i, got;
    struct rec r;
    snprintf(name, sizeof name, "enos_next_command (%s): once, in order, ENOS_ERR_BUFFER keeps it", s->name);
    TEST(name);
    snprintf(deftopic, sizeof deftopic, "/sys/%s/%s/thing/model/down_raw", pk, dk);
    config_for(&cfg, s->addr, dk, secret);
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    for (i = 0; i < 3; i++) {
        snprintf(want[i], sizeof want[i], "%s-%s-pull%d", run_id, s->name, i);
        CHECK(sim_command(s, dk, NULL, want[i]));
    }
    for (got = 0, i = 0; i < 10 && got < 3; i++) {
        int rc = enos_poll(c);
        CHECK(rc >= 0);
        if (rc < 0) {
            break;
        }
        got += rc;
    }
    CHECK(got == 3);
    /* too small: nothing consumed, the sizes needed are told */
    plen = 0;
    CHECK_ERR_MSG(enos_next_command(c, 0, small, sizeof small, payload, sizeof payload, &plen), ENOS_ERR_BUFFER, "topic_size");
    CHECK(plen == strlen(want[0]));
    plen = 0;
    CHECK_ERR_MSG(enos_next_command(c, 0, topic, sizeof topic, payload, 3, &plen), ENOS_ERR_BUFFER, "payload_size");
    CHECK(plen == strlen(want[0]));
    plen = 0;
    CHECK_RC(enos_next_command(c, 0, topic, strlen(deftopic), payload, sizeof payload, &plen), ENOS_ERR_BUFFER);
    CHECK_RC(enos_next_command(c, 0, topic, sizeof topic, NULL, 0, &plen), ENOS_ERR_BUFFER);
    CHECK(plen == strlen(want[0]));
    for (i = 0; i < 3; i++) {
        plen = 0;
        memset(payload, 0, sizeof payload);
        /* exact sizes fit: topic + NUL, payload without NUL */
        CHECK_RC(enos_next_command(c, 1000, topic, strlen(deftopic) + 1, payload, strlen(want[i]), &plen), ENOS_OK);
        CHECK(plen == strlen(want[i]));
        payload[plen < sizeof payload ? plen : sizeof payload - 1] = '\0';
        CHECK_STREQ(payload, want[i]);
        CHECK_STREQ(topic, deftopic);
        CHECK_RC(enos_reply(c, topic, "pulled", 6), ENOS_OK);
    }
    CHECK_RC(enos_next_command(c, 0, topic, sizeof topic, payload, sizeof payload, &plen), ENOS_ERR_TIMEOUT);
    snprintf(topic, sizeof topic, "%s_reply", deftopic);
    CHECK(count_records(s, topic, "pulled") >= 3);
    /* a command waits for the pull while a caller blocks in enos_next_command */
    {
        snprintf(want[3], sizeof want[3], "%s-%s-pull3", run_id, s->name);
        CHECK(sim_command(s, dk, NULL, want[3]));
        CHECK(enos_poll(c) == 1);
        rec_init(&r);
        r.client = c;
        /* setting a handler delivers what waits */
        CHECK_RC(enos_set_command_handler(c, on_command, &r), ENOS_OK);
        CHECK(rec_wait(&r, 1, 3.0) == 1);
        CHECK_STREQ(r.payload[0], want[3]);
        CHECK_RC(enos_close(c), ENOS_OK);
        rec_destroy(&r);
    }
}

struct reporter {
    enos_client *c;
    int n, ok;
    double took;
};

static void *report_many(void *p) {
    struct reporter *rp = (struct reporter *)p;
    double t0 = h_now();
    int i;
    for (i = 0; i < rp->n; i++) {
        rp->ok += enos_report(rp->c, "busy", 4) == ENOS_OK;
    }
    rp->took = h_now() - t0;
    return NULL;
}

static void test_slow_handler(const struct sim *s) {
    enos_config cfg;
    enos_client *a = NULL, *b = NULL;
    struct rec r;
    struct reporter ra, rb;
    pthread_t ta, tb;
    char want[96];
    TEST("a blocked handler stalls neither other clients nor its own client's reports");
    rec_init(&r);
    r.block_first = 1;
    config_for(&cfg, s->addr, dk, secret);
    CHECK_RC(enos_init(&cfg, &a), ENOS_OK);
    config_for(&cfg, s->addr, dk2, secret2);
    CHECK_RC(enos_init(&cfg, &b), ENOS_OK);
    r.client = a;
    CHECK_RC(enos_set_command_handler(a, on_command, &r), ENOS_OK);
    snprintf(want, sizeof want, "%s-slow", run_id);
    CHECK(sim_command(s, dk, NULL, want));
    CHECK(poll_until(a, &r, 1) == 1); /* the handler is now blocked */
    ra.c = a; ra.n = 10; ra.ok = 0;
    rb.c = b; rb.n = 10; rb.ok = 0;
    CHECK(pthread_create(&ta, NULL, report_many, &ra) == 0);
    CHECK(pthread_create(&tb, NULL, report_many, &rb) == 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK(ra.ok == 10 && rb.ok == 10);
    CHECK(ra.took < 3.0 && rb.took < 3.0);
    fprintf(stderr, "    while the handler was blocked: 10 reports of its client in %.3f s, 10 of another in %.3f s\n",
            ra.took, rb.took);
    pthread_mutex_lock(&r.mu);
    CHECK(r.inside == 1);
    r.released = 1;
    pthread_cond_broadcast(&r.cv);
    pthread_mutex_unlock(&r.mu);
    CHECK_RC(enos_close(a), ENOS_OK);
    CHECK(r.inside == 0);
    CHECK_RC(enos_close(b), ENOS_OK);
    rec_destroy(&r);
}

static void test_close_inside(const struct sim *s) {
    enos_config cfg;
    enos_client *c = NULL;
    struct rec r;
    char want[96];
    int i;
    TEST("enos_close from inside the handler");
    rec_init(&r);
    r.close_at = 1;
    config_for(&cfg, s->addr, dk, secret);
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    r.client = c;
    CHECK_RC(enos_set_command_handler(c, on_command, &r), ENOS_OK);
    for (i = 0; i < 3; i++) {
        snprintf(want, sizeof want, "%s-closein%d", run_id, i);
        CHECK(sim_command(s, dk, NULL, want));
    }
    i = enos_poll(c);
    CHECK(i >= 0 || i == ENOS_ERR_CLOSED);
    CHECK(rec_wait(&r, 1, 3.0) == 1);
    for (i = 0; i < 300; i++) {
        int done;
        pthread_mutex_lock(&r.mu);
        done = r.close_rc != 12345 && !r.inside;
        pthread_mutex_unlock(&r.mu);
        if (done) {
            break;
        }
        h_sleep_ms(10);
    }
    CHECK_RC(r.close_rc, ENOS_OK);
    h_sleep_ms(200);
    CHECK(r.n == 1);
    CHECK_RC(enos_report(c, "x", 1), ENOS_ERR_CLOSED);
    CHECK_RC(enos_close(c), ENOS_ERR_CLOSED);
    rec_destroy(&r);
}

static void test_close_outside(const struct sim *s) {
    enos_config cfg;
    enos_client *c = NULL;
    struct rec *r = (struct rec *)malloc(sizeof *r);
    char want[96];
    int i, n;
    TEST("after enos_close the handler is not running and never called again");
    rec_init(r);
    r->sleep_ms = 150;
    config_for(&cfg, s->addr, dk, secret);
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    r->client = c;
    CHECK_RC(enos_set_command_handler(c, on_command, r), ENOS_OK);
    for (i = 0; i < 4; i++) {
        snprintf(want, sizeof want, "%s-closeout%d", run_id, i);
        CHECK(sim_command(s, dk, NULL, want));
    }
    CHECK(enos_poll(c) >= 1);
    CHECK(rec_wait(r, 1, 3.0) >= 1);
    CHECK_RC(enos_close(c), ENOS_OK);
    pthread_mutex_lock(&r->mu);
    CHECK(r->inside == 0);
    n = r->n;
    pthread_mutex_unlock(&r->mu);
    CHECK(n < 4);
    rec_destroy(r);
    memset(r, 0xEE, sizeof *r);
    free(r); /* under ASan, a later handler call would be a use after free */
    h_sleep_ms(600);
}

static void test_poll_interval(const struct sim *s) {
    enos_config cfg;
    enos_client *c = NULL;
    struct rec r;
    char want[96];
    TEST("poll_interval_ms delivers commands without any traffic of the host");
    rec_init(&r);
    config_for(&cfg, s->addr, dk, secret);
    cfg.poll_interval_ms = 100;
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    r.client = c;
    CHECK_RC(enos_set_command_handler(c, on_command, &r), ENOS_OK);
    snprintf(want, sizeof want, "%s-autopoll", run_id);
    CHECK(sim_command(s, dk, NULL, want));
    CHECK(rec_wait(&r, 1, 5.0) == 1);
    CHECK_STREQ(r.payload[0], want);
    CHECK_RC(enos_close(c), ENOS_OK);
    rec_destroy(&r);
}

static void test_flush_stats(const struct sim *s) {
    enos_config cfg;
    enos_client *c = NULL;
    enos_stats st = ENOS_STATS_INIT;
    char dir[] = "/tmp/enos-ctest-XXXXXX", dir2[] = "/tmp/enos-ctest-XXXXXX", cmd[128];
    char server[64];
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int fd;
    double t0;
    TEST("enos_flush and enos_get_stats with a state_dir");
    CHECK(mkdtemp(dir) != NULL && mkdtemp(dir2) != NULL);
    /* a running server: reports go through, flush returns at once */
    config_for(&cfg, s->addr, dk, secret);
    cfg.state_dir = dir;
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK_RC(enos_report(c, "kept", 4), ENOS_OK);
    CHECK_RC(enos_flush(c, 1000), ENOS_OK);
    CHECK_RC(enos_get_stats(c, &st), ENOS_OK);
    CHECK(st.sent >= 1 && st.auths == 1 && st.queued == 0 && st.queued_total == 0);
    CHECK_RC(enos_close(c), ENOS_OK);
    /* a stopped server (a port nobody listens on) */
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
    close(fd);
    snprintf(server, sizeof server, "127.0.0.1:%d", ntohs(a.sin_port));
    config_for(&cfg, server, dk, secret);
    cfg.state_dir = dir2;
    cfg.ack_timeout_ms = 20;
    cfg.max_retransmit = 1;
    cfg.retry_interval_ms = 50;
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK_ERR_MSG(enos_report(c, "offline", 7), ENOS_QUEUED, "");
    fprintf(stderr, "    ENOS_QUEUED: %s\n", enos_last_error());
    CHECK_RC(enos_report(c, "offline2", 8), ENOS_QUEUED); /* behind the first */
    st.struct_size = (uint32_t)sizeof st;
    CHECK_RC(enos_get_stats(c, &st), ENOS_OK);
    CHECK(st.queued == 2 && st.queued_total == 2 && st.queued_bytes >= 15 && st.queue_delivered == 0);
    t0 = h_now();
    CHECK_ERR_MSG(enos_flush(c, 300), ENOS_ERR_TIMEOUT, "still queued");
    CHECK(h_now() - t0 >= 0.25 && h_now() - t0 < 3.0);
    CHECK_RC(enos_flush(c, 0), ENOS_ERR_TIMEOUT);
    CHECK_RC(enos_get_stats(c, &st), ENOS_OK);
    CHECK(st.queued == 2 && st.failed >= 1);
    CHECK_RC(enos_close(c), ENOS_OK);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, dir2);
    CHECK(system(cmd) == 0);
}

int main(void) {
    sims[0].name = "inline";
    sims[0].addr = getenv("ENOS_SIM_ADDR");
    sims[0].log = getenv("ENOS_SIM_LOG");
    sims[0].control = getenv("ENOS_SIM_CONTROL");
    sims[1].name = "get";
    sims[1].addr = getenv("ENOS_SIM_GET_ADDR");
    sims[1].log = getenv("ENOS_SIM_GET_LOG");
    sims[1].control = getenv("ENOS_SIM_GET_CONTROL");
    pk = getenv("ENOS_SIM_PK");
    dk = getenv("ENOS_SIM_DK");
    secret = getenv("ENOS_SIM_SECRET");
    dk2 = getenv("ENOS_SIM_DK2");
    secret2 = getenv("ENOS_SIM_SECRET2");
    if (!sims[0].addr || !sims[0].log || !sims[0].control || !sims[1].addr || !sims[1].log ||
        !sims[1].control || !pk || !dk || !secret || !dk2 || !secret2) {
        fprintf(stderr, "run me with test/c/with-sim.sh (ENOS_SIM_* not set)\n");
        printf("0 passed, 1 failed\n");
        return 1;
    }
    snprintf(run_id, sizeof run_id, "%ld-%ld", (long)getpid(), (long)time(NULL));
    test_handler(&sims[0]);
    test_handler(&sims[1]);
    test_pull(&sims[0]);
    test_pull(&sims[1]);
    test_slow_handler(&sims[0]);
    test_close_inside(&sims[0]);
    test_close_outside(&sims[1]);
    test_poll_interval(&sims[1]);
    test_flush_stats(&sims[0]);
    return h_finish();
}
