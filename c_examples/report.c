/* SPDX-License-Identifier: Apache-2.0 */

/* report: authenticate a device with EnOS and report raw bytes to up_raw.
 *
 *   report SERVER PRODUCT_KEY DEVICE_KEY DEVICE_SECRET [PAYLOAD...]
 *
 * SERVER is "host" or "host:port". Each PAYLOAD is sent as one report
 * (default: one report "hello from libenos"). Exit status 0 if every step
 * succeeded. With ENOS_DTLS=1 in the environment it talks CoAP over DTLS 1.2
 * (pre-shared key from the device secret; port 5684 by default), where
 * "authenticate" is the DTLS handshake. Build: cc -Iinclude report.c -Lbuild -lenos */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "enos.h"

static int step(const char *what, int rc) {
    if (rc == ENOS_OK) {
        printf("%-28s ok\n", what);
    } else {
        printf("%-28s FAILED: %s (%d): %s\n", what, enos_strerror(rc), rc, enos_last_error());
    }
    return rc;
}

int main(int argc, char **argv) {
    enos_config cfg = ENOS_CONFIG_INIT;
    enos_client *client = NULL;
    char what[64];
    int i, failed = 0;

    if (argc < 5) {
        fprintf(stderr, "usage: %s SERVER PRODUCT_KEY DEVICE_KEY DEVICE_SECRET [PAYLOAD...]\n", argv[0]);
        return 2;
    }
    cfg.server = argv[1];
    cfg.product_key = argv[2];
    cfg.device_key = argv[3];
    cfg.device_secret = argv[4];
    if (getenv("ENOS_DTLS") != NULL && strcmp(getenv("ENOS_DTLS"), "1") == 0) {
        cfg.security = ENOS_SECURITY_DTLS;
    }

    printf("libenos %s (header %s), server %s%s, device %s/%s\n", enos_version(), ENOS_VERSION_STRING,
           cfg.server, cfg.security == ENOS_SECURITY_DTLS ? " (DTLS)" : "", cfg.product_key, cfg.device_key);

    if (step("init", enos_init(&cfg, &client)) != ENOS_OK) {
        return 1;
    }
    if (step("authenticate", enos_authenticate(client)) != ENOS_OK) {
        failed = 1;
    }
    if (!failed && argc == 5) {
        const char *msg = "hello from libenos";
        snprintf(what, sizeof what, "report (%u bytes)", (unsigned)strlen(msg));
        failed |= step(what, enos_report(client, msg, strlen(msg))) != ENOS_OK;
    }
    for (i = 5; !failed && i < argc; i++) {
        snprintf(what, sizeof what, "report %d (%u bytes)", i - 4, (unsigned)strlen(argv[i]));
        failed |= step(what, enos_report(client, argv[i], strlen(argv[i]))) != ENOS_OK;
    }
    step("close", enos_close(client));
    printf("%s\n", failed ? "some steps failed" : "all reports acknowledged by the server");
    return failed;
}
