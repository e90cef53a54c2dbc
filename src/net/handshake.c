/*
 * handshake — TLS handshake faults before h2o (see include/handshake.h for the why).
 *
 * One connection goes through these phases:
 *
 *   PEEK   nothing consumed; on each readable event, MSG_PEEK at the first record. A partial
 *          record is waited for with a short timer (the loop is level-triggered, so waiting
 *          for readability again would spin). Not picked: handed to h2o. Picked: one of
 *   HOLD   hang and silent: read and discard until the client closes (or the worker stops);
 *   HELLO  alert and close-after-hello: read the ClientHello into an SSL over memory BIOs until
 *          it has something to say, then write that (cut after the ServerHello) and close;
 *   reset and plain-http answer at once and close.
 *
 * Everything runs on the worker's loop; the only shared state is each listener's counter.
 */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <openssl/err.h>

#include "handshake.h"
#include "log.h"
#include "util.h"

#define HS_RECORD_MAX (16384 + 2048 + 5) /* a TLS record at its largest, header included */
#define HS_HELLO_MAX (64 * 1024)         /* a ClientHello longer than this is not waited for */

struct hs_listener {
    const struct scn_listener *l;
    struct scn_hs_fault fault;
    SSL_CTX *ctx;       /* the listener's: a real ServerHello (close-after-hello) */
    SSL_CTX *alert_ctx; /* ours: fails every ClientHello with the fault's alert */
    atomic_uint_fast64_t count;
};

struct hs_thread {
    h2o_loop_t *loop;
    h2o_timeout_t deadline; /* a connection that never sends its first record */
    h2o_linklist_t conns;   /* struct hs_conn: every connection this module has */
};

enum hs_phase { HS_PEEK, HS_HOLD, HS_HELLO, HS_WRITING };

struct hs_conn {
    h2o_linklist_t link; /* in thread->conns */
    struct hs_thread *t;
    struct hs_listener *h;
    h2o_socket_t *sock;
    hs_proceed_cb proceed;
    hs_sni_cb sni_done; /* hs_peek_sni()'s */
    void *data;
    h2o_timeout_entry_t deadline;
    int lowat; /* its SO_RCVLOWAT, when we set one (0: the default) */
    enum hs_phase phase;
    SSL *ssl; /* HS_HELLO: reads rbio, writes wbio */
    size_t hello_len;
    unsigned char *out; /* what is being written */
};

/* HTTP.sys answers bytes that are not HTTP (here a ClientHello) with this page (IIS 10). */
static const char plain_http_body[] =
    "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\"\"http://www.w3.org/TR/html4/strict.dtd\">"
    "\r\n<HTML><HEAD><TITLE>Bad Request</TITLE>\r\n"
    "<META HTTP-EQUIV=\"Content-Type\" Content=\"text/html; charset=us-ascii\"></HEAD>\r\n"
    "<BODY><h2>Bad Request - Invalid Verb</h2>\r\n"
    "<hr><p>HTTP Error 400. The request verb is invalid.</p>\r\n"
    "</BODY></HTML>\r\n";

/* --- pure functions ------------------------------------------------------------------------- */

int hs_scheduled(uint64_t n, unsigned first, unsigned every)
{
    return (first == 0 || n <= first) && (every == 0 || n % every == 0);
}

static unsigned get16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/*
 * Wire layout (RFC 8446 4.1.2, RFC 6066 3), every length checked before it is used:
 *   record     type(1)=22 version(2) length(2)
 *   handshake  msg_type(1)=1 length(3)
 *   hello      version(2) random(32) session_id<0..32>(1+n) cipher_suites(2+n)
 *              compression_methods(1+n) extensions(2+n)
 *   extension  type(2) length(2) data; server_name is type 0:
 *              list_length(2) { name_type(1)=0 host_name(2+n) }
 * Only the first record is looked at: a ClientHello split over records whose extensions go past
 * it is reported cut short.
 */
