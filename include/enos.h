/**
 * @file enos.h
 * @brief libenos: connect a device to Envision EnOS over CoAP/UDP (non-DTLS).
 *
 * libenos authenticates a device with EnOS, keeps its session token and
 * message sequence, signs every request with CoAP option 2101 and delivers
 * confirmable (CON) requests with RFC 7252 retransmission.
 *
 * @section usage Typical use
 * @code
 * enos_config cfg = ENOS_CONFIG_INIT;
 * enos_client *c = NULL;
 * cfg.server        = "coap-enos.example.com";
 * cfg.product_key   = "MuGsF6W4";
 * cfg.device_key    = "15bBZlRknc";
 * cfg.device_secret = "sMgTXBUvDNeWGAJWnDcT";
 * if (enos_init(&cfg, &c) != ENOS_OK) { fprintf(stderr, "%s\n", enos_last_error()); return 1; }
 * int rc = enos_report(c, "\x01\x02", 2);
 * if (rc != ENOS_OK) fprintf(stderr, "%s: %s\n", enos_strerror(rc), enos_last_error());
 * enos_close(c);
 * @endcode
 *
 * @section errors Errors
 * Every function that can fail returns ENOS_OK (0) or a negative ENOS_ERR_*
 * code (enos_report() may also return ENOS_QUEUED (1) when a state_dir is set:
 * test for failure with `rc < 0`). enos_strerror() names a code; enos_last_error() gives the detail of
 * the last failing call made by the calling thread. Messages never contain a
 * device secret, a signing key or a session token.
 *
 * @section threads Thread safety
 * Every function may be called from any thread at any time. Calls on one
 * client are serialized inside the library: its requests go out one at a time,
 * in call order (EnOS rejects a sequence that is not larger than the previous
 * one). Different clients work in parallel. Calling enos_close() while another
 * thread is blocked in a call on the same client makes that call return
 * ENOS_ERR_CLOSED promptly.
 *
 * @section blocking Blocking
 * enos_init(), enos_sign(), enos_auth_sign(), enos_close(), enos_strerror(),
 * enos_version(), enos_last_error(), enos_get_stats(), enos_set_command_handler()
 * and enos_set_log_handler() do no network I/O and return at once (enos_close()
 * and the two setters may wait for a handler call in progress).
 * enos_flush() and enos_next_command() wait up to their timeout.
 * enos_authenticate(), enos_report(), enos_publish(), enos_next_sign(),
 * enos_poll() and enos_reply() may
 * block on the network, but never longer than the RFC 7252 retransmission
 * window per exchange (MAX_TRANSMIT_WAIT = ack_timeout * 1.5 * (2^(max_retransmit+1) - 1);
 * about 93 s with the defaults), plus one re-authentication when one is needed.
 * The number of exchanges is bounded too: a report, publish or reply is one
 * request plus at most one command fetch (a GET that a lone option 2100 in
 * the answer asks for); enos_poll() makes at most 8 requests in all. Commands
 * announced beyond that are fetched by the client's next call.
 * Nothing is ever printed to stdout or stderr.
 *
 * @section process Process rules (libenos is written in Go)
 * - One Go runtime per process: do not load a second Go-built shared library
 *   (c-shared) into the same process.
 * - dlclose() does not unload libenos; load it once and keep it.
 * - Do not fork() without exec() once libenos is loaded (the child would have
 *   one thread and a runtime that believes it has several).
 * - Signal handlers that the host installs after loading libenos must use
 *   SA_ONSTACK (sigaction), or a signal arriving on a Go thread crashes.
 * - Loading reserves about 1.6 GB of virtual address space (RSS is 2-4 MB):
 *   a `ulimit -v` below ~2 GB kills the process at load.
 * - Linux builds need glibc >= 2.34 on the target when built on Debian 12;
 *   musl libc is not supported (Go's c-shared mode needs glibc).
 */
#ifndef ENOS_H
#define ENOS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @name Version of this header; enos_version() returns the library's. */
/**@{*/
#define ENOS_VERSION_MAJOR 1
#define ENOS_VERSION_MINOR 0
#define ENOS_VERSION_PATCH 0
#define ENOS_VERSION_STRING "1.0.0"
/**@}*/

/** Opaque client handle. Not a pointer to memory: never dereference or free it. */
typedef struct enos_client enos_client;

/** @name Status codes */
/**@{*/
#define ENOS_OK             0
#define ENOS_QUEUED         1     /**< not delivered yet, but stored in the offline queue (state_dir set);
                                       libenos delivers it later, in order. A success for the caller. */
