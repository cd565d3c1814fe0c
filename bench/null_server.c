/* SPDX-License-Identifier: Apache-2.0 */

/* bench/null_server.c: the cheapest server that still speaks the protocol, so
 * that a round-trip benchmark measures the clients and not the server.
 *
 * enos-sim is a go-coap server and spends 100+ µs of CPU per request (more as
 * its per-endpoint deduplication cache fills up: BENCHMARKS.md), ten times what
 * either client spends, so against it both clients run at the simulator's pace.
 * This one answers every CON POST with a piggybacked ACK in a few µs of one
 * blocking thread: 2.05 {"token":"..."} to /auth/..., 2.04 to anything else.
 * It verifies nothing (no signature, no sequence): correctness is what
 * enos-sim and the test suite check; this only times.
 *
 * Usage: null_server HOST PORT     (PORT 0: any; prints "listening on HOST:PORT")
 * Runs until killed. Counts nothing, logs nothing. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char TOKEN_JSON[] = "{\"token\":\"NullServerToken0123456789\"}";

/* Walks the options of a request (after header and token) and reports
 * whether its first Uri-Path segment is "auth". Returns -1 on a malformed
 * message. */
static int is_auth(const unsigned char *p, const unsigned char *end) {
    unsigned opt = 0;
    while (p < end && *p != 0xFF) {
        unsigned delta = *p >> 4, len = *p & 15;
        p++;
        if (delta == 13) { if (p >= end) return -1; delta = 13u + *p++; }
        else if (delta == 14) { if (p + 1 >= end) return -1; delta = 269u + (unsigned)(p[0] << 8 | p[1]); p += 2; }
        else if (delta == 15) return -1;
        if (len == 13) { if (p >= end) return -1; len = 13u + *p++; }
        else if (len == 14) { if (p + 1 >= end) return -1; len = 269u + (unsigned)(p[0] << 8 | p[1]); p += 2; }
        else if (len == 15) return -1;
        if ((size_t)(end - p) < len) return -1;
        opt += delta;
        if (opt == 11) /* the first Uri-Path */
            return len == 4 && memcmp(p, "auth", 4) == 0;
        p += len;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s HOST PORT\n", argv[0]); return 2; }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    if (fd < 0 || inet_pton(AF_INET, argv[1], &a.sin_addr) != 1 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("null_server: bind");
        return 1;
    }
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    printf("listening on %s:%d\n", argv[1], ntohs(a.sin_port));
    fflush(stdout);
    unsigned char in[1500], out[64 + sizeof TOKEN_JSON];
    for (;;) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fd, in, sizeof in, 0, (struct sockaddr *)&from, &fl);
        if (n < 4) continue;
        unsigned tkl = in[0] & 15;
        /* version 1, CON, a request code (0.01..0.31), a token of at most 8 bytes */
        if ((in[0] >> 6) != 1 || ((in[0] >> 4) & 3) != 0 || in[1] == 0 || (in[1] >> 5) != 0 || tkl > 8 ||
            (size_t)n < 4 + tkl)
            continue;
        int auth = is_auth(in + 4 + tkl, in + n);
        if (auth < 0) continue;
        size_t m = 0;
        out[m++] = (unsigned char)(1 << 6 | 2 << 4 | tkl); /* ACK, same token length */
        out[m++] = auth ? (2 << 5 | 5) : (2 << 5 | 4);     /* 2.05 Content or 2.04 Changed */
        out[m++] = in[2];                                   /* the request's Message ID */
        out[m++] = in[3];
        memcpy(out + m, in + 4, tkl);
        m += tkl;
        if (auth) {
            out[m++] = 12 << 4 | 1; /* Content-Format (12): 50, application/json */
            out[m++] = 50;
            out[m++] = 0xFF;
            memcpy(out + m, TOKEN_JSON, sizeof TOKEN_JSON - 1);
            m += sizeof TOKEN_JSON - 1;
        }
        sendto(fd, out, m, 0, (struct sockaddr *)&from, fl);
    }
}
