/* SPDX-License-Identifier: Apache-2.0 */

/* Shared helpers of libenos's reliability tests (test/reliability/rel_*.c).
 *
 * Every test drives the real build/libenos.so from C and talks to enos-sim
 * running as a SEPARATE process, started here with posix_spawn (spawn = vfork
 * + exec, which is allowed once libenos is loaded; plain fork() is not):
 *   - rel_sim_start/stop/pause/resume: start build/enos-sim with fault flags on
 *     a given or free loopback port, its control channel on a free port, its
 *     records in a JSON-lines --log file; stop with SIGTERM and read the summary.
 *   - rel_sim_stats: the counters over the control channel ({"op":"stats"}).
 *   - rel_read_log: the sim's records (device key, sequence, payload decoded).
 *   - rel_check_stream: "every expected payload recorded exactly once, in order,
 *     with strictly increasing sequences" for one device.
 *
 * Environment: ENOS_SIM (default build/enos-sim), REL_TMP (a scratch directory;
 * default a fresh mkdtemp under $TMPDIR or /tmp).
 * Checks go through test/c/harness.h (CHECK..., final "N passed, N failed"). */
#ifndef ENOS_REL_H
#define ENOS_REL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"

extern char **environ;

#define REL_PATH 1024
/* Helpers are static; not every program uses every one. */
#define REL_FN static __attribute__((unused))

/* ---- misc -------------------------------------------------------------- */

/* stdout line-buffered, so that the report lines and the harness's stderr
 * interleave in order when run.sh collects both in one log. */
__attribute__((constructor)) static void rel_line_buffered(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
}

REL_FN void rel_sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

REL_FN void rel_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FATAL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    printf("%d passed, %d failed\n", h_passed, h_failed + 1);
    exit(1);
}

/* Scratch directory of this run (REL_TMP or a new mkdtemp). */
REL_FN const char *rel_tmp(void) {
    static char dir[REL_PATH];
    if (dir[0] == '\0') {
        const char *t = getenv("REL_TMP");
        if (t != NULL && t[0] != '\0') {
            snprintf(dir, sizeof dir, "%s", t);
            mkdir(dir, 0700);
        } else {
            const char *base = getenv("TMPDIR");
            snprintf(dir, sizeof dir, "%s/enos-rel.XXXXXX", base != NULL && base[0] ? base : "/tmp");
            if (mkdtemp(dir) == NULL) {
                rel_die("mkdtemp %s: %s", dir, strerror(errno));
            }
        }
    }
    return dir;
}

/* path = rel_tmp()/name */
REL_FN void rel_path(char *out, size_t size, const char *name) {
    snprintf(out, size, "%s/%s", rel_tmp(), name);
}

REL_FN char *rel_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0, k;
    if (f == NULL) {
        return NULL;
    }
    for (;;) {
        if (n + 65536 + 1 > cap) {
            cap = (n + 65536 + 1) * 2;
            buf = (char *)realloc(buf, cap);
            if (buf == NULL) {
                rel_die("out of memory");
            }
        }
        k = fread(buf + n, 1, 65536, f);
        n += k;
        if (k == 0) {
            break;
        }
    }
    fclose(f);
    buf[n] = '\0';
    if (len != NULL) {
        *len = n;
    }
    return buf;
}

/* Raise the soft RLIMIT_NOFILE to at least want (up to the hard limit). */
REL_FN long rel_raise_nofile(long want) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return -1;
    }
    if ((long)rl.rlim_cur < want) {
        rl.rlim_cur = (rl.rlim_max == RLIM_INFINITY || (long)rl.rlim_max > want) ? (rlim_t)want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return (long)rl.rlim_cur;
}

/* A config for the test device (harness.h's vector credentials). */
REL_FN enos_config rel_config(const char *server) {
    enos_config cfg = ENOS_CONFIG_INIT;
    cfg.server = server;
    cfg.product_key = V_PK;
    cfg.device_key = V_DK;
    cfg.device_secret = V_SECRET;
    return cfg;
}

REL_FN enos_stats rel_client_stats(enos_client *c) {
    enos_stats st = ENOS_STATS_INIT;
    int rc = enos_get_stats(c, &st);
    if (rc != ENOS_OK) {
        h_failed++;
        fprintf(stderr, "[%s] enos_get_stats returned %d (%s): %s\n", h_test, rc, enos_strerror(rc), enos_last_error());
    }
    return st;
}

