/*
 * handshake — TLS handshake faults, done before a connection reaches h2o: hang after the
 * ClientHello, a fatal alert, close right after the ServerHello, a reset, plain HTTP on the TLS
 * port, or a listener that takes the TCP connection and never speaks (<handshake-fault>).
 *
 * libh2o 2.2.5 does not flush what OpenSSL writes when a handshake fails, so an alert sent
 * through it never reaches the client. A listener with a fault therefore looks at each new
 * connection first: it peeks (MSG_PEEK) at the TLS record header, and at the whole first record
 * when the fault depends on the SNI name, without consuming anything. A connection the schedule
 * does not pick goes to h2o_accept() with every byte still in the kernel, so nothing read has to
 * be handed back to h2o (2.2.5 has no public way to do that). A picked connection is this
 * module's: it reads the ClientHello and answers it with an SSL over memory BIOs.
 *
 * Handshakes are counted from 1, in arrival order, per listener across all worker threads, by
 * an atomic counter of the hs_listener; only handshakes that match the fault's SNI condition
 * count. A connection that sends no TLS record is not a handshake and is not counted.
 *
 * Ownership: an hs_listener belongs to the generation that made it (gen.h) and lives as
 * long as the connections accepted with it; an hs_thread belongs to one worker and holds the
 * connections this module keeps (hanging ones), which hs_thread_free() closes.
 */
#ifndef MRSMOCK_HANDSHAKE_H
#define MRSMOCK_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#define H2O_USE_LIBUV 0
#include <h2o.h>

#include "scenario.h"

struct hs_listener;
struct hs_thread;

/* Called with a connection the fault leaves alone, to go on as usual (h2o_accept()). */
typedef void (*hs_proceed_cb)(h2o_socket_t *sock, void *data);

/*
 * The fault of listener L (which must outlive the result), answering with CTX (the listener's
 * TLS context, referenced) where a real ServerHello is needed. NULL when L has no fault: then
 * connections need not come here at all.
 */
struct hs_listener *hs_listener_new(const struct scn_listener *l, SSL_CTX *ctx);
void hs_listener_free(struct hs_listener *h);

/* Per-worker state on LOOP; a connection that sends nothing is closed after TIMEOUT_MS. */
struct hs_thread *hs_thread_new(h2o_loop_t *loop, uint64_t timeout_ms);
/* Closes every connection T still holds (their on_close callbacks run), then frees T. */
void hs_thread_free(struct hs_thread *t);
/* Closes every connection T holds now; T stays usable. */
void hs_thread_close_all(struct hs_thread *t);

/*
 * Takes SOCK, just accepted on listener H (its on_close already set by the caller): either it
 * is handed to PROCEED(SOCK, DATA) untouched once its first record has been seen, or this
 * module keeps it and closes it (through h2o_socket_close) when done.
 */
void hs_accept(struct hs_listener *h, struct hs_thread *t, h2o_socket_t *sock,
               hs_proceed_cb proceed, void *data);

/* Called by hs_peek_sni() with the socket, untouched: FOUND 1 with the ClientHello's server
 * name in NAME, 0 when the hello has none (NAME NULL), -1 when the first bytes are not a TLS
 * handshake (NAME NULL). */
typedef void (*hs_sni_cb)(h2o_socket_t *sock, void *data, int found, const char *name);
/* Peeks at SOCK's first TLS record (nothing consumed, as for a fault) and calls DONE(SOCK, DATA,
 * ...); a client that leaves first, or sends nothing within T's timeout, is closed here and
 * DONE is not called. For a device that judges a connection by its SNI (a firewall's). */
void hs_peek_sni(struct hs_thread *t, h2o_socket_t *sock, hs_sni_cb done, void *data);

/* Keeps SOCK (its on_close set by the caller) in T without ever answering: what the client
 * sends is read and dropped, and the connection is closed once the client gives up (or T closes
 * it at exit). For the devices that hold a connection (a firewall's drop and hang). */
void hs_hold(struct hs_thread *t, h2o_socket_t *sock);

/* How often the handshake faults of action A (enum scn_hs_action) have acted since start. */
uint64_t hs_fired(int action);

/* --- exposed for tests ---------------------------------------------------------------------- */

/* Whether handshake N (from 1) is on the schedule FIRST / EVERY (0: unbounded). */
int hs_scheduled(uint64_t n, unsigned first, unsigned every);
/*
 * The SNI host name of the ClientHello in the LEN bytes at REC (one TLS record, header
 * included) into OUT (OUTLEN bytes, NUL-terminated). Returns 1 when found, 0 when the hello
 * carries none, -1 when the bytes are not a ClientHello or are cut short.
 */
int hs_parse_sni(const unsigned char *rec, size_t len, char *out, size_t outlen);
/* Whether NAME is one listener L serves a certificate for: an <sni> name, or a name (wildcards
 * included) of its default certificate. */
int hs_name_known(const struct scn_listener *l, const char *name);
/* Of the LEN bytes a server wrote at BUF, the records up to the end of its ServerHello message,
 * rewritten so that nothing after it is sent: into OUT (room for LEN bytes). Returns the bytes
 * written to OUT, or 0 when BUF does not start with a handshake record holding a ServerHello. */
size_t hs_cut_after_server_hello(const unsigned char *buf, size_t len, unsigned char *out);

#endif
