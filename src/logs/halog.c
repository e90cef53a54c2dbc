/*
 * halog — HAProxy's tcplog, httplog and health-check lines (halog.h).
 *
 * Formats as HAProxy 2.x documents them (configuration manual, 8.2.2 "TCP log format" and 8.2.3
 * "HTTP log format"): the client's address and port, the accept date with milliseconds, the
 * frontend, backend/server, the timers, the status and bytes, the termination state, the
 * connection counters and the queues, and for HTTP the request line in quotes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "halog.h"
#include "util.h"

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Appends to BUF at *O, never past LEN - 2 (room for the newline). */
static void __attribute__((format(printf, 4, 5)))
put(char *buf, size_t len, size_t *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*o + 2 >= len)
        return;
    va_start(ap, fmt);
    n = vsnprintf(buf + *o, len - 1 - *o, fmt, ap);
    va_end(ap);
    if (n > 0)
        *o += (size_t)n < len - 1 - *o ? (size_t)n : len - 2 - *o;
}

static void origin(char *buf, size_t len, size_t *o, const struct halog_origin * or)
{
    struct tm tm;

    util_gmtime(or->now, &tm);
    put(buf, len, o, "%s %2d %02d:%02d:%02d %s haproxy[%u]: ", months[tm.tm_mon], tm.tm_mday,
        tm.tm_hour, tm.tm_min, tm.tm_sec, or->host, or->pid);
}

static void client_and_date(char *buf, size_t len, size_t *o, const struct halog_entry *e)
{
    struct tm tm;

    util_gmtime(e->accepted.tv_sec, &tm);
    put(buf, len, o, "%s:%u [%02d/%s/%04d:%02d:%02d:%02d.%03ld] %s %s/%s ", e->client_ip,
        e->client_port, tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
        tm.tm_sec, e->accepted.tv_nsec / 1000000, e->frontend, e->backend, e->server);
}

/* Printable bytes only, as HAProxy escapes what it logs ('"' and controls as #XX). */
static void quoted(char *buf, size_t len, size_t *o, const char *s)
{
    for (; s != NULL && *s != '\0' && *o + 4 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '#')
            put(buf, len, o, "#%02X", c);
        else
            buf[(*o)++] = (char)c;
    }
}

static size_t end(char *buf, size_t o)
{
    buf[o++] = '\n';
    buf[o] = '\0';
    return o;
}

size_t halog_tcp(char *buf, size_t len, const struct halog_origin * or, const struct halog_entry *e)
{
    size_t o = 0;

    origin(buf, len, &o, or);
    client_and_date(buf, len, &o, e);
    put(buf, len, &o, "%lld/%lld/%lld %llu %.2s %u/%u/%u/%u/%u 0/0", (long long)e->tw,
        (long long)e->tc, (long long)e->tt, (unsigned long long)e->bytes, e->term, e->actconn,
        e->feconn, e->beconn, e->srv_conn, e->retries);
    return end(buf, o);
}

size_t halog_http(char *buf, size_t len, const struct halog_origin * or,
                  const struct halog_entry *e)
{
    size_t o = 0;

    origin(buf, len, &o, or);
    client_and_date(buf, len, &o, e);
    put(buf, len, &o, "%lld/%lld/%lld/%lld/%lld %d %llu %s %s %.4s %u/%u/%u/%u/%u 0/0 \"",
        (long long)e->tq, (long long)e->tw, (long long)e->tc, (long long)e->tr, (long long)e->tt,
        e->status, (unsigned long long)e->bytes, e->cookie_req != NULL ? e->cookie_req : "-",
        e->cookie_res != NULL ? e->cookie_res : "-", e->term, e->actconn, e->feconn, e->beconn,
        e->srv_conn, e->retries);
    quoted(buf, len, &o, e->method);
    put(buf, len, &o, " ");
    quoted(buf, len, &o, e->uri);
    put(buf, len, &o, " ");
    quoted(buf, len, &o, e->version);
    put(buf, len, &o, "\"");
    return end(buf, o);
}

size_t halog_health(char *buf, size_t len, const struct halog_origin * or, const char *backend,
                    const char *server, int up, const char *reason, unsigned active_left)
{
    size_t o = 0;

    origin(buf, len, &o, or);
    put(buf, len, &o,
        "Server %s/%s is %s, reason: %s, check duration: 0ms. %u active and 0 backup servers "
        "%s.%s",
        backend, server, up ? "UP" : "DOWN", reason, active_left, up ? "online" : "left",
        up ? "" : " 0 sessions active, 0 requeued, 0 remaining in queue.");
    return end(buf, o);
}