#define ENOS_ERR_INVALID   (-1)   /**< argument NULL, empty, malformed or out of range */
#define ENOS_ERR_BUFFER    (-2)   /**< output buffer too small; nothing consumed, nothing sent */
#define ENOS_ERR_NETWORK   (-3)   /**< server unreachable: resolve, send or ICMP error */
#define ENOS_ERR_TIMEOUT   (-4)   /**< no answer within the retransmission window */
#define ENOS_ERR_AUTH      (-5)   /**< EnOS refused authentication */
#define ENOS_ERR_REJECTED  (-6)   /**< EnOS answered with 4.xx/5.xx after any re-authentication */
#define ENOS_ERR_CLOSED    (-7)   /**< client closed, or not a client */
#define ENOS_ERR_STATE     (-8)   /**< state_dir locked by another client or process, unreadable or unwritable */
#define ENOS_ERR_FULL      (-9)   /**< offline queue full: the report was not accepted */
#define ENOS_ERR_BUSY     (-10)   /**< too many asynchronous requests outstanding: try again later; nothing was queued */
#define ENOS_ERR_NOFILE   (-11)   /**< the process is out of file descriptors (EMFILE/ENFILE): raise RLIMIT_NOFILE
                                       (ulimit -n, systemd LimitNOFILE=) or close clients; nothing was sent
                                       or queued, and it is not retried */
#define ENOS_ERR_INTERNAL  (-99)  /**< a bug in libenos; enos_last_error() says more */
/**@}*/

/** @name Sign modes (enos_config.sign_mode): when requests carry option 2101 */
/**@{*/
#define ENOS_SIGN_AUTO   0        /**< send option 2101 when the auth response carried a token;
                                       stop signing if EnOS answers 4.02 Bad Option */
#define ENOS_SIGN_ALWAYS 1        /**< always send option 2101 */
#define ENOS_SIGN_NEVER  2        /**< never send option 2101 */
/**@}*/

/**
 * Size of a buffer (including the terminating NUL) that holds the option-2101
 * signature of a token of @p token_len bytes for any sequence 1..2147483647:
 * hex of AES-CBC over "token{T}sequence{S}" with PKCS#7 padding.
 */
#define ENOS_SIGN_SIZE(token_len) \
    ((((size_t)(token_len) + 23u) / 16u + 1u) * 32u + 1u)

/** Size of a buffer for enos_auth_sign(): 64 hex characters and a NUL. */
#define ENOS_AUTH_SIGN_SIZE 65

/** @name CoAP response codes as returned by enos_publish() (RFC 7252: class << 5 | detail) */
/**@{*/
#define ENOS_COAP_CLASS(code)  (((code) >> 5) & 0x07)   /**< 2 for 2.04 */
#define ENOS_COAP_DETAIL(code) ((code) & 0x1f)          /**< 4 for 2.04 */
/**@}*/

/**
 * Configuration of one device. Always start from ENOS_CONFIG_INIT so that
 * struct_size is right and every other field takes its default.
 */
typedef struct enos_config {
    uint32_t       struct_size;     /**< sizeof(enos_config): lets the struct grow without breaking the ABI */
    const char    *server;          /**< "host" or "host:port" (default port 5683); required */
    const char    *product_key;     /**< required; a URI path segment (no '/', '?', '#', space, control char) */
    const char    *device_key;      /**< required; same rules as product_key */
    const char    *device_secret;   /**< required; never logged, never part of an error message */
    int32_t        lifetime_s;      /**< 30..86400; 0 means 3600 */
    int32_t        ack_timeout_ms;  /**< 0 means 2000 (RFC 7252 ACK_TIMEOUT) */
    int32_t        max_retransmit;  /**< 0 means 4 (RFC 7252 MAX_RETRANSMIT); negative means none */
    int32_t        sign_mode;       /**< ENOS_SIGN_*; 0 is ENOS_SIGN_AUTO */
    const uint8_t *sign_iv;         /**< 16 bytes; NULL means the ASCII bytes "543yhjy97ae7fyfg" */
    const char    *state_dir;       /**< NULL: nothing persisted; else session and offline queue live here
                                         (one directory per device; created 0700 if missing) */
    /* Offline queue, commands, block-wise transfer. New fields are only ever
     * appended: a program built against an older header passes a smaller
     * struct_size, and the fields it does not know take their defaults. */
    int32_t        queue_max_count;   /**< offline queue bound in reports; 0 means 10000 */
    int64_t        queue_max_bytes;   /**< offline queue bound in bytes on disk; 0 means 16 MiB */
    int32_t        retry_interval_ms; /**< first wait before the offline queue retries (doubles up to 30 s); 0 means 1000 */
    int32_t        poll_interval_ms;  /**< poll for commands after this long without a request; 0 means never
                                           (one library scheduler serves every client: no thread per client) */
    int32_t        command_queue;     /**< commands kept for enos_next_command(); 0 means 256 */
    int32_t        block_size;        /**< RFC 7959 Block1 size for larger payloads: 0 means 1024,
                                           -1 turns block-wise off, else a power of two 16..1024 */
} enos_config;

