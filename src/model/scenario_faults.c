/*
 * scenario_faults — fault rules (<faults seed> with its <fault> elements): what the model does
 * not describe, injected at a named stage of a request. Their vocabularies, their defaults and
 * the checks that need the rest of the scenario (the listener and server they name, a body
 * file to read).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scenario_int.h"
#include "util.h"

#define FAULT_BODY_MAX (1u << 20) /* bytes of a body file */

const struct scn_enum scn_fault_stages[] = {
    {"urlfilter", 0}, {"publish", 1}, {"balancer", 2}, {"route", 3},    {"httpsys", 4}, {"ssl", 5},
    {"auth", 6},      {"limits", 7},  {"frontend", 8}, {"endpoint", 9}, {NULL, 0}};

const struct scn_enum scn_fault_actions[] = {{"status", SCN_FAULT_STATUS},
                                             {"delay", SCN_FAULT_DELAY},
                                             {"reset", SCN_FAULT_RESET},
                                             {"close", SCN_FAULT_CLOSE},
                                             {"hang", SCN_FAULT_HANG},
                                             {"truncate", SCN_FAULT_TRUNCATE},
                                             {"bad-length", SCN_FAULT_BAD_LENGTH},
                                             {"drip", SCN_FAULT_DRIP},
                                             {NULL, 0}};

const struct scn_enum scn_fault_bys[] = {{"device", SCN_FAULT_BY_DEVICE},
                                         {"iis", SCN_FAULT_BY_IIS},
                                         {"frontend", SCN_FAULT_BY_FRONTEND},
                                         {"backend", SCN_FAULT_BY_BACKEND},
                                         {NULL, 0}};

const char *scn_stage_name(int stage)
{
    return stage >= 0 && stage < (int)COUNTOF(scn_fault_stages) - 1 ? scn_fault_stages[stage].name
                                                                    : NULL;
}

const char *scn_fault_action_name(enum scn_fault_action a)
{
    for (const struct scn_enum *e = scn_fault_actions; e->name != NULL; e++)
        if (e->value == (int)a)
            return e->name;
    return "?";
}

/* Reads the body file NAME, relative to the folder of FROM (the file that names it), into the
 * scenario's pool. 0, or -1 with the problem reported at AT. */
static int read_body(struct scn *s, struct scn_fault *f, const char *name, const char *from,
                     const struct scn_where *at, struct scn_errors *errs)
{
    char path[PATH_MAX];
    const char *slash = strrchr(from, '/');
    struct stat st;
    int fd, n;
    ssize_t got;
    char *buf;

    if (name[0] == '/' || slash == NULL)
        n = snprintf(path, sizeof(path), "%s", name);
    else
        n = snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - from), from, name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        scn_error(errs, at, "fault \"%s\": body-file \"%s\": name too long", f->name, name);
        return -1;
    }
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0 ||
        !S_ISREG(st.st_mode) || st.st_size > FAULT_BODY_MAX) {
        int e = fd < 0 ? errno : st.st_size > FAULT_BODY_MAX ? EFBIG : EINVAL;
        if (fd >= 0)
            close(fd);
        scn_error(errs, at, "fault \"%s\": cannot read body-file %s: %s", f->name, path,
                  e == EFBIG    ? "larger than 1 MiB"
                  : e == EINVAL ? "not a regular file"
                                : strerror(e));
        return -1;
    }
    buf = h2o_mem_alloc_pool(&s->pool, (size_t)st.st_size + 1);
    got = read(fd, buf, (size_t)st.st_size);
    close(fd);
    if (got != st.st_size) {
        scn_error(errs, at, "fault \"%s\": cannot read body-file %s", f->name, path);
        return -1;
    }
    buf[got] = '\0';
    f->body = buf;
    f->body_len = (size_t)got;
    return 0;
}

static int has_listener(const struct scn *s, const char *name)
{
    for (size_t i = 0; i < s->num_listeners; i++)
        if (strcasecmp(s->listeners[i].name, name) == 0)
            return 1;
    return 0;
}

static void check_when(struct scn *s, const struct scn_d_fault *df, struct scn_fault *f,
                       struct scn_errors *errs)
{
    struct scn_fault_when *w = &f->when;
    const struct scn_mark *m = &df->when;

