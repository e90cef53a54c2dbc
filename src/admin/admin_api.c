/*
 * admin_api — the admin API's routes: health, the scenario (read and switch), reset, the
 * journal and its long poll.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"
#include "admin_int.h"
#include "flow.h"
#include "gen.h"
#include "journal.h"
#include "lab.h"
#include "log.h"
#include "metrics.h"
#include "scenario.h"
#include "handshake.h"
#include "tls.h"
#include "util.h"

#define LIST_DEFAULT 1000 /* entries a GET /requests returns unless limit says otherwise */
#define LIST_MAX 10000
#define WAIT_DEFAULT_MS 10000
#define WAIT_MAX_MS 600000

static void iso_time(char *out, size_t len, struct timespec t)
{
    struct tm tm;
    if (util_gmtime(t.tv_sec, &tm) == NULL) {
        snprintf(out, len, "-");
        return;
    }
    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(t.tv_nsec / 1000000 % 1000));
}

json_t *admin_listeners_json(const struct gen *g)
{
    const struct scn *s = g->scn;
    size_t *order = calloc(s->num_listeners + 1, sizeof(*order)), n;
    json_t *listeners = json_array();
    char url[UTIL_HOSTPORT_MAX + 8];

    if (order == NULL)
        fatalx("out of memory");
    n = lab_listener_order(s, order);
    for (size_t j = 0; j < n; j++) {
        const struct scn_listener *l = &s->listeners[order[j]];
        json_t *hosts = json_array();
        size_t n0 = (size_t)snprintf(url, sizeof(url), "%s://", l->tls ? "https" : "http");
        for (size_t h = 0; h < l->num_hosts; h++)
            json_array_append_new(hosts, json_string(l->hosts[h]));
        util_hostport_format(l->host, g->listeners[order[j]].port, url + n0, sizeof(url) - n0);
        json_array_append_new(
            listeners, json_pack("{s:s, s:s, s:o}", "name", l->name, "url", url, "hosts", hosts));
    }
    free(order);
    return listeners;
}

/* --- health, scenario -------------------------------------------------------------------- */

static void on_health(h2o_req_t *req)
{
    struct gen *g = lab_acquire(NULL, 0, NULL);

    admin_reply(req, 200,
                json_pack("{s:s, s:s, s:I, s:s}", "status", "ok", "scenario", g->scn->name,
                          "uptime_seconds", (json_int_t)(time(NULL) - admin_env.started), "version",
                          MRSMOCK_VERSION));
    gen_unref(g);
}

static json_t *scenario_json(void)
{
    char path[PATH_MAX], at[80], build[48];
    time_t loaded;
    struct gen *g = lab_acquire(path, sizeof(path), &loaded);
    const struct scn *s = g->scn;
    json_t *servers = json_array();

    for (size_t i = 0; i < s->num_servers; i++) {
        const struct scn_server *sv = &s->servers[i];
        snprintf(build, sizeof(build), "%u.%u.%u.%u", sv->build[0], sv->build[1], sv->build[2],
                 sv->build[3]);
        json_array_append_new(servers,
                              json_pack("{s:s, s:s, s:s, s:s}", "name", sv->name, "fqdn", sv->fqdn,
                                        "version", scn_version_name(sv->version), "build", build));
    }
    iso_time(at, sizeof(at), (struct timespec){loaded, 0});
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "name", s->name, "summary", s->summary, "file",
                  path, "loaded_at", at, "servers", servers, "listeners", admin_listeners_json(g));
    gen_unref(g);
    return o;
}

static void on_scenario_get(h2o_req_t *req)
{
    admin_reply(req, 200, scenario_json());
}

/* The request's Content-Type without parameters, lower case, in the pool. */
static h2o_iovec_t media_type(h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    h2o_iovec_t v = i < 0 ? h2o_iovec_init("", 0) : req->headers.entries[i].value;
    const char *semi = memchr(v.base, ';', v.len);
    size_t n = semi != NULL ? (size_t)(semi - v.base) : v.len;

    while (n != 0 && v.base[n - 1] == ' ')
        n--;
    h2o_iovec_t out = h2o_strdup(&req->pool, v.base, n);
    for (size_t k = 0; k < out.len; k++)
        out.base[k] = (char)h2o_tolower(out.base[k]);
    return out;
}