/** Largest payload a request may carry (with block-wise transfer). */
#define ENOS_MAX_PAYLOAD 65536

/**
 * Initializer for enos_config: struct_size set, every other field default.
 * Lists every field so that it compiles without warnings under
 * -Wall -Wextra as C89..C2x and as C++.
 */
#define ENOS_CONFIG_INIT \
    { (uint32_t)sizeof(enos_config), NULL, NULL, NULL, NULL, 0, 0, 0, ENOS_SIGN_AUTO, NULL, NULL, \
      0, 0, 0, 0, 0, 0 }

/**
 * @brief Create a client for one device. No network I/O (with a state_dir it
 *        opens and locks that directory and resumes a saved session).
 *
 * The configuration is validated and copied: the caller may free or reuse
 * @p config and every string it points to as soon as the call returns.
 *
 * A struct_size smaller than sizeof(enos_config) means a program built against
 * an older header: fields that lie beyond struct_size are not read and take
 * their defaults. A struct_size larger than this library's enos_config (a
 * program built against a newer libenos) is rejected.
 *
 * @param[in]  config  Device configuration; see enos_config for each field.
 * @param[out] client  Set to the new client on ENOS_OK only; untouched otherwise.
 *
 * @return ENOS_OK          the client was created; release it with enos_close().
 * @return ENOS_ERR_INVALID @p config or @p client is NULL; struct_size is 0, too
 *                          small to hold the required fields, or too large; a
 *                          required string is NULL or empty; a key cannot be a
 *                          URI path segment; a number is out of range.
 * @return ENOS_ERR_STATE    state_dir is used by another client or process, or
 *                          cannot be read or written.
 * @return ENOS_ERR_INTERNAL a bug in libenos.
 *
 * Thread safety: any thread. Blocking: no (local file I/O only with a state_dir).
 */
int enos_init(const enos_config *config, enos_client **client);

/**
 * @brief Authenticate now (POST /auth/{pk}/{dk}), ending any current session.
 *
 * Optional: enos_report() and enos_publish() authenticate by themselves when
 * needed. Useful to check credentials at start-up.
 *
 * @param[in] client  A client from enos_init().
 *
 * @return ENOS_OK           EnOS accepted the credentials; the sequence restarts at 1.
 * @return ENOS_ERR_INVALID  @p client is NULL.
 * @return ENOS_ERR_CLOSED   @p client was closed, or is not a client.
 * @return ENOS_ERR_NETWORK  the server cannot be resolved or reached (ICMP error).
 * @return ENOS_ERR_TIMEOUT  no answer within the retransmission window.
 * @return ENOS_ERR_AUTH     EnOS refused the credentials (4.01/4.03) or the request.
 * @return ENOS_ERR_INTERNAL a bug in libenos.
 *
 * Thread safety: any thread; serialized with the client's other requests.
 * Blocking: up to one retransmission window.
 */
int enos_authenticate(enos_client *client);

/**
 * @brief Report raw device bytes: POST /topic/sys/{pk}/{dk}/thing/model/up_raw.
 *
 * Blocks until EnOS acknowledges with 2.xx. Authenticates first when needed
 * (first request, session idle longer than the lifetime, sequence about to
 * pass 2147483647) and, on 4.01, authenticates again once and resends with a
 * new sequence.
 *
 * @param[in] client   A client from enos_init().
 * @param[in] payload  @p len bytes, copied before the call returns; may be NULL if @p len is 0.
 * @param[in] len      Payload length in bytes (EnOS advises staying under ~1 KB).
 *
 * @return ENOS_OK           EnOS acknowledged the report with 2.xx.
 * @return ENOS_QUEUED       (positive; only with a state_dir) not delivered now but
 *                           stored in the offline queue, to be delivered later in order.
 * @return ENOS_ERR_INVALID  @p client is NULL, or @p payload is NULL with @p len > 0.
 * @return ENOS_ERR_CLOSED   @p client was closed, or is not a client.
 * @return ENOS_ERR_NETWORK  the server cannot be resolved or reached (ICMP error);
 *                           the next call tries again.
 * @return ENOS_ERR_TIMEOUT  no answer within the retransmission window.
 * @return ENOS_ERR_AUTH     EnOS refused authentication.
 * @return ENOS_ERR_REJECTED EnOS answered 4.xx/5.xx (after any re-authentication).
 * @return ENOS_ERR_FULL     (only with a state_dir) the offline queue is full; not accepted.
 * @return ENOS_ERR_STATE    (only with a state_dir) the queue or session cannot be saved.
 * @return ENOS_ERR_INTERNAL a bug in libenos.
 *
 * Thread safety: any thread; one client's requests go out one at a time, in
 * call order. Blocking: up to the retransmission window per exchange.
 */
