/* SPDX-License-Identifier: Apache-2.0 */

/* A tiny test harness for libenos's C tests: CHECK macros, counters and a
 * final line "N passed, N failed". Compiles as C99/C11 and as C++. */
#ifndef ENOS_TEST_HARNESS_H
#define ENOS_TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "enos.h"

static int h_passed, h_failed;
static const char *h_test = "";

#define TEST(name) (h_test = (name), fprintf(stderr, "--- %s\n", h_test))

#define CHECK(cond) do { \
    if (cond) { h_passed++; } else { h_failed++; \
        fprintf(stderr, "%s:%d: [%s] CHECK failed: %s\n", __FILE__, __LINE__, h_test, #cond); } \
} while (0)

/* CHECK_RC(expr, want): expr returns a status; on mismatch print both and the last error. */
#define CHECK_RC(expr, want) do { \
    int rc_ = (expr); \
    if (rc_ == (want)) { h_passed++; } else { h_failed++; \
        fprintf(stderr, "%s:%d: [%s] %s returned %d (%s), want %d (%s); last error: %s\n", \
                __FILE__, __LINE__, h_test, #expr, rc_, enos_strerror(rc_), (int)(want), \
                enos_strerror(want), enos_last_error()); } \
} while (0)

/* CHECK_INVALID(expr, word): ENOS_ERR_INVALID and a last error that names what was wrong. */
#define CHECK_ERR_MSG(expr, want, word) do { \
    int rc_ = (expr); \
    const char *le_ = enos_last_error(); \
    if (rc_ == (want) && le_ != NULL && strstr(le_, (word)) != NULL) { h_passed++; } else { h_failed++; \
        fprintf(stderr, "%s:%d: [%s] %s returned %d (%s), want %d with a last error naming \"%s\"; last error: \"%s\"\n", \
                __FILE__, __LINE__, h_test, #expr, rc_, enos_strerror(rc_), (int)(want), (word), \
                le_ ? le_ : "(NULL)"); } \
} while (0)
#define CHECK_INVALID(expr, word) CHECK_ERR_MSG(expr, ENOS_ERR_INVALID, word)

#define CHECK_STREQ(a, b) do { \
    const char *a_ = (a), *b_ = (b); \
    if (a_ != NULL && b_ != NULL && strcmp(a_, b_) == 0) { h_passed++; } else { h_failed++; \
        fprintf(stderr, "%s:%d: [%s] \"%s\" != \"%s\" (%s vs %s)\n", __FILE__, __LINE__, h_test, \
                a_ ? a_ : "(NULL)", b_ ? b_ : "(NULL)", #a, #b); } \
} while (0)

static inline double h_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Needs _POSIX_C_SOURCE >= 199309L (nanosleep) in the including file. */
static inline void h_sleep_ms(int ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static inline int h_finish(void) {
    printf("%d passed, %d failed\n", h_passed, h_failed);
    return h_failed == 0 ? 0 : 1;
}

/* Credentials and vectors of docs/protocol.md §8. */
#define V_PK     "MuGsF6W4"
#define V_DK     "15bBZlRknc"
#define V_SECRET "sMgTXBUvDNeWGAJWnDcT"
#define V_TOKEN  "8GjM3fXkD2oQ"

#endif
