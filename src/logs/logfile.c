/*
 * logfile — one Windows log as a series of per-UTC-day or per-UTC-hour files, written line by
 * line from any thread.
 *
 * The current file is a small immutable struct published through an atomic pointer. A writer
 * loads it and compares its period (day or hour number) with the period of the time it was
 * given. Only the writer that first sees a new period takes the mutex to open that period's file
 * and publish it. The file it replaces is retired rather than closed, because other threads may
 * have loaded the pointer a moment before and still be about to write to it; it is closed at
 * the next rollover, a period later.
 *
 * Worker threads do not write each line: logfile_batch.c gathers a worker's lines and writes
 * them once per turn of its event loop. What reaches the file is written under the log's write
 * lock, in whole lines: when the disk fills in the middle of a write, the file is cut back to
 * its last whole line and the rest given back to the caller (a batch holds it and tries again),
 * so no torn line is ever left for the next one to be glued to. Once a second a writer checks
 * that its file is still there: a file or folder removed under a running server is made again,
 * as IIS does when its log folder is deleted.
 *
 * A log of numbered files (LOGF_SIZE, HTTP.sys's error log) keeps the same shape, with a file's
 * number for its period: each file counts its bytes in an atomic, and a writer first reserves
 * its line's length there. A reservation that fits is written to that file; the first one that
 * does not seals it (every later one fails too, the count being past the limit) and its writer
 * takes the mutex to open the next number. So a line is written whole into the one file that
 * counted it, and a file holds at most its limit, however many threads write at once. Its lines
 * are few (errors only) and are written one by one, never batched.
 */
#include <dirent.h>
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
#include "logfile_int.h"
#include "util.h"

/* How long a failed rollover waits before it is tried again, so that a full or read-only disk
 * costs one attempt (and one warning) a minute instead of the mutex on every line. */
#define LOGF_RETRY_SECS 60
/* Room for the preamble and header lines of any of our formats (the W3C block is about 250
 * bytes, the HttpProxy block about 1,300). */
#define LOGF_HEADER_MAX 4096
#define LOGF_NAME_MAX 256

/* How long a replaced file stays open for writers that may still hold it. */
#define LOGF_GRACE_SECS 60

/* Numbered files (LOGF_SIZE), in their own section below. */
static int size_spec_check(const struct logf_spec *spec, char *err, size_t errlen);
static int make_numbered_path(const struct logf *l, int64_t n, char *buf, size_t len);
static struct logf_file *sized_first(struct logf *l, time_t now, char *err, size_t errlen);
static struct logf_file *sized_file_open(struct logf *l, int64_t n, time_t now, bool always_header,
                                         char *err, size_t errlen);
static void write_sized(struct logf *l, struct logf_file *f, const char *line, size_t len,
                        time_t now);

int64_t logf_slot(const struct logf *l, time_t t)
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

    if (l->max_bytes != 0)
        return make_numbered_path(l, slot, buf, len);
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

/*
 * Writes the LEN bytes at BUF, whole lines, to FD; the caller holds the log's write lock.
 * Regular files only write short when the disk fills (or a signal lands in the middle: then the
 * rest follows at once). When the rest cannot follow, the file is cut back to the last whole
 * line written, so that no fragment is left for the next line to be glued to. Returns the
 * bytes that are in the file, LEN or a prefix ending with a line's "\n", and sets *ERR on a
 * failure.
 */
static size_t write_lines(int fd, const char *buf, size_t len, int *err)
{
    size_t done = 0, keep;
    const char *nl;
    struct stat st;

    while (done < len) {
        ssize_t n = write(fd, buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            *err = n < 0 ? errno : EIO;
            break;
        }
        done += (size_t)n;
    }
    if (done == len)
        return len;
    nl = done == 0 ? NULL : memrchr(buf, '\n', done);
    keep = nl == NULL ? 0 : (size_t)(nl - buf) + 1;
    /* with the lock held, the file ends with what this call wrote */
    if (keep < done && fstat(fd, &st) == 0 && (uint64_t)st.st_size >= done &&
        ftruncate(fd, st.st_size - (off_t)(done - keep)) != 0)
        log_warn("cannot cut a torn line off the end of a log file");
    return keep;
}

/* Under the write lock: the file cannot be written (ERR); once per failure, not per line, so
 * that a full disk does not turn every request into a line on standard error. */