int enos_report(enos_client *client, const void *payload, size_t len);

/**
 * @brief POST a payload to any topic of the device and return EnOS's reply.
 *
 * @p topic is the MQTT-style topic, e.g. "/sys/{pk}/{dk}/thing/measurepoint/post";
 * a leading "/topic" is accepted too. Authentication and re-authentication
 * work as for enos_report().
 *
 * The reply payload is binary and is not NUL-terminated. At most
 * @p reply_size bytes are copied to @p reply; *@p reply_len is always set to
 * the reply's full length, so *@p reply_len > @p reply_size means the reply
 * was truncated. Truncation is not an error: the request was delivered and
 * its sequence consumed either way.
 *
 * @param[in]  client      A client from enos_init().
 * @param[in]  topic       NUL-terminated topic; not NULL, not empty.
 * @param[in]  payload     @p len bytes, copied; may be NULL if @p len is 0.
 * @param[in]  len         Payload length in bytes.
 * @param[out] coap_code   Optional (NULL): the CoAP response code, class << 5 | detail
 *                         (2.04 is 68; see ENOS_COAP_CLASS/DETAIL), or 0 when no
 *                         response arrived.
 * @param[out] reply       Optional (NULL if @p reply_size is 0): receives the reply payload.
 * @param[in]  reply_size  Capacity of @p reply in bytes.
 * @param[out] reply_len   Optional (NULL): full length of the reply payload, 0 when none.
 *
 * Outputs are written on ENOS_OK and on ENOS_ERR_REJECTED (EnOS's 4.xx/5.xx
 * reply); on other errors *@p coap_code and *@p reply_len are set to 0.
 *
 * @return ENOS_OK           EnOS answered 2.xx.
 * @return ENOS_ERR_INVALID  @p client or @p topic NULL, @p topic empty or malformed,
 *                           @p payload NULL with @p len > 0, @p reply NULL with
 *                           @p reply_size > 0.
 * @return ENOS_ERR_CLOSED, ENOS_ERR_NETWORK, ENOS_ERR_TIMEOUT, ENOS_ERR_AUTH,
 *         ENOS_ERR_REJECTED, ENOS_ERR_INTERNAL as for enos_report().
 *
 * Thread safety and blocking: as enos_report().
 */
int enos_publish(enos_client *client, const char *topic, const void *payload, size_t len,
                 int *coap_code, void *reply, size_t reply_size, size_t *reply_len);

/**
 * @brief Consume the session's next sequence and return its option-2101 signature.
 *
 * For hosts with their own CoAP stack: put @p out as the value of option 2101
 * of the next request. Authenticates first when needed. A sequence is
 * consumed only on ENOS_OK; with a too-small buffer nothing is consumed and
 * nothing is written. ENOS_SIGN_SIZE(token length) always suffices; as the
 * token's length is not known in advance, use a generous buffer (e.g.
 * ENOS_SIGN_SIZE(256)) and, on ENOS_ERR_BUFFER, retry with a larger one.
 *
 * @param[in]  client    A client from enos_init().
 * @param[out] out       Receives the NUL-terminated upper-case hex signature.
 * @param[in]  out_size  Capacity of @p out in bytes, including the NUL.
 * @param[out] sequence  Optional (NULL): the sequence the signature carries.
 *
 * @return ENOS_OK           @p out and *@p sequence are set.
 * @return ENOS_ERR_INVALID  @p client or @p out is NULL.
 * @return ENOS_ERR_BUFFER   @p out_size is too small; nothing written, nothing consumed.
 * @return ENOS_ERR_CLOSED, ENOS_ERR_NETWORK, ENOS_ERR_TIMEOUT, ENOS_ERR_AUTH,
 *         ENOS_ERR_INTERNAL as for enos_authenticate() (authentication may be needed).
 *
 * Thread safety: any thread; serialized with the client's requests.
 * Blocking: only when it must authenticate.
 */
int enos_next_sign(enos_client *client, char *out, size_t out_size, uint32_t *sequence);

/**
 * @brief Stateless option-2101 signature: upper-case hex of
 *        AES-128-CBC(key = SHA-256(device_secret)[8:24], iv, "token{T}sequence{S}").
 *
 * @param[in]  device_secret  NUL-terminated, not empty.
 * @param[in]  token          NUL-terminated session token; may be "" (not NULL).
 * @param[in]  sequence       1..2147483647.
 * @param[in]  iv             16 bytes, or NULL for the default "543yhjy97ae7fyfg".
 * @param[out] out            Receives the NUL-terminated signature.
 * @param[in]  out_size       Capacity of @p out including the NUL;
 *                            ENOS_SIGN_SIZE(strlen(token)) always suffices.
 *
 * @return ENOS_OK           @p out holds the signature.
 * @return ENOS_ERR_INVALID  a pointer (other than @p iv) is NULL, @p device_secret is
 *                           empty, or @p sequence is out of range.
 * @return ENOS_ERR_BUFFER   @p out_size too small; nothing is written to @p out.
 *
 * Thread safety: any thread. Blocking: no.
 */
