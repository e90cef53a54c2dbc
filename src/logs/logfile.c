/*
 * logfile — one Windows log as a series of per-UTC-day or per-UTC-hour files, written line by
 * line from any thread.
 *
 * The current file is a small immutable struct published through an atomic pointer. A writer
 * loads it, compares its period (day or hour number) with the period of the time it was given
 * and, on the normal path, makes one write(2) on its O_APPEND descriptor: no lock, no buffer.
 * Only the writer that first sees a new period takes the mutex to open that period's file and
 * publish it. The file it replaces is retired rather than closed, because other threads may
 * have loaded the pointer a moment before and still be about to write to it; it is closed at
 * the next rollover, a period later.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "logfile.h"
#include "util.h"

/* How long a failed rollover waits before it is tried again, so that a full or read-only disk
 * costs one attempt (and one warning) a minute instead of the mutex on every line. */
#define LOGF_RETRY_SECS 60
/* Room for the preamble and header lines of any of our formats (the W3C block is about 250
 * bytes, the HttpProxy block about 1,300). */
#define LOGF_HEADER_MAX 4096
#define LOGF_NAME_MAX 256

/* One period's file. Immutable once published, except for the warned flag. */
/* How long a replaced file stays open for writers that may still hold it. */
#define LOGF_GRACE_SECS 60

struct logf_file {
    int fd;
    int64_t slot; /* UTC period number: seconds since the epoch / period, rounded down */
    struct logf_file *next_retired; /* the retired list (under the mutex) */
    time_t retired_at;              /* when it was replaced, by the clock of the write */
    atomic_bool warned;             /* a write error on this file has been reported */
    char path[];
};

struct logf {
    char *dir;
    char *pattern;
    int64_t period;                /* seconds: LOGF_DAILY or LOGF_HOURLY */
    logf_header_cb header;         /* logf_open()'s kind of header, or NULL */
    logf_header_arg_cb header_arg; /* logf_open_spec()'s kind, or NULL */
    void *arg;                     /* our copy of the spec's arg */
    char *preamble;                /* NULL: none */
    _Atomic(struct logf_file *) cur;
    _Atomic(time_t) retry_at; /* no rollover attempt before this time after a failure */
    pthread_mutex_t lock;     /* held only to open and publish a new period's file */
    /*
     * Files replaced by a rollover, kept open for writers that loaded one just before. One is
     * closed at a later rollover only once it has been retired for LOGF_GRACE_SECS: an idle log
     * may roll twice in a moment (the hour of its last line, then now), and the period alone
     * would not protect a writer still holding the first. Usually one file, never many.
     */
    struct logf_file *retired;
};

static int64_t slot_of(const struct logf *l, time_t t)
{
    int64_t d = (int64_t)t / l->period;
    /* round towards minus infinity so that times before 1970 still fall on whole periods */
    if ((int64_t)t % l->period < 0)
        d--;
    return d;
}

