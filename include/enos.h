/* SPDX-License-Identifier: Apache-2.0 */

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
 * code (enos_report(), enos_post_measurepoints() and enos_post_event() may also
 * return ENOS_QUEUED (1) when a state_dir is set:
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
 * ENOS_ERR_CLOSED promptly (with a state_dir, after the bounded wait that
 * enos_close() documents).
 *
 * @section blocking Blocking
 * enos_init(), enos_sign(), enos_auth_sign(), enos_close(), enos_strerror(),
 * enos_version(), enos_last_error(), enos_get_stats(), enos_set_command_handler()
 * and enos_set_log_handler() do no network I/O and return at once (enos_close()
 * and the two setters may wait for a handler call in progress, and
 * enos_close() for the client's outstanding asynchronous callbacks and up to
 * min(1.5 x ack_timeout_ms, 5 s) for the answer to a queued report's
 * exchange in flight).
 * enos_flush() and enos_next_command() wait up to their timeout.
 * enos_authenticate(), enos_report(), enos_publish(), enos_next_sign(),
 * enos_poll(), enos_reply() and the thing-model calls (enos_thing_request(),
 * enos_post_measurepoints(), enos_post_event(), enos_reply_result()) may
 * block on the network, but never longer than the RFC 7252 retransmission
 * window per exchange (MAX_TRANSMIT_WAIT = ack_timeout * 1.5 * (2^(max_retransmit+1) - 1);
 * about 93 s with the defaults), plus one re-authentication when one is needed,
 * plus, while the client has asynchronous requests waiting, the time those
 * accepted before the call take (see "Asynchronous requests").
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
#define ENOS_VERSION_MINOR 1
#define ENOS_VERSION_PATCH 0
#define ENOS_VERSION_STRING "1.1.0"
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
#define ENOS_ERR_STATE     (-8)   /**< state_dir locked by another client or process, unsafe (owned by another
                                       user, writable by group/others, a symbolic link planted in it),
                                       unreadable or unwritable; enos_last_error() says which */
#define ENOS_ERR_FULL      (-9)   /**< offline queue full (queue_max_count/bytes, or the file system of
                                       state_dir nearly full): the report was not accepted */
#define ENOS_ERR_BUSY     (-10)   /**< too many asynchronous requests outstanding: try again later; nothing was queued */
#define ENOS_ERR_NOFILE   (-11)   /**< the process is out of file descriptors (EMFILE/ENFILE): raise RLIMIT_NOFILE
                                       (ulimit -n, systemd LimitNOFILE=) or close clients; nothing was sent
                                       or queued, and it is not retried */
#define ENOS_ERR_INTERNAL  (-99)  /**< a bug in libenos; enos_last_error() says more */
/**@}*/

/** @name Sign modes (enos_config.sign_mode): when requests carry option 2101 */
/**@{*/
#define ENOS_SIGN_AUTO   0        /**< send option 2101 when the auth response carried a token;
                                       on 4.02 Bad Option resend unsigned, and stop signing for the
                                       client's life after two such requests in a row (see
                                       "Delivery guarantees") */
#define ENOS_SIGN_ALWAYS 1        /**< always send option 2101 */
#define ENOS_SIGN_NEVER  2        /**< never send option 2101 */
/**@}*/

/** @name Security (enos_config.security) */
/**@{*/
#define ENOS_SECURITY_NONE 0      /**< CoAP over UDP: POST /auth + option 2101 (default, port 5683).
                                       Payloads travel in clear. */