int hs_parse_sni(const unsigned char *rec, size_t len, char *out, size_t outlen)
{
    const unsigned char *p, *end;
    size_t n;

    size_t avail;

    /* a record that cannot hold the handshake header is no ClientHello */
    if (len < 5 + 4 || rec[0] != 22 || get16(rec + 3) < 4 || rec[5] != 1)
        return -1;
    /* the bytes of the handshake body we hold: bounded by what was read, the record's length
     * and the hello's own length; END never precedes P */
    avail = get16(rec + 3) - 4;
    if (avail > len - 9)
        avail = len - 9;
    n = (size_t)rec[6] << 16 | (size_t)rec[7] << 8 | rec[8];
    if (avail > n)
        avail = n;
    p = rec + 9;
    end = p + avail;
    if (end - p < 2 + 32 + 1)
        return -1;
    p += 2 + 32;
    if ((size_t)(end - p) < 1u + *p) /* session id */
        return -1;
    p += 1 + *p;
    if (end - p < 2 || (size_t)(end - p) < 2 + (n = get16(p)))
        return -1;
    p += 2 + n; /* cipher suites */
    if (end - p < 1 || (size_t)(end - p) < 1 + (n = *p))
        return -1;
    p += 1 + n; /* compression methods */
    if (p == end)
        return 0; /* no extensions at all */
    if (end - p < 2 || (size_t)(end - p) < 2 + (n = get16(p)))
        return -1;
    end = p + 2 + n;
    for (p += 2; end - p >= 4; p += 4 + n) {
        unsigned type = get16(p);
        const unsigned char *q;
        n = get16(p + 2);
        if ((size_t)(end - p - 4) < n)
            return -1;
        if (type != 0)
            continue;
        q = p + 4;
        if (n < 2 + 3 || get16(q) + 2u > n || q[2] != 0)
            return -1;
        n = get16(q + 3);
        if (n == 0 || (size_t)get16(q) < 3 + n || n >= outlen)
            return -1;
        memcpy(out, q + 5, n);
        out[n] = '\0';
        return 1;
    }
    return p == end ? 0 : -1;
}

/* Names of the model, not of an X509: the listener's <sni> names and its certificate's names as
 * the scenario gives them, so X509_check_host does not apply; util_host_matches is its rule. */
int hs_name_known(const struct scn_listener *l, const char *name)
{
    for (size_t i = 0; i < l->num_sni; i++)
        if (util_host_matches(l->sni[i].name, name))
            return 1;
    for (size_t i = 0; l->cert != NULL && i < l->cert->num_names; i++)
        if (util_host_matches(l->cert->names[i], name))
            return 1;
    return 0;
}

size_t hs_cut_after_server_hello(const unsigned char *buf, size_t len, unsigned char *out)
{
    size_t rec, msg;

    if (len < 5 + 4 || buf[0] != 22 || buf[5] != 2)
        return 0;
    rec = get16(buf + 3);
    msg = 4 + ((size_t)buf[6] << 16 | (size_t)buf[7] << 8 | buf[8]);
    if (rec > len - 5 || msg > rec)
        return 0; /* the ServerHello spans records: OpenSSL never writes it so */
    memcpy(out, buf, 5 + msg);
    out[3] = (unsigned char)(msg >> 8);
    out[4] = (unsigned char)msg;
    return 5 + msg;
}

/* --- listeners and threads ------------------------------------------------------------------ */

static int drain(h2o_socket_t *sock);

/* Every ClientHello fails here, with the alert the fault names (in the arg). */
static int on_client_hello(SSL *ssl, int *al, void *arg)
{
    UNUSED(ssl);
    *al = (int)(uintptr_t)arg;
    return SSL_CLIENT_HELLO_ERROR;
}

struct hs_listener *hs_listener_new(const struct scn_listener *l, SSL_CTX *ctx)
{
    struct hs_listener *h;

