/*
 * admin — the admin listener, its thread, who may call it, and JSON answers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "admin.h"
#include "admin_int.h"
#include "listener.h"
#include "log.h"
#include "util.h"

#define ADMIN_DOC_MAX (1u << 20)   /* a scenario document is at most 1 MiB (scn_load) */
#define ADMIN_BODY_MAX (16u << 20) /* what h2o reads before it answers 413 itself (its text) */
#define ADMIN_TICK_MS 2

struct admin_env admin_env;

static struct {
    int fd;
    pthread_t tid;
    int running;
    atomic_int stop;
    char *token;
    h2o_globalconf_t conf;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept;
    size_t num_conns;
} A = {.fd = -1};

/* --- answers ------------------------------------------------------------------------------- */

static const char *reason_of(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    default:
        return status < 500 ? "Bad Request" : "Internal Server Error";
    }
}

void admin_reply(h2o_req_t *req, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    h2o_iovec_t out;

    json_decref(body);
    if (text == NULL) { /* not reached: every string is made valid first */
        log_warnx("admin API: an answer could not be rendered as JSON");
        text = strdup("{\"error\":\"internal error: the answer could not be rendered\"}");
        status = 500;
        if (text == NULL)
            fatalx("out of memory");
    }
    out = h2o_strdup(&req->pool, text, strlen(text) + 1); /* with a newline in place of NUL */
    out.base[out.len - 1] = '\n';
    free(text);
    req->res.status = status;
    req->res.reason = reason_of(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, "Content-Type",
                   H2O_STRLIT("application/json"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, "Cache-Control",
                   H2O_STRLIT("no-store"));
    req->res.content_length = out.len;
    h2o_send_inline(req, out.base, out.len);
}

void admin_error(h2o_req_t *req, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* a message may quote the client (a path, a parameter): keep it printable ASCII, so that
     * it is always a JSON string */
    for (char *c = msg; *c != '\0'; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
            *c = '?';
    admin_reply(req, status, json_pack("{s:s}", "error", msg));
}

/* --- the query ----------------------------------------------------------------------------- */

static int hex(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Percent-decodes (and '+' as a space) the LEN bytes at S into the pool; -1 if malformed. */
static int decode(h2o_mem_pool_t *pool, const char *s, size_t len, h2o_iovec_t *out)
{
    char *d = h2o_mem_alloc_pool(pool, len + 1);
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            int hi, lo;
            if (i + 2 >= len || (hi = hex(s[i + 1])) < 0 || (lo = hex(s[i + 2])) < 0)
                return -1;
            d[n++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            d[n++] = s[i] == '+' ? ' ' : s[i];
        }
        if (n != 0 && d[n - 1] == '\0')
            return -1; /* no NUL inside a value */
    }
    d[n] = '\0';
    *out = h2o_iovec_init(d, n);
    return 0;
}

int admin_query_next(h2o_req_t *req, size_t *at, h2o_iovec_t *name, h2o_iovec_t *value)
{
    const char *q, *end, *amp, *eq;

    if (req->query_at == SIZE_MAX)
        return 0;
    q = req->path.base + req->query_at + 1 + *at;
    end = req->path.base + req->path.len;
    while (q < end && *q == '&')
        q++, (*at)++;
    if (q >= end)
        return 0;
    amp = memchr(q, '&', (size_t)(end - q));
    if (amp == NULL)
        amp = end;
    *at += (size_t)(amp - q);
    eq = memchr(q, '=', (size_t)(amp - q));
    if (decode(&req->pool, q, (size_t)((eq != NULL ? eq : amp) - q), name) != 0 ||
        decode(&req->pool, eq != NULL ? eq + 1 : amp, eq != NULL ? (size_t)(amp - eq - 1) : 0,
               value) != 0)
        return -1;
    return 1;
}

/* --- who may call -------------------------------------------------------------------------- */

static int is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >> 24) ==
               127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return 0;
}