/* What an uploaded document is called in its messages ("uploaded.xml:3: ..."). */
#define UPLOAD_NAME "uploaded.xml"

/* Writes an uploaded document where the lab can load it from; its path into PATH. */
static int save_document(h2o_iovec_t body, char *path, size_t len, char *err, size_t errlen)
{
    static atomic_uint n;
    char dir[PATH_MAX];
    int fd, n_ = 0;

    if (snprintf(dir, sizeof(dir), "%s/admin", admin_env.state_dir) >= (int)sizeof(dir) ||
        (n_ = snprintf(path, len, "%s/uploaded-%ld-%u.xml", dir, (long)getpid(),
                       atomic_fetch_add(&n, 1))) < 0 ||
        (size_t)n_ >= len) {
        snprintf(err, errlen, "the state folder's path is too long");
        return -1;
    }
    if (util_mkdirs(dir, 0700) != 0) {
        snprintf(err, errlen, "cannot create the folder for uploaded scenarios: %s",
                 strerror(errno));
        return -1;
    }
    /* the document's own name is lost: `extends` resolved among the bundled scenarios (and
     * a reload reads this file: relative names then resolve beside it first, then there) */
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
        write(fd, body.base, body.len) != (ssize_t)body.len || close(fd) != 0) {
        snprintf(err, errlen, "cannot write the uploaded scenario: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int admin_switch_fields(h2o_iovec_t body, json_t **doc, const char **name, const char **file,
                        char *err, size_t errlen)
{
    json_error_t jerr;
    const char *key;
    json_t *v;

    *name = *file = NULL;
    *doc = json_loadb(body.base, body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (*doc == NULL || !json_is_object(*doc)) {
        snprintf(err, errlen, "expected a JSON object: %s", *doc == NULL ? jerr.text : "not one");
        json_decref(*doc);
        *doc = NULL;
        return -1;
    }
    json_object_foreach(*doc, key, v)
    {
        if ((strcmp(key, "name") != 0 && strcmp(key, "file") != 0) || !json_is_string(v)) {
            snprintf(err, errlen, "unknown or mistyped field \"%s\" (name or file, strings)", key);
            json_decref(*doc);
            *doc = NULL;
            return -1;
        }
        *(strcmp(key, "name") == 0 ? name : file) = json_string_value(v);
    }
    if ((*name == NULL) == (*file == NULL)) {
        snprintf(err, errlen, "give one of name (a bundled scenario) or file (a path)");
        json_decref(*doc);
        *doc = NULL;
        return -1;
    }
    return 0;
}

/* The file a JSON switch request names ({"name": ...} or {"file": ...}); 0, or an HTTP status
 * with REQ answered. */
static int named_file(h2o_req_t *req, char *path, size_t len)
{
    const char *name, *file;
    char err[512];
    json_t *doc;

    if (admin_switch_fields(req->entity, &doc, &name, &file, err, sizeof(err)) != 0) {
        admin_error(req, 400, "%s", err);
        return 400;
    }
    int rc = 0;
    if (name != NULL && (strchr(name, '/') != NULL || scn_resolve(name, path, len) != 0)) {
        admin_error(req, 404, "no bundled scenario \"%s\" (mrsmock list)", name);
        rc = 404;
    } else if (file != NULL) {
        struct stat st;
        if (stat(file, &st) != 0 || !S_ISREG(st.st_mode)) {
            admin_error(req, 404, "%s: no such scenario file", file);
            rc = 404;
        } else if (access(file, R_OK) != 0) {
            admin_error(req, 403, "%s: not readable", file);
            rc = 403;
        } else {
            snprintf(path, len, "%s", file);
        }
    }
    json_decref(doc);
    return rc;
}

/* "file:line: message" lines into a JSON array. */
static json_t *lines_json(const char *text)
{
    json_t *a = json_array();
    for (const char *p = text; p != NULL && *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
        if (n != 0)
            json_array_append_new(a, json_stringn(p, n));
        p = nl != NULL ? nl + 1 : NULL;
    }
    return a;
}

/* The uploaded document being served, if one is: the only one kept (a reload reads it again);
 * the admin thread's alone. */
static char served_upload[PATH_MAX];

static void on_scenario_put(h2o_req_t *req)
{
    h2o_iovec_t type = media_type(req);
    char path[PATH_MAX], err[512], *errors = NULL;
    enum lab_result r;
    int uploaded = 0;

    if (h2o_memis(type.base, type.len, H2O_STRLIT("application/json"))) {
        if (named_file(req, path, sizeof(path)) != 0)
            return;
        r = lab_switch(path, &errors);
    } else if (h2o_memis(type.base, type.len, H2O_STRLIT("application/xml")) ||
               h2o_memis(type.base, type.len, H2O_STRLIT("text/xml"))) {
        /* checked in memory first: a document that does not load is never written */
        struct scn_errors errs = {0};
        struct scn *s = scn_load_mem(UPLOAD_NAME, req->entity.base, req->entity.len, &errs);
        if (s == NULL) {
            admin_reply(req, 400,
                        json_pack("{s:s, s:o}", "error",
                                  "invalid scenario; the running one is kept", "errors",
                                  lines_json(errs.text)));
            scn_errors_free(&errs);
            return;
        }
        scn_errors_free(&errs);
        if (save_document(req->entity, path, sizeof(path), err, sizeof(err)) != 0) {
            scn_unref(s);
            admin_error(req, 500, "%s", err);
            return;
        }
        uploaded = 1;
        r = lab_switch_loaded(s, path, &errors);
    } else {
        admin_error(req, 415,
                    "send application/json ({\"name\": ...} or {\"file\": ...}) or a scenario "
                    "document as application/xml");
        return;
    }
    if (r == LAB_OK) {
        log_warnx("admin API: now serving scenario from %s", path);
        if (served_upload[0] != '\0' && strcmp(served_upload, path) != 0)
            unlink(served_upload);
        snprintf(served_upload, sizeof(served_upload), "%s", uploaded ? path : "");
        admin_reply(req, 200, scenario_json());
    } else if (r == LAB_INVALID) {
        admin_reply(req, 400,
                    json_pack("{s:s, s:o}", "error", "invalid scenario; the running one is kept",
                              "errors", lines_json(errors)));
    } else {
        admin_reply(req, 409,
                    json_pack("{s:s, s:o}", "error", "cannot switch; the running scenario is kept",
                              "errors", lines_json(errors)));
    }
    if (r != LAB_OK && uploaded)
        unlink(path);
    free(errors);
}

/* The TLS stacks' and the handshake faults' counters, in the exposition format. */
static h2o_iovec_t tls_text(h2o_mem_pool_t *pool)
{
    static const char *const versions[] = {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"};
    struct tls_stats *st = calloc(1, sizeof(*st));
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);

    if (st == NULL || fp == NULL)
        fatalx("out of memory");
    tls_stats(st);
    fputs("# HELP mrsmock_tls_handshakes_total TLS handshakes completed, by protocol version.\n"
          "# TYPE mrsmock_tls_handshakes_total counter\n",
          fp);
    for (size_t i = 0; i < 4; i++)
        fprintf(fp, "mrsmock_tls_handshakes_total{version=\"%s\"} %llu\n", versions[i],
                (unsigned long long)st->handshakes[i]);
    for (int dir = 0; dir < 2; dir++) {
        const uint64_t *a = dir == 0 ? st->alerts_received : st->alerts_sent;
        const char *name = dir == 0 ? "received" : "sent";
        fprintf(fp,
                "# HELP mrsmock_tls_alerts_%s_total Fatal TLS alerts %s, by description (a "
                "client refusing the certificate sends one).\n"
                "# TYPE mrsmock_tls_alerts_%s_total counter\n",
                name, dir == 0 ? "received from clients" : "sent to clients", name);
        for (unsigned i = 0; i < 256; i++) {
            const char *alert = scn_alert_name(i);
            if (a[i] == 0)
                continue;
            if (alert != NULL)
                fprintf(fp, "mrsmock_tls_alerts_%s_total{alert=\"%s\"} %llu\n", name, alert,
                        (unsigned long long)a[i]);
            else
                fprintf(fp, "mrsmock_tls_alerts_%s_total{alert=\"%u\"} %llu\n", name, i,
                        (unsigned long long)a[i]);
        }
    }
    fputs("# HELP mrsmock_handshake_faults_total Handshake faults that acted, by action.\n"
          "# TYPE mrsmock_handshake_faults_total counter\n",
          fp);
    for (int a = SCN_HS_NONE + 1; a <= SCN_HS_PLAIN_HTTP; a++)
        if (scn_hs_action_name((enum scn_hs_action)a) != NULL)
            fprintf(fp, "mrsmock_handshake_faults_total{action=\"%s\"} %llu\n",
                    scn_hs_action_name((enum scn_hs_action)a), (unsigned long long)hs_fired(a));
    if (fclose(fp) != 0)
        fatalx("out of memory");
    free(st);
    h2o_iovec_t out = h2o_strdup(pool, buf, len);
    free(buf);
    return out;
}

static void on_metrics(h2o_req_t *req)
{
    size_t len = 0;
    char *text = metrics_render(&len, journal_written(), journal_dropped(),
                                (uint64_t)(time(NULL) - admin_env.started));
    h2o_iovec_t out = h2o_concat(&req->pool, h2o_iovec_init(text, len), tls_text(&req->pool));

    free(text);
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, "Content-Type",
                   H2O_STRLIT("text/plain; version=0.0.4; charset=utf-8"));
    req->res.content_length = out.len;
    h2o_send_inline(req, out.base, out.len);
}

static void on_reset(h2o_req_t *req)
{
    char *errors = NULL;

    journal_reset();
    metrics_reset();
    if (lab_reset(&errors) != LAB_OK) {
        admin_reply(req, 500,
                    json_pack("{s:s, s:o}", "error", "reset failed", "errors", lines_json(errors)));
    } else {
        admin_reply(req, 200, json_pack("{s:s}", "status", "reset"));
    }
    free(errors);
}

/* --- the journal ---------------------------------------------------------------------------- */

/* What a GET /requests or /requests/wait asks for. */
struct query {
    struct journal_filter filter;
    size_t limit;
    size_t count;        /* wait: how many must match */
    uint64_t timeout_ms; /* wait */
};

static int parse_uint(h2o_iovec_t v, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long n;

    if (v.len == 0 || v.len > 20 || v.base[0] < '0' || v.base[0] > '9')
        return -1;
    errno = 0;
    n = strtoull(v.base, &end, 10);
    if (errno != 0 || *end != '\0' || n > max)
        return -1;
    *out = n;
    return 0;
}

/* Parses REQ's query into Q; 0, or -1 with REQ answered. WAIT: the wait route's own too. */
static int parse_query(h2o_req_t *req, struct query *q, int wait)
{
    h2o_iovec_t name, value;
    size_t at = 0;
    int r;
    uint64_t n;

    *q = (struct query){.limit = LIST_DEFAULT, .count = 1, .timeout_ms = WAIT_DEFAULT_MS};
    while ((r = admin_query_next(req, &at, &name, &value)) > 0) {
        const char **dst = strcmp(name.base, "server") == 0     ? &q->filter.server
                           : strcmp(name.base, "listener") == 0 ? &q->filter.listener
                           : strcmp(name.base, "host") == 0     ? &q->filter.host
                           : strcmp(name.base, "path") == 0     ? &q->filter.path_prefix
                           : strcmp(name.base, "method") == 0   ? &q->filter.method
                           : strcmp(name.base, "user") == 0     ? &q->filter.user
                                                                : NULL;
        if (dst != NULL) {
            *dst = value.base;
        } else if (strcmp(name.base, "status") == 0 && parse_uint(value, 999, &n) == 0) {
            q->filter.status = (unsigned)n;
        } else if (strcmp(name.base, "since") == 0 && parse_uint(value, UINT64_MAX, &n) == 0) {
            q->filter.since = n;
        } else if (strcmp(name.base, "limit") == 0 && parse_uint(value, LIST_MAX, &n) == 0 &&
                   n != 0) {
            q->limit = (size_t)n;
        } else if (wait && strcmp(name.base, "count") == 0 &&
                   parse_uint(value, LIST_MAX, &n) == 0 && n != 0) {
            q->count = (size_t)n;
        } else if (wait && strcmp(name.base, "timeout") == 0 &&
                   parse_uint(value, WAIT_MAX_MS, &n) == 0) {
            q->timeout_ms = n;
        } else {
            admin_error(req, 400, "bad query parameter \"%s\"", name.base);
            return -1;
        }
    }
    if (r < 0) {
        admin_error(req, 400, "malformed query");
        return -1;
    }
    if (q->limit < q->count)
        q->limit = q->count;
    return 0;
}

/* Answers REQ with the entries Q matches; TIMED_OUT for a wait that ran out. */
static void reply_entries(h2o_req_t *req, const struct query *q, int wait, int timed_out)
{
    size_t cap = q->limit < journal_capacity() ? q->limit : journal_capacity(), total = 0, n;
    struct journal_entry *out = calloc(cap + 1, sizeof(*out));
    uint64_t upto = 0;
    json_t *list = json_array();

    if (out == NULL)
        fatalx("out of memory");
    n = journal_find(&q->filter, out, cap, &total, &upto);
    /* where a next call continues (its since): after the last entry returned when the limit
     * cut the list; else after everything complete when read */
    uint64_t next = n < total ? out[n - 1].id : upto > q->filter.since ? upto : q->filter.since;
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, journal_entry_json(&out[i]));
    free(out);
    json_t *o = json_pack("{s:o, s:I, s:I, s:I}", "requests", list, "total", (json_int_t)total,
                          "dropped", (json_int_t)journal_dropped(), "next_since", (json_int_t)next);
    if (wait)
        json_object_set_new(o, "timed_out", json_boolean(timed_out));
    admin_reply(req, 200, o);
}

