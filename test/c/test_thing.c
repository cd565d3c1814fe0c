/* SPDX-License-Identifier: Apache-2.0 */

/* libenos C API tests of the JSON thing model against enos-sim running as a
 * separate process with a thing model (test/c/with-sim.sh --model
 * test/c/thing-model.json): measure points and events accepted (200) and
 * refused (1204, with EnOS's code and message through enos_last_reply_code(),
 * enos_last_reply_message() and enos_last_error()), invalid input refused
 * before anything is sent, attributes stored and queried with
 * enos_thing_request() (truncation included), a JSON service call answered
 * with enos_reply_result() carrying the call's id, and ENOS_QUEUED with a
 * state_dir when the server is unreachable.
 * Built as C99, C11 and C++. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdlib.h>
#include <unistd.h>
#include "harness.h"
#include "simlog.h"

static const char *addr, *logpath, *control, *simbin, *pk, *dk, *secret;

static void config_for(enos_config *cfg, const char *server) {
    enos_config init = ENOS_CONFIG_INIT;
    *cfg = init;
    cfg->server = server;
    cfg->product_key = pk;
    cfg->device_key = dk;
    cfg->device_secret = secret;
    cfg->ack_timeout_ms = 300;
}

/* Counts lines of the simulator's log that contain needle. */
static int count_lines(const char *needle) {
    char *log = read_file(logpath);
    const char *p;
    int n = 0;
    if (log == NULL) {
        return -1;
    }
    for (p = log; (p = strstr(p, needle)) != NULL; p++) {
        n++;
    }
    free(log);
    return n;
}