int enos_sign(const char *device_secret, const char *token, uint32_t sequence, const uint8_t *iv,
              char *out, size_t out_size);

/**
 * @brief Authentication signature: upper-case hex SHA-256 of
 *        "deviceKey{dk}lifetime{lifetime}productKey{pk}secureMode2{secret}".
 *
 * @param[in]  product_key    NUL-terminated, not empty.
 * @param[in]  device_key     NUL-terminated, not empty.
 * @param[in]  device_secret  NUL-terminated, not empty.
 * @param[in]  lifetime_s     30..86400 (no default here).
 * @param[out] out            Receives 64 hex characters and a NUL.
 * @param[in]  out_size       At least ENOS_AUTH_SIGN_SIZE (65).
 *
 * @return ENOS_OK           @p out holds the signature.
 * @return ENOS_ERR_INVALID  a pointer is NULL, a string is empty, or @p lifetime_s is out of range.
 * @return ENOS_ERR_BUFFER   @p out_size < ENOS_AUTH_SIGN_SIZE; nothing is written to @p out.
 *
 * Thread safety: any thread. Blocking: no.
 */
int enos_auth_sign(const char *product_key, const char *device_key, const char *device_secret,
                   int32_t lifetime_s, char *out, size_t out_size);

/**
 * @brief Close the client and free everything it holds.
 *
 * A call blocked on this client in another thread returns ENOS_ERR_CLOSED.
 * The handle is never reused: a second close, or any call after it, returns
 * ENOS_ERR_CLOSED. With a state_dir, reports still in the offline queue stay
 * on disk and are delivered by the next client on that directory.
 *
 * Command handler: called from outside the handler, enos_close() returns only
 * once the handler is not running, and it is never called again (its user
 * data may be freed). Called from inside the client's own handler, it closes
 * the client without waiting for that call (it is the caller); the handler is
 * not called again after it returns. Called from inside the handler of
 * another client, it waits for this client's handler like any outside call.
 *
 * @param[in] client  A client from enos_init().
 *
 * @return ENOS_OK           closed.
 * @return ENOS_ERR_INVALID  @p client is NULL.
 * @return ENOS_ERR_CLOSED   already closed, or not a client.
 * @return ENOS_ERR_INTERNAL a bug in libenos (the handle is closed anyway).
 *
 * Thread safety: any thread. Blocking: no network I/O; waits for the client's
 * own goroutines to notice, and for a command handler call in progress.
 */
int enos_close(enos_client *client);

/* ------------------------------------------------------------------------ */
/** @name Offline queue and statistics */
/**@{*/

/**
 * @brief Wait until the offline queue is empty (every queued report delivered).
 *
 * Wakes the background worker so that it retries at once. Without a state_dir
 * there is no queue and enos_flush() returns ENOS_OK at once.
 *
 * @param[in] client      A client from enos_init().
 * @param[in] timeout_ms  How long to wait: 0 checks without waiting, negative waits without limit.
 *
 * @return ENOS_OK           the queue is empty.
 * @return ENOS_ERR_TIMEOUT  reports are still queued when the timeout ran out (they stay queued).
 * @return ENOS_ERR_INVALID  @p client is NULL.
 * @return ENOS_ERR_CLOSED   @p client was closed (also while waiting), or is not a client.
 *
 * Thread safety: any thread. Blocking: up to @p timeout_ms.
 */
int enos_flush(enos_client *client, int32_t timeout_ms);

/** Counters of one client since enos_init(); see enos_get_stats(). */
typedef struct enos_stats {
    uint32_t struct_size;       /**< set to sizeof(enos_stats) (ENOS_STATS_INIT) before the call */
    uint64_t sent;              /**< requests EnOS acknowledged with 2.xx */
    uint64_t failed;            /**< exchanges that failed (network, timeout) or were rejected */
    uint64_t retransmissions;   /**< datagrams sent again (RFC 7252 retransmission) */
    uint64_t auths;             /**< authentication attempts */
    uint64_t reauths;           /**< authentications after the first session (expiry, 4.01, rollover) */
    uint64_t queued;            /**< reports waiting in the offline queue now */
    uint64_t queued_bytes;      /**< their size on disk */
    uint64_t queued_total;      /**< reports ever put in the offline queue */
    uint64_t queue_delivered;   /**< queued reports delivered later */
    uint64_t queue_dropped;     /**< queued reports EnOS refused for good with 4.xx (logged at error level) */
    uint64_t commands;          /**< commands received */
    uint64_t commands_dropped;  /**< commands received while the command queue was full (logged) */
    uint64_t state_errors;      /**< corrupt or foreign state files found, failed saves */
} enos_stats;