/* 0 when REQ may call the API; otherwise it has been answered. */
static int allowed(h2o_req_t *req)
{
    struct sockaddr_storage ss;
    socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);

    if (A.token == NULL) {
        if (len == 0 || !is_loopback((struct sockaddr *)&ss)) {
            admin_error(req, 403,
                        "the admin API answers loopback clients only (see --admin-token)");
            return -1;
        }
        return 0;
    }
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    h2o_iovec_t v = i < 0 ? h2o_iovec_init("", 0) : req->headers.entries[i].value;
    size_t tl = strlen(A.token);
    if (v.len == 7 + tl && strncasecmp(v.base, "Bearer ", 7) == 0 &&
        CRYPTO_memcmp(v.base + 7, A.token, tl) == 0)
        return 0;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, "WWW-Authenticate",
                   H2O_STRLIT("Bearer realm=\"mrsmock\""));
    admin_error(req, 401, "a bearer token is required (--admin-token)");
    return -1;
}

/* --- routing --------------------------------------------------------------------------------- */

static const struct {
    const struct admin_route *rows;
    const size_t *num;
} tables[] = {{admin_routes, &admin_num_routes},
              {admin_dashboard_routes, &admin_dashboard_num_routes},
              {admin_logs_routes, &admin_logs_num_routes}};

/* The route for PATH and METHOD, or NULL; *PATH_KNOWN whether any route has PATH. ALLOW gets
 * the methods PATH takes. */
static const struct admin_route *find_route(h2o_iovec_t path, h2o_iovec_t method, int *path_known,
                                            char *allow, size_t allowlen)
{
    const struct admin_route *found = NULL;

    *path_known = 0;
    allow[0] = '\0';
    for (size_t t = 0; t < COUNTOF(tables); t++)
        for (size_t i = 0; i < *tables[t].num; i++) {
            const struct admin_route *r = &tables[t].rows[i];
            if (!h2o_memis(path.base, path.len, r->path, strlen(r->path)))
                continue;
            *path_known = 1;
            snprintf(allow + strlen(allow), allowlen - strlen(allow), "%s%s", allow[0] ? ", " : "",
                     r->method);
            if (found == NULL && h2o_memis(method.base, method.len, r->method, strlen(r->method)))
                found = r;
        }
    return found;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    h2o_iovec_t path = req->path_normalized;
    int path_known = 0;
    char allow[64];
    const struct admin_route *r = find_route(path, req->method, &path_known, allow, sizeof(allow));
    UNUSED(self);

    if (!(r != NULL && r->open && A.token != NULL) && allowed(req) != 0)
        return 0;
    if (req->entity.len > ADMIN_DOC_MAX) {
        admin_error(req, 413, "a body of %zu bytes: at most %u", req->entity.len, ADMIN_DOC_MAX);
        return 0;
    }
    if (r != NULL) {
        r->handler(req);
        return 0;
    }
    if (path_known) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, "Allow", allow,
                       strlen(allow));
        admin_error(req, 405, "%.*s is not allowed on %.*s", (int)req->method.len, req->method.base,
                    (int)path.len, path.base);
        return 0;
    }
    admin_error(req, 404, "no such route: %.*s", (int)path.len, path.base);
    return 0;
}

/* --- the thread ---------------------------------------------------------------------------- */

static void on_conn_close(void *data)
{
    UNUSED(data);
    A.num_conns--;
}

static void on_accept(h2o_socket_t *ls, const char *err)
{
    h2o_socket_t *sock;

    if (err != NULL)
        return;
    for (int i = 0; i < 16 && (sock = h2o_evloop_socket_accept(ls)) != NULL; i++) {
        sock->on_close.cb = on_conn_close;
        A.num_conns++;
        h2o_accept(&A.accept, sock);
    }
}