#define ENOS_SECURITY_DTLS 1      /**< CoAP over DTLS 1.2 with a pre-shared key (port 5684 by default) */
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
    const char    *server;          /**< "host" or "host:port" (default port 5683, 5684 over DTLS); required */
    const char    *product_key;     /**< required; a URI path segment (no '/', '?', '#', space, control char) */
    const char    *device_key;      /**< required; same rules as product_key */
    const char    *device_secret;   /**< required (NULL only for DTLS activation, see product_secret);
                                         never logged, never part of an error message */
    int32_t        lifetime_s;      /**< 30..86400; 0 means 3600 */
    int32_t        ack_timeout_ms;  /**< 0 means 2000 (RFC 7252 ACK_TIMEOUT); 1..60000 */
    int32_t        max_retransmit;  /**< 1..10; 0 means the default, 4 (RFC 7252 MAX_RETRANSMIT);
                                         ENOS_RETRANSMIT_NONE (any negative value) means none. Together
                                         with ack_timeout_ms the window
                                         ack_timeout_ms * 1.5 * (2^(max_retransmit+1) - 1) is at most 2 hours
                                         (e.g. 60000 ms allows up to 5), else ENOS_ERR_INVALID naming
                                         config->max_retransmit */
    int32_t        sign_mode;       /**< ENOS_SIGN_*; 0 is ENOS_SIGN_AUTO */
    const uint8_t *sign_iv;         /**< 16 bytes; NULL means the ASCII bytes "543yhjy97ae7fyfg" */
    const char    *state_dir;       /**< NULL: nothing persisted; else session and offline queue live here
                                         (one directory per device; created 0700 if missing). It must be
                                         owned by the effective user and not writable by group or others,
                                         and libenos's files in it (lock, session*, queue.*) must be regular
                                         files with one link: else enos_init() refuses it with
                                         ENOS_ERR_STATE. Files are opened relative to the directory, never
                                         through a symbolic link; see "State directory" below. */
    /* Offline queue, commands, block-wise transfer. New fields are only ever
     * appended: a program built against an older header passes a smaller
     * struct_size, and the fields it does not know take their defaults. */
    int32_t        queue_max_count;   /**< offline queue bound in reports; 0 means 10000 */
    int64_t        queue_max_bytes;   /**< offline queue bound in bytes on disk; 0 means 16 MiB */
    int32_t        retry_interval_ms; /**< first wait before the offline queue retries (doubles up to 30 s); 0 means 1000 */
    int32_t        poll_interval_ms;  /**< poll for commands after this long without a request; 0 means never
                                           (one library scheduler serves every client: no thread per client) */
    int32_t        command_queue;     /**< commands kept for enos_next_command(); 0 means 256 */
    int32_t        block_size;        /**< RFC 7959 Block1 size for larger payloads: a power of two
                                           16..1024; 0 means the default, 1024; ENOS_BLOCK_OFF (-1)
                                           turns block-wise transfer off (larger payloads are refused) */
    /* Security (see "DTLS" near the end of this header). */
    int32_t        security;          /**< ENOS_SECURITY_*; 0 is ENOS_SECURITY_NONE */
    const char    *product_secret;    /**< DTLS only; NULL: none. With device_secret NULL, the device
                                           activates itself once (secureMode 3) and keeps the device
                                           secret EnOS returns in state_dir (required then). Never logged. */
} enos_config;

/** Largest payload a request may carry (with block-wise transfer); see
 *  "Delivery guarantees" at the end of this header for the limit with
 *  block-wise transfer off. */
#define ENOS_MAX_PAYLOAD 65536

/**
 * Initializer for enos_config: struct_size set, every other field default.
 * Lists every field so that it compiles without warnings under
 * -Wall -Wextra as C89..C2x and as C++.
 */