static void on_requests(h2o_req_t *req)
{
    struct query q;

    if (parse_query(req, &q, 0) == 0)
        reply_entries(req, &q, 0, 0);
}

/* A long poll: looks again at every tick of the admin loop, counting only what is new. */
struct waiter {
    h2o_timeout_entry_t entry;
    h2o_req_t *req;
    struct query q;
    struct journal_filter fresh; /* the filter with since moved past what was counted */
    size_t matched;
    uint64_t deadline;
};

static void on_waiter_dispose(void *p)
{
    struct waiter *w = p;
    if (h2o_timeout_is_linked(&w->entry))
        h2o_timeout_unlink(&w->entry);
}

/* Counts what matches since the last look; 1 once enough do. */
static int look(struct waiter *w)
{
    size_t total = 0;
    uint64_t upto = w->fresh.since;

    journal_find(&w->fresh, NULL, 0, &total, &upto);
    w->matched += total;
    w->fresh.since = upto;
    return w->matched >= w->q.count;
}

static void on_tick(h2o_timeout_entry_t *entry)
{
    struct waiter *w = H2O_STRUCT_FROM_MEMBER(struct waiter, entry, entry);

    if (look(w)) {
        reply_entries(w->req, &w->q, 1, 0);
    } else if (h2o_now(admin_env.loop) >= w->deadline) {
        reply_entries(w->req, &w->q, 1, 1);
    } else {
        h2o_timeout_link(admin_env.loop, &admin_env.tick, &w->entry);
    }
}

static void on_requests_wait(h2o_req_t *req)
{
    struct waiter *w = h2o_mem_alloc_shared(&req->pool, sizeof(*w), on_waiter_dispose);

    memset(w, 0, sizeof(*w));
    if (parse_query(req, &w->q, 1) != 0)
        return;
    w->req = req;
    w->fresh = w->q.filter;
    w->fresh.complete_only = 1;
    w->entry.cb = on_tick;
    w->deadline = h2o_now(admin_env.loop) + w->q.timeout_ms;
    if (look(w)) {
        reply_entries(req, &w->q, 1, 0);
        return;
    }
    h2o_timeout_link(admin_env.loop, &admin_env.tick, &w->entry);
}

const struct admin_route admin_routes[] = {
    {"GET", "/health", on_health, 0},         {"GET", "/scenario", on_scenario_get, 0},
    {"PUT", "/scenario", on_scenario_put, 0}, {"POST", "/reset", on_reset, 0},
    {"GET", "/requests", on_requests, 0},     {"GET", "/requests/wait", on_requests_wait, 0},
    {"GET", "/metrics", on_metrics, 0},
};
const size_t admin_num_routes = COUNTOF(admin_routes);
