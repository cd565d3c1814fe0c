/* SPDX-License-Identifier: Apache-2.0 */

/* libenos C API tests of state_dir trust, through the real library: enos_init
 * refuses (ENOS_ERR_STATE, with a message naming the problem and the fix) a
 * directory writable by group or others, one owned by another user (when run
 * as root), and one holding a symbolic link under a name libenos uses; the
 * link's target is never written. No network I/O: no simulator needed.
 * Built as C99, C11 and C++. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "harness.h"

static void config_for(enos_config *cfg, const char *dir) {
    enos_config init = ENOS_CONFIG_INIT;
    *cfg = init;
    cfg->server = "127.0.0.1:9"; /* never contacted: enos_init does no network I/O */
    cfg->product_key = V_PK;
    cfg->device_key = V_DK;
    cfg->device_secret = V_SECRET;
    cfg->state_dir = dir;
}

static void rm_rf(const char *dir) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

static void test_group_writable(void) {
    char dir[] = "/tmp/enos-statedir-XXXXXX";
    enos_config cfg;
    enos_client *c = NULL;
    TEST("a state_dir writable by group or others is refused");
    CHECK(mkdtemp(dir) != NULL);
    CHECK(chmod(dir, 0777) == 0);
    config_for(&cfg, dir);
    CHECK_ERR_MSG(enos_init(&cfg, &c), ENOS_ERR_STATE, "writable by group or others");
    CHECK(strstr(enos_last_error(), "chmod 700") != NULL && strstr(enos_last_error(), dir) != NULL);
    CHECK(c == NULL);
    CHECK(chmod(dir, 0700) == 0);
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK_RC(enos_close(c), ENOS_OK);
    rm_rf(dir);
}

static void test_other_owner(void) {
    char dir[] = "/tmp/enos-statedir-XXXXXX";
    enos_config cfg;
    enos_client *c = NULL;
    TEST("a state_dir owned by another user is refused");
    if (geteuid() != 0) {
        fprintf(stderr, "    skipped: needs root to give a directory to another user\n");
        return;
    }
    CHECK(mkdtemp(dir) != NULL);
    CHECK(chown(dir, 65534, 65534) == 0); /* nobody */
    config_for(&cfg, dir);
    CHECK_ERR_MSG(enos_init(&cfg, &c), ENOS_ERR_STATE, "owned by uid 65534");
    rm_rf(dir);
}

static void test_planted_symlinks(void) {
    static const char *names[] = {"lock", "session", "session.tmp", "queue.0.log", "queue.head", "queue.head.tmp"};
    size_t i;
    TEST("a symbolic link under a name libenos uses is refused, its target untouched");
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        char dir[] = "/tmp/enos-statedir-XXXXXX", outside[] = "/tmp/enos-victim-XXXXXX";
        char target[300], link[300], buf[64];
        enos_config cfg;
        enos_client *c = NULL;
        int fd;
        ssize_t n;
        CHECK(mkdtemp(dir) != NULL && mkdtemp(outside) != NULL);
        snprintf(target, sizeof target, "%s/victim", outside);
        snprintf(link, sizeof link, "%s/%s", dir, names[i]);
        fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        CHECK(fd >= 0 && write(fd, "precious", 8) == 8);
        close(fd);
        CHECK(symlink(target, link) == 0);
        config_for(&cfg, dir);
        CHECK_ERR_MSG(enos_init(&cfg, &c), ENOS_ERR_STATE, "symbolic link");
        CHECK(strstr(enos_last_error(), names[i]) != NULL);
        fd = open(target, O_RDONLY);
        n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
        if (fd >= 0) {
            close(fd);
        }
        CHECK(n == 8 && memcmp(buf, "precious", 8) == 0);
        rm_rf(dir);
        rm_rf(outside);
    }
}

int main(void) {
    test_group_writable();
    test_other_owner();
    test_planted_symlinks();
    return h_finish();
}
