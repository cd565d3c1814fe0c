/* SPDX-License-Identifier: Apache-2.0 */

/* Negative control for test/valgrind/run.sh: a program with a real C leak and
 * a real use of an uninitialised value, linked against libenos and calling it
 * (so the Go runtime runs). valgrind with go-runtime.supp MUST report both and
 * exit non-zero: proof that the suppressions hide only the Go runtime's
 * frames, not errors of the host program. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "enos.h"

static volatile int sink;

int main(void) {
    char out[ENOS_SIGN_SIZE(16)];
    char *leak;
    int *uninit;
    if (enos_sign("secret", "0123456789abcdef", 1, NULL, out, sizeof out) != ENOS_OK) {
        return 2;
    }
    leak = (char *)malloc(64);          /* definitely lost: the pointer is dropped */
    memcpy(leak, out, 8);
    sink = leak[0];
    leak = NULL;
    uninit = (int *)malloc(sizeof *uninit);
    if (*uninit > 0) {                  /* conditional jump on an uninitialised value */
        sink = 1;
    }
    free(uninit);
    printf("canary %s\n", enos_version());
    return 0;
}