#define ENOS_CONFIG_INIT \
    { (uint32_t)sizeof(enos_config), NULL, NULL, NULL, NULL, 0, 0, 0, ENOS_SIGN_AUTO, NULL, NULL, \
      0, 0, 0, 0, 0, 0, ENOS_SECURITY_NONE, NULL }

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
 * @return ENOS_ERR_STATE    state_dir is used by another client or process, is
 *                          unsafe (not owned by the effective user, writable by
 *                          group or others, or one of libenos's files in it is a
 *                          symbolic link, FIFO, device or hard link), or cannot
 *                          be read or written. enos_last_error() names the path
 *                          and the fix, e.g. "state_dir /x is writable by group
 *                          or others (mode 0777): chmod 700 /x".
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
 *                           stored in the offline queue, to be delivered later in order:
 *                           a success. enos_last_error() says why it was not delivered now.
 * @return ENOS_ERR_INVALID  @p client is NULL, or @p payload is NULL with @p len > 0, or
 *                           @p len is above ENOS_MAX_PAYLOAD or (block_size -1) above one
 *                           datagram: refused before anything is sent, authenticated,
 *                           sequenced or queued (see "Delivery guarantees").
 * @return ENOS_ERR_CLOSED   @p client was closed, or is not a client.
 * @return ENOS_ERR_NETWORK  the server cannot be resolved or reached (ICMP error);
 *                           the next call tries again.
 * @return ENOS_ERR_TIMEOUT  no answer within the retransmission window.
 * @return ENOS_ERR_AUTH     EnOS refused authentication.
 * @return ENOS_ERR_REJECTED EnOS answered 4.xx/5.xx (after any re-authentication).
 * @return ENOS_ERR_FULL     (only with a state_dir) the offline queue is full, or
 *                          queuing would leave its file system nearly full (see
 *                          "State directory"); not accepted.
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
 *                           @p reply_size > 0, or @p len above the size limits
 *                           (see enos_report(); nothing sent, no sequence consumed).
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
 * on disk and are delivered by the next client on that directory. If the
 * offline queue's worker has a report's exchange in flight, enos_close()
 * first waits for its answer, at most 1.5 x ack_timeout_ms and never more
 * than 5 s, and records the delivery (see "Delivery guarantees"); a call of
 * another thread that is in an exchange at that moment may complete during
 * that wait instead of returning ENOS_ERR_CLOSED.
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
 * Thread safety: any thread. Blocking: no network I/O of its own; waits for
 * the client's own goroutines to notice, for a command handler call in
 * progress, for the outstanding asynchronous callbacks (see
 * enos_report_async()) and, with a state_dir, up to min(1.5 x ack_timeout_ms, 5 s) for
 * the answer to a queued report's exchange in flight.
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
    uint64_t queue_dropped;     /**< queued reports EnOS refused for good with 4.xx, and queued thing-model
                                     posts whose JSON reply code was not 200 (each logged at error level) */
    uint64_t commands;          /**< commands received */
    uint64_t commands_dropped;  /**< commands received while the command queue was full (logged) */
    uint64_t state_errors;      /**< corrupt or foreign state files found, corrupt stretches skipped in the
                                     offline queue (their reports are lost; logged), failed saves */
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
 * Set by every call that returns an error, and by enos_report() returning
 * ENOS_QUEUED (why the report waits); any other successful call leaves it
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
 * handler (it cannot wait for itself; the remaining callbacks then follow), or
 * from a callback of another client whose callbacks this client's callbacks
 * are themselves waiting for in enos_close() (two callbacks closing each
 * other's clients): it then returns without waiting instead of deadlocking.
 * A blocking call (enos_report(), enos_publish(), ...) made while the client
 * has asynchronous requests waiting first waits until they were sent, and so
 * for the callbacks that run before them: do not hold, around a blocking
 * call, a lock that a callback of the same client takes. A blocking call made
 * inside a callback of its own client goes out at once, ahead of that
 * client's requests still waiting behind the callback; so does one made
 * inside a callback of another client whose callbacks are themselves waiting
 * (in a blocking call or enos_close()) for this client's.
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
/**
 * @name Special values of enos_config fields
 * In every numeric setting of enos_config (every field but struct_size), 0
 * means the documented default. The values that turn a mechanism off have
 * names (the Python binding spells them max_retransmit="none" and
 * block_size="off", the enos CLI --max-retransmit none and --block-size off).
 */
/**@{*/
#define ENOS_RETRANSMIT_NONE (-1) /**< max_retransmit: send each request once, never retransmit */
#define ENOS_BLOCK_OFF       (-1) /**< block_size: no block-wise transfer; payloads above one datagram are refused */
/**@}*/

/* ========================================================================== */
/**
 * @name Thing model (JSON): measure points, events, attributes, service replies
 *
 * EnOS's JSON thing-model protocol, which EnOS accepts over CoAP with the same
 * topics and payloads as over MQTT. Each request is the envelope
 * {"id","version":"1.0","method","params"} POSTed to /sys/{pk}/{dk}/ + the
 * method with its dots as slashes (thing.measurepoint.post ->
 * .../thing/measurepoint/post); EnOS answers 2.04 with the JSON reply
 * {"id","code","data","message"}, whose "code" 200 means accepted and anything
 * else means EnOS refused the content (1204 "Model validate failed": a name or
 * value type the product's model does not have). These functions build the
 * envelope, check the JSON (Go's encoding/json) and the TSL identifiers before
 * sending anything, and turn a reply code other than 200 into
 * ENOS_ERR_REJECTED. See docs/thing-model.md, also for when to use
 * enos_report() (raw bytes to up_raw and a parsing script in EnOS) instead.
 *
 * A TSL identifier (measure point name, event id and event parameter name,
 * each dot-separated part of a method) is 1..64 ASCII letters, digits and
 * '_', not starting with a digit.
 *
 * Added in libenos 1.1 (symbol version LIBENOS_1.1).
 */
/**@{*/

/**
 * @brief Send the thing-model request @p method with @p params_json and wait
 *        for EnOS's JSON reply, e.g. method "thing.attribute.query" with params
 *        {"attributes":["name"]}.
 *
 * The reply's "data" (compact JSON text; "{}" when the reply has none) is
 * copied to @p data, NUL-terminated and truncated to @p data_size - 1
 * characters; *@p data_len gets its full length (without the NUL), so a
 * caller can tell truncation (*data_len >= data_size) and retry with a larger
 * buffer. Never goes through the offline queue (the answer is needed now).
 *
 * @param[in]  client       The client.
 * @param[in]  method       "thing." followed by dot-separated TSL identifiers.
 * @param[in]  params_json  One JSON object, NUL-terminated.
 * @param[out] data         Receives the reply's data; may be NULL when @p data_size is 0.
 * @param[in]  data_size    Capacity of @p data in bytes.
 * @param[out] data_len     Optional (may be NULL): the data's full length; 0 on error.
 *
 * @return ENOS_OK           EnOS answered with code 200.
 * @return ENOS_ERR_REJECTED EnOS's reply code was not 200 (enos_last_reply_code() and
 *                           enos_last_reply_message() give them; enos_last_error() says
 *                           both), or EnOS answered 4.xx/5.xx, or 2.xx without a
 *                           thing-model reply (enos_last_reply_code() is then 0).
 * @return ENOS_ERR_INVALID  @p client, @p method or @p params_json NULL; @p method
 *                           not a thing-model method; @p params_json not exactly one JSON
 *                           object; @p data NULL with @p data_size > 0. Nothing is sent.
 * @return ENOS_ERR_CLOSED, ENOS_ERR_NETWORK, ENOS_ERR_TIMEOUT, ENOS_ERR_AUTH,
 *         ENOS_ERR_INTERNAL as for enos_report().
 * Thread safety: any thread, the command handler included. Blocking: as enos_report().
 */
int enos_thing_request(enos_client *client, const char *method, const char *params_json,
                       char *data, size_t data_size, size_t *data_len);

/**
 * @brief Post measure points: thing.measurepoint.post with params
 *        {"measurepoints": @p measurepoints_json, "time": the sample time}.
 *
 * With a state_dir this goes through the offline queue exactly like
 * enos_report(): ENOS_QUEUED when EnOS is unreachable (or when earlier
 * messages wait), delivered later in order with the same at-least-once
 * guarantee as a report (see "Delivery guarantees"), with the sample time
 * and message id fixed at this call. A queued post that EnOS later
 * refuses (reply code not 200) is dropped, logged (ENOS_LOG_ERROR) and counted
 * in enos_stats.queue_dropped; it is sent once, never retried.
 *
 * @param[in] client              The client.
 * @param[in] measurepoints_json  One JSON object keyed by measure point identifiers,
 *                                e.g. {"temp":21.5,"Power":{"value":1.0,"quality":9}}.
 * @param[in] time_ms             Sample time in ms since the Unix epoch; 0 means the
 *                                time of this call (captured now, kept through the queue).
 *
 * @return ENOS_OK           EnOS answered with code 200.
 * @return ENOS_QUEUED       (positive; only with a state_dir) stored in the offline queue.
 * @return ENOS_ERR_REJECTED EnOS's reply code was not 200 (see enos_thing_request()),
 *                           or EnOS answered 4.xx, or 2.xx without a thing-model reply.
 * @return ENOS_ERR_INVALID  @p client or @p measurepoints_json NULL; not exactly one
 *                           non-empty JSON object; a name that is not a TSL identifier;
 *                           @p time_ms negative. Nothing is sent or queued.
 * @return ENOS_ERR_CLOSED, ENOS_ERR_NETWORK, ENOS_ERR_TIMEOUT, ENOS_ERR_AUTH,
 *         ENOS_ERR_FULL, ENOS_ERR_STATE, ENOS_ERR_INTERNAL as for enos_report().
 * Thread safety: any thread, the command handler included. Blocking: as enos_report().
 */
int enos_post_measurepoints(enos_client *client, const char *measurepoints_json, int64_t time_ms);

/**
 * @brief Post an event: thing.event.{@p event_id}.post with params
 *        {"events": @p events_json, "time": the sample time}, to topic
 *        /sys/{pk}/{dk}/thing/event/{event_id}/post.
 *
 * @param[in] event_id     The event's TSL identifier.
 * @param[in] events_json  One JSON object: the event's output parameters by identifier
 *                         ({} for an event without parameters).
 * @param[in] time_ms      As for enos_post_measurepoints().
 * @return as enos_post_measurepoints() (an empty object is valid here); ENOS_ERR_INVALID
 *         also for an @p event_id that is NULL or not a TSL identifier. The offline queue applies the same way.
 * Thread safety: any thread, the command handler included. Blocking: as enos_report().
 */
int enos_post_event(enos_client *client, const char *event_id, const char *events_json, int64_t time_ms);

/**
 * @brief Answer a JSON thing-model command (a service call such as
 *        .../thing/service/measurepoint/set): POST {"id": the command's id,
 *        "code": @p code, "data": @p data_json or {}} to @p command_topic + "_reply".
 *
 * The id is copied from @p command_payload as the command spelled it (a
 * string or a number).
 *
 * @param[in] command_topic    The topic the command came with (as the command handler
 *                             or enos_next_command() gave it).
 * @param[in] command_payload  The command's payload: a JSON object with an "id".
 * @param[in] len              Its length in bytes.
 * @param[in] code             200 for success, else the device's error code.
 * @param[in] data_json        One JSON object, or NULL for {}.
 *
 * @return ENOS_OK           EnOS answered 2.xx.
 * @return ENOS_ERR_INVALID  @p client or @p command_topic NULL, @p command_topic empty or
 *                           not starting with '/', @p command_payload NULL with @p len > 0,
 *                           @p command_payload not a JSON object with a string or number
 *                           "id", @p data_json not one JSON object. Nothing is sent.
 * @return ENOS_ERR_CLOSED, ENOS_ERR_NETWORK, ENOS_ERR_TIMEOUT, ENOS_ERR_AUTH,
 *         ENOS_ERR_REJECTED, ENOS_ERR_INTERNAL as for enos_reply().
 * Thread safety: any thread, the command handler included. Blocking: as enos_report().
 */
int enos_reply_result(enos_client *client, const char *command_topic, const void *command_payload, size_t len,
                      int32_t code, const char *data_json);

/**
 * @brief EnOS's reply code to the last enos_thing_request(), enos_post_measurepoints()
 *        or enos_post_event() of the calling thread: 200 when accepted, EnOS's code
 *        (e.g. 1204) when refused, 0 when no thing-model reply arrived (invalid input,
 *        network error, queued, ...). Each of those calls resets it first; other calls
 *        leave it alone.
 * Thread safety: any thread; each thread sees its own.
 */
int32_t enos_last_reply_code(void);

/**
 * @brief EnOS's "message" from the same reply as enos_last_reply_code(), e.g.
 *        "Model validate failed"; "" when the reply had none.
 * @return A NUL-terminated string in thread-local storage (printable ASCII, at most 255
 *         characters), never NULL, valid until the calling thread's next thing-model call.
 * Thread safety: any thread; each thread sees its own.
 */
const char *enos_last_reply_message(void);
/**@}*/

/* ------------------------------------------------------------------------ */
/**
 * @name Delivery guarantees
 *
 * Size limits. A payload that can never be delivered is ENOS_ERR_INVALID at
 * once, before anything is sent, authenticated, sequenced or queued, and
 * enos_last_error() names the limit. Only the length is looked at before
 * that check: a length above the limit is never used to read the buffer.
 * - Always: at most ENOS_MAX_PAYLOAD (65536) bytes.
 * - With block_size -1 (block-wise off): the request must fit one datagram of
 *   1472 bytes with its 4-byte header, 8-byte token, the Uri-Path options of
 *   its path (one byte plus the segment for each segment; two for a segment
 *   of 13..268 bytes), the payload marker and, once a session signs, its
 *   option-2101 signature (ENOS_SIGN_SIZE(token_len) - 1 bytes plus 4 or 5). With
 *   typical keys and a 12-character token a report may carry about 1,300
 *   bytes; the exact number is in the error message.
 * - With block-wise on, the signature of a session must leave room for a
 *   16-byte block; a session token so long that it does not (hundreds of
 *   bytes) makes every request ENOS_ERR_INVALID while that session lasts.
 *
 * What drops a queued report. A report in the offline queue is dropped
 * (counted in queue_dropped, logged) only when EnOS itself refused it: a
 * 4.xx answer other than 4.01, after any re-authentication, or, for a queued
 * thing-model post (enos_post_measurepoints(), enos_post_event()), a 2.xx
 * answer whose JSON reply code is not 200. Every other
 * failure keeps it for a later retry: no answer, 5.xx, a refused
 * authentication, 4.01, and local errors (ENOS_ERR_INVALID such as a token
 * whose signature does not fit, ENOS_ERR_STATE, ENOS_ERR_INTERNAL). The one
 * exception is a record that breaks the size limits of the current
 * configuration (written by a client with another block_size): it can never
 * be sent and would block the queue forever, so it is dropped and logged.
 *
 * Order. Reports and thing-model posts are recorded in call order, outages
 * included (an asynchronous request counts from when it was accepted): once
 * one is queued, every one called after it goes behind it, also one that was
 * already waiting for its turn while the earlier one was still being decided
 * (sent, unanswered, about to be queued). enos_publish() and enos_reply() are
 * not queued: during an outage they fail instead, and may reach EnOS before
 * reports queued earlier.
 *
 * Sign mode auto and 4.02. A 4.02 Bad Option to a signed request makes
 * libenos resend that request without option 2101. If EnOS accepts it, that
 * is one signal that EnOS does not know option 2101; two in a row (no signed
 * request accepted in between) turn signing off for the rest of the client's
 * life (a new client signs again while EnOS hands out tokens). If EnOS
 * refuses the unsigned resend, the 4.02 was not its verdict (a forged or
 * spurious datagram): libenos resends the request signed once more and takes
 * that answer, and keeps signing. One forged 4.02 therefore costs at most two
 * extra exchanges and never turns signing off.
 *
 * Races with enos_close(). A call that loses the race returns
 * ENOS_ERR_CLOSED; a report it returns ENOS_QUEUED for is on disk. A report
 * whose call returned ENOS_ERR_CLOSED was not queued, and may or may not have
 * reached EnOS (its exchange was cut off).
 *
 * What is at-least-once (with a state_dir; nothing is ever lost). A queued
 * report is resent as the same CoAP message (same Message ID and token, from
 * the same socket) while the client lives, so EnOS's deduplication answers a
 * retry it has seen instead of recording it again. A report is recorded twice
 * only when the process ends between EnOS receiving a queued report and the
 * client learning of it:
 * - kill -9 (or a crash, or power loss) after EnOS's answer arrived and
 *   before the queue recorded the delivery, or while an exchange was
 *   unanswered;
 * - enos_close() while the worker's exchange of a queued report was in
 *   flight and its answer did not arrive within the wait above
 *   (min(1.5 x ack_timeout_ms, 5 s)): a lost or late answer;
 * - enos_close() or a crash after a queued report's last transmission was
 *   received by EnOS but its answer was lost.
 * In each case the next client on the directory sends the report again from
 * a new socket, with a new Message ID, token and sequence, which EnOS cannot
 * recognise as a duplicate. Reports sent without a state_dir are never sent
 * again after a failure: the caller decides.
 */
/**@{*/
/**@}*/

/* ------------------------------------------------------------------------ */
/**
 * @name State directory (enos_config.state_dir)
 *
 * Trust. The directory holds the session token and the reports waiting for
 * EnOS, so enos_init() refuses (ENOS_ERR_STATE) a directory that is not owned
 * by the process's effective user or that its group or others may write to
 * (a missing one is created with mode 0700, parents included). The path
 * itself may be a symbolic link to a directory: the checks apply to the
 * directory reached, which is then held open, and every file is opened
 * relative to it with O_NOFOLLOW. A file of libenos's (lock, session*,
 * queue.*) that is a symbolic link, a FIFO, a device, a directory or has
 * several hard links is refused, never followed, truncated or written
 * through. Temporary files are created anew (O_EXCL, mode 0600) after any
 * stale one is unlinked; a symbolic link is unlinked itself, not its target.
 *
 * Corruption. A queue record that fails its check (magic, length, CRC-32C)
 * costs only itself: the queue resynchronises on the next valid record and
 * keeps everything after it; each corrupt stretch adds one to
 * enos_stats.state_errors and is logged (warning). A record torn by a crash
 * during enos_report() was never reported as queued and is cut off.
 *
 * Full disk. The session file and the queue's head file are created with
 * their room reserved and then rewritten in place, in two checksummed slots
 * (a write torn by a crash keeps the previous record), so saving the session
 * and delivering queued reports never need free space. enos_report() refuses
 * to queue (ENOS_ERR_FULL, enos_last_error() says "file system ... nearly
 * full") a report that would leave less than 1% of the file system free (at
 * least 256 KiB, at most 64 MiB); queued reports are still delivered and the
 * queue accepts again once there is room. When a session cannot be saved at
 * all (I/O error, read-only file system), reports keep working: libenos
 * authenticates once more and keeps that session in memory only (a restart
 * cannot resume it, so no sequence is ever reused), counts the failure in
 * state_errors and tries to save again at the next authentication.
 * Copy-on-write file systems (btrfs, ZFS) may still need space to rewrite in
 * place; the reserve covers that in practice.
 */
/**@{*/
/**@}*/

/* ------------------------------------------------------------------------ */
/**
 * @name DTLS (enos_config.security = ENOS_SECURITY_DTLS)
 *
 * CoAP over DTLS 1.2 (RFC 6347) with a pre-shared key, cipher suites
 * TLS_PSK_WITH_AES_128_CCM_8 and TLS_PSK_WITH_AES_128_CBC_SHA256; the
 * default port is 5684. The PSK identity is
 * "{product_key},{device_key},{secureMode},{lifetime_s}" and the key the 16
 * raw bytes 9..24 of SHA-256 of the device secret (secureMode 2), the same
 * bytes as option 2101's AES key. The handshake authenticates: there is no
 * POST /auth, no token and no option 2101. Every function works as over UDP,
 * with these differences:
 * - enos_authenticate() runs a new DTLS handshake. ENOS_ERR_AUTH: the server
 *   refused it (an alert, or it answered but never completed it, which is
 *   what a server does when our key differs from its own: reported 12
 *   ack_timeout_ms after the server's first answer, 24 s with the defaults). ENOS_ERR_TIMEOUT: no answer at all.
 *   ENOS_ERR_NETWORK: an ICMP error.
 * - A session the server lost (restart, NAT rebinding, alert) is
 *   re-established transparently: a request that gets no answer, or whose
 *   session ended, is sent once more after a new handshake, so a call may
 *   take up to two windows.
 * - enos_next_sign() returns ENOS_ERR_INVALID (there is no signature).
 * - enos_get_stats(): auths counts handshakes (activation included), reauths
 *   the handshakes after the first; retransmissions stays 0 (the DTLS
 *   transport does not count them).
 * - Commands announced with option 2100 alone are fetched with GET, repeated
 *   while answers keep announcing more (bounded).
 * - Dynamic activation: with device_secret NULL, product_secret set and a
 *   state_dir, the first request handshakes with secureMode 3 and the
 *   product secret's key, GETs /topic/ext/session/{pk}/{dk}/thing/activate/info,
 *   saves the device secret it returns in state_dir (file "device-secret",
 *   mode 0600, written atomically) and connects with secureMode 2. Later
 *   runs with that state_dir read the file and never activate again; a
 *   file that cannot be read (corrupt, a symbolic link, another device's)
 *   is ENOS_ERR_STATE, not a second activation. A refused activation is
 *   ENOS_ERR_AUTH.
 * A library built without DTLS (build tag nodtls) answers enos_init() with
 * ENOS_ERR_INVALID for ENOS_SECURITY_DTLS.
 */
/**@{*/
/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* ENOS_H */