/** Initializer for enos_stats. */
#define ENOS_STATS_INIT { (uint32_t)sizeof(enos_stats), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }

/**
 * @brief Read the client's counters.
 *
 * Fields beyond @p stats->struct_size (an older caller) are not written.
 *
 * @param[in]     client  A client from enos_init().
 * @param[in,out] stats   struct_size set by the caller; the counters are filled in.
 *
 * @return ENOS_OK, ENOS_ERR_INVALID (NULL argument; struct_size 0, too small to
 *         hold @c sent, or larger than this library knows), ENOS_ERR_CLOSED.
 * Thread safety: any thread. Blocking: no.
 */
int enos_get_stats(enos_client *client, enos_stats *stats);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Commands from EnOS (protocol: options 2100/2102) */
/**@{*/

/**
 * Receives one command. @p topic is the MQTT topic without the CoAP "/topic"
 * prefix, e.g. "/sys/{pk}/{dk}/thing/model/down_raw" (pass it to enos_reply()
 * as it is). @p topic and @p payload are valid only during the call; copy what
 * you keep. @p payload is binary, not NUL-terminated; it may be NULL when
 * @p len is 0.
 */
typedef void (*enos_command_fn)(void *user, const char *topic, const uint8_t *payload, size_t len);

/**
 * @brief Deliver every command of this client to @p fn, in order, exactly once.
 *
 * EnOS announces waiting commands in its responses to the device's own
 * requests (reports, enos_poll()). @p fn runs on a library thread, one call at
 * a time, and never while a library lock is held: it may call any libenos
 * function, enos_reply() on the same client included, and it may block (the
 * client's reports go on; commands wait in the queue meanwhile). It must not
 * unwind (longjmp, C++ exception) out of the callback.
 *
 * Without a handler, commands wait (up to command_queue of them) for
 * enos_next_command(). Setting a handler delivers those already waiting.
 *
 * @param[in] client  A client from enos_init().
 * @param[in] fn      The handler, or NULL to remove it.
 * @param[in] user    Passed to @p fn unchanged; libenos never dereferences it.
 *
 * @return ENOS_OK, ENOS_ERR_INVALID (@p client NULL), ENOS_ERR_CLOSED.
 *
 * Thread safety: any thread, the handler included (a handler may replace or
 * remove itself). After enos_close() returns (called from outside the
 * handler), @p fn is not running and is never called again, so @p user may be
 * freed. Likewise, removing the handler (@p fn NULL) from outside the handler
 * returns only once the previous handler is not running. Replacing one handler
 * by another does not wait: the previous one may still finish its current
 * call. Blocking: no, except that wait.
 */
int enos_set_command_handler(enos_client *client, enos_command_fn fn, void *user);

/**
 * @brief Send one signed request that picks up waiting commands
 *        (GET /topic/sys/{pk}/{dk}/thing/model/down_raw), and keep asking while
 *        EnOS's answers bring commands.
 *
 * For devices with nothing to report (see also poll_interval_ms). Commands go
 * to the handler, or wait for enos_next_command(). One call makes at most 8
 * requests (polls and command fetches together), so a server that announces
 * commands forever cannot hold the client; the rest is fetched by the next
 * call. A lone option 2100 is followed only when it names a well-formed path
 * under /topic/, and exactly that path is fetched.
 *
 * @return the number of commands received (>= 0), or ENOS_ERR_INVALID,
 *         ENOS_ERR_CLOSED, ENOS_ERR_NETWORK, ENOS_ERR_TIMEOUT, ENOS_ERR_AUTH,
 *         ENOS_ERR_REJECTED, ENOS_ERR_INTERNAL as for enos_report().
 * Thread safety and blocking: as enos_report().
 */
int enos_poll(enos_client *client);