/* Half-closes an idle HTTP/1 connection so that h2o ends it (as the workers' drain does). */
static int on_idle(h2o_req_t *req, void *data)
{
    UNUSED(data);
    if (req->pathconf == NULL && req->_generator == NULL) {
        h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
        if (sock != NULL)
            shutdown(h2o_socket_get_fd(sock), SHUT_RD);
    }
    return 0;
}

static void *thread_main(void *arg)
{
    h2o_evloop_t *loop = h2o_evloop_create();
    h2o_socket_t *ls;
    UNUSED(arg);

    h2o_context_init(&A.ctx, loop, &A.conf);
    admin_env.loop = loop;
    h2o_timeout_init(loop, &admin_env.tick, ADMIN_TICK_MS);
    A.accept = (h2o_accept_ctx_t){.ctx = &A.ctx, .hosts = A.conf.hosts};
    ls = h2o_evloop_socket_create(loop, A.fd, H2O_SOCKET_FLAG_DONT_READ);
    h2o_socket_read_start(ls, on_accept);
    while (!atomic_load(&A.stop))
        h2o_evloop_run(loop, 50);
    h2o_socket_read_stop(ls);
    h2o_socket_close(ls);
    A.fd = -1; /* closed with its socket */
    /* what waits is answered by its own deadline; idle connections are closed */
    for (int i = 0; i < 100 && A.num_conns != 0; i++) {
        A.conf.http1.callbacks.foreach_request(&A.ctx, on_idle, NULL);
        h2o_evloop_run(loop, 20);
    }
    if (A.num_conns == 0) {
        h2o_timeout_dispose(loop, &admin_env.tick);
        h2o_context_dispose(&A.ctx);
        h2o_evloop_destroy(loop);
    }
    return NULL;
}

static int not_loopback(const struct sockaddr *sa)
{
    return !is_loopback(sa);
}

static int bind_admin(const struct admin_opts *o, unsigned *port, char *err, size_t errlen)
{
    char why[512], where[UTIL_HOSTPORT_MAX];
    int fd = lsn_listen(o->host, o->port, o->token == NULL ? not_loopback : NULL, port, why,
                        sizeof(why));

    util_hostport_format(o->host, o->port, where, sizeof(where));
    if (fd == -2)
        snprintf(err, errlen,
                 "--admin %s: not a loopback address; give --admin-token to serve the admin API "
                 "elsewhere",
                 where);
    else if (fd < 0)
        snprintf(err, errlen, "--admin: %s", why);
    return fd;
}

int admin_start(const struct admin_opts *o, char *url, size_t urllen, char *err, size_t errlen)
{
    unsigned port = 0;
    char where[UTIL_HOSTPORT_MAX];
    int fd = bind_admin(o, &port, err, errlen);

    if (fd < 0)
        return fd;
    A.fd = fd;
    A.token = o->token != NULL ? strdup(o->token) : NULL;
    admin_env.started = time(NULL);
    admin_env.state_dir = o->state_dir;
    h2o_config_init(&A.conf);
    A.conf.server_name = h2o_iovec_init(H2O_STRLIT("mrsmock-admin"));
    A.conf.max_request_entity_size = ADMIN_BODY_MAX;
    A.conf.http1.upgrade_to_http2 = 0;
    h2o_hostconf_t *host =
        h2o_config_register_host(&A.conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pc = h2o_config_register_path(host, "/", 0);
    h2o_create_handler(pc, sizeof(h2o_handler_t))->on_req = on_req;
    if (pthread_create(&A.tid, NULL, thread_main, NULL) != 0)
        fatal("cannot start the admin thread");
    A.running = 1;
    util_hostport_format(o->host, port, where, sizeof(where));
    snprintf(url, urllen, "http://%s", where);
    return 0;
}

void admin_stop(void)
{
    if (!A.running) {
        if (A.fd >= 0)
            close(A.fd);
        A.fd = -1;
        return;
    }
    atomic_store(&A.stop, 1);
    pthread_join(A.tid, NULL);
    A.running = 0;
    h2o_config_dispose(&A.conf);
    free(A.token);
    A.token = NULL;
}
