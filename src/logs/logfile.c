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
 *
 * A log of numbered files (LOGF_SIZE, HTTP.sys's error log) keeps the same shape, with a file's
 * number for its period: each file counts its bytes in an atomic, and a writer first reserves
 * its line's length there. A reservation that fits is written to that file; the first one that
 * does not seals it (every later one fails too, the count being past the limit) and its writer
 * takes the mutex to open the next number. So a line is written whole into the one file that
 * counted it, and a file holds at most its limit, however many threads write at once.
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

/* One period's file. Immutable once published, except for the warned flag and the count of a
 * numbered file. */
struct logf_file {
    int fd;
    /* UTC period number: seconds since the epoch / period, rounded down; LOGF_SIZE: the file's
     * number */
    int64_t slot;
    _Atomic(uint64_t) fill;         /* LOGF_SIZE: bytes in the file or reserved by writers */
    uint64_t first;                 /* LOGF_SIZE: FILL of a new file after its header, where a line
                                       that fits no file goes all the same; UINT64_MAX: none */
    struct logf_file *next_retired; /* the retired list (under the mutex) */
    time_t retired_at;              /* when it was replaced, by the clock of the write */
    atomic_bool warned;             /* a write error on this file has been reported */
    char path[];
};

struct logf {
    char *dir;
    char *pattern;
    int64_t period;                /* seconds: LOGF_DAILY or LOGF_HOURLY (unused by size) */
    uint64_t max_bytes;            /* LOGF_SIZE: a file's limit; 0: a log by period */
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

/* Numbered files (LOGF_SIZE), in their own section below. */
static int size_spec_check(const struct logf_spec *spec, char *err, size_t errlen);
static int make_numbered_path(const struct logf *l, int64_t n, char *buf, size_t len);
static struct logf_file *sized_first(struct logf *l, time_t now, char *err, size_t errlen);
static void write_sized(struct logf *l, struct logf_file *f, const char *line, size_t len,
                        time_t now);

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
    atomic_init(&f->fill, 0);
    f->first = UINT64_MAX;
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
    if (l->max_bytes != 0)
        f = sized_first(l, now, err, errlen);
    else
        f = file_open(l, slot_of(l, now), now, true, err, errlen);
    if (f == NULL) {
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
    struct logf *l;

    if (spec->period == LOGF_SIZE && size_spec_check(spec, err, errlen) != 0)
        return NULL;
    if ((l = calloc(1, sizeof(*l))) == NULL)
        abort();
    l->period = spec->period;
    if (spec->period == LOGF_SIZE)
        l->max_bytes = spec->max_bytes;
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

void logf_write(struct logf *l, const char *line, size_t len, time_t now)
{
    struct logf_file *f = atomic_load_explicit(&l->cur, memory_order_acquire);
    int64_t slot = slot_of(l, now);

    if (l->max_bytes != 0) {
        write_sized(l, f, line, len, now);
        return;
    }
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

    if (slot < f->slot || l->max_bytes != 0)
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

    if (split_pattern(l->pattern, &plen, &suffix) != 0) {
        errno = EINVAL; /* checked at open: cannot happen */
        return -1;
    }
    k = snprintf(buf, len, "%s/%.*s%lld%s", l->dir, (int)plen, l->pattern, (long long)n, suffix);
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
static struct logf_file *sized_first(struct logf *l, time_t now, char *err, size_t errlen)
{
    char path[PATH_MAX];
    struct stat st;
    int64_t n;

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
        if ((nf = sized_file_open(l, f->slot + 1, now, false, err, sizeof(err))) == NULL) {
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
    if (write_all(f->fd, line, len) != 0)
        file_warn(f);
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
