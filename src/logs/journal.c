/*
 * journal — the ring of request entries, written without a lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>

#include "conn.h"
#include "flow.h"
#include "journal.h"
#include "log.h"
#include "util.h"

/* A slot's sequence number is 2 * id + 1 while entry ID is being written, 2 * id + 2 once it
 * is complete (0: never written). */
struct slot {
    _Atomic uint64_t seq;
    struct journal_entry e;
};

static struct slot *ring;
static size_t capacity;
static _Atomic uint64_t last_id;  /* the last id handed out */
static _Atomic uint64_t floor_id; /* entries up to this id were reset away */

void journal_init(size_t n)
{
    capacity = n != 0 ? n : 1;
    atomic_store(&last_id, 0);
    atomic_store(&floor_id, 0);
    /* calloc: pages are touched only as entries come, so an idle lab stays small */
    if ((ring = calloc(capacity, sizeof(*ring))) == NULL)
        fatalx("out of memory");
}

static void file_stop(void);
static void wait_for_file(void);

void journal_free(void)
{
    file_stop(); /* its thread reads the ring */
    free(ring);
    ring = NULL;
    capacity = 0;
}

static void copy(char *dst, size_t size, const char *src, size_t len)
{
    if (len >= size)
        len = size - 1;
    if (len != 0) /* SRC may be NULL when empty (a request without a Host) */
        memcpy(dst, src, len);
    dst[len] = '\0';
}

#define COPY(field, base, len) copy(e->field, sizeof(e->field), (base), (len))
#define COPYZ(field, s) COPY(field, (s), (s) != NULL ? strlen(s) : 0)

static const char *by_name(enum flow_by by)
{
    static const char *const names[] = {
        [FLOW_BY_NONE] = "",   [FLOW_BY_DEVICE] = "device",     [FLOW_BY_HTTPSYS] = "httpsys",
        [FLOW_BY_IIS] = "iis", [FLOW_BY_FRONTEND] = "frontend", [FLOW_BY_BACKEND] = "backend",
    };
    return (size_t)by < sizeof(names) / sizeof(names[0]) ? names[by] : "";
}

/* Fills E from F (no locks: E is the writer's own slot). */
static void fill(struct journal_entry *e, struct flow *f, const struct timeval *now)
{
    h2o_req_t *req = f->req;
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);

    e->at = (struct timespec){req->timestamps.request_begin_at.tv_sec,
                              req->timestamps.request_begin_at.tv_usec * 1000};
    e->duration_ms = flow_taken_ms(f, now);
    COPYZ(listener, f->listener->name);
    COPYZ(server, f->server->name);
    COPYZ(backend, f->backend != NULL ? f->backend->name : "");
    COPYZ(balancer, f->listener->balancer != NULL ? f->listener->balancer->name : "");
    COPYZ(client_ip, f->peer_ip);
    e->client_port = f->peer_port;
    e->tls_version[0] = e->cipher[0] = e->sni[0] = '\0';
    if (sock != NULL && sock->ssl != NULL) {
        COPYZ(tls_version, h2o_socket_get_ssl_protocol_version(sock));
        COPYZ(cipher, h2o_socket_get_ssl_cipher(sock));
        COPYZ(sni, f->sni);
    }
    snprintf(e->http_version, sizeof(e->http_version),
             req->version >= 0x200 ? "HTTP/2" : "HTTP/1.%d", req->version & 0xff);
    COPY(method, req->method.base, req->method.len);
    COPY(host, req->authority.base, req->authority.len);
    COPY(path, req->path.base, req->path.len);
    COPYZ(answered_by, by_name(f->by));
    e->status = f->st.status;
    e->substatus = f->st.substatus;
    e->win32 = f->st.win32;
    COPYZ(auth_scheme, f->auth_scheme);
    COPY(user, f->username.base, f->username.len);
    e->logs = f->logs;
    COPYZ(request_id, f->request_id);
    COPYZ(rm_sequence, f->rm_sequence);
    e->rm_message = f->rm_message;
    COPY(why, f->why, f->why_len);
}

/* Takes the next id and its slot, marked as being written. */
static struct slot *reserve(void)
{
    uint64_t id = atomic_fetch_add_explicit(&last_id, 1, memory_order_relaxed) + 1;
    struct slot *s = &ring[(id - 1) % capacity];