/* Counts records on topic (with the /sys/pk/dk/ prefix added) whose payload is exactly payload. */
static int count_payload(const char *suffix, const char *payload) {
    char needle[1024], enc[1024];
    b64((const unsigned char *)payload, strlen(payload), enc);
    snprintf(needle, sizeof needle, "\"topic\":\"/sys/%s/%s/%s\",\"sequence\":", pk, dk, suffix);
    {
        char *log = read_file(logpath);
        const char *p;
        int n = 0;
        if (log == NULL) {
            return -1;
        }
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
}

static void test_invalid(void) {
    enos_config cfg;
    enos_client *c = NULL;
    char data[16];
    size_t len = 99;
    int before;
    TEST("invalid input is refused before anything is sent");
    config_for(&cfg, addr);
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    before = count_lines("\"thing\":");
    CHECK_INVALID(enos_post_measurepoints(NULL, "{\"temp\":1}", 0), "client");
    CHECK_INVALID(enos_post_measurepoints(c, NULL, 0), "measurepoints_json");
    CHECK_INVALID(enos_post_measurepoints(c, "", 0), "JSON");
    CHECK_INVALID(enos_post_measurepoints(c, "{\"temp\":", 0), "JSON");
    CHECK_INVALID(enos_post_measurepoints(c, "[1,2]", 0), "object");
    CHECK_INVALID(enos_post_measurepoints(c, "{\"temp\":1} {\"x\":2}", 0), "JSON");
    CHECK_INVALID(enos_post_measurepoints(c, "{\"1temp\":1}", 0), "identifier");
    CHECK_INVALID(enos_post_measurepoints(c, "{\"te mp\":1}", 0), "identifier");
    CHECK_INVALID(enos_post_measurepoints(c, "{\"temp\":1}", -5), "time_ms");
    CHECK(enos_last_reply_code() == 0);
    CHECK_INVALID(enos_post_event(c, NULL, "{\"level\":1}", 0), "event_id");
    CHECK_INVALID(enos_post_event(c, "over/heat", "{\"level\":1}", 0), "identifier");
    CHECK_INVALID(enos_post_event(c, "overheat", "nope", 0), "JSON");
    CHECK_INVALID(enos_thing_request(c, NULL, "{}", data, sizeof data, &len), "method");
    CHECK(len == 0);
    CHECK_INVALID(enos_thing_request(c, "thing.attribute query", "{}", data, sizeof data, &len), "method");
    CHECK_INVALID(enos_thing_request(c, "other.attribute.query", "{}", data, sizeof data, &len), "thing.");
    CHECK_INVALID(enos_thing_request(c, "thing.attribute.query", "[\"name\"]", data, sizeof data, &len), "object");
    CHECK_INVALID(enos_thing_request(c, "thing.attribute.query", "{}", NULL, 4, &len), "data");
    CHECK_INVALID(enos_reply_result(c, "/sys/a/b/thing/service/x", "raw", 3, 200, NULL), "JSON");
    CHECK_INVALID(enos_reply_result(c, "/sys/a/b/thing/service/x", "{\"method\":\"x\"}", 14, 200, NULL), "id");
    CHECK_INVALID(enos_reply_result(c, "/sys/a/b/thing/service/x", "{\"id\":\"1\"}", 10, 200, "[1]"), "data");
    CHECK_INVALID(enos_reply_result(c, "/sys/a/b/thing/service/x", NULL, 3, 200, NULL), "command_payload");
    CHECK_INVALID(enos_reply_result(c, "no-slash", "{\"id\":\"1\"}", 10, 200, NULL), "command_topic");
    CHECK(count_lines("\"thing\":") == before);
    CHECK_RC(enos_close(c), ENOS_OK);
}

static void test_posts(void) {
    enos_config cfg;
    enos_client *c = NULL;
    char needle[256];
    TEST("measure points and events: accepted and refused by the model");
    config_for(&cfg, addr);
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK_RC(enos_post_measurepoints(c, "{\"temp\": 21.5, \"Power\": {\"value\": 1.0, \"quality\": 9}}",
                                     (int64_t)1700000000123LL), ENOS_OK);
    CHECK(enos_last_reply_code() == 200);
    snprintf(needle, sizeof needle, "\"thing\":{\"method\":\"thing.measurepoint.post\",\"id\":\"1\",\"code\":200,\"time\":1700000000123}");
    CHECK(count_lines(needle) == 1);
    CHECK_RC(enos_post_measurepoints(c, "{\"temp\": \"hot\"}", 0), ENOS_ERR_REJECTED);
    CHECK(enos_last_reply_code() == 1204);
    CHECK(strstr(enos_last_reply_message(), "Model validate failed") != NULL);
    CHECK(strstr(enos_last_error(), "1204") != NULL && strstr(enos_last_error(), "enos_post_measurepoints") != NULL);
    CHECK_RC(enos_post_measurepoints(c, "{\"nosuch\": 1}", 0), ENOS_ERR_REJECTED);
    CHECK(enos_last_reply_code() == 1204 && strstr(enos_last_reply_message(), "nosuch") != NULL);
    /* a later success resets the reply code */
    CHECK_RC(enos_post_event(c, "overheat", "{\"level\": 3, \"note\": \"fan\"}", 0), ENOS_OK);
    CHECK(enos_last_reply_code() == 200 && enos_last_reply_message()[0] == '\0');
    CHECK(count_lines("\"method\":\"thing.event.overheat.post\",\"id\":\"4\",\"code\":200,\"time\":") == 1);
    CHECK_RC(enos_post_event(c, "overheat", "{\"level\": \"high\"}", 5), ENOS_ERR_REJECTED);
    CHECK(enos_last_reply_code() == 1204);
    CHECK_RC(enos_post_event(c, "unmodelled", "{\"level\": 1}", 5), ENOS_ERR_REJECTED);
    CHECK(enos_last_reply_code() == 1204);
    /* invalid input resets the reply code too */
    CHECK_RC(enos_post_measurepoints(c, "{", 0), ENOS_ERR_INVALID);
    CHECK(enos_last_reply_code() == 0);
    CHECK_RC(enos_close(c), ENOS_OK);
}

static void test_attributes(void) {
    enos_config cfg;
    enos_client *c = NULL;
    char data[64], small[5];
    size_t len = 0;
    TEST("attributes: update, query (with truncation), refusal");
    config_for(&cfg, addr);
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK_RC(enos_thing_request(c, "thing.attribute.update", "{\"attributes\":{\"name\":\"pump\",\"rated\":7.5}}",
                                NULL, 0, NULL), ENOS_OK);
    memset(data, 'x', sizeof data);
    CHECK_RC(enos_thing_request(c, "thing.attribute.query", "{\"attributes\":[\"name\"]}", data, sizeof data, &len), ENOS_OK);
    CHECK_STREQ(data, "{\"name\":\"pump\"}");
    CHECK(len == strlen("{\"name\":\"pump\"}"));
    CHECK_RC(enos_thing_request(c, "thing.attribute.query", "{\"attributes\":[]}", small, sizeof small, &len), ENOS_OK);
    CHECK_STREQ(small, "{\"na");
    CHECK(len == strlen("{\"name\":\"pump\",\"rated\":7.5}"));
    CHECK_RC(enos_thing_request(c, "thing.attribute.update", "{\"attributes\":{\"rated\":\"high\"}}", data, sizeof data, &len),
             ENOS_ERR_REJECTED);
    CHECK(len == 0 && enos_last_reply_code() == 1204);
    CHECK_RC(enos_thing_request(c, "thing.measurepoint.post", "{\"measurepoints\":{\"temp\":1}}", data, sizeof data, &len),
             ENOS_OK);
    CHECK_STREQ(data, "{}");
    CHECK_RC(enos_close(c), ENOS_OK);
}

static void test_service_reply(void) {
    enos_config cfg;
    enos_client *c = NULL;
    char cmd[512], topic[256], payload[512], id[64], want_topic[256], want[128];
    size_t len = 0;
    int rc;
    TEST("a JSON service call answered with enos_reply_result");
    config_for(&cfg, addr);
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    snprintf(id, sizeof id, "svc-%ld", (long)getpid());
    snprintf(cmd, sizeof cmd, "'%s' command --control '%s' --to '%s/%s' --service measurepoint.set "
             "--params '{\"measurepoints\":{\"temp\":5}}' --id '%s' >/dev/null", simbin, control, pk, dk, id);
    rc = system(cmd);
    CHECK(rc == 0);
    CHECK(enos_poll(c) == 1); /* the number of commands that arrived */
    CHECK_RC(enos_next_command(c, 10000, topic, sizeof topic, payload, sizeof payload - 1, &len), ENOS_OK);
    payload[len < sizeof payload ? len : sizeof payload - 1] = '\0';
    snprintf(want_topic, sizeof want_topic, "/sys/%s/%s/thing/service/measurepoint/set", pk, dk);
    CHECK_STREQ(topic, want_topic);
    CHECK(strstr(payload, id) != NULL);
    CHECK_RC(enos_reply_result(c, topic, payload, len, 200, NULL), ENOS_OK);
    snprintf(want, sizeof want, "{\"id\":\"%s\",\"code\":200,\"data\":{}}", id);
    CHECK(count_payload("thing/service/measurepoint/set_reply", want) == 1);
    CHECK_RC(enos_reply_result(c, topic, payload, len, 1205, "{ \"reason\" : \"range\" }"), ENOS_OK);
    snprintf(want, sizeof want, "{\"id\":\"%s\",\"code\":1205,\"data\":{\"reason\":\"range\"}}", id);
    CHECK(count_payload("thing/service/measurepoint/set_reply", want) == 1);
    CHECK_RC(enos_close(c), ENOS_OK);
}

static void test_queued(void) {
    enos_config cfg;
    enos_client *c = NULL;
    enos_stats st;
    char dir[] = "/tmp/enos-thing-XXXXXX", cmd[128];
    TEST("with a state_dir an unreachable server means ENOS_QUEUED");
    CHECK(mkdtemp(dir) != NULL);
    config_for(&cfg, "127.0.0.1:9"); /* discard port: nothing answers CoAP there */
    cfg.state_dir = dir;
    cfg.ack_timeout_ms = 20;
    cfg.max_retransmit = 1;
    CHECK_RC(enos_init(&cfg, &c), ENOS_OK);
    CHECK_RC(enos_post_measurepoints(c, "{\"temp\":1}", 0), ENOS_QUEUED);
    CHECK(enos_last_reply_code() == 0);
    CHECK_RC(enos_post_event(c, "overheat", "{\"level\":1}", 0), ENOS_QUEUED);
    CHECK_RC(enos_post_measurepoints(c, "{\"1bad\":1}", 0), ENOS_ERR_INVALID);
    st.struct_size = (uint32_t)sizeof st;
    CHECK_RC(enos_get_stats(c, &st), ENOS_OK);
    CHECK(st.queued == 2);
    CHECK_RC(enos_close(c), ENOS_OK);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

int main(void) {
    addr = getenv("ENOS_SIM_ADDR");
    logpath = getenv("ENOS_SIM_LOG");
    control = getenv("ENOS_SIM_CONTROL");
    simbin = getenv("ENOS_SIM");
    pk = getenv("ENOS_SIM_PK");
    dk = getenv("ENOS_SIM_DK");
    secret = getenv("ENOS_SIM_SECRET");
    if (addr == NULL || logpath == NULL || control == NULL || simbin == NULL || pk == NULL || dk == NULL || secret == NULL) {
        fprintf(stderr, "run with test/c/with-sim.sh --model test/c/thing-model.json\n");
        printf("0 passed, 1 failed\n");
        return 1;
    }
    test_invalid();
    test_posts();
    test_attributes();
    test_service_reply();
    test_queued();
    printf("%d passed, %d failed\n", h_passed, h_failed);
    return h_failed == 0 ? 0 : 1;
}
