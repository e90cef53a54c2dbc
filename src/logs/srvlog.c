/*
 * srvlog — each server's log files, opened once and shared by the generations that use them.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httperr.h"
#include "log.h"
#include "logfile.h"
#include "srvlog.h"
#include "w3c.h"

/* The kinds of file a server has, as the registry tells them apart. */
enum kind {
    KIND_W3C,
    KIND_W3C_BACKEND, /* 2013+: the Exchange Back End site, W3SVC2 */
    KIND_HTTPERR,
    KIND_HPLOG, /* + protocol */
};

/* One open file and the generations' references to it. */
struct shared {
    struct shared *next;
    int kind;
    char *server;
    unsigned build[4]; /* HttpProxy only: the version its header names */
    struct logf *log;
    unsigned refs;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct shared *files;

static struct shared *find(int kind, const char *server, const unsigned build[4])
{
    for (struct shared *s = files; s != NULL; s = s->next)
        if (s->kind == kind && strcmp(s->server, server) == 0 &&
            (build == NULL || memcmp(s->build, build, sizeof(s->build)) == 0))
            return s;
    return NULL;
}

/* The file of KIND for SV, opened when no generation has it yet; NULL with a cause in ERR.
 * Called with the lock held. */
static struct logf *take(const char *logs_dir, int kind, const struct scn_server *sv, char *err,
                         size_t errlen)
{
    const unsigned *build = kind >= KIND_HPLOG ? sv->build : NULL;
    struct shared *s = find(kind, sv->name, build);
    char dir[4096];
    struct logf *l;

    if (s != NULL) {
        s->refs++;
        return s->log;
    }
    if (kind == KIND_W3C || kind == KIND_W3C_BACKEND)
        l = logf_open(w3c_site_dir(dir, sizeof(dir), logs_dir, sv->name, kind == KIND_W3C ? 1 : 2),
                      "u_ex%y%m%d.log", w3c_header, time(NULL), err, errlen);
    else if (kind == KIND_HTTPERR)
        l = httperr_open(logs_dir, sv->name, time(NULL), err, errlen);
    else
        l = hplog_open(logs_dir, sv->name, sv->build, (enum hplog_protocol)(kind - KIND_HPLOG),
                       time(NULL), err, errlen);
    if (l == NULL)
        return NULL;
    if (kind != KIND_HTTPERR)
        logf_set_batched(l); /* a line per request: written a turn of the loop at a time */
    if ((s = calloc(1, sizeof(*s))) == NULL || (s->server = strdup(sv->name)) == NULL)
        fatalx("out of memory");
    s->kind = kind;
    if (build != NULL)
        memcpy(s->build, build, sizeof(s->build));
    s->log = l;
    s->refs = 1;
    s->next = files;
    files = s;
    return l;
}

/* Drops a reference on the file L; called with the lock held. */
static void give(struct logf *l)
{
    for (struct shared **p = &files; l != NULL && *p != NULL; p = &(*p)->next) {
        struct shared *s = *p;
        if (s->log != l)
            continue;
        if (--s->refs == 0) {
            *p = s->next;
            logf_close(s->log);
            free(s->server);
            free(s);
        }
        return;
    }
}

static void close_locked(struct srvlog *l)
{
    give(l->w3c);
    give(l->w3c_backend);
    give(atomic_load(&l->httperr));
    for (int p = 0; p < HPLOG_NPROTOCOLS; p++)
        give(l->hplog[p]);
    free(l->logs_dir);
    free(l->server);
    free(l);
}

struct srvlog *srvlog_open(const char *logs_dir, const struct scn_server *sv, char *err,
                           size_t errlen)
{
    struct srvlog *l = calloc(1, sizeof(*l));

    if (l == NULL || (l->logs_dir = strdup(logs_dir)) == NULL ||
        (l->server = strdup(sv->name)) == NULL)
        fatalx("out of memory");
    pthread_mutex_lock(&lock);
    if ((l->w3c = take(logs_dir, KIND_W3C, sv, err, errlen)) == NULL)
        goto fail;
    /* Exchange 2010 has no front end, hence no back end site, no HttpProxy module and no such
     * logs */
    if (sv->version >= SCN_V2013 &&
        (l->w3c_backend = take(logs_dir, KIND_W3C_BACKEND, sv, err, errlen)) == NULL)
        goto fail;
    for (int p = 0; sv->version >= SCN_V2013 && p < HPLOG_NPROTOCOLS; p++)
        if ((l->hplog[p] = take(logs_dir, KIND_HPLOG + p, sv, err, errlen)) == NULL)
            goto fail;
    pthread_mutex_unlock(&lock);
    return l;

fail:
    close_locked(l);
    pthread_mutex_unlock(&lock);
    return NULL;
}

struct logf *srvlog_httperr(struct srvlog *l)
{
    struct logf *h = atomic_load(&l->httperr);
    char err[512];

    if (h != NULL || atomic_load(&l->httperr_failed))
        return h;
    pthread_mutex_lock(&lock);
    if ((h = atomic_load(&l->httperr)) == NULL) {
        /* only the name matters to the registry for this kind */
        struct scn_server sv = {.name = l->server};
        if ((h = take(l->logs_dir, KIND_HTTPERR, &sv, err, sizeof(err))) == NULL) {
            log_warnx("%s (no HTTPERR lines for %s until a reload)", err, l->server);
            atomic_store(&l->httperr_failed, 1);
        } else
            atomic_store(&l->httperr, h);
    }
    pthread_mutex_unlock(&lock);
    return h;
}

void srvlog_close(struct srvlog *l)
{
    if (l == NULL)
        return;
    pthread_mutex_lock(&lock);
    close_locked(l);
    pthread_mutex_unlock(&lock);
}