/**
 * @brief Take the oldest waiting command (for hosts with their own event loop).
 *
 * @param[in]  client        A client from enos_init().
 * @param[in]  timeout_ms    0: do not wait; negative: wait without limit; else wait up to this long.
 * @param[out] topic         Receives the NUL-terminated topic (as in enos_command_fn).
 * @param[in]  topic_size    Capacity of @p topic including the NUL.
 * @param[out] payload       Receives the payload (binary); may be NULL if @p payload_size is 0.
 * @param[in]  payload_size  Capacity of @p payload.
 * @param[out] payload_len   Required: the payload's length (on ENOS_ERR_BUFFER, the length needed).
 *
 * @return ENOS_OK           a command was copied out and removed from the queue.
 * @return ENOS_ERR_TIMEOUT  no command arrived within @p timeout_ms (*@p payload_len is 0).
 * @return ENOS_ERR_BUFFER   @p topic_size or @p payload_size too small: the command
 *                           stays queued, *@p payload_len tells the payload size needed,
 *                           enos_last_error() the topic size needed.
 * @return ENOS_ERR_INVALID  @p client, @p topic or @p payload_len NULL, or
 *                           @p payload NULL with @p payload_size > 0.
 * @return ENOS_ERR_CLOSED   @p client was closed (also while waiting), or is not a client.
 * Thread safety: any thread. Blocking: up to @p timeout_ms. Does no network I/O:
 * call enos_poll() (or set poll_interval_ms) to ask EnOS for commands.
 */
int enos_next_command(enos_client *client, int32_t timeout_ms, char *topic, size_t topic_size,
                      void *payload, size_t payload_size, size_t *payload_len);

/**
 * @brief Answer a command: POST @p payload to @p command_topic + "_reply"
 *        (e.g. ".../thing/model/down_raw_reply"). A topic already ending in
 *        "_reply" is used as it is.
 *
 * @return as enos_publish() without the reply outputs.
 * Thread safety: any thread, the command handler included. Blocking: as enos_report().
 */
int enos_reply(enos_client *client, const char *command_topic, const void *payload, size_t len);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Logging (process-wide; silent by default) */
/**@{*/
#define ENOS_LOG_OFF   0
#define ENOS_LOG_ERROR 1
#define ENOS_LOG_WARN  2
#define ENOS_LOG_INFO  3
#define ENOS_LOG_DEBUG 4

/** Receives one log line (NUL-terminated, no trailing newline, valid during the call). */
typedef void (*enos_log_fn)(void *user, int level, const char *message);

/**
 * @brief Route libenos's diagnostics to @p fn: messages at @p level or more
 *        severe (ENOS_LOG_ERROR is the most severe). Messages never contain a
 *        device secret, signing key or token.
 *
 * @p fn may be called from any thread, including library threads, concurrently
 * with itself; it must not call back into libenos (messages logged by such a
 * call are dropped, and enos_set_log_handler() from inside it is refused).
 * NULL @p fn or ENOS_LOG_OFF silences libenos (the default). When this returns,
 * the previous handler is not running and is never called again (its @p user
 * may be freed). Messages name devices by product and device key only.
 *
 * @return ENOS_OK, or ENOS_ERR_INVALID for a level outside ENOS_LOG_OFF..ENOS_LOG_DEBUG
 *         or a call from inside the log handler.
 * Thread safety: any thread. Blocking: no.
 */
int enos_set_log_handler(enos_log_fn fn, void *user, int level);
/**@}*/

/**
 * @brief Name of a status code, e.g. "invalid argument".
 * @return A static string, never NULL, for any int (unknown codes give "unknown error").
 * Thread safety: any thread.
 */
const char *enos_strerror(int status);

/**
 * @brief Detail of the last failing libenos call made by the calling thread,
 *        e.g. "enos_init: config->device_key is NULL".
 *
 * Set by every call that returns an error; a successful call leaves it
 * unchanged (like errno). "" if no call of this thread has failed.
 *
 * @return A NUL-terminated string in thread-local storage, never NULL, valid
 *         until the calling thread's next libenos call. Do not free it.
 * Thread safety: any thread; each thread sees its own.
 */
const char *enos_last_error(void);

/**
 * @brief Version of the loaded library, "MAJOR.MINOR.PATCH"; equal to
 *        ENOS_VERSION_STRING when header and library match.
 * @return A static string, never NULL.
 */
const char *enos_version(void);