REL_FN void rel_print_client_stats(const char *label, const enos_stats *s) {
    printf("    %s: sent=%llu failed=%llu retransmissions=%llu auths=%llu reauths=%llu queued=%llu "
           "queued_total=%llu queue_delivered=%llu queue_dropped=%llu state_errors=%llu\n",
           label, (unsigned long long)s->sent, (unsigned long long)s->failed,
           (unsigned long long)s->retransmissions, (unsigned long long)s->auths, (unsigned long long)s->reauths,
           (unsigned long long)s->queued, (unsigned long long)s->queued_total,
           (unsigned long long)s->queue_delivered, (unsigned long long)s->queue_dropped,
           (unsigned long long)s->state_errors);
}

/* ---- the simulator as a separate process ------------------------------ */

typedef struct {
    long auths, auth_failures, reports, fetches, rejections, duplicates, failures, expirations;
    long dropped_requests, dropped_responses;
} rel_sim_stats_t;

typedef struct {
    pid_t pid;
    char name[64];
    char addr[64];  /* "127.0.0.1:PORT" */
    char ctl[64];   /* control channel "127.0.0.1:PORT" */
    char log[REL_PATH], out[REL_PATH], err[REL_PATH];
} rel_sim;

REL_FN long rel_json_int(const char *json, const char *key) {
    char needle[96];
    const char *p;
    snprintf(needle, sizeof needle, "\"%s\":", key);
    p = strstr(json, needle);
    return p == NULL ? -1 : strtol(p + strlen(needle), NULL, 10);
}

REL_FN void rel_parse_stats(const char *json, rel_sim_stats_t *st) {
    st->auths = rel_json_int(json, "auths");
    st->auth_failures = rel_json_int(json, "authFailures");
    st->reports = rel_json_int(json, "reports");
    st->fetches = rel_json_int(json, "fetches");
    st->rejections = rel_json_int(json, "rejections");
    st->duplicates = rel_json_int(json, "duplicates");
    st->failures = rel_json_int(json, "failures");
    st->expirations = rel_json_int(json, "expirations");
    st->dropped_requests = rel_json_int(json, "droppedRequests");
    st->dropped_responses = rel_json_int(json, "droppedResponses");
}

REL_FN void rel_print_sim_stats(const char *label, const rel_sim_stats_t *s) {
    printf("    %s: auths=%ld authFailures=%ld reports=%ld rejections=%ld duplicates=%ld failures=%ld "
           "expirations=%ld droppedRequests=%ld droppedResponses=%ld\n",
           label, s->auths, s->auth_failures, s->reports, s->rejections, s->duplicates, s->failures,
           s->expirations, s->dropped_requests, s->dropped_responses);
}

/* Finds "prefix" at a line start in file path and copies the rest of that line. */
REL_FN int rel_file_line(const char *path, const char *prefix, char *out, size_t size) {
    char *buf = rel_read_file(path, NULL), *p, *e;
    int ok = 0;
    if (buf == NULL) {
        return 0;
    }
    for (p = buf; p != NULL && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, prefix, strlen(prefix)) == 0) {
            p += strlen(prefix);
            e = strchr(p, '\n');
            if (e == NULL) {
                break; /* line not complete yet */
            }
            snprintf(out, size, "%.*s", (int)(e - p), p);
            ok = 1;
            break;
        }
    }
    free(buf);
    return ok;
}

/* Starts enos-sim: listen is "127.0.0.1:0" for a free port or a fixed
 * address; extra is a NULL-terminated list of further flags (devices, faults).
 * The log file is appended to (a restart on the same log keeps old records),
 * so pass a fresh name for a fresh log. Returns 0 or dies. */