    if (l->hs.action == SCN_HS_NONE || !l->tls)
        return NULL;
    if ((h = calloc(1, sizeof(*h))) == NULL)
        h2o_fatal("out of memory");
    h->l = l;
    h->fault = l->hs;
    atomic_init(&h->count, 0);
    if (ctx != NULL && SSL_CTX_up_ref(ctx) == 1)
        h->ctx = ctx;
    if (h->fault.action == SCN_HS_ALERT) {
        if ((h->alert_ctx = SSL_CTX_new(TLS_server_method())) == NULL)
            h2o_fatal("out of memory");
        /* any version a client may offer reaches the callback, which runs before the rest */
        SSL_CTX_set_security_level(h->alert_ctx, 0);
        SSL_CTX_set_min_proto_version(h->alert_ctx, TLS1_VERSION);
        SSL_CTX_set_client_hello_cb(h->alert_ctx, on_client_hello,
                                    (void *)(uintptr_t)h->fault.alert);
    }
    return h;
}

void hs_listener_free(struct hs_listener *h)
{
    if (h == NULL)
        return;
    SSL_CTX_free(h->ctx);
    SSL_CTX_free(h->alert_ctx);
    free(h);
}

struct hs_thread *hs_thread_new(h2o_loop_t *loop, uint64_t timeout_ms)
{
    struct hs_thread *t = calloc(1, sizeof(*t));

    if (t == NULL)
        h2o_fatal("out of memory");
    t->loop = loop;
    h2o_timeout_init(loop, &t->deadline, timeout_ms);
    h2o_linklist_init_anchor(&t->conns);
    return t;
}

/* Forgets C: timers, SSL, list; SOCK is left to the caller. */
static void conn_free(struct hs_conn *c)
{
    if (h2o_timeout_is_linked(&c->deadline))
        h2o_timeout_unlink(&c->deadline);
    if (h2o_linklist_is_linked(&c->link))
        h2o_linklist_unlink(&c->link);
    SSL_free(c->ssl);
    free(c->out);
    free(c);
}

static void conn_close(struct hs_conn *c)
{
    h2o_socket_t *sock = c->sock;
    conn_free(c);
    h2o_socket_close(sock);
}

void hs_thread_close_all(struct hs_thread *t)
{
    while (!h2o_linklist_is_empty(&t->conns)) {
        struct hs_conn *c = H2O_STRUCT_FROM_MEMBER(struct hs_conn, link, t->conns.next);
        /* what the client sent last is taken first: closing with unread bytes would reset */
        if (c->phase == HS_HOLD)
            drain(c->sock);
        conn_close(c);
    }
}

void hs_thread_free(struct hs_thread *t)
{
    if (t == NULL)
        return;
    hs_thread_close_all(t);
    h2o_timeout_dispose(t->loop, &t->deadline);
    free(t);
}

/* --- connections ---------------------------------------------------------------------------- */

static void on_peek(h2o_socket_t *sock, const char *err);

static void on_written(h2o_socket_t *sock, const char *err)
{
    struct hs_conn *c = sock->data;
    UNUSED(err);
    conn_close(c);
}

/* Writes LEN bytes of BUF (taken: freed with C), then closes. */
static void send_and_close(struct hs_conn *c, unsigned char *buf, size_t len)
{
    h2o_iovec_t v = h2o_iovec_init(buf, len);

    c->phase = HS_WRITING;
    c->out = buf;
    h2o_socket_read_stop(c->sock);
    h2o_socket_write(c->sock, &v, 1, on_written);
}

/* Reads what is there without keeping it; -1 when the peer is gone (or failed), else 0. */
static int drain(h2o_socket_t *sock)
{
    char buf[4096];
    ssize_t r;

    for (;;) {
        while ((r = recv(h2o_socket_get_fd(sock), buf, sizeof(buf), 0)) < 0 && errno == EINTR)
            ;
        if (r > 0)
            continue;
        return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    }
}

static void on_hold(h2o_socket_t *sock, const char *err)
{
    struct hs_conn *c = sock->data;
    if (err != NULL || drain(sock) != 0)
        conn_close(c);
}