    atomic_store_explicit(&s->seq, 2 * id + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    s->e.id = id;
    return s;
}

static void commit(struct slot *s)
{
    atomic_store_explicit(&s->seq, 2 * s->e.id + 2, memory_order_release);
}

void journal_log(struct flow *f, const struct timeval *now)
{
    struct slot *s;

    if (ring == NULL) /* no journal (a test's own pipeline) */
        return;
    wait_for_file();
    s = reserve();
    fill(&s->e, f, now); /* into the slot itself: no copy */
    commit(s);
}

uint64_t journal_add(const struct journal_entry *e)
{
    struct slot *s;
    uint64_t id;

    if (ring == NULL)
        return 0;
    wait_for_file();
    s = reserve();
    id = s->e.id;
    s->e = *e;
    s->e.id = id;
    commit(s);
    return id;
}

static int str_is(const char *want, const char *have)
{
    return want == NULL || strcasecmp(want, have) == 0;
}

static int matches(const struct journal_filter *fl, const struct journal_entry *e)
{
    if (fl == NULL)
        return 1;
    return (fl->status == 0 || fl->status == e->status) && str_is(fl->server, e->server) &&
           str_is(fl->listener, e->listener) && str_is(fl->method, e->method) &&
           str_is(fl->user, e->user) &&
           (fl->host == NULL || strncasecmp(fl->host, e->host, strlen(fl->host)) == 0) &&
           (fl->path_prefix == NULL ||
            strncasecmp(fl->path_prefix, e->path, strlen(fl->path_prefix)) == 0);
}

/* Copies entry ID into OUT if its slot holds it, whole: 1; 0 if it was overwritten; -1 if it is
 * not complete yet (being written, or its writer has not reached the slot). */
static int read_entry(uint64_t id, struct journal_entry *out)
{
    struct slot *s = &ring[(id - 1) % capacity];
    uint64_t before = atomic_load_explicit(&s->seq, memory_order_acquire);

    if (before < 2 * id + 2)
        return -1;
    if (before != 2 * id + 2)
        return 0;
    /* a seqlock's read: the copy may race with a writer reusing the slot; the second load of
     * the sequence number tells, and a torn copy is thrown away */
    memcpy(out, &s->e, sizeof(*out));
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&s->seq, memory_order_relaxed) == before;
}

size_t journal_find(const struct journal_filter *filter, struct journal_entry *out, size_t max,
                    size_t *total, uint64_t *upto)
{
    uint64_t last = atomic_load_explicit(&last_id, memory_order_acquire);
    uint64_t first = atomic_load_explicit(&floor_id, memory_order_relaxed) + 1;
    struct journal_entry e;
    size_t n = 0, all = 0;
    int complete = 1;

    if (last >= capacity && first <= last - capacity)
        first = last - capacity + 1; /* older ones are overwritten */
    if (filter != NULL && filter->since >= first)
        first = filter->since + 1;
    if (upto != NULL)
        *upto = first - 1;
    for (uint64_t id = first; id <= last; id++) {
        int r = ring != NULL ? read_entry(id, &e) : 0;
        if (r < 0 && filter != NULL && filter->complete_only)
            break;
        if (r < 0)
            complete = 0;
        else if (complete && upto != NULL)
            *upto = id;
        if (r <= 0 || !matches(filter, &e))
            continue;
        if (n < max)
            out[n++] = e;
        all++;
    }
    if (total != NULL)
        *total = all;
    return n;
}

void journal_reset(void)
{
    atomic_store(&floor_id, atomic_load(&last_id));
}

uint64_t journal_written(void)
{
    return atomic_load(&last_id);
}

uint64_t journal_dropped(void)
{
    uint64_t n = atomic_load(&last_id) - atomic_load(&floor_id);
    return n > capacity ? n - capacity : 0;
}

static void on_conn_close(const struct conn_report *r)
{
    struct journal_entry entry = {.at = r->accepted_at, .duration_ms = r->duration_ms}, *e = &entry;

    if (r->requests != 0 || ring == NULL)
        return;
    COPYZ(listener, r->listener);
    COPYZ(client_ip, r->peer_ip);
    e->client_port = r->peer_port;
    COPYZ(why, r->why);
    journal_add(e);
}

const struct conn_observer journal_conn_observer = {NULL, on_conn_close};

/* The N bytes at S as a JSON string, valid UTF-8 whatever the client sent (a path, a user name,
 * a field the journal cut in the middle of a character): bytes that do not make UTF-8 become
 * '?'. A new reference. */