static void write_failed(struct logf *l, const struct logf_file *f, int err)
{
    if (l->failing)
        return;
    l->failing = true;
    log_warnx("cannot write to %s: %s (lines wait, then are given up, until it can be written)",
              f->path, strerror(err));
}

/* Under the write lock: a write went in after a failure. */
static void write_works(struct logf *l, const struct logf_file *f)
{
    l->failing = false;
    if (l->lost == 0)
        log_warnx("writing to %s again; no line lost", f->path);
    else
        log_warnx("writing to %s again; %llu lines lost meanwhile", f->path,
                  (unsigned long long)l->lost);
    l->lost = 0;
}

/* Writes whole lines to F as write_lines() does, under L's write lock, and reports. */
static size_t put(struct logf *l, const struct logf_file *f, const char *buf, size_t len)
{
    int err = 0;
    size_t n;

    pthread_mutex_lock(&l->wlock);
    n = write_lines(f->fd, buf, len, &err);
    if (n < len)
        write_failed(l, f, err);
    else if (l->failing)
        write_works(l, f);
    pthread_mutex_unlock(&l->wlock);
    return n;
}

void logf_lost(struct logf *l, uint64_t lines)
{
    pthread_mutex_lock(&l->wlock);
    l->lost += lines;
    pthread_mutex_unlock(&l->wlock);
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
    if (len == 0)
        return 0;
    int err = 0;
    if (write_lines(f->fd, buf, len, &err) == len)
        return 0;
    errno = err;
    return -1;
}

/*
 * Opens the file of SLOT. ALWAYS_HEADER: write the header whatever the file holds (start-up);
 * otherwise only into an empty file (a rollover). A header that cannot be written is an error
 * at start-up, where the caller can stop, and a warning at a rollover, where nobody can.
 * Returns NULL with a message in ERR.
 */
static struct logf_file *file_open(struct logf *l, int64_t slot, time_t now, bool always_header,
                                   char *err, size_t errlen)
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
    atomic_init(&f->fill, 0);
    f->first = UINT64_MAX;
    f->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    /* the folder was removed under us: made again, as IIS does at its next line */
    if (f->fd < 0 && errno == ENOENT && util_mkdirs(l->dir, 0755) == 0)
        f->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (f->fd < 0) {
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
            int e = errno;
            pthread_mutex_lock(&l->wlock);
            write_failed(l, f, e); /* the lines that follow will fail too: said once */
            pthread_mutex_unlock(&l->wlock);
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
    pthread_mutex_destroy(&l->wlock);
    pthread_mutex_destroy(&l->lock);
    free(l->preamble);
    free(l->old_suffix);
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
    atomic_init(&l->checked, now);
    pthread_mutex_init(&l->lock, NULL);
    pthread_mutex_init(&l->wlock, NULL);
    if (util_mkdirs(dir, 0755) != 0) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        free_log(l);
        return NULL;
    }
    /* IIS and Exchange repeat the header block whenever the service starts, even in the
     * middle of a file's period */
    if (l->max_bytes != 0)
        f = sized_first(l, now, err, errlen);
    else
        f = file_open(l, logf_slot(l, now), now, true, err, errlen);
    if (f == NULL) {
        free_log(l);
        return NULL;
    }
    atomic_init(&l->cur, f);
    logf_batch_register(l);
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
    struct logf *l;

    if (spec->period == LOGF_SIZE && size_spec_check(spec, err, errlen) != 0)
        return NULL;
    if ((l = calloc(1, sizeof(*l))) == NULL)
        abort();
    l->period = spec->period;
    if (spec->period == LOGF_SIZE)
        l->max_bytes = spec->max_bytes;
    if (spec->old_suffix != NULL && (l->old_suffix = strdup(spec->old_suffix)) == NULL)
        abort();
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

/* Under the mutex: makes NF current in place of F, which is retired; closes the files retired
 * long enough ago. */
static void publish(struct logf *l, struct logf_file *f, struct logf_file *nf, time_t now)
{
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
            publish(l, f, nf, now);
            f = nf;
        }
    }
    pthread_mutex_unlock(&l->lock);
    return f;
}

/*
 * F, the current file, unless it has been removed (its last link gone: the file deleted, or its
 * folder), checked once a second: then the file of the same period or number, opened again (its
 * folder made again, its header first) and made current. An administrator who clears a log
 * folder under IIS finds it again with the next lines.
 */