/* HS_HELLO: feeds the ClientHello to the SSL until it writes; sends that and closes. */
static void on_hello(h2o_socket_t *sock, const char *err)
{
    struct hs_conn *c = sock->data;
    unsigned char buf[4096], *out;
    BIO *rbio = SSL_get_rbio(c->ssl), *wbio = SSL_get_wbio(c->ssl);
    size_t pending, n;
    ssize_t r;

    if (err != NULL)
        goto close;
    for (;;) {
        while ((r = recv(h2o_socket_get_fd(sock), buf, sizeof(buf), 0)) < 0 && errno == EINTR)
            ;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (r <= 0 || (c->hello_len += (size_t)r) > HS_HELLO_MAX)
            goto close;
        BIO_write(rbio, buf, (int)r);
    }
    ERR_set_mark();
    SSL_do_handshake(c->ssl);
    ERR_pop_to_mark();
    if ((pending = BIO_ctrl_pending(wbio)) == 0) {
        if (SSL_get_state(c->ssl) == TLS_ST_BEFORE || SSL_want_read(c->ssl))
            return; /* the rest of the ClientHello is on its way */
        goto close;
    }
    if ((out = malloc(pending)) == NULL)
        h2o_fatal("out of memory");
    n = (size_t)BIO_read(wbio, out, (int)pending);
    if (c->h->fault.action == SCN_HS_CLOSE) {
        unsigned char *cut = malloc(n);
        size_t len;
        if (cut == NULL)
            h2o_fatal("out of memory");
        /* an alert instead of a ServerHello (a client the listener refuses) is sent as is */
        if ((len = hs_cut_after_server_hello(out, n, cut)) != 0) {
            free(out);
            out = cut, n = len;
        } else {
            free(cut);
        }
    }
    send_and_close(c, out, n);
    return;
close:
    conn_close(c);
}

static _Atomic uint64_t fired[SCN_HS_PLAIN_HTTP + 1];

uint64_t hs_fired(int action)
{
    return action >= 0 && action <= SCN_HS_PLAIN_HTTP ? atomic_load(&fired[action]) : 0;
}

