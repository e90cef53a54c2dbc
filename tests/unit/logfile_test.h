/*
 * logfile_test.h — what the logfile tests share: a temporary folder per test, opening
 * logs, reading files back, standard error captured.
 */
#ifndef LOGFILE_TEST_H
#define LOGFILE_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logfile.h"

#define PATTERN "u_ex%y%m%d.log"
#define DAY 86400
#define T0 ((time_t)1722527100)       /* 2024-08-01 15:45:00 UTC */
#define MIDNIGHT ((time_t)1722556800) /* 2024-08-02 00:00:00 UTC */
#define HOURLY "HttpProxy_%Y%m%d%H-1.LOG"
#define HOUR 3600
#define NEXT_HOUR ((time_t)1722528000) /* 2024-08-01 16:00:00 UTC, the hour after T0 */
#define BOM "\xef\xbb\xbf"
#define NTHREADS 4
#define NLINES 2000
#define LINE_MAX_LEN 4096
#define NUMBERED "httperr%n.log"
#define SIZED_HEADER "#Opened: 1722527100 by sized\r\n" /* 30 bytes, the header at T0 */

struct state {
    char tmp[64];   /* the mkdtemp folder, removed in teardown */
    char dir[128];  /* tmp/logs: the log's folder */
    char path[256]; /* scratch for file names */
    struct logf *l; /* closed in teardown */
    char *text;     /* the last file read back */
    size_t len;
    int saved_stderr; /* the real standard error while a test captures it, else -1 */
};

__attribute__((unused)) static int setup(void **pstate)
{
    struct state *st = calloc(1, sizeof(*st));

    if (st == NULL)
        abort();
    st->saved_stderr = -1;
    snprintf(st->tmp, sizeof(st->tmp), "/tmp/test_logfile.XXXXXX");
    if (mkdtemp(st->tmp) == NULL)
        abort();
    snprintf(st->dir, sizeof(st->dir), "%s/logs", st->tmp);
    *pstate = st;
    return 0;
}

__attribute__((unused)) static int rm_one(const char *path, const struct stat *sb, int flag,
                                          struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

__attribute__((unused)) static int teardown(void **pstate)
{
    struct state *st = *pstate;

    if (st->saved_stderr >= 0) {
        dup2(st->saved_stderr, STDERR_FILENO);
        close(st->saved_stderr);
    }
    logf_close(st->l);
    free(st->text);
    nftw(st->tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(st);
    return 0;
}

__attribute__((unused)) static size_t header(char *buf, size_t len, time_t now)
{
    int n = snprintf(buf, len, "#Opened: %lld\n", (long long)now);
    return n < 0 ? 0 : (size_t)n;
}

/* A header with an argument: the spec's arg as a string. */
__attribute__((unused)) static size_t header_arg(char *buf, size_t len, time_t now, const void *arg)
{
    int n = snprintf(buf, len, "#Opened: %lld by %s\r\n", (long long)now, (const char *)arg);
    return n < 0 ? 0 : (size_t)n;
}

/* Opens st->l as an hourly log with header_arg() and PREAMBLE (NULL: none). */
__attribute__((unused)) static void open_hourly(struct state *st, time_t now, const char *preamble)
{
    char err[256] = "", arg[16] = "hplog";
    const struct logf_spec spec = {.pattern = HOURLY,
                                   .period = LOGF_HOURLY,
                                   .header = header_arg,
                                   .arg = arg,
                                   .arg_len = sizeof(arg),
                                   .preamble = preamble};

    st->l = logf_open_spec(st->dir, &spec, now, err, sizeof(err));
    assert_non_null(st->l);
    assert_string_equal(err, "");
    /* the arg was copied: what becomes of the caller's bytes changes nothing */
    memset(arg, 'X', sizeof(arg) - 1);
}

/* Opens st->l as a log of numbered files of MAX bytes at most, with header_arg(). Returns the
 * cause in ERR when the open fails. */
__attribute__((unused)) static struct logf *open_sized(struct state *st, uint64_t max, time_t now)
{
    char err[256] = "", arg[] = "sized";
    const struct logf_spec spec = {.pattern = NUMBERED,
                                   .period = LOGF_SIZE,
                                   .max_bytes = max,
                                   .header = header_arg,
                                   .arg = arg,
                                   .arg_len = sizeof(arg)};

    st->l = logf_open_spec(st->dir, &spec, now, err, sizeof(err));
    if (st->l == NULL)
        fail_msg("%s", err);
    assert_string_equal(err, "");
    return st->l;
}

/* The file NAME of the log folder (or a full path when NAME starts with "/"), read whole into
 * st->text. */
__attribute__((unused)) static const char *slurp(struct state *st, const char *name)
{
    char path[512];
    struct stat sb;
    ssize_t n;
    int fd;

    if (name[0] == '/')
        snprintf(path, sizeof(path), "%s", name);
    else
        snprintf(path, sizeof(path), "%s/%s", st->dir, name);
    free(st->text);
    st->text = NULL;
    fd = open(path, O_RDONLY);
    if (fd < 0)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    assert_int_equal(fstat(fd, &sb), 0);
    st->len = (size_t)sb.st_size;
    if ((st->text = malloc(st->len + 1)) == NULL)
        abort();
    n = read(fd, st->text, st->len);
    close(fd);
    assert_int_equal(n, (ssize_t)st->len);
    st->text[st->len] = '\0';
    return st->text;
}

__attribute__((unused)) static void put(struct state *st, const char *line, time_t now)
{
    logf_write(st->l, line, strlen(line), now);
}

__attribute__((unused)) static void capture_stderr(struct state *st)
{
    char path[256];
    int fd;

    snprintf(path, sizeof(path), "%s/stderr", st->tmp);
    fflush(stderr);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    st->saved_stderr = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

/* Gives standard error back; returns what was written to it meanwhile. */
__attribute__((unused)) static const char *captured(struct state *st)
{
    char path[256];

    dup2(st->saved_stderr, STDERR_FILENO);
    close(st->saved_stderr);
    st->saved_stderr = -1;
    snprintf(path, sizeof(path), "%s/stderr", st->tmp);
    return slurp(st, path);
}

__attribute__((unused)) static size_t count(const char *text, const char *needle)
{
    size_t n = 0;

    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

#endif