REL_FN int rel_sim_start(rel_sim *s, const char *name, const char *listen, const char *const *extra) {
    const char *bin = getenv("ENOS_SIM");
    const char *argv[64];
    int argc = 0, i;
    posix_spawn_file_actions_t fa;
    double t0;
    if (bin == NULL || bin[0] == '\0') {
        bin = "build/enos-sim";
    }
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->log, sizeof s->log, "%s/%s.log", rel_tmp(), name);
    snprintf(s->out, sizeof s->out, "%s/%s.out", rel_tmp(), name);
    snprintf(s->err, sizeof s->err, "%s/%s.err", rel_tmp(), name);
    argv[argc++] = bin;
    argv[argc++] = "--listen";
    argv[argc++] = listen;
    argv[argc++] = "--control";
    argv[argc++] = "127.0.0.1:0";
    argv[argc++] = "--log";
    argv[argc++] = s->log;
    for (i = 0; extra != NULL && extra[i] != NULL && argc < 62; i++) {
        argv[argc++] = extra[i];
    }
    argv[argc] = NULL;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, s->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, s->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&s->pid, bin, &fa, NULL, (char *const *)argv, environ) != 0) {
        rel_die("cannot start %s (build it with 'make sim'): %s", bin, strerror(errno));
    }
    posix_spawn_file_actions_destroy(&fa);
    {
        /* run.sh kills any sim left behind by a crashed test, by these pids */
        char pids[REL_PATH];
        FILE *pf;
        rel_path(pids, sizeof pids, "sim.pids");
        if ((pf = fopen(pids, "a")) != NULL) {
            fprintf(pf, "%ld\n", (long)s->pid);
            fclose(pf);
        }
    }
    t0 = h_now();
    while (!rel_file_line(s->out, "listening on ", s->addr, sizeof s->addr)) {
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            char *e = rel_read_file(s->err, NULL);
            rel_die("enos-sim %s exited at start-up; stderr:\n%s", name, e ? e : "");
        }
        if (h_now() - t0 > 15) {
            rel_die("enos-sim %s did not print its address within 15 s", name);
        }
        rel_sleep_ms(10);
    }
    t0 = h_now();
    while (!rel_file_line(s->err, "enos-sim: control channel on ", s->ctl, sizeof s->ctl)) {
        if (h_now() - t0 > 5) {
            rel_die("enos-sim %s did not print its control address", name);
        }
        rel_sleep_ms(5);
    }
    return 0;
}

/* Counters over the control channel; returns 0 or -1. */
REL_FN int rel_sim_stats(const rel_sim *s, rel_sim_stats_t *st) {
    struct sockaddr_in sa;
    char host[64], buf[4096];
    const char *colon = strrchr(s->ctl, ':');
    size_t n = 0;
    ssize_t k;
    int fd;
    struct timeval tv = {5, 0};
    memset(st, 0, sizeof *st);
    if (colon == NULL) {
        return -1;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - s->ctl), s->ctl);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)atoi(colon + 1));
    inet_pton(AF_INET, host, &sa.sin_addr);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || write(fd, "{\"op\":\"stats\"}\n", 15) != 15) {
        close(fd);
        return -1;
    }
    while (n + 1 < sizeof buf && (k = read(fd, buf + n, sizeof buf - 1 - n)) > 0) {
        n += (size_t)k;
        buf[n] = '\0';
        if (strchr(buf, '\n') != NULL) {
            break;
        }
    }
    close(fd);
    buf[n] = '\0';
    if (strstr(buf, "\"ok\":true") == NULL) {
        return -1;
    }
    rel_parse_stats(buf, st);
    return 0;
}