static struct logf_file *check_removed(struct logf *l, struct logf_file *f, time_t now)
{
    struct logf_file *cur, *nf;
    char err[PATH_MAX + 128];
    struct stat st;

    if (atomic_load_explicit(&l->checked, memory_order_relaxed) == now ||
        atomic_exchange(&l->checked, now) == now)
        return f;
    if (fstat(f->fd, &st) != 0 || st.st_nlink != 0)
        return f;
    pthread_mutex_lock(&l->lock);
    cur = atomic_load_explicit(&l->cur, memory_order_relaxed);
    if (cur == f) {
        nf = l->max_bytes != 0 ? sized_file_open(l, f->slot, now, false, err, sizeof(err))
                               : file_open(l, f->slot, now, false, err, sizeof(err));
        if (nf == NULL) {
            log_warnx("%s was removed; %s", f->path, err);
        } else {
            log_warnx("%s was removed; writing to a new one", f->path);
            publish(l, f, nf, now);
            cur = nf;
        }
    }
    pthread_mutex_unlock(&l->lock);
    return cur;
}

size_t logf_emit(struct logf *l, const char *buf, size_t len, int64_t slot, time_t now)
{
    struct logf_file *f = atomic_load_explicit(&l->cur, memory_order_acquire);

    /* a time from an earlier period (a thread that read the clock just before midnight) stays
     * in the current file: IIS never reopens yesterday's file, nor Exchange the last hour's */
    if (slot > f->slot && now >= atomic_load_explicit(&l->retry_at, memory_order_relaxed))
        f = roll(l, slot, now);
    f = check_removed(l, f, now);
    return put(l, f, buf, len);
}

void logf_write(struct logf *l, const char *line, size_t len, time_t now)
{
    int64_t slot;

    if (l->max_bytes != 0) {
        struct logf_file *f = atomic_load_explicit(&l->cur, memory_order_acquire);
        write_sized(l, check_removed(l, f, now), line, len, now);
        return;
    }
    slot = logf_slot(l, now);
    if (l->batched && logf_batch_add(l, line, len, slot, now) == 0)
        return;
    if (logf_emit(l, line, len, slot, now) != len)
        logf_lost(l, 1);
}

void logf_set_batched(struct logf *l)
{
    l->batched = l->max_bytes == 0;
}

const char *logf_path(struct logf *l, time_t now, char *buf, size_t len)
{
    struct logf_file *f = atomic_load_explicit(&l->cur, memory_order_acquire);
    int64_t slot = logf_slot(l, now);

    if (slot < f->slot || l->max_bytes != 0)
        slot = f->slot;
    return make_path(l, slot, buf, len) == 0 ? buf : NULL;
}

void logf_close(struct logf *l)
{
    if (l == NULL)
        return;
    logf_batch_unregister(l); /* what the workers still hold goes in first */
    file_close(atomic_load(&l->cur));
    while (l->retired != NULL) {
        struct logf_file *r = l->retired;
        l->retired = r->next_retired;
        file_close(r);
    }
    free_log(l);
}

/* --- numbered files (LOGF_SIZE) ----------------------------------------------------------- */

/* Splits a LOGF_SIZE pattern around its one "%n"; 0, or -1 when it has none, or another "%". */
static int split_pattern(const char *pattern, size_t *prefix_len, const char **suffix)
{
    const char *n = strstr(pattern, "%n");

    if (n == NULL || memchr(pattern, '%', (size_t)(n - pattern)) != NULL ||
        strchr(n + 2, '%') != NULL)
        return -1;
    *prefix_len = (size_t)(n - pattern);
    *suffix = n + 2;
    return 0;
}

/* A LOGF_SIZE spec is ours, never a client's: a bad one is a bug for the first test to find. */
static int size_spec_check(const struct logf_spec *spec, char *err, size_t errlen)
{
    const char *suffix;
    size_t plen;

    if (spec->old_suffix != NULL) {
        if (spec->pattern == NULL || strchr(spec->pattern, '%') != NULL ||
            spec->old_suffix[0] == '\0' || spec->max_bytes == 0) {
            snprintf(err, errlen,
                     "log file name %s: a renamed log needs a plain name, a suffix "
                     "and a size limit",
                     spec->pattern != NULL ? spec->pattern : "(none)");
            return -1;
        }
        return 0;
    }
    if (spec->pattern == NULL || split_pattern(spec->pattern, &plen, &suffix) != 0) {
        snprintf(err, errlen, "log file name %s: a numbered log needs one %%n and no other %%",
                 spec->pattern != NULL ? spec->pattern : "(none)");
        return -1;
    }
    if (spec->max_bytes == 0) {
        snprintf(err, errlen, "log file name %s: a numbered log needs a size limit", spec->pattern);
        return -1;
    }
    return 0;
}