static json_t *text_n(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    char *c;

    if (j != NULL)
        return j;
    if ((c = malloc(n + 1)) == NULL)
        fatalx("out of memory");
    for (size_t i = 0; i < n; i++)
        c[i] = (unsigned char)s[i] >= 0x80 ? '?' : s[i];
    j = json_stringn(c, n);
    free(c);
    return j != NULL ? j : json_string("");
}

static json_t *text(const char *s)
{
    return text_n(s, strlen(s));
}

/* S, or null when it is empty. */
static json_t *text_or_null(const char *s)
{
    return s[0] != '\0' ? text(s) : json_null();
}

json_t *journal_entry_json(const struct journal_entry *e)
{
    char at[80];
    json_t *why = json_array(), *logs = json_array(), *o = json_object();
    struct tm tm;

    if (util_gmtime(e->at.tv_sec, &tm) != NULL)
        snprintf(at, sizeof(at), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(e->at.tv_nsec / 1000000 % 1000));
    else
        snprintf(at, sizeof(at), "-");
    for (const char *p = e->why; *p != '\0';) {
        const char *sep = strstr(p, "; ");
        size_t n = sep != NULL ? (size_t)(sep - p) : strlen(p);
        json_array_append_new(why, text_n(p, n));
        p = sep != NULL ? sep + 2 : p + n;
    }
    if (e->logs & FLOW_LOG_W3C)
        json_array_append_new(logs, json_string("w3c"));
    if (e->logs & FLOW_LOG_HTTPERR)
        json_array_append_new(logs, json_string("httperr"));
    if (e->logs & FLOW_LOG_HPLOG)
        json_array_append_new(logs, json_string("httpproxy"));
    json_object_set_new(o, "id", json_integer((json_int_t)e->id));
    json_object_set_new(o, "time", json_string(at));
    json_object_set_new(o, "duration_ms", json_integer((json_int_t)e->duration_ms));
    json_object_set_new(o, "listener", text(e->listener));
    json_object_set_new(o, "server", text(e->server));
    json_object_set_new(o, "backend", text_or_null(e->backend));
    json_object_set_new(o, "balancer", text_or_null(e->balancer));
    json_object_set_new(
        o, "client",
        json_pack("{s:o, s:i}", "ip", text(e->client_ip), "port", (int)e->client_port));
    json_object_set_new(o, "tls",
                        e->tls_version[0]
                            ? json_pack("{s:o, s:o, s:o}", "version", text(e->tls_version),
                                        "cipher", text(e->cipher), "sni", text_or_null(e->sni))
                            : json_null());
    json_object_set_new(o, "http_version", text(e->http_version));
    json_object_set_new(o, "method", text(e->method));
    json_object_set_new(o, "host", text(e->host));
    json_object_set_new(o, "path", text(e->path));
    json_object_set_new(o, "answered_by", text(e->answered_by));
    json_object_set_new(o, "status", json_integer(e->status));
    json_object_set_new(o, "substatus", json_integer(e->substatus));
    json_object_set_new(o, "win32_status", json_integer((json_int_t)e->win32));
    json_object_set_new(o, "auth_scheme", text_or_null(e->auth_scheme));
    json_object_set_new(o, "user", text_or_null(e->user));
    json_object_set_new(o, "request_id", text(e->request_id));
    json_object_set_new(o, "logs", logs);
    json_object_set_new(o, "why", why);
    if (e->rm_sequence[0] != '\0')
        json_object_set_new(o, "wsrm",
                            json_pack("{s:o, s:I}", "sequence", text(e->rm_sequence), "message",
                                      (json_int_t)e->rm_message));
    return o;
}

/* --- the JSON-lines file --------------------------------------------------------------------- */

/* A thread appends what the ring holds to the file, every FILE_EVERY_MS and once more when it
 * stops, in writes of up to FILE_BUF bytes: workers never write it. The ring (--journal-size,
 * 4096 by default) holds what comes in between: at 20,000 requests a second, 400 entries. A
 * worker about to overwrite entries the thread has not taken yet waits for it instead (a few
 * hundred microseconds at a time): every entry reaches the file, and serving slows to the pace
 * the file is written at when the machine has no time to spare for it. What the ring overwrote
 * all the same (a reset's, none otherwise) is counted. */
#define FILE_EVERY_MS 20
#define FILE_BUF (256 * 1024)