/* SIGTERM, wait, and read the summary ("summary-json:" line) into st (may be NULL). */
REL_FN int rel_sim_stop(rel_sim *s, rel_sim_stats_t *st) {
    int status = 0;
    char json[4096];
    if (s->pid <= 0) {
        return -1;
    }
    kill(s->pid, SIGCONT); /* in case it is paused */
    kill(s->pid, SIGTERM);
    waitpid(s->pid, &status, 0);
    s->pid = 0;
    if (st != NULL) {
        memset(st, 0, sizeof *st);
        if (!rel_file_line(s->err, "enos-sim: summary-json: ", json, sizeof json)) {
            return -1;
        }
        rel_parse_stats(json, st);
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

REL_FN void rel_sim_pause(const rel_sim *s) { kill(s->pid, SIGSTOP); }
REL_FN void rel_sim_resume(const rel_sim *s) { kill(s->pid, SIGCONT); }

/* ---- the simulator's records ------------------------------------------ */

typedef struct {
    char dk[64];
    uint32_t seq;
    char payload[128]; /* the tests' payloads are short ASCII ids */
} rel_rec;

REL_FN int rel_b64val(int c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Decodes base64 from in (up to the closing quote) into out (NUL-terminated, truncated). */
REL_FN void rel_b64dec(const char *in, char *out, size_t size) {
    unsigned acc = 0;
    int bits = 0, v;
    size_t n = 0;
    for (; *in && *in != '"'; in++) {
        if ((v = rel_b64val((unsigned char)*in)) < 0) {
            continue;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 < size) {
                out[n++] = (char)((acc >> bits) & 0xFF);
            }
        }
    }
    out[n] = '\0';
}

/* Reads the sim's JSON-lines log; *out is malloc'd. Returns the record count. */
REL_FN size_t rel_read_log(const char *path, rel_rec **out) {
    char *buf = rel_read_file(path, NULL), *line, *next, *p, *e;
    size_t n = 0, cap = 1024;
    rel_rec *recs = (rel_rec *)calloc(cap, sizeof *recs);
    if (recs == NULL) {
        rel_die("out of memory");
    }
    *out = recs;
    if (buf == NULL) {
        return 0;
    }
    for (line = buf; *line; line = next) {
        rel_rec r;
        next = strchr(line, '\n');
        if (next == NULL) {
            break; /* an incomplete last line */
        }
        *next++ = '\0';
        memset(&r, 0, sizeof r);
        if ((p = strstr(line, "\"deviceKey\":\"")) != NULL) {
            p += 13;
            e = strchr(p, '"');
            snprintf(r.dk, sizeof r.dk, "%.*s", e ? (int)(e - p) : 0, p);
        }
        if ((p = strstr(line, "\"sequence\":")) != NULL) {
            r.seq = (uint32_t)strtoul(p + 11, NULL, 10);
        }
        if ((p = strstr(line, "\"payload\":\"")) != NULL) {
            rel_b64dec(p + 11, r.payload, sizeof r.payload);
        }
        if (n == cap) {
            cap *= 2;
            recs = (rel_rec *)realloc(recs, cap * sizeof *recs);
            if (recs == NULL) {
                rel_die("out of memory");
            }
            *out = recs;
        }
        recs[n++] = r;
    }
    free(buf);
    return n;
}

/* The number after the last '-' of a payload like "loss-000123", or -1. */
REL_FN long rel_payload_id(const char *payload, const char *prefix) {
    size_t k = strlen(prefix);
    char *end;
    long v;
    if (strncmp(payload, prefix, k) != 0 || payload[k] != '-') {
        return -1;
    }
    v = strtol(payload + k + 1, &end, 10);
    return *end == '\0' ? v : -1;
}

/* Result of checking one device's stream of records. */
typedef struct {
    long records;      /* records of this device with this prefix */
    long distinct;     /* distinct expected ids recorded */
    long missing;      /* expected ids never recorded */
    long duplicates;   /* records beyond the first of an id */
    long out_of_order; /* first occurrences whose id is below an earlier id */
    long seq_not_increasing; /* records whose sequence is not above the previous record's (same device) */
} rel_stream;

/* Checks the records of device dk whose payload is "prefix-ID" with ID in
 * [lo, hi): each recorded once, in increasing ID order; and sequences strictly
 * increasing over ALL records of the device (any payload). */
REL_FN rel_stream rel_check_stream(const rel_rec *recs, size_t n, const char *dk, const char *prefix, long lo, long hi) {
    rel_stream r;
    long count = hi - lo;
    unsigned char *seen = (unsigned char *)calloc((size_t)count + 1, 1);
    long last_id = -1, id;
    uint32_t last_seq = 0;
    int have_seq = 0;
    size_t i;
    memset(&r, 0, sizeof r);
    for (i = 0; i < n; i++) {
        if (strcmp(recs[i].dk, dk) != 0) {
            continue;
        }
        if (have_seq && recs[i].seq <= last_seq) {
            r.seq_not_increasing++;
        }
        last_seq = recs[i].seq;
        have_seq = 1;
        id = rel_payload_id(recs[i].payload, prefix);
        if (id < lo || id >= hi) {
            continue;
        }
        id -= lo;
        r.records++;
        if (seen[id]) {
            r.duplicates++;
            continue;
        }
        seen[id] = 1;
        r.distinct++;
        if (id < last_id) {
            r.out_of_order++;
        }
        last_id = id;
    }
    for (id = 0; id < count; id++) {
        if (!seen[id]) {
            r.missing++;
        }
    }
    free(seen);
    return r;
}

REL_FN void rel_print_stream(const char *label, const rel_stream *s) {
    printf("    %s: records=%ld distinct=%ld missing=%ld duplicates=%ld out_of_order=%ld seq_not_increasing=%ld\n",
           label, s->records, s->distinct, s->missing, s->duplicates, s->out_of_order, s->seq_not_increasing);
}

/* CHECK a stream: exactly count ids, each once, in order, sequences increasing. */
#define REL_CHECK_STREAM(s, count) do { \
    CHECK((s).distinct == (count)); CHECK((s).missing == 0); CHECK((s).duplicates == 0); \
    CHECK((s).out_of_order == 0); CHECK((s).seq_not_increasing == 0); CHECK((s).records == (count)); \
} while (0)

#endif