/* Writes DIR/<file name of SLOT> into BUF; 0, or -1 with errno when it does not fit. */
static int make_path(const struct logf *l, int64_t slot, char *buf, size_t len)
{
    time_t t = (time_t)(slot * l->period);
    struct tm tm;
    char name[LOGF_NAME_MAX];
    size_t namelen;
    int n;

    if (gmtime_r(&t, &tm) == NULL)
        return -1;
        /* the pattern comes from our own code (u_ex%y%m%d.log...), never from a client */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    namelen = strftime(name, sizeof(name), l->pattern, &tm);
#pragma GCC diagnostic pop
    if (namelen == 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    n = snprintf(buf, len, "%s/%s", l->dir, name);
    if (n < 0 || (size_t)n >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/* One whole write. Regular files only write short when the disk fills or a signal lands in
 * the middle; then the rest follows at once, and another thread's line may in theory come in
 * between — the best that can be done without a lock. 0, or -1 with errno. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static void file_warn(struct logf_file *f)
{
    /* once per file: a full disk must not turn every request into a line on standard error */
    if (!atomic_exchange(&f->warned, true))
        log_warn("cannot write to %s", f->path);
}

static void file_close(struct logf_file *f)
{
    if (f == NULL)
        return;
    close(f->fd);
    free(f);
}

/* The preamble (into an empty file only) and the header lines, in one write. */
static int write_header(const struct logf *l, struct logf_file *f, time_t now, bool empty)
{
    char buf[LOGF_HEADER_MAX];
    size_t len = 0, n = 0;

    if (empty && l->preamble != NULL) {
        len = strlen(l->preamble);
        if (len > sizeof(buf))
            len = sizeof(buf);
        memcpy(buf, l->preamble, len);
    }
    if (l->header != NULL)
        n = l->header(buf + len, sizeof(buf) - len, now);
    else if (l->header_arg != NULL)
        n = l->header_arg(buf + len, sizeof(buf) - len, now, l->arg);
    if (n > sizeof(buf) - len)
        n = sizeof(buf) - len;
    len += n;
    return len == 0 ? 0 : write_all(f->fd, buf, len);
}

/*
 * Opens the file of SLOT. ALWAYS_HEADER: write the header whatever the file holds (start-up);
 * otherwise only into an empty file (a rollover). A header that cannot be written is an error
 * at start-up, where the caller can stop, and a warning at a rollover, where nobody can.
 * Returns NULL with a message in ERR.
 */
static struct logf_file *file_open(const struct logf *l, int64_t slot, time_t now,
                                   bool always_header, char *err, size_t errlen)
{
    char path[PATH_MAX];
    struct logf_file *f = NULL;
    struct stat st;
    size_t plen;

    if (make_path(l, slot, path, sizeof(path)) != 0) {
        snprintf(err, errlen, "cannot make a file name from %s/%s: %s", l->dir, l->pattern,
                 strerror(errno));
        return NULL;
    }
    plen = strlen(path);
    if ((f = malloc(sizeof(*f) + plen + 1)) == NULL)
        abort();
    memcpy(f->path, path, plen + 1);
    f->slot = slot;
    f->next_retired = NULL;
    f->retired_at = 0;
    atomic_init(&f->warned, false);
    if ((f->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        goto fail;
    }
    /* the size tells a new file (preamble and header) from one another process or an earlier
     * run has begun (the header again at start-up only) */
    if (fstat(f->fd, &st) != 0) {
        snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
        goto fail;
    }
    if (!always_header && st.st_size != 0)
        return f;
    if (write_header(l, f, now, st.st_size == 0) != 0) {
        if (!always_header) {
            file_warn(f);
            return f;
        }
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        goto fail;
    }
    return f;

fail:
    if (f->fd >= 0)
        close(f->fd);
    free(f);
    return NULL;
}

int logf_mkdirs(const char *path, unsigned mode)
{
    return util_mkdirs(path, (mode_t)mode);
}

static void free_log(struct logf *l)
{
    pthread_mutex_destroy(&l->lock);
    free(l->preamble);
    free(l->arg);
    free(l->pattern);
    free(l->dir);
    free(l);
}

/* The common part of both open calls: L comes with its period, header and preamble; the rest is
 * set here, DIR created and the first file opened. On failure L is freed and NULL returned. */
static struct logf *open_log(struct logf *l, const char *dir, const char *pattern, time_t now,
                             char *err, size_t errlen)
{
    struct logf_file *f;

    if ((l->dir = strdup(dir)) == NULL || (l->pattern = strdup(pattern)) == NULL)
        abort();
    if (l->period <= 0)
        l->period = LOGF_DAILY;
    atomic_init(&l->retry_at, 0);
    pthread_mutex_init(&l->lock, NULL);
    if (util_mkdirs(dir, 0755) != 0) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        free_log(l);
        return NULL;
    }
    /* IIS and Exchange repeat the header block whenever the service starts, even in the
     * middle of a file's period */
    if ((f = file_open(l, slot_of(l, now), now, true, err, errlen)) == NULL) {
        free_log(l);
        return NULL;
    }
    atomic_init(&l->cur, f);
    return l;
}

struct logf *logf_open(const char *dir, const char *pattern, logf_header_cb header, time_t now,
                       char *err, size_t errlen)
{
    struct logf *l = calloc(1, sizeof(*l));

    if (l == NULL)
        abort();
    l->period = LOGF_DAILY;
    l->header = header;
    return open_log(l, dir, pattern, now, err, errlen);
}

struct logf *logf_open_spec(const char *dir, const struct logf_spec *spec, time_t now, char *err,
                            size_t errlen)
{
    struct logf *l = calloc(1, sizeof(*l));

    if (l == NULL)
        abort();
    l->period = spec->period;
    l->header_arg = spec->header;
    if (spec->arg_len != 0) {
        if ((l->arg = malloc(spec->arg_len)) == NULL)
            abort();
        memcpy(l->arg, spec->arg, spec->arg_len);
    }
    if (spec->preamble != NULL && (l->preamble = strdup(spec->preamble)) == NULL)
        abort();
    return open_log(l, dir, spec->pattern, now, err, errlen);
}

/* Makes the file of SLOT current unless another thread has done it already; returns the file
 * to write to (the old one if the new one cannot be opened). */
static struct logf_file *roll(struct logf *l, int64_t slot, time_t now)
{
    struct logf_file *f, *nf;
    char err[PATH_MAX + 128];

    pthread_mutex_lock(&l->lock);
    f = atomic_load_explicit(&l->cur, memory_order_relaxed);
    if (f->slot < slot && now >= atomic_load(&l->retry_at)) {
        if ((nf = file_open(l, slot, now, false, err, sizeof(err))) == NULL) {
            log_warnx("%s; still writing to %s", err, f->path);
            atomic_store(&l->retry_at, now + LOGF_RETRY_SECS);
        } else {
            struct logf_file **r = &l->retired;
            while (*r != NULL) {
                if (now - (*r)->retired_at >= LOGF_GRACE_SECS) {
                    struct logf_file *old = *r;
                    *r = old->next_retired;
                    file_close(old);
                } else {
                    r = &(*r)->next_retired;
                }
            }
            f->retired_at = now;
            f->next_retired = l->retired;
            l->retired = f;
            atomic_store_explicit(&l->cur, nf, memory_order_release);
            f = nf;
        }
    }
    pthread_mutex_unlock(&l->lock);
    return f;
}

void logf_write(struct logf *l, const char *line, size_t len, time_t now)
{
    struct logf_file *f = atomic_load_explicit(&l->cur, memory_order_acquire);
    int64_t slot = slot_of(l, now);

    /* a time from an earlier period (a thread that read the clock just before midnight) stays
     * in the current file: IIS never reopens yesterday's file, nor Exchange the last hour's */
    if (slot > f->slot && now >= atomic_load_explicit(&l->retry_at, memory_order_relaxed))
        f = roll(l, slot, now);
    if (write_all(f->fd, line, len) != 0)
        file_warn(f);
}

const char *logf_path(struct logf *l, time_t now, char *buf, size_t len)
{
    struct logf_file *f = atomic_load_explicit(&l->cur, memory_order_acquire);
    int64_t slot = slot_of(l, now);

    if (slot < f->slot)
        slot = f->slot;
    return make_path(l, slot, buf, len) == 0 ? buf : NULL;
}

void logf_close(struct logf *l)
{
    if (l == NULL)
        return;
    file_close(atomic_load(&l->cur));
    while (l->retired != NULL) {
        struct logf_file *r = l->retired;
        l->retired = r->next_retired;
        file_close(r);
    }
    free_log(l);
}

char *logf_put_u64(char *p, uint64_t v)
{
    char tmp[20];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}
