/*
 * metrics — lock-free request counters and their Prometheus text.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "flow.h"
#include "log.h"
#include "metrics.h"

#define SLOTS 1024 /* distinct series kept; a power of two */
#define PROBES 32

/* A series: its labels, written once by the worker that claimed the slot, then READY. */
struct series {
    _Atomic uint64_t key; /* a hash of the labels; 0: free; 1: being claimed */
    atomic_int ready;
    char server[64], endpoint[64], by[12];
    unsigned status, substatus;
    uint32_t win32;
    _Atomic uint64_t count;
};

static struct series table[SLOTS];
static _Atomic uint64_t overflow, conns_total, conns_open;

static const char *by_name(enum flow_by by)
{
    static const char *const names[] = {
        [FLOW_BY_NONE] = "none", [FLOW_BY_DEVICE] = "device",     [FLOW_BY_HTTPSYS] = "httpsys",
        [FLOW_BY_IIS] = "iis",   [FLOW_BY_FRONTEND] = "frontend", [FLOW_BY_BACKEND] = "backend",
    };
    return (size_t)by < sizeof(names) / sizeof(names[0]) ? names[by] : "none";
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 1099511628211u;
    return h;
}

static void copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src);
}

void metrics_log(struct flow *f, const struct timeval *now)
{
    const char *endpoint = f->route != NULL ? f->route->path : "-";
    const char *by = by_name(f->by);
    uint64_t h = 14695981039346656037u;
    UNUSED(now);

    h = fnv(h, f->server->name, strlen(f->server->name) + 1);
    h = fnv(h, endpoint, strlen(endpoint) + 1);
    h = fnv(h, by, strlen(by) + 1);
    h = fnv(h, &f->st, sizeof(f->st));
    if (h < 2)
        h += 2;
    for (size_t i = 0; i < PROBES; i++) {
        struct series *s = &table[(h + i) & (SLOTS - 1)];
        uint64_t k = atomic_load_explicit(&s->key, memory_order_acquire), free_key = 0;
        if (k == 0 && atomic_compare_exchange_strong(&s->key, &free_key, 1)) {
            copy(s->server, sizeof(s->server), f->server->name);
            copy(s->endpoint, sizeof(s->endpoint), endpoint);
            copy(s->by, sizeof(s->by), by);
            s->status = f->st.status;
            s->substatus = f->st.substatus;
            s->win32 = f->st.win32;
            atomic_store_explicit(&s->count, 1, memory_order_relaxed);
            atomic_store_explicit(&s->ready, 1, memory_order_release);
            atomic_store_explicit(&s->key, h, memory_order_release);
            return;
        }
        if (k == 1) /* being claimed by another worker for a series that may be this one: */
            while ((k = atomic_load_explicit(&s->key, memory_order_acquire)) == 1)
                ; /* a few stores away */
        if (k == h) {
            atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
            return;
        }
    }
    atomic_fetch_add_explicit(&overflow, 1, memory_order_relaxed);
}

static void on_conn_open(void)
{
    atomic_fetch_add_explicit(&conns_total, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&conns_open, 1, memory_order_relaxed);
}

static void on_conn_close(const struct conn_report *r)
{
    UNUSED(r);
    atomic_fetch_sub_explicit(&conns_open, 1, memory_order_relaxed);
}

const struct conn_observer metrics_conn_observer = {on_conn_open, on_conn_close};

void metrics_reset(void)
{
    /* a request counted while this runs may land before or after the reset, as with any
     * counter reset of a running server */
    for (size_t i = 0; i < SLOTS; i++) {
        atomic_store(&table[i].ready, 0);
        atomic_store(&table[i].key, 0);
        atomic_store(&table[i].count, 0);
    }
    atomic_store(&overflow, 0);
}

/* A label value with Prometheus's escapes (backslash, double quote, newline). */
static void put_label(FILE *fp, const char *v)
{
    for (; *v != '\0'; v++) {
        if (*v == '\\' || *v == '"')
            fputc('\\', fp), fputc(*v, fp);
        else if (*v == '\n')
            fputs("\\n", fp);
        else
            fputc(*v, fp);
    }
}

char *metrics_render(size_t *len, uint64_t journal_written, uint64_t journal_dropped,
                     uint64_t uptime)
{
    char *buf = NULL;
    FILE *fp = open_memstream(&buf, len);

    if (fp == NULL)
        fatalx("out of memory");
    fputs("# HELP mrsmock_requests_total Requests, by server, endpoint, who answered and the IIS "
          "status triple.\n# TYPE mrsmock_requests_total counter\n",
          fp);
    for (size_t i = 0; i < SLOTS; i++) {
        struct series *s = &table[i];
        if (!atomic_load_explicit(&s->ready, memory_order_acquire))
            continue;
        fputs("mrsmock_requests_total{server=\"", fp);
        put_label(fp, s->server);
        fputs("\",endpoint=\"", fp);
        put_label(fp, s->endpoint);
        fprintf(fp,
                "\",answered_by=\"%s\",status=\"%u\",substatus=\"%u\",win32_status=\"%u\"} %llu\n",
                s->by, s->status, s->substatus, (unsigned)s->win32,
                (unsigned long long)atomic_load_explicit(&s->count, memory_order_relaxed));
    }
    fprintf(fp,
            "# HELP mrsmock_requests_overflow_total Requests counted past the series table.\n"
            "# TYPE mrsmock_requests_overflow_total counter\n"
            "mrsmock_requests_overflow_total %llu\n"
            "# HELP mrsmock_connections_total TCP connections accepted.\n"
            "# TYPE mrsmock_connections_total counter\n"
            "mrsmock_connections_total %llu\n"
            "# HELP mrsmock_connections_open TCP connections open now.\n"
            "# TYPE mrsmock_connections_open gauge\n"
            "mrsmock_connections_open %llu\n"
            "# HELP mrsmock_journal_entries_total Entries written to the journal.\n"
            "# TYPE mrsmock_journal_entries_total counter\n"
            "mrsmock_journal_entries_total %llu\n"
            "# HELP mrsmock_journal_dropped_total Journal entries overwritten before being read.\n"
            "# TYPE mrsmock_journal_dropped_total counter\n"
            "mrsmock_journal_dropped_total %llu\n"
            "# HELP mrsmock_uptime_seconds Seconds since mrsmock started.\n"
            "# TYPE mrsmock_uptime_seconds gauge\n"
            "mrsmock_uptime_seconds %llu\n",
            (unsigned long long)atomic_load(&overflow),
            (unsigned long long)atomic_load(&conns_total),
            (unsigned long long)atomic_load(&conns_open), (unsigned long long)journal_written,
            (unsigned long long)journal_dropped, (unsigned long long)uptime);
    if (fclose(fp) != 0)
        fatalx("out of memory");
    return buf;
}