    if (scn_unset(m, SCN_A_WHEN_PERCENT))
        w->percent = 100;
    if (w->listener != NULL && !has_listener(s, w->listener))
        scn_error(errs, scn_where_attr(m, SCN_A_WHEN_LISTENER), "fault \"%s\": no listener \"%s\"",
                  f->name, w->listener);
    if (w->server != NULL && scn_server_by_name(s, w->server) == NULL)
        scn_error(errs, scn_where_attr(m, SCN_A_WHEN_SERVER), "fault \"%s\": no server \"%s\"",
                  f->name, w->server);
    if (w->path != NULL && w->path[0] != '/')
        scn_error(errs, scn_where_attr(m, SCN_A_WHEN_PATH),
                  "fault \"%s\": path \"%s\" must start with \"/\"", f->name, w->path);
    if (w->header != NULL && (w->header[0] == ':' || strpbrk(w->header, "\r\n") != NULL))
        scn_error(errs, scn_where_attr(m, SCN_A_WHEN_HEADER),
                  "fault \"%s\": header \"%s\": expected \"Name\" or \"Name: text\"", f->name,
                  w->header);
    if (w->to != 0 && w->to < w->from)
        scn_error(errs, scn_where_attr(m, SCN_A_WHEN_TO),
                  "fault \"%s\": to=\"%u\" comes before from=\"%u\"", f->name, w->to, w->from);
    if (w->before_ms != 0 && w->before_ms <= w->after_ms)
        scn_error(errs, scn_where_attr(m, SCN_A_WHEN_BEFORE),
                  "fault \"%s\": before must be later than after", f->name);
    if (w->nth != 0 && (w->every != 0 || w->from != 0 || w->to != 0))
        scn_error(errs, scn_where_attr(m, SCN_A_WHEN_NTH),
                  "fault \"%s\": nth picks one request: it goes with neither every nor from/to",
                  f->name);
}

static void build_one(struct scn *s, struct scn_d_fault *df, struct scn_fault *f,
                      struct scn_errors *errs)
{
    const struct scn_mark *m = &df->m;

    *f = df->v;
    f->at = m->at;
    if (scn_unset(m, SCN_A_FAULT_STAGE) && m->attr[SCN_A_FAULT_STAGE].line == 0)
        scn_error(errs, &m->at, "fault \"%s\": missing required attribute \"stage\"", f->name);
    if (scn_unset(m, SCN_A_FAULT_ACTION) && m->attr[SCN_A_FAULT_ACTION].line == 0)
        scn_error(errs, &m->at, "fault \"%s\": missing required attribute \"action\"", f->name);
    if (f->action == SCN_FAULT_STATUS && scn_unset(m, SCN_A_FAULT_STATUS) &&
        m->attr[SCN_A_FAULT_STATUS].line == 0)
        scn_error(errs, &m->at, "fault \"%s\": action \"status\" needs a status", f->name);
    if (f->action == SCN_FAULT_DELAY && f->delay_ms == 0 && !m->bad[SCN_A_FAULT_DELAY])
        scn_error(errs, &m->at, "fault \"%s\": action \"delay\" needs a delay", f->name);
    if (scn_unset(m, SCN_A_FAULT_BYTES))
        f->bytes = f->action == SCN_FAULT_BAD_LENGTH ? 100
                   : f->action == SCN_FAULT_DRIP     ? 1
                                                     : UINT_MAX; /* UINT_MAX: half */
    if (f->action == SCN_FAULT_DRIP && scn_unset(m, SCN_A_FAULT_DELAY))
        f->delay_ms = 1000;
    if (f->action == SCN_FAULT_DRIP && f->bytes == 0)
        scn_error(errs, scn_where_attr(m, SCN_A_FAULT_BYTES),
                  "fault \"%s\": action \"drip\" sends at least one byte a piece", f->name);
    if (f->body == NULL)
        f->body = "";
    f->body_len = strlen(f->body);
    if (df->body_file != NULL) {
        if (m->attr[SCN_A_FAULT_BODY].line != 0)
            scn_error(errs, scn_where_attr(m, SCN_A_FAULT_BODY_FILE),
                      "fault \"%s\": body and body-file: give one", f->name);
        else
            read_body(s, f, df->body_file, m->attr[SCN_A_FAULT_BODY_FILE].file,
                      scn_where_attr(m, SCN_A_FAULT_BODY_FILE), errs);
    }
    const char **h = h2o_mem_alloc_pool(&s->pool, (2 * df->headers.size + 1) * sizeof(*h));
    for (size_t i = 0; i < df->headers.size; i++) {
        struct scn_d_fheader *dh = df->headers.entries[i];
        h[2 * i] = dh->name;
        h[2 * i + 1] = dh->value != NULL ? dh->value : "";
        if (strpbrk(dh->name, " \t:\r\n") != NULL || strpbrk(h[2 * i + 1], "\r\n") != NULL)
            scn_error(errs, &dh->m.at, "fault \"%s\": header \"%s\": not a header name and value",
                      f->name, dh->name);
    }
    h[2 * df->headers.size] = NULL;
    f->headers = h;
    check_when(s, df, f, errs);
}

void scn_build_faults(struct scn *s, struct scn_draft *d, struct scn_errors *errs)
{
    s->fault_seed = d->fault_seed;
    s->num_faults = d->faults.size;
    s->faults = h2o_mem_alloc_pool(&s->pool, (s->num_faults + 1) * sizeof(*s->faults));
    for (size_t i = 0; i < s->num_faults; i++)
        build_one(s, d->faults.entries[i], &s->faults[i], errs);
}
