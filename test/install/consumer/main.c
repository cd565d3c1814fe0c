/* SPDX-License-Identifier: Apache-2.0 */

/* An out-of-tree program that uses an installed libenos (test/install/run.sh, deb.sh):
 * built with pkg-config and with CMake's find_package(enos), against the
 * shared and the static library. Prints "N passed, N failed" last. */
#include <stdio.h>
#include <string.h>
#include <enos.h>

static int passed, failed;

static void check(int ok, const char *what) {
    if (ok) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "FAIL: %s (last error: %s)\n", what, enos_last_error());
    }
}

int main(void) {
    char sig[ENOS_SIGN_SIZE(12)];
    char auth[ENOS_AUTH_SIGN_SIZE];
    enos_config cfg = ENOS_CONFIG_INIT;
    enos_client *client = NULL;

    printf("libenos %s (header %s)\n", enos_version(), ENOS_VERSION_STRING);
    check(strcmp(enos_version(), ENOS_VERSION_STRING) == 0, "enos_version() equals ENOS_VERSION_STRING");

    /* Vectors of test/c/test_api.c. */
    check(enos_sign("sMgTXBUvDNeWGAJWnDcT", "8GjM3fXkD2oQ", 1, NULL, sig, sizeof sig) == ENOS_OK &&
              strcmp(sig, "A3A7B1325BCE9F925F54E6D8134AA3EB3F57D08BE168FA28B47327C8C9F13C23") == 0,
          "enos_sign vector, sequence 1");
    check(enos_sign("sMgTXBUvDNeWGAJWnDcT", "8GjM3fXkD2oQ", 2147483647u, NULL, sig, sizeof sig) == ENOS_OK &&
              strcmp(sig, "A3A7B1325BCE9F925F54E6D8134AA3EB7FA78F2B2C4577FB50F4F5B2C6A969D6"
                          "C80BB4CD92C15BED2BA262C216D351FE") == 0,
          "enos_sign vector, sequence 2147483647");
    check(enos_auth_sign("MuGsF6W4", "15bBZlRknc", "sMgTXBUvDNeWGAJWnDcT", 3600, auth, sizeof auth) == ENOS_OK &&
              strcmp(auth, "F5E24B19438C8A44DE47C64FB2852D5762C628A8EAB6688851C9FF3E46218B6B") == 0,
          "enos_auth_sign vector");
    check(enos_sign("sMgTXBUvDNeWGAJWnDcT", "8GjM3fXkD2oQ", 0, NULL, sig, sizeof sig) == ENOS_ERR_INVALID,
          "enos_sign rejects sequence 0");

    /* A client can be created and closed without any network. */
    cfg.server = "127.0.0.1:9";
    cfg.product_key = "MuGsF6W4";
    cfg.device_key = "15bBZlRknc";
    cfg.device_secret = "sMgTXBUvDNeWGAJWnDcT";
    check(enos_init(&cfg, &client) == ENOS_OK && client != NULL, "enos_init");
    check(enos_close(client) == ENOS_OK, "enos_close");

    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
