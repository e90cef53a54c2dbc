/*
 * admin_logs — the lab's log files through the admin API, for the dashboard's log views: which
 * files there are under <state>/logs (each server's IIS, HTTPERR and HttpProxy logs, each
 * balancer's), and a piece of one, by byte offset, so that a page can tail it.
 *
 * Read on the admin thread only, never on the request path: a piece is at most TAIL_MAX bytes,
 * read with one pread, whatever the file's size.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin_int.h"
#include "log.h"
#include "util.h"

#define TAIL_DEFAULT (64u << 10)
#define TAIL_MAX (1u << 20)
#define FILES_MAX 4096

/* What a file under the logs folder is, by where it lives (README, "The state folder"). */
static const char *kind_of(const char *rel)
{
    if (strstr(rel, "/W3SVC1/") != NULL)
        return "iis";
    if (strstr(rel, "/W3SVC2/") != NULL)
        return "iis-backend";
    if (strstr(rel, "/HTTPERR/") != NULL)
        return "httperr";
    if (strstr(rel, "/HttpProxy/") != NULL)
        return "httpproxy";
    if (strncmp(strrchr(rel, '/') != NULL ? strrchr(rel, '/') + 1 : rel, "haproxy-", 8) == 0)
        return "balancer";
    return "other";
}

static void logs_dir(char *out, size_t len)
{
    snprintf(out, len, "%s/logs", admin_env.state_dir);
}

/* nftw has no user pointer: the walk's state, on the admin thread alone. */
static struct {
    size_t base_len;
    json_t *files;
} walk;

static int on_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    char when[32];
    struct tm tm;
    UNUSED(ftw);

    if (type != FTW_F || !S_ISREG(st->st_mode) || json_array_size(walk.files) >= FILES_MAX)
        return 0;
    const char *rel = path + walk.base_len + 1;
    const char *slash = strchr(rel, '/');
    if (util_gmtime(st->st_mtime, &tm) == NULL)
        snprintf(when, sizeof(when), "-");
    else
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *name = json_string(rel);
    if (name == NULL) /* not UTF-8: not one of ours */
        return 0;
    json_array_append_new(
        walk.files, json_pack("{s:o, s:s%, s:s, s:I, s:s}", "path", name, "source", rel,
                              slash != NULL ? (size_t)(slash - rel) : strlen(rel), "kind",
                              kind_of(rel), "size", (json_int_t)st->st_size, "modified", when));
    return 0;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "path")),
                  json_string_value(json_object_get(*(json_t *const *)b, "path")));
}

static void on_logs(h2o_req_t *req)
{
    char dir[PATH_MAX];
    json_t *files = json_array(), *sorted = json_array();
    size_t n;

    logs_dir(dir, sizeof(dir));
    walk.base_len = strlen(dir);
    walk.files = files;
    if (nftw(dir, on_entry, 16, FTW_PHYS) != 0 && errno != ENOENT) {
        json_decref(files);
        json_decref(sorted);
        admin_error(req, 500, "cannot read the logs folder: %s", strerror(errno));
        return;
    }
    /* in path order, so that a page lists them the same way each time */
    n = json_array_size(files);
    json_t **v = calloc(n + 1, sizeof(*v));
    if (v == NULL)
        fatalx("out of memory");
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(files, i);
    qsort(v, n, sizeof(*v), by_path);
    for (size_t i = 0; i < n; i++)
        json_array_append(sorted, v[i]);
    free(v);
    json_decref(files);
    admin_reply(req, 200, json_pack("{s:s, s:o}", "folder", dir, "files", sorted));
}

/* Whether REL is a plain relative path without "..", "." or empty components. */
static int safe_relative(const char *rel)
{
    if (rel[0] == '\0' || rel[0] == '/')
        return 0;
    for (const char *p = rel; *p != '\0';) {
        const char *e = strchr(p, '/');
        size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        p += n + (e != NULL);
    }
    return 1;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long n;

    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    n = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || n > max)
        return -1;
    *out = n;
    return 0;
}

/* GET /logs/tail?file=REL[&from=OFFSET][&max=BYTES]: from OFFSET (default: the last MAX bytes,
 * from a line's start), at most MAX bytes, cut after the last whole line. */
static void on_tail(h2o_req_t *req)
{
    h2o_iovec_t name, value;
    size_t at = 0;
    int r, fd = -1, have_from = 0;
    const char *file = NULL;
    uint64_t from = 0, max = TAIL_DEFAULT;
    char dir[PATH_MAX], path[PATH_MAX * 2];
    struct stat st;

    while ((r = admin_query_next(req, &at, &name, &value)) > 0) {
        if (strcmp(name.base, "file") == 0)
            file = value.base;
        else if (strcmp(name.base, "from") == 0 && parse_u64(value.base, INT64_MAX, &from) == 0)
            have_from = 1;
        else if (strcmp(name.base, "max") == 0 && parse_u64(value.base, TAIL_MAX, &max) == 0 &&
                 max != 0)
            ;
        else {
            admin_error(req, 400, "bad query parameter \"%s\" (file, from, max up to %u)",
                        name.base, TAIL_MAX);
            return;
        }
    }
    if (r < 0 || file == NULL) {
        admin_error(req, 400, "give file, a path that GET /logs lists");
        return;
    }
    if (!safe_relative(file)) {
        admin_error(req, 400, "file: a relative path under the logs folder, without . or ..");
        return;
    }
    logs_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 || fstat(fd, &st) != 0 ||
        !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        admin_error(req, 404, "no such log file: %s", file);
        return;
    }
    uint64_t size = (uint64_t)st.st_size, start;
    int align = 0;
    if (have_from) {
        start = from > size ? size : from; /* a file rolled over or reset: from its end */
    } else {
        start = size > max ? size - max : 0;
        align = start != 0;
    }
    size_t want = (size_t)(size - start < max ? size - start : max);
    char *buf = h2o_mem_alloc_pool(&req->pool, want + 1);
    ssize_t got = want != 0 ? pread(fd, buf, want, (off_t)start) : 0;
    close(fd);
    if (got < 0) {
        admin_error(req, 500, "cannot read %s: %s", file, strerror(errno));
        return;
    }
    size_t b = 0, e = (size_t)got;
    if (align) { /* from the start of the first whole line */
        while (b < e && buf[b] != '\n')
            b++;
        b += b < e;
    }
    while (e > b && buf[e - 1] != '\n') /* a line being written is left for the next call */
        e--;
    /* W3C and HTTPERR lines are ASCII, HttpProxy's UTF-8: anything else is shown as '?' */
    json_t *text = json_stringn(buf + b, e - b);
    if (text == NULL) {
        for (size_t k = b; k < e; k++)
            if ((unsigned char)buf[k] >= 0x80 || ((unsigned char)buf[k] < 0x20 && buf[k] != '\t' &&
                                                  buf[k] != '\r' && buf[k] != '\n'))
                buf[k] = '?';
        text = json_stringn(buf + b, e - b);
    }
    admin_reply(req, 200,
                json_pack("{s:s, s:I, s:I, s:I, s:o}", "file", file, "size", (json_int_t)size,
                          "from", (json_int_t)(start + b), "next", (json_int_t)(start + e), "text",
                          text));
}

const struct admin_route admin_logs_routes[] = {
    {"GET", "/logs", on_logs, 0},
    {"GET", "/logs/tail", on_tail, 0},
};
const size_t admin_logs_num_routes = COUNTOF(admin_logs_routes);