/* ------------------------------------------------------------------------ */
/**
 * @name Network limits
 *
 * Shared sockets: the clients of one process that talk to the same server
 * (same address after name resolution) share a small pool of UDP sockets:
 * one per ENOS_CLIENTS_PER_SOCKET clients, and more as the message rate
 * demands (below). A client is given a socket on its first exchange and keeps
 * it, so the server sees one source address per session, until the socket has
 * no Message ID left or fails; moving does not re-authenticate (a 4.01 answer
 * would: once, then the request is sent again). A socket that fails (an error
 * from the system, an ICMP error included) is closed and replaced: requests
 * waiting on it return ENOS_ERR_NETWORK at once, or go out from another
 * socket when nothing was sent yet. Descriptors are thus no longer one per
 * client; ENOS_ERR_NOFILE appears when a socket to a new server cannot be
 * opened (or a state directory's files, one set per client). DTLS clients,
 * where supported, keep one socket each: a DTLS server knows a session by
 * its address.
 *
 * Message IDs (RFC 7252 §4.4, §4.8.2): a server recognises a retransmission by
 * (source endpoint, Message ID) for EXCHANGE_LIFETIME, 247 s, so one UDP socket
 * carries at most ENOS_MIDS_PER_SOCKET new messages per 247 s (about 265 per
 * second sustained), shared by all the clients on it: Message IDs are
 * allocated per socket, and CoAP tokens (8 random bytes per exchange) tell the
 * clients' exchanges apart. No socket reuses a Message ID within that time: a
 * client whose socket has none left moves to another socket of the pool, or a
 * fresh one (new source port, a new endpoint for the server), and goes on
 * without waiting. An answer to one of its Message IDs that carries another
 * token (the server's duplicate cache answering an earlier message) makes it
 * resend the request from a fresh socket, once per call, and is logged at
 * ENOS_LOG_WARN.
 */
/**@{*/
#define ENOS_MIDS_PER_SOCKET 65536      /**< new messages per socket per ENOS_EXCHANGE_LIFETIME_S */
#define ENOS_EXCHANGE_LIFETIME_S 247    /**< RFC 7252 EXCHANGE_LIFETIME in seconds */
#define ENOS_CLIENTS_PER_SOCKET 4096    /**< clients one shared socket serves before the pool opens another */
/**@}*/
/* ------------------------------------------------------------------------- */
/* Asynchronous requests (since 1.1)                                         */
/* ------------------------------------------------------------------------- */

/**
 * @brief Completion callback of an asynchronous request.
 *
 * @param user    The pointer given with the request.
 * @param status  What the blocking call would have returned: ENOS_OK,
 *                ENOS_QUEUED, or an ENOS_ERR_* code. enos_last_error() called
 *                inside the callback gives the detail of a failure.
 *
 * Called exactly once per accepted request, on a library thread (never the
 * thread that made the request, even when the request fails at once). The
 * callback may call any libenos function, including enos_close() of its own
 * client and new asynchronous requests. It should return promptly: the next
 * request of the same client waits for it.
 */
typedef void (*enos_done_fn)(void *user, int status);

/**
 * @brief Accept one report (as enos_report()) and return at once.
 *
 * The payload is copied before the call returns. The report is sent later, in
 * order: one client's requests (asynchronous and blocking) go out in the order
 * they were accepted. At least 4,096 asynchronous requests outstanding across
 * the process are always accepted; past 65,536 the call returns
 * ENOS_ERR_BUSY.
 *
 * @param client   The client.
 * @param payload  The report's bytes; may be NULL when @p len is 0.
 * @param len      Payload length, at most ENOS_MAX_PAYLOAD.
 * @param fn       Called once with the outcome; required.
 * @param user     Passed to @p fn as is.
 * @return ENOS_OK           accepted: @p fn will be called exactly once.
 * @return ENOS_ERR_INVALID  @p client or @p fn NULL, or @p payload NULL with @p len > 0.
 * @return ENOS_ERR_CLOSED   @p client was closed, or is not a client.
 * @return ENOS_ERR_BUSY     too many requests outstanding; nothing was accepted.
 * @return ENOS_ERR_INTERNAL a bug in libenos.
 * On any return other than ENOS_OK, @p fn is never called.
 *
 * enos_close() of the client ends outstanding requests: each callback not yet
 * called is called with ENOS_ERR_CLOSED (or with the outcome of the exchange
 * in progress), and enos_close() returns only after the last one returned,
 * except when it is called from one of this client's own callbacks or command
 * handler (it cannot wait for itself; the remaining callbacks then follow).
 *
 * Thread safety: any thread. Blocking: never (no network I/O on the caller's thread).
 */
int enos_report_async(enos_client *client, const void *payload, size_t len, enos_done_fn fn, void *user);

/**
 * @brief Accept one enos_publish() to @p topic and return at once.
 *
 * As enos_report_async(), for enos_publish(): @p topic and @p payload are
 * copied; @p fn receives ENOS_OK for a 2.xx answer and ENOS_ERR_REJECTED for
 * 4.xx/5.xx (EnOS's reply payload is not kept: use enos_publish() when you
 * need it).
 *
 * @return ENOS_OK, ENOS_ERR_INVALID (also: @p topic NULL, empty or malformed),
 *         ENOS_ERR_CLOSED, ENOS_ERR_BUSY, ENOS_ERR_INTERNAL as for enos_report_async().
 * Thread safety: any thread. Blocking: never.
 */
int enos_publish_async(enos_client *client, const char *topic, const void *payload, size_t len,
                       enos_done_fn fn, void *user);

#ifdef __cplusplus
}
#endif

#endif /* ENOS_H */