static struct {
    int fd;
    pthread_t tid;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop, running;
    uint64_t since; /* written up to this id */
    _Atomic uint64_t missed;
    _Atomic int on;         /* workers wait for the thread while it runs */
    _Atomic uint64_t taken; /* the thread has copied the entries up to this id */
} file = {.fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* Appends BUF's LEN bytes to the file; it is ours alone, so a short write only goes on. */
static void file_write(char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(file.fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            log_warn("journal file");
            return;
        }
        buf += w, len -= (size_t)w;
    }
}

static void drain(void)
{
    struct journal_entry *out = calloc(256, sizeof(*out));
    char *buf = malloc(FILE_BUF);
    size_t n, used = 0;
    uint64_t upto;

    if (out == NULL || buf == NULL)
        fatalx("out of memory");
    do {
        /* in order, and only up to an entry still being written: the next turn takes it */
        struct journal_filter f = {.since = file.since, .complete_only = 1};
        n = journal_find(&f, out, 256, NULL, &upto);
        /* copied: their slots may be written again */
        atomic_store(&file.taken, n != 0 ? out[n - 1].id : upto > file.since ? upto : file.since);
        for (size_t i = 0; i < n; i++) {
            uint64_t from = atomic_load(&floor_id); /* a reset's are not missed: forgotten */
            if (from < file.since)
                from = file.since;
            if (out[i].id > from + 1)
                atomic_fetch_add(&file.missed, out[i].id - from - 1);
            json_t *o = journal_entry_json(&out[i]);
            char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
            json_decref(o);
            if (line == NULL)
                fatalx("cannot render a journal entry");
            size_t len = strlen(line);
            line[len] = '\n'; /* in place of the NUL: whole lines only */
            if (used + len + 1 > FILE_BUF) {
                file_write(buf, used);
                used = 0;
            }
            if (len + 1 > FILE_BUF) {
                file_write(line, len + 1);
            } else {
                memcpy(buf + used, line, len + 1);
                used += len + 1;
            }
            free(line);
            file.since = out[i].id;
        }
        if (n == 0 && upto > file.since)
            file.since = upto; /* complete but filtered away: nothing is (reset ones) */
    } while (n == 256);
    file_write(buf, used);
    free(buf);
    free(out);
}

static void *file_main(void *arg)
{
    UNUSED(arg);
    pthread_mutex_lock(&file.lock);
    while (!file.stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += FILE_EVERY_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L)
            until.tv_sec++, until.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&file.cond, &file.lock, &until);
        pthread_mutex_unlock(&file.lock);
        drain();
        pthread_mutex_lock(&file.lock);
    }
    pthread_mutex_unlock(&file.lock);
    drain(); /* what came before the stop */
    return NULL;
}

/* Before a worker takes a slot: while the file's thread runs, no entry it has not taken is
 * overwritten. A quarter of the ring is left as room for the workers that passed at once. */
static void wait_for_file(void)
{
    const uint64_t room = capacity - capacity / 4;

    while (atomic_load_explicit(&file.on, memory_order_relaxed) &&
           atomic_load_explicit(&last_id, memory_order_relaxed) -
                   atomic_load_explicit(&file.taken, memory_order_acquire) >=
               room) {
        struct timespec ts = {0, 200 * 1000};
        pthread_cond_signal(&file.cond); /* the thread's next turn now, not in FILE_EVERY_MS */
        nanosleep(&ts, NULL);
    }
}

int journal_file_start(const char *path, char *err, size_t errlen)
{
    if ((file.fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0) {
        snprintf(err, errlen, "cannot open the journal file %s: %s", path, strerror(errno));
        return -1;
    }
    file.since = atomic_load(&last_id);
    atomic_store(&file.taken, file.since);
    if (pthread_create(&file.tid, NULL, file_main, NULL) != 0)
        fatal("cannot start the journal file's thread");
    file.running = 1;
    atomic_store(&file.on, 1);
    return 0;
}

void journal_file_stop(void)
{
    file_stop();
}

static void file_stop(void)
{
    if (!file.running)
        return;
    atomic_store(&file.on, 0); /* no worker waits for a thread that is leaving */
    pthread_mutex_lock(&file.lock);
    file.stop = 1;
    pthread_cond_signal(&file.cond);
    pthread_mutex_unlock(&file.lock);
    pthread_join(file.tid, NULL);
    if (atomic_load(&file.missed) != 0)
        log_warnx("journal file: %llu entries were overwritten before they were written (a "
                  "larger --journal-size keeps them)",
                  (unsigned long long)atomic_load(&file.missed));
    close(file.fd);
    file.fd = -1;
    file.running = 0;
}

size_t journal_capacity(void)
{
    return capacity;
}