/* The fault's action on C, whose ClientHello has begun to arrive (or, silent, at accept). */
static void act(struct hs_conn *c)
{
    h2o_socket_t *sock = c->sock;
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    unsigned char *buf;

    if (c->h->fault.action >= 0 && c->h->fault.action <= SCN_HS_PLAIN_HTTP)
        atomic_fetch_add_explicit(&fired[c->h->fault.action], 1, memory_order_relaxed);
    switch (c->h->fault.action) {
    case SCN_HS_HANG:
    case SCN_HS_SILENT:
        /* a device that swallows the handshake: no timeout of its own */
        if (h2o_timeout_is_linked(&c->deadline))
            h2o_timeout_unlink(&c->deadline);
        c->phase = HS_HOLD;
        h2o_socket_read_start(sock, on_hold);
        return;
    case SCN_HS_RESET:
        drain(sock);
        setsockopt(h2o_socket_get_fd(sock), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        conn_close(c);
        return;
    case SCN_HS_PLAIN_HTTP: {
        char date[H2O_TIMESTR_RFC1123_LEN + 1];
        size_t cap = sizeof(plain_http_body) + 256;
        int n;
        time_t now = time(NULL);
        struct tm gmt;
        drain(sock);
        h2o_time2str_rfc1123(date, util_gmtime(now, &gmt));
        if ((buf = malloc(cap)) == NULL)
            h2o_fatal("out of memory");
        n = snprintf((char *)buf, cap,
                     "HTTP/1.1 400 Bad Request\r\nContent-Type: text/html; charset=us-ascii\r\n"
                     "Server: Microsoft-HTTPAPI/2.0\r\nDate: %s\r\nConnection: close\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     date, sizeof(plain_http_body) - 1, plain_http_body);
        send_and_close(c, buf, n > 0 && (size_t)n < cap ? (size_t)n : 0);
        return;
    }
    case SCN_HS_ALERT:
    case SCN_HS_CLOSE: {
        SSL_CTX *ctx = c->h->fault.action == SCN_HS_ALERT ? c->h->alert_ctx : c->h->ctx;
        BIO *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(BIO_s_mem());
        if (ctx == NULL || rbio == NULL || wbio == NULL || (c->ssl = SSL_new(ctx)) == NULL) {
            BIO_free(rbio);
            BIO_free(wbio);
            conn_close(c);
            return;
        }
        SSL_set_bio(c->ssl, rbio, wbio);
        SSL_set_accept_state(c->ssl);
        c->phase = HS_HELLO;
        h2o_socket_read_start(sock, on_hello);
        on_hello(sock, NULL);
        return;
    }
    default:
        conn_close(c);
    }
}

/* Hands C's socket to the caller untouched: nothing was consumed. */
static void pass(struct hs_conn *c)
{
    h2o_socket_t *sock = c->sock;
    hs_proceed_cb proceed = c->proceed;
    void *data = c->data;

    h2o_socket_read_stop(sock);
    h2o_socket_dont_read(sock, 0);
    sock->data = NULL;
    conn_free(c);
    proceed(sock, data);
}

static void on_deadline(h2o_timeout_entry_t *entry)
{
    /* as h2o's own handshake timeout would: the client never started */
    conn_close(H2O_STRUCT_FROM_MEMBER(struct hs_conn, deadline, entry));
}

/* The peer shut its side (or failed): what it sent is all there will be. */
static int peer_gone(h2o_socket_t *sock)
{
    struct pollfd p = {.fd = h2o_socket_get_fd(sock), .events = POLLRDHUP};

    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/* Sets how many bytes must be in C's socket before the loop calls it readable (SO_RCVLOWAT,
 * which Linux's epoll honours; an EOF wakes it whatever the mark). The peek leaves its bytes in
 * the socket, so without a mark a level-triggered loop would call it again at once. */
static void set_lowat(struct hs_conn *c, int n)
{
    if ((c->lowat != 0 ? c->lowat : 1) != n &&
        setsockopt(h2o_socket_get_fd(c->sock), SOL_SOCKET, SO_RCVLOWAT, &n, sizeof(n)) == 0)
        c->lowat = n;
}

/* Waits, without polling, for the NEED bytes of a record cut short by TCP, or the peer's EOF. */
static void wait_more(struct hs_conn *c, size_t need)
{
    set_lowat(c, (int)need);
}

/* What peek_record() found. */
enum peeked { PEEK_WAIT, PEEK_GONE, PEEK_NOT_TLS, PEEK_RECORD };

/*
 * Peeks at C's first TLS record, without consuming it: its header only (WHOLE 0), or the whole
 * record (WHOLE 1, up to HS_RECORD_MAX). PEEK_RECORD with the bytes in *REC (the caller frees
 * them) and their count in *LEN; PEEK_WAIT when more must come first (the mark is set); PEEK_GONE
 * when the peer left or failed; PEEK_NOT_TLS when the first byte is not a handshake record's.
 */
static enum peeked peek_record(struct hs_conn *c, int whole, unsigned char **rec, size_t *len)
{
    h2o_socket_t *sock = c->sock;
    size_t want = whole ? HS_RECORD_MAX : 5;
    ssize_t r;

    if ((*rec = malloc(want)) == NULL)
        h2o_fatal("out of memory");
    while ((r = recv(h2o_socket_get_fd(sock), *rec, want, MSG_PEEK)) < 0 && errno == EINTR)
        ;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        free(*rec);
        return PEEK_WAIT;
    }
    if (r <= 0) {
        free(*rec);
        return PEEK_GONE; /* gone before saying anything */
    }
    if ((*rec)[0] != 22) {
        free(*rec);
        return PEEK_NOT_TLS;
    }
    if (r < 5 || (whole && (size_t)r < 5 + get16(*rec + 3) && (size_t)r < want)) {
        size_t need = r < 5 ? 5 : 5 + get16(*rec + 3);
        free(*rec);
        if (peer_gone(sock))
            return PEEK_GONE; /* a partial ClientHello, then nothing more: it ends now */
        wait_more(c, need < want ? need : want);
        return PEEK_WAIT;
    }
    set_lowat(c, 1); /* whoever reads it next wants every byte */
    *len = (size_t)r;
    return PEEK_RECORD;
}

static void on_peek(h2o_socket_t *sock, const char *err)
{
    struct hs_conn *c = sock->data;
    const struct scn_hs_fault *f = &c->h->fault;
    unsigned char *rec;
    size_t len;
    char name[256];
    int found = 0;

    if (err != NULL) {
        conn_close(c);
        return;
    }
    switch (peek_record(c, f->sni != SCN_HS_SNI_ANY, &rec, &len)) {
    case PEEK_WAIT:
        return;
    case PEEK_GONE:
        conn_close(c);
        return;
    case PEEK_NOT_TLS:
        pass(c); /* not a TLS handshake: not counted, h2o fails it its own way */
        return;
    case PEEK_RECORD:
        break;
    }
    if (f->sni != SCN_HS_SNI_ANY)
        found = hs_parse_sni(rec, len, name, sizeof(name));
    free(rec);
    if ((f->sni == SCN_HS_SNI_NONE && found == 1) ||
        (f->sni == SCN_HS_SNI_UNKNOWN && (found != 1 || hs_name_known(c->h->l, name)))) {
        pass(c);
        return;
    }
    if (!hs_scheduled(atomic_fetch_add(&c->h->count, 1) + 1, f->first, f->every)) {
        pass(c);
        return;
    }
    log_debug("handshake: listener %s: %s", c->h->l->name,
              f->action == SCN_HS_ALERT ? scn_alert_name(f->alert) : "fault");
    act(c);
}

/* hs_peek_sni()'s connection: its first record seen, the callback is handed the socket. */
static void on_peek_sni(h2o_socket_t *sock, const char *err)
{
    struct hs_conn *c = sock->data;
    hs_sni_cb done = c->sni_done;
    void *data = c->data;
    unsigned char *rec;
    size_t len;
    char name[256] = "";
    int found = -1;

    if (err != NULL) {
        conn_close(c);
        return;
    }
    switch (peek_record(c, 1, &rec, &len)) {
    case PEEK_WAIT:
        return;
    case PEEK_GONE:
        conn_close(c);
        return;
    case PEEK_NOT_TLS:
        break;
    case PEEK_RECORD:
        found = hs_parse_sni(rec, len, name, sizeof(name));
        free(rec);
        break;
    }
    h2o_socket_read_stop(sock);
    h2o_socket_dont_read(sock, 0);
    sock->data = NULL;
    conn_free(c);
    done(sock, data, found, found == 1 ? name : NULL);
}

/* A connection SOCK that T keeps from now on (its deadline not armed yet), with DATA. */
static struct hs_conn *conn_new(struct hs_thread *t, h2o_socket_t *sock, void *data)
{
    struct hs_conn *c = calloc(1, sizeof(*c));

    if (c == NULL)
        h2o_fatal("out of memory");
    c->t = t;
    c->sock = sock;
    c->data = data;
    c->deadline.cb = on_deadline;
    h2o_linklist_insert(&t->conns, &c->link);
    sock->data = c;
    return c;
}

void hs_peek_sni(struct hs_thread *t, h2o_socket_t *sock, hs_sni_cb done, void *data)
{
    struct hs_conn *c = conn_new(t, sock, data);

    c->sni_done = done;
    h2o_socket_dont_read(sock, 1);
    h2o_timeout_link(t->loop, &t->deadline, &c->deadline);
    h2o_socket_read_start(sock, on_peek_sni);
}

void hs_hold(struct hs_thread *t, h2o_socket_t *sock)
{
    struct hs_conn *c = conn_new(t, sock, NULL);

    c->phase = HS_HOLD;
    h2o_socket_read_start(sock, on_hold);
}

void hs_accept(struct hs_listener *h, struct hs_thread *t, h2o_socket_t *sock,
               hs_proceed_cb proceed, void *data)
{
    struct hs_conn *c = conn_new(t, sock, data);

    c->h = h;
    c->proceed = proceed;
    h2o_socket_dont_read(sock, 1);
    if (h->fault.action == SCN_HS_SILENT) {
        /* the TCP connection itself is what is counted: a device that never speaks */
        if (hs_scheduled(atomic_fetch_add(&h->count, 1) + 1, h->fault.first, h->fault.every)) {
            act(c);
            return;
        }
        pass(c);
        return;
    }
    h2o_timeout_link(t->loop, &t->deadline, &c->deadline);
    h2o_socket_read_start(sock, on_peek);
}