/* Writes DIR/<pattern with N for %n> into BUF; 0, or -1 with errno when it does not fit. */
static int make_numbered_path(const struct logf *l, int64_t n, char *buf, size_t len)
{
    const char *suffix;
    size_t plen;
    int k;

    if (l->old_suffix != NULL) {
        k = snprintf(buf, len, "%s/%s", l->dir, l->pattern); /* one name, whatever N */
    } else if (split_pattern(l->pattern, &plen, &suffix) != 0) {
        errno = EINVAL; /* checked at open: cannot happen */
        return -1;
    } else {
        k = snprintf(buf, len, "%s/%.*s%lld%s", l->dir, (int)plen, l->pattern, (long long)n,
                     suffix);
    }
    if (k < 0 || (size_t)k >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/* Sets *OUT to the highest number among the files of L's folder that its pattern names (0 for
 * none). A name with a leading zero ("httperr07.log") is not one we would have made: skipped.
 * 0, or -1 with a message in ERR. */
static int highest_number(const struct logf *l, int64_t *out, char *err, size_t errlen)
{
    const char *suffix;
    size_t plen, slen;
    struct dirent *de;
    int64_t best = 0;
    DIR *d;

    if (split_pattern(l->pattern, &plen, &suffix) != 0) {
        snprintf(err, errlen, "log file name %s has no %%n", l->pattern);
        return -1;
    }
    slen = strlen(suffix);
    if ((d = opendir(l->dir)) == NULL) {
        snprintf(err, errlen, "cannot read %s: %s", l->dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        size_t len = strlen(name), i;
        int64_t v = 0;

        if (len <= plen + slen || memcmp(name, l->pattern, plen) != 0 ||
            memcmp(name + len - slen, suffix, slen) != 0 || name[plen] == '0')
            continue;
        for (i = plen; i < len - slen; i++) {
            /* the bound keeps N + 1 far from overflowing */
            if (name[i] < '0' || name[i] > '9' || v > INT32_MAX)
                break;
            v = v * 10 + (name[i] - '0');
        }
        if (i == len - slen && v > best)
            best = v;
    }
    closedir(d);
    *out = best;
    return 0;
}

/* The length of the header lines of a file begun at NOW (the preamble aside). */
static size_t header_len(const struct logf *l, time_t now)
{
    char buf[LOGF_HEADER_MAX];
    size_t n = 0;

    if (l->header != NULL)
        n = l->header(buf, sizeof(buf), now);
    else if (l->header_arg != NULL)
        n = l->header_arg(buf, sizeof(buf), now, l->arg);
    return n > sizeof(buf) ? sizeof(buf) : n;
}

/* Opens file N as file_open() does (ALWAYS_HEADER likewise) and sets its count of bytes. */
static struct logf_file *sized_file_open(struct logf *l, int64_t n, time_t now, bool always_header,
                                         char *err, size_t errlen)
{
    char path[PATH_MAX];
    struct logf_file *f;
    struct stat st;
    bool fresh;

    /* a file that does not exist yet, or is empty, is new: its first line goes in whatever its
     * length, so that a line longer than a file's room cannot roll over for ever */
    fresh = make_path(l, n, path, sizeof(path)) != 0 || stat(path, &st) != 0 || st.st_size == 0;
    if ((f = file_open(l, n, now, always_header, err, errlen)) == NULL)
        return NULL;
    if (fstat(f->fd, &st) != 0) {
        snprintf(err, errlen, "cannot stat %s: %s", f->path, strerror(errno));
        file_close(f);
        return NULL;
    }
    atomic_store_explicit(&f->fill, (uint64_t)st.st_size, memory_order_relaxed);
    f->first = fresh ? (uint64_t)st.st_size : UINT64_MAX;
    return f;
}

/*
 * The file a numbered log starts in: the highest number in the folder, with the header again,
 * if the header still fits it; the next number if not; 1 in an empty folder. HTTP.sys goes on
 * appending to its last file when it starts again: public httperr files hold several header
 * blocks, weeks apart [derived from public samples; not seen in documentation].
 */
/* A renamed log's file is full: to PATH and the suffix, replacing what is there. 0, or -1 with a
 * message in ERR. */
static int rename_old(const struct logf *l, const char *path, char *err, size_t errlen)
{
    char old[PATH_MAX];
    int k = snprintf(old, sizeof(old), "%s%s", path, l->old_suffix);

    if (k < 0 || (size_t)k >= sizeof(old) || rename(path, old) != 0) {
        snprintf(err, errlen, "cannot rename %s to %s%s: %s", path, path, l->old_suffix,
                 k < 0 || (size_t)k >= sizeof(old) ? strerror(ENAMETOOLONG) : strerror(errno));
        return -1;
    }
    return 0;
}

static struct logf_file *sized_first(struct logf *l, time_t now, char *err, size_t errlen)
{
    char path[PATH_MAX];
    struct stat st;
    int64_t n;

    if (l->old_suffix != NULL) {
        /* the one file, renamed first if the next line would not fit; its header only if it
         * is new (the Windows Firewall writes it when it creates the file) */
        if (make_path(l, 1, path, sizeof(path)) == 0 && stat(path, &st) == 0 &&
            S_ISREG(st.st_mode) && (uint64_t)st.st_size >= l->max_bytes &&
            rename_old(l, path, err, errlen) != 0)
            return NULL;
        return sized_file_open(l, 1, now, false, err, errlen);
    }
    if (highest_number(l, &n, err, errlen) != 0)
        return NULL;
    if (n == 0)
        n = 1;
    else if (make_path(l, n, path, sizeof(path)) == 0 && stat(path, &st) == 0 &&
             S_ISREG(st.st_mode) && (uint64_t)st.st_size + header_len(l, now) > l->max_bytes)
        n++;
    return sized_file_open(l, n, now, true, err, errlen);
}

/* Makes the file after F current unless another thread has done it already; returns the file
 * to write to: the current one, or F itself when the next one cannot be opened. */
static struct logf_file *roll_sized(struct logf *l, struct logf_file *f, time_t now)
{
    struct logf_file *cur, *nf;
    char err[PATH_MAX + 128];

    pthread_mutex_lock(&l->lock);
    cur = atomic_load_explicit(&l->cur, memory_order_relaxed);
    if (cur == f && now >= atomic_load(&l->retry_at)) {
        /* a renamed log: writers holding F go on into the renamed file, within its limit */
        if (l->old_suffix != NULL && rename_old(l, f->path, err, sizeof(err)) != 0)
            nf = NULL;
        else
            nf = sized_file_open(l, f->slot + 1, now, false, err, sizeof(err));
        if (nf == NULL) {
            log_warnx("%s; still writing to %s", err, f->path);
            atomic_store(&l->retry_at, now + LOGF_RETRY_SECS);
        } else {
            publish(l, f, nf, now);
            cur = nf;
        }
    }
    pthread_mutex_unlock(&l->lock);
    return cur;
}

/* logf_write() of a numbered log, F the current file as the caller loaded it. */
static void write_sized(struct logf *l, struct logf_file *f, const char *line, size_t len,
                        time_t now)
{
    for (;;) {
        uint64_t at = atomic_fetch_add_explicit(&f->fill, len, memory_order_relaxed);
        struct logf_file *nf;

        if (at + len <= l->max_bytes || at == f->first)
            break;
        /* F is full: the next file, unless it cannot be had (a failure less than a minute ago);
         * then over the limit rather than lose the line */
        if (now < atomic_load_explicit(&l->retry_at, memory_order_relaxed) ||
            (nf = roll_sized(l, f, now)) == f)
            break;
        f = nf;
    }
    if (put(l, f, line, len) != len)
        logf_lost(l, 1);
}

size_t logf_w3c_header(char *buf, size_t len, time_t now, const char *software,
                       const char *fields_line)
{
    struct tm tm;
    int n;

    if (gmtime_r(&now, &tm) == NULL)
        return 0;
    n = snprintf(buf, len,
                 "#Software: %s\r\n"
                 "#Version: 1.0\r\n"
                 "#Date: %04d-%02d-%02d %02d:%02d:%02d\r\n"
                 "%s",
                 software, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, fields_line);
    if (n < 0 || (size_t)n >= len)
        return 0;
    return (size_t)n;
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
