/* SPDX-License-Identifier: Apache-2.0 */

/* Helpers shared by the C tests that read enos-sim's --log: its JSON lines
 * hold payloads in base64, so the tests encode what they expect and search. */
#ifndef ENOS_TEST_SIMLOG_H
#define ENOS_TEST_SIMLOG_H

#include <stdio.h>
#include <stdlib.h>

/* b64 writes the standard base64 of in[0..n) and a NUL to out (4*((n+2)/3)+1 bytes). */
static void b64(const unsigned char *in, size_t n, char *out) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;
    for (i = 0; i + 2 < n; i += 3) {
        *out++ = tab[in[i] >> 2];
        *out++ = tab[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
        *out++ = tab[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
        *out++ = tab[in[i + 2] & 63];
    }
    if (n - i == 1) {
        *out++ = tab[in[i] >> 2];
        *out++ = tab[(in[i] & 3) << 4];
        *out++ = '=';
        *out++ = '=';
    } else if (n - i == 2) {
        *out++ = tab[in[i] >> 2];
        *out++ = tab[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
        *out++ = tab[(in[i + 1] & 15) << 2];
        *out++ = '=';
    }
    *out = '\0';
}

/* read_file returns the whole file as a NUL-terminated malloc()ed string, or NULL. */
static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = (char *)malloc((size_t)n + 1);
    if (buf != NULL) {
        n = (long)fread(buf, 1, (size_t)n, f);
        buf[n] = '\0';
    }
    fclose(f);
    return buf;
}

#endif
