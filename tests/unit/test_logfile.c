/*
 * test_logfile — per-day, per-hour and numbered files, headers and preambles, rollover and whole
 * lines from many threads, in a temporary folder under /tmp.
 */
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

static int setup(void **pstate)
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

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **pstate)
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

static size_t header(char *buf, size_t len, time_t now)
{
    int n = snprintf(buf, len, "#Opened: %lld\n", (long long)now);
    return n < 0 ? 0 : (size_t)n;
}

/* A header with an argument: the spec's arg as a string. */
static size_t header_arg(char *buf, size_t len, time_t now, const void *arg)
{
    int n = snprintf(buf, len, "#Opened: %lld by %s\r\n", (long long)now, (const char *)arg);
    return n < 0 ? 0 : (size_t)n;
}

/* Opens st->l as an hourly log with header_arg() and PREAMBLE (NULL: none). */
static void open_hourly(struct state *st, time_t now, const char *preamble)
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
static struct logf *open_sized(struct state *st, uint64_t max, time_t now)
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
static const char *slurp(struct state *st, const char *name)
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

static void put(struct state *st, const char *line, time_t now)
{
    logf_write(st->l, line, strlen(line), now);
}

static void capture_stderr(struct state *st)
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
static const char *captured(struct state *st)
{
    char path[256];

    dup2(st->saved_stderr, STDERR_FILENO);
    close(st->saved_stderr);
    st->saved_stderr = -1;
    snprintf(path, sizeof(path), "%s/stderr", st->tmp);
    return slurp(st, path);
}

static size_t count(const char *text, const char *needle)
{
    size_t n = 0;

    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void test_open_writes_header(void **pstate)
{
    struct state *st = *pstate;
    char err[256] = "";

    st->l = logf_open(st->dir, PATTERN, header, T0, err, sizeof(err));
    assert_non_null(st->l);
    assert_string_equal(err, "");
    assert_string_equal(slurp(st, "u_ex240801.log"), "#Opened: 1722527100\n");
}

static void test_write_appends_whole_lines(void **pstate)
{
    struct state *st = *pstate;
    char err[256];

    st->l = logf_open(st->dir, PATTERN, header, T0, err, sizeof(err));
    assert_non_null(st->l);
    put(st, "first line\r\n", T0 + 1);
    put(st, "second line\r\n", T0 + 2);
    /* LEN is obeyed, the bytes after it are not written */
    logf_write(st->l, "third line\r\nNOT THIS", 12, T0 + 3);
    assert_string_equal(slurp(st, "u_ex240801.log"),
                        "#Opened: 1722527100\nfirst line\r\nsecond line\r\nthird line\r\n");
}

static void test_reopen_repeats_header(void **pstate)
{
    struct state *st = *pstate;
    char err[256];

    st->l = logf_open(st->dir, PATTERN, header, T0, err, sizeof(err));
    assert_non_null(st->l);
    put(st, "before restart\n", T0 + 1);
    logf_close(st->l);
    /* a restart the same day: the header block again, after the existing lines */
    st->l = logf_open(st->dir, PATTERN, header, T0 + 60, err, sizeof(err));
    assert_non_null(st->l);
    put(st, "after restart\n", T0 + 61);
    assert_string_equal(slurp(st, "u_ex240801.log"), "#Opened: 1722527100\nbefore restart\n"
                                                     "#Opened: 1722527160\nafter restart\n");
}

static void test_rollover(void **pstate)
{
    struct state *st = *pstate;
    char err[256];

    st->l = logf_open(st->dir, PATTERN, header, T0, err, sizeof(err));
    assert_non_null(st->l);
    put(st, "today\n", T0);
    put(st, "tomorrow\n", T0 + DAY);
    put(st, "tomorrow again\n", T0 + DAY + 1);
    assert_string_equal(slurp(st, "u_ex240801.log"), "#Opened: 1722527100\ntoday\n");
    assert_string_equal(slurp(st, "u_ex240802.log"),
                        "#Opened: 1722613500\ntomorrow\ntomorrow again\n");
    /* and again: the first file is closed now, the second one still open */
    put(st, "day after\n", T0 + 2 * DAY);
    assert_string_equal(slurp(st, "u_ex240803.log"), "#Opened: 1722699900\nday after\n");
    assert_string_equal(slurp(st, "u_ex240802.log"),
                        "#Opened: 1722613500\ntomorrow\ntomorrow again\n");
}

static void test_earlier_day_goes_to_current_file(void **pstate)
{
    struct state *st = *pstate;
    char err[256];

    st->l = logf_open(st->dir, PATTERN, header, MIDNIGHT - 10, err, sizeof(err));
    assert_non_null(st->l);
    put(st, "before midnight\n", MIDNIGHT - 5);
    put(st, "after midnight\n", MIDNIGHT);
    /* a thread that read the clock just before midnight writes after the rollover */
    put(st, "late\n", MIDNIGHT - 1);
    assert_string_equal(slurp(st, "u_ex240801.log"), "#Opened: 1722556790\nbefore midnight\n");
    assert_string_equal(slurp(st, "u_ex240802.log"), "#Opened: 1722556800\nafter midnight\nlate\n");
}

static void test_rollover_into_existing_file(void **pstate)
{
    struct state *st = *pstate;
    char err[256];
    int fd;

    st->l = logf_open(st->dir, PATTERN, header, T0, err, sizeof(err));
    assert_non_null(st->l);
    /* tomorrow's file exists with lines in it: a rollover adds no header to it */
    snprintf(st->path, sizeof(st->path), "%s/u_ex240802.log", st->dir);
    fd = open(st->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "old\n", 4), 4);
    close(fd);
    put(st, "new\n", T0 + DAY);
    assert_string_equal(slurp(st, "u_ex240802.log"), "old\nnew\n");
}

static void test_path(void **pstate)
{
    struct state *st = *pstate;
    char err[256], expected[256], small[8];

    st->l = logf_open(st->dir, PATTERN, header, T0, err, sizeof(err));
    assert_non_null(st->l);
    snprintf(expected, sizeof(expected), "%s/u_ex240801.log", st->dir);
    assert_string_equal(logf_path(st->l, T0, st->path, sizeof(st->path)), expected);
    snprintf(expected, sizeof(expected), "%s/u_ex240802.log", st->dir);
    assert_string_equal(logf_path(st->l, T0 + DAY, st->path, sizeof(st->path)), expected);
    put(st, "x\n", T0 + DAY);
    /* yesterday's time now names the current file, where such a write goes */
    assert_string_equal(logf_path(st->l, T0, st->path, sizeof(st->path)), expected);
    assert_null(logf_path(st->l, T0, small, sizeof(small)));
}

static void test_daily_ignores_hours(void **pstate)
{
    struct state *st = *pstate;
    char err[256];

    st->l = logf_open(st->dir, PATTERN, header, T0, err, sizeof(err));
    assert_non_null(st->l);
    put(st, "15:45\n", T0);
    put(st, "17:45\n", T0 + 2 * HOUR);
    assert_string_equal(slurp(st, "u_ex240801.log"), "#Opened: 1722527100\n15:45\n17:45\n");
}

static void test_hourly_rollover(void **pstate)
{
    struct state *st = *pstate;

    open_hourly(st, T0, NULL);
    put(st, "15:45\n", T0);
    put(st, "15:59:59\n", NEXT_HOUR - 1);
    put(st, "16:00\n", NEXT_HOUR);
    put(st, "17:00:05\n", NEXT_HOUR + HOUR + 5);
    assert_string_equal(slurp(st, "HttpProxy_2024080115-1.LOG"),
                        "#Opened: 1722527100 by hplog\r\n15:45\n15:59:59\n");
    assert_string_equal(slurp(st, "HttpProxy_2024080116-1.LOG"),
                        "#Opened: 1722528000 by hplog\r\n16:00\n");
    assert_string_equal(slurp(st, "HttpProxy_2024080117-1.LOG"),
                        "#Opened: 1722531605 by hplog\r\n17:00:05\n");
    /* and across midnight, into the next day's first hour */
    put(st, "00:00\n", MIDNIGHT);
    assert_string_equal(slurp(st, "HttpProxy_2024080200-1.LOG"),
                        "#Opened: 1722556800 by hplog\r\n00:00\n");
}

static void test_hourly_earlier_hour_goes_to_current_file(void **pstate)
{
    struct state *st = *pstate;

    open_hourly(st, NEXT_HOUR - 10, NULL);
    put(st, "before\n", NEXT_HOUR - 5);
    put(st, "after\n", NEXT_HOUR);
    put(st, "late\n", NEXT_HOUR - 1);
    assert_string_equal(slurp(st, "HttpProxy_2024080115-1.LOG"),
                        "#Opened: 1722527990 by hplog\r\nbefore\n");
    assert_string_equal(slurp(st, "HttpProxy_2024080116-1.LOG"),
                        "#Opened: 1722528000 by hplog\r\nafter\nlate\n");
}

static void test_hourly_path(void **pstate)
{
    struct state *st = *pstate;
    char expected[256];

    open_hourly(st, T0, NULL);
    snprintf(expected, sizeof(expected), "%s/HttpProxy_2024080115-1.LOG", st->dir);
    assert_string_equal(logf_path(st->l, T0, st->path, sizeof(st->path)), expected);
    snprintf(expected, sizeof(expected), "%s/HttpProxy_2024080116-1.LOG", st->dir);
    assert_string_equal(logf_path(st->l, NEXT_HOUR, st->path, sizeof(st->path)), expected);
}

static void test_preamble_starts_new_files_only(void **pstate)
{
    struct state *st = *pstate;
    int fd;

    open_hourly(st, T0, BOM);
    put(st, "a\n", T0);
    logf_close(st->l);
    /* a restart within the hour: the header again, the byte order mark not */
    open_hourly(st, T0 + 60, BOM);
    put(st, "b\n", T0 + 61);
    assert_string_equal(slurp(st, "HttpProxy_2024080115-1.LOG"),
                        BOM "#Opened: 1722527100 by hplog\r\na\n"
                            "#Opened: 1722527160 by hplog\r\nb\n");
    /* the next hour's new file has both */
    put(st, "c\n", NEXT_HOUR);
    assert_string_equal(slurp(st, "HttpProxy_2024080116-1.LOG"),
                        BOM "#Opened: 1722528000 by hplog\r\nc\n");
    /* a file someone else began: neither, at a rollover */
    snprintf(st->path, sizeof(st->path), "%s/HttpProxy_2024080117-1.LOG", st->dir);
    fd = open(st->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "old\n", 4), 4);
    close(fd);
    put(st, "d\n", NEXT_HOUR + HOUR);
    assert_string_equal(slurp(st, "HttpProxy_2024080117-1.LOG"), "old\nd\n");
}

struct writer {
    struct logf *l;
    pthread_barrier_t *start;
    int id;
    time_t base; /* line I is written at base + I * step */
    time_t step;
};

static size_t line_len(int id, int seq)
{
    return (size_t)((seq * 7919 + id * 131) % 3000);
}

/* "<id> <seq> <time> <len> <len times the letter of the thread>\n" */
static void *on_writer(void *arg)
{
    const struct writer *w = arg;
    char line[LINE_MAX_LEN];
    int seq, n;

    /* all together, so that lines really compete and all threads meet midnight at once */
    pthread_barrier_wait(w->start);
    for (seq = 0; seq < NLINES; seq++) {
        time_t now = w->base + seq * w->step;
        size_t len = line_len(w->id, seq);
        n = snprintf(line, sizeof(line), "%d %d %lld %zu ", w->id, seq, (long long)now, len);
        memset(line + n, 'a' + w->id, len);
        line[(size_t)n + len] = '\n';
        logf_write(w->l, line, (size_t)n + len + 1, now);
    }
    return NULL;
}

static void run_writers(struct logf *l, time_t base, time_t step)
{
    pthread_t th[NTHREADS];
    struct writer w[NTHREADS];
    pthread_barrier_t start;
    int i;

    pthread_barrier_init(&start, NULL, NTHREADS);
    for (i = 0; i < NTHREADS; i++) {
        w[i] = (struct writer){.l = l, .start = &start, .id = i, .base = base, .step = step};
        if (pthread_create(&th[i], NULL, on_writer, &w[i]) != 0)
            abort(); /* the others would wait at the barrier for ever */
    }
    for (i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
}

/*
 * Checks that every line of TEXT after its one header is whole, was written by a writer and is
 * stamped no later than MAX_TIME; marks it in SEEN; returns the number of lines.
 */
static size_t check_lines(const char *text, unsigned char seen[NTHREADS][NLINES], time_t max_time)
{
    const char *p = text, *nl;
    size_t lines = 0, i;

    assert_int_equal(text[0], '#');
    p = strchr(p, '\n') + 1;
    for (; *p != '\0'; p = nl + 1) {
        int id, seq, used;
        long long at;
        size_t len;

        nl = strchr(p, '\n');
        assert_non_null(nl);
        /* no space before %n: it would skip the newline after an empty payload */
        if (sscanf(p, "%d %d %lld %zu%n", &id, &seq, &at, &len, &used) != 4 || p[used] != ' ')
            fail_msg("bad line: %.40s", p);
        used++;
        assert_true(id >= 0 && id < NTHREADS && seq >= 0 && seq < NLINES);
        assert_int_equal(len, line_len(id, seq));
        assert_int_equal(nl - p, used + (ptrdiff_t)len);
        for (i = 0; i < len; i++)
            assert_int_equal(p[used + (ptrdiff_t)i], 'a' + id);
        assert_true(at <= (long long)max_time);
        assert_int_equal(seen[id][seq], 0);
        seen[id][seq] = 1;
        lines++;
    }
    return lines;
}

static void test_threads(void **pstate)
{
    struct state *st = *pstate;
    static unsigned char seen[NTHREADS][NLINES];
    char err[256];

    memset(seen, 0, sizeof(seen));
    st->l = logf_open(st->dir, PATTERN, header, T0, err, sizeof(err));
    assert_non_null(st->l);
    run_writers(st->l, T0, 0);
    slurp(st, "u_ex240801.log");
    assert_int_equal(check_lines(st->text, seen, T0), NTHREADS * NLINES);
    assert_int_equal(count(st->text, "#"), 1);
}

static void test_threads_across_midnight(void **pstate)
{
    struct state *st = *pstate;
    static unsigned char seen[NTHREADS][NLINES];
    char err[256];
    size_t lines;

    memset(seen, 0, sizeof(seen));
    st->l = logf_open(st->dir, PATTERN, header, MIDNIGHT - NLINES, err, sizeof(err));
    assert_non_null(st->l);
    /* each thread crosses midnight halfway through, at its own moment */
    capture_stderr(st);
    run_writers(st->l, MIDNIGHT - NLINES / 2, 1);
    assert_string_equal(captured(st), "");
    /* yesterday's lines may be in either file, today's only in today's; one header each */
    lines = check_lines(slurp(st, "u_ex240801.log"), seen, MIDNIGHT - 1);
    assert_int_equal(count(st->text, "#"), 1);
    lines += check_lines(slurp(st, "u_ex240802.log"), seen, MIDNIGHT + NLINES);
    assert_int_equal(count(st->text, "#"), 1);
    assert_int_equal(lines, NTHREADS * NLINES);
}

static void test_threads_across_the_hour(void **pstate)
{
    struct state *st = *pstate;
    static unsigned char seen[NTHREADS][NLINES];
    size_t lines;

    memset(seen, 0, sizeof(seen));
    open_hourly(st, NEXT_HOUR - NLINES, BOM);
    capture_stderr(st);
    run_writers(st->l, NEXT_HOUR - NLINES / 2, 1);
    assert_string_equal(captured(st), "");
    /* the last hour's lines may be in either file, this hour's only in this hour's; one
     * preamble and one header each */
    slurp(st, "HttpProxy_2024080115-1.LOG");
    assert_memory_equal(st->text, BOM, 3);
    lines = check_lines(st->text + 3, seen, NEXT_HOUR - 1);
    assert_int_equal(count(st->text, "#"), 1);
    slurp(st, "HttpProxy_2024080116-1.LOG");
    assert_memory_equal(st->text, BOM, 3);
    lines += check_lines(st->text + 3, seen, NEXT_HOUR + NLINES);
    assert_int_equal(count(st->text, "#"), 1);
    assert_int_equal(lines, NTHREADS * NLINES);
}

static void test_unwritable_dir(void **pstate)
{
    struct state *st = *pstate;
    char err[512] = "", expected[512];
    int fd;

    snprintf(st->path, sizeof(st->path), "%s/file", st->tmp);
    fd = open(st->path, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    close(fd);
    snprintf(st->dir, sizeof(st->dir), "%s/file/logs", st->tmp);
    assert_null(logf_open(st->dir, PATTERN, header, T0, err, sizeof(err)));
    snprintf(expected, sizeof(expected), "cannot create %s: Not a directory", st->dir);
    assert_string_equal(err, expected);
}

static void test_file_is_a_folder(void **pstate)
{
    struct state *st = *pstate;
    char err[512] = "", expected[512];

    snprintf(st->path, sizeof(st->path), "%s/u_ex240801.log", st->dir);
    assert_int_equal(logf_mkdirs(st->path, 0755), 0);
    assert_null(logf_open(st->dir, PATTERN, header, T0, err, sizeof(err)));
    snprintf(expected, sizeof(expected), "cannot open %s: Is a directory", st->path);
    assert_string_equal(err, expected);
}

static void test_header_not_written_at_open(void **pstate)
{
    char err[256] = "";

    (void)pstate;
    /* /dev/full takes the open and refuses every write */
    assert_null(logf_open("/dev", "full", header, T0, err, sizeof(err)));
    assert_string_equal(err, "cannot write /dev/full: No space left on device");
}

static void test_write_error_warned_once(void **pstate)
{
    struct state *st = *pstate;
    char err[256];

    st->l = logf_open(st->dir, PATTERN, header, T0, err, sizeof(err));
    assert_non_null(st->l);
    /* tomorrow's file is a full disk */
    snprintf(st->path, sizeof(st->path), "%s/u_ex240802.log", st->dir);
    assert_int_equal(symlink("/dev/full", st->path), 0);
    capture_stderr(st);
    put(st, "one\n", T0 + DAY);
    put(st, "two\n", T0 + DAY);
    put(st, "three\n", T0 + DAY + 1);
    captured(st);
    assert_int_equal(count(st->text, "\n"), 1);
    assert_int_equal(count(st->text, "cannot write to "), 1);
    assert_non_null(strstr(st->text, "u_ex240802.log: No space left on device ("));
    assert_string_equal(slurp(st, "u_ex240801.log"), "#Opened: 1722527100\n");
}

static void test_rollover_fails(void **pstate)
{
    struct state *st = *pstate;
    char err[256];

    st->l = logf_open(st->dir, PATTERN, header, T0, err, sizeof(err));
    assert_non_null(st->l);
    /* tomorrow's file cannot be opened: lines stay in today's, one attempt a minute */
    snprintf(st->path, sizeof(st->path), "%s/u_ex240802.log", st->dir);
    assert_int_equal(logf_mkdirs(st->path, 0755), 0);
    capture_stderr(st);
    put(st, "a\n", T0 + DAY);
    put(st, "b\n", T0 + DAY + 30);
    put(st, "c\n", T0 + DAY + 60);
    captured(st);
    assert_int_equal(count(st->text, "cannot open "), 2);
    assert_int_equal(count(st->text, "Is a directory; still writing to "), 2);
    assert_string_equal(slurp(st, "u_ex240801.log"), "#Opened: 1722527100\na\nb\nc\n");
    /* once it can be opened, the rollover happens */
    assert_int_equal(rmdir(st->path), 0);
    put(st, "d\n", T0 + DAY + 120);
    assert_string_equal(slurp(st, "u_ex240802.log"), "#Opened: 1722613620\nd\n");
}

static void test_mkdirs(void **pstate)
{
    struct state *st = *pstate;
    struct stat sb;

    snprintf(st->path, sizeof(st->path), "%s/a//b/c/", st->tmp);
    assert_int_equal(logf_mkdirs(st->path, 0755), 0);
    assert_int_equal(stat(st->path, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    /* again: everything exists already */
    assert_int_equal(logf_mkdirs(st->path, 0755), 0);
    snprintf(st->path, sizeof(st->path), "%s/a/b/c", st->tmp);
    assert_int_equal(logf_mkdirs(st->path, 0755), 0);
    assert_int_equal(logf_mkdirs("", 0755), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(logf_mkdirs("/", 0755), 0);
}

static void test_size_numbered_files(void **pstate)
{
    struct state *st = *pstate;
    char expected[256];

    assert_int_equal(strlen(SIZED_HEADER), 30);
    /* 30 bytes of header and 34 of lines fill a file of 64 exactly */
    open_sized(st, 64, T0);
    put(st, "line 0001\n", T0);
    put(st, "line 0002\n", T0 + 1);
    put(st, "line 0003 ...\n", T0 + 2);
    /* the file is full to the byte: a line of two bytes goes to the next one */
    put(st, "x\n", T0 + 3);
    put(st, "line 0005\n", T0 + 4);
    assert_string_equal(slurp(st, "httperr1.log"),
                        SIZED_HEADER "line 0001\nline 0002\nline 0003 ...\n");
    assert_int_equal(st->len, 64);
    assert_string_equal(slurp(st, "httperr2.log"),
                        "#Opened: 1722527103 by sized\r\nx\nline 0005\n");
    /* the current file, whatever the time asked about */
    snprintf(expected, sizeof(expected), "%s/httperr2.log", st->dir);
    assert_string_equal(logf_path(st->l, T0, st->path, sizeof(st->path)), expected);
    assert_string_equal(logf_path(st->l, T0 + DAY, st->path, sizeof(st->path)), expected);
    /* 42 bytes used: a line of 23 does not fit, the next file takes it */
    put(st, "twenty-three bytes ...\n", T0 + 5);
    assert_string_equal(slurp(st, "httperr2.log"),
                        "#Opened: 1722527103 by sized\r\nx\nline 0005\n");
    assert_string_equal(slurp(st, "httperr3.log"),
                        "#Opened: 1722527105 by sized\r\ntwenty-three bytes ...\n");
    /* and midnight changes nothing: a numbered log ignores the day */
    put(st, "tomorrow\n", T0 + DAY);
    assert_string_equal(slurp(st, "httperr3.log"),
                        "#Opened: 1722527105 by sized\r\ntwenty-three bytes ...\ntomorrow\n");
}

static void test_size_long_line(void **pstate)
{
    struct state *st = *pstate;
    char big[101];

    memset(big, 'B', 99);
    big[99] = '\n';
    big[100] = '\0';
    open_sized(st, 64, T0);
    /* longer than any file's room: alone in a new file rather than rolled over for ever */
    put(st, big, T0);
    put(st, "small\n", T0);
    put(st, big, T0);
    put(st, "last\n", T0);
    slurp(st, "httperr1.log");
    assert_int_equal(st->len, 30 + 100);
    assert_string_equal(st->text + 30, big);
    assert_string_equal(slurp(st, "httperr2.log"), SIZED_HEADER "small\n");
    slurp(st, "httperr3.log");
    assert_int_equal(st->len, 30 + 100);
    assert_string_equal(slurp(st, "httperr4.log"), SIZED_HEADER "last\n");
}

static void test_size_resumes_after_restart(void **pstate)
{
    struct state *st = *pstate;
    char line[16], expected[256];
    int i;

    /* 30 bytes of header and seven lines of 10 in a file of 100 */
    open_sized(st, 100, T0);
    for (i = 1; i <= 16; i++) {
        snprintf(line, sizeof(line), "line %04d\n", i);
        put(st, line, T0);
    }
    assert_string_equal(slurp(st, "httperr3.log"), SIZED_HEADER "line 0015\nline 0016\n");
    logf_close(st->l);
    /* a restart: the last file has room for the header and goes on */
    open_sized(st, 100, T0 + 60);
    put(st, "line 0017\n", T0 + 61);
    put(st, "line 0018\n", T0 + 61);
    assert_string_equal(slurp(st, "httperr3.log"), SIZED_HEADER "line 0015\nline 0016\n"
                                                                "#Opened: 1722527160 by sized\r\n"
                                                                "line 0017\nline 0018\n");
    assert_int_equal(st->len, 100);
    logf_close(st->l);
    /* another: the last file is full, the numbering goes on */
    open_sized(st, 100, T0 + 120);
    snprintf(expected, sizeof(expected), "%s/httperr4.log", st->dir);
    assert_string_equal(logf_path(st->l, T0, st->path, sizeof(st->path)), expected);
    put(st, "line 0019\n", T0 + 121);
    assert_string_equal(slurp(st, "httperr4.log"), "#Opened: 1722527220 by sized\r\nline 0019\n");
    /* nothing else was touched */
    slurp(st, "httperr1.log");
    assert_int_equal(st->len, 100);
    slurp(st, "httperr2.log");
    assert_int_equal(st->len, 100);
}

static void test_size_numbering_from_existing(void **pstate)
{
    struct state *st = *pstate;
    static const char *const names[] = {
        "httperr2.log",      "httperr9.log", "httperr10.log", "httperr011.log", "httperrX.log",
        "httperr12.log.old", "httperr.log",  "other13.log",   "httperr-14.log",
    };
    char expected[256];
    size_t i;
    int fd;

    assert_int_equal(logf_mkdirs(st->dir, 0755), 0);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(st->path, sizeof(st->path), "%s/%s", st->dir, names[i]);
        fd = open(st->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "old\n", 4), 4);
        close(fd);
    }
    /* numbers compare as numbers (10 after 9); names we would not make are not ours */
    open_sized(st, 100, T0);
    snprintf(expected, sizeof(expected), "%s/httperr10.log", st->dir);
    assert_string_equal(logf_path(st->l, T0, st->path, sizeof(st->path)), expected);
    put(st, "new\n", T0);
    assert_string_equal(slurp(st, "httperr10.log"), "old\n" SIZED_HEADER "new\n");
    assert_string_equal(slurp(st, "httperr9.log"), "old\n");
}

static void test_size_bad_spec(void **pstate)
{
    struct state *st = *pstate;
    char err[256] = "";
    struct logf_spec spec = {.pattern = "httperr.log", .period = LOGF_SIZE, .max_bytes = 64};

    assert_null(logf_open_spec(st->dir, &spec, T0, err, sizeof(err)));
    assert_string_equal(err,
                        "log file name httperr.log: a numbered log needs one %n and no other %");
    spec.pattern = "h%n_%y%n.log";
    assert_null(logf_open_spec(st->dir, &spec, T0, err, sizeof(err)));
    spec.pattern = NUMBERED;
    spec.max_bytes = 0;
    assert_null(logf_open_spec(st->dir, &spec, T0, err, sizeof(err)));
    assert_string_equal(err, "log file name httperr%n.log: a numbered log needs a size limit");
    /* nothing was created */
    assert_int_equal(access(st->dir, F_OK), -1);
}

/* A renamed log (the Windows Firewall's): one file, renamed to .old when the next line would
 * not fit, the .old there replaced; its header only into a new file, also at start-up. */
static void test_renamed_log(void **pstate)
{
    struct state *st = *pstate;
    char err[256] = "", arg[] = "sized";
    struct logf_spec spec = {.pattern = "pfirewall.log",
                             .period = LOGF_SIZE,
                             .max_bytes = sizeof(SIZED_HEADER) - 1 + 8,
                             .header = header_arg,
                             .arg = arg,
                             .arg_len = sizeof(arg),
                             .old_suffix = ".old"};

    assert_non_null(st->l = logf_open_spec(st->dir, &spec, T0, err, sizeof(err)));
    put(st, "one\n", T0);
    put(st, "two\n", T0);
    assert_string_equal(slurp(st, "pfirewall.log"), SIZED_HEADER "one\ntwo\n");
    put(st, "three\n", T0);
    assert_string_equal(slurp(st, "pfirewall.log.old"), SIZED_HEADER "one\ntwo\n");
    assert_string_equal(slurp(st, "pfirewall.log"), SIZED_HEADER "three\n");
    put(st, "four\n", T0);
    assert_string_equal(slurp(st, "pfirewall.log.old"), SIZED_HEADER "three\n");
    assert_string_equal(slurp(st, "pfirewall.log"), SIZED_HEADER "four\n");
    /* started again: no second header in a file that has one; a full one is renamed first */
    logf_close(st->l);
    assert_non_null(st->l = logf_open_spec(st->dir, &spec, T0, err, sizeof(err)));
    put(st, "5\n", T0);
    assert_string_equal(slurp(st, "pfirewall.log"), SIZED_HEADER "four\n5\n");
    put(st, "6\n", T0);
    assert_string_equal(slurp(st, "pfirewall.log.old"), SIZED_HEADER "four\n5\n");
    put(st, "abcde\n", T0); /* the file is exactly full now */
    assert_string_equal(slurp(st, "pfirewall.log"), SIZED_HEADER "6\nabcde\n");
    logf_close(st->l);
    assert_non_null(st->l = logf_open_spec(st->dir, &spec, T0, err, sizeof(err)));
    assert_string_equal(slurp(st, "pfirewall.log.old"), SIZED_HEADER "6\nabcde\n");
    assert_string_equal(slurp(st, "pfirewall.log"), SIZED_HEADER);
    /* a pattern with a "%" is refused */
    spec.pattern = "pf%n.log";
    assert_null(logf_open_spec(st->dir, &spec, T0, err, sizeof(err)));
    assert_string_equal(err, "log file name pf%n.log: a renamed log needs a plain name, a suffix "
                             "and a size limit");
}

static void test_size_rollover_fails(void **pstate)
{
    struct state *st = *pstate;

    open_sized(st, 40, T0);
    /* the next file cannot be opened: lines stay in the full one, one attempt a minute */
    snprintf(st->path, sizeof(st->path), "%s/httperr2.log", st->dir);
    assert_int_equal(logf_mkdirs(st->path, 0755), 0);
    put(st, "a.......\n", T0);
    capture_stderr(st);
    put(st, "b\n", T0);
    put(st, "c\n", T0 + 30);
    put(st, "d\n", T0 + 60);
    captured(st);
    assert_int_equal(count(st->text, "cannot open "), 2);
    assert_int_equal(count(st->text, "Is a directory; still writing to "), 2);
    assert_string_equal(slurp(st, "httperr1.log"), SIZED_HEADER "a.......\nb\nc\nd\n");
    /* once it can be opened, the rollover happens */
    assert_int_equal(rmdir(st->path), 0);
    put(st, "e\n", T0 + 120);
    assert_string_equal(slurp(st, "httperr2.log"), "#Opened: 1722527220 by sized\r\ne\n");
}

static void test_size_threads(void **pstate)
{
    struct state *st = *pstate;
    static unsigned char seen[NTHREADS][NLINES];
    const uint64_t max = 64 * 1024;
    size_t lines = 0;
    int n;

    memset(seen, 0, sizeof(seen));
    open_sized(st, max, T0);
    capture_stderr(st);
    run_writers(st->l, T0, 0);
    assert_string_equal(captured(st), "");
    /* files 1, 2, ... without a gap; each begins with its header and holds whole lines only;
     * none passes the limit, and none was begun before the last one was nearly full */
    for (n = 1;; n++) {
        char name[32];
        size_t len;

        snprintf(name, sizeof(name), "httperr%d.log", n);
        snprintf(st->path, sizeof(st->path), "%s/%s", st->dir, name);
        if (access(st->path, F_OK) != 0)
            break;
        slurp(st, name);
        len = st->len;
        lines += check_lines(st->text, seen, T0);
        assert_int_equal(count(st->text, "#"), 1);
        assert_true(len <= max);
        if (lines < NTHREADS * NLINES)
            assert_true(len > max - LINE_MAX_LEN);
    }
    assert_int_equal(lines, NTHREADS * NLINES);
    /* the lines take some 12 MB: many rollovers, each with writers racing */
    assert_true(n > 100);
}

/* --- worker batches, a full disk, a removed folder ------------------------------------------ */

static void test_batch_waits_for_flush(void **pstate)
{
    struct state *st = *pstate;
    char err[256];

    st->l = logf_open(st->dir, PATTERN, header, T0, err, sizeof(err));
    assert_non_null(st->l);
    logf_thread_begin(0);
    /* a log not made batched is written line by line, even by a worker */
    put(st, "zero\n", T0);
    assert_string_equal(slurp(st, "u_ex240801.log"), "#Opened: 1722527100\nzero\n");
    logf_set_batched(st->l);
    put(st, "one\n", T0);
    put(st, "two\n", T0 + 1);
    /* a worker's lines wait for the end of its loop's turn */
    assert_string_equal(slurp(st, "u_ex240801.log"), "#Opened: 1722527100\nzero\n");
    logf_thread_flush();
    assert_string_equal(slurp(st, "u_ex240801.log"), "#Opened: 1722527100\nzero\none\ntwo\n");
    /* lines of a new day go to that day's file, the earlier ones first to theirs */
    put(st, "three\n", T0 + 2);
    put(st, "four\n", MIDNIGHT + 5);
    assert_string_equal(slurp(st, "u_ex240801.log"),
                        "#Opened: 1722527100\nzero\none\ntwo\nthree\n");
    logf_thread_flush();
    assert_string_equal(slurp(st, "u_ex240802.log"), "#Opened: 1722556805\nfour\n");
    /* what is still held when the log closes goes in first */
    put(st, "five\n", MIDNIGHT + 6);
    logf_close(st->l);
    st->l = NULL;
    logf_thread_end();
    assert_string_equal(slurp(st, "u_ex240802.log"), "#Opened: 1722556805\nfour\nfive\n");
}

/* Makes the files this process writes hold at most LIMIT bytes (RLIMIT_FSIZE: the writes past
 * it are cut short, then refused with EFBIG): a disk that fills in the middle of a write. */
static void file_size_limit(rlim_t limit)
{
    struct rlimit r;

    assert_int_equal(getrlimit(RLIMIT_FSIZE, &r), 0);
    r.rlim_cur = limit;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &r), 0);
}

/* The day's file begins with PAD bytes (lines of "#"), so that a file size limit can leave room
 * for standard error's messages, which it limits too. */
static void pad_day_file(struct state *st, size_t pad)
{
    char *buf = malloc(pad);
    int fd;

    assert_non_null(buf);
    memset(buf, '#', pad);
    for (size_t i = 63; i < pad; i += 64)
        buf[i] = '\n';
    buf[pad - 1] = '\n';
    assert_int_equal(logf_mkdirs(st->dir, 0755), 0);
    snprintf(st->path, sizeof(st->path), "%s/u_ex240801.log", st->dir);
    fd = open(st->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, pad), (ssize_t)pad);
    close(fd);
    free(buf);
}

/* Flushes until the day's file is LEN bytes long (a held batch is tried once a second). */
static const char *flush_until(struct state *st, size_t len)
{
    for (int i = 0; i < 300; i++) {
        logf_thread_flush();
        if (strlen(slurp(st, "u_ex240801.log")) >= len)
            break;
        usleep(10000);
    }
    return st->text;
}

static void test_full_disk_no_torn_line(void **pstate)
{
    struct state *st = *pstate;
    char err[256], line[16], want[256] = "#Opened: 1722527100\n";
    const size_t pad = 4096;

    signal(SIGXFSZ, SIG_IGN);
    pad_day_file(st, pad);
    st->l = logf_open(st->dir, PATTERN, header, T0, err, sizeof(err));
    assert_non_null(st->l);
    logf_thread_begin(0);
    logf_set_batched(st->l);
    /* room for the header and three lines and a half */
    file_size_limit(pad + strlen(want) + 3 * 8 + 4);
    capture_stderr(st);
    for (int i = 0; i < 10; i++) {
        snprintf(line, sizeof(line), "line-%02d\n", i);
        put(st, line, T0);
        strcat(want, line);
    }
    logf_thread_flush();
    /* the fourth line did not fit: cut off, not left for the next one to be glued to */
    assert_string_equal(slurp(st, "u_ex240801.log") + pad,
                        "#Opened: 1722527100\nline-00\nline-01\nline-02\n");
    file_size_limit(RLIM_INFINITY);
    /* room again: the held lines follow, each once, in order */
    assert_string_equal(flush_until(st, pad + strlen(want)) + pad, want);
    logf_thread_end();
    captured(st);
    assert_int_equal(count(st->text, "\n"), 2);
    assert_non_null(strstr(st->text, "u_ex240801.log: File too large ("));
    assert_non_null(strstr(st->text, "u_ex240801.log again; no line lost\n"));
    signal(SIGXFSZ, SIG_DFL);
}

static void test_full_disk_lines_given_up(void **pstate)
{
    struct state *st = *pstate;
    char err[256], line[128], msg[128];
    const size_t total = 20000; /* 100-byte lines: 2 MB, twice what a batch holds */
    size_t in_file = 0, lost;
    const size_t pad = 4096;

    signal(SIGXFSZ, SIG_IGN);
    pad_day_file(st, pad);
    st->l = logf_open(st->dir, PATTERN, header, T0, err, sizeof(err));
    assert_non_null(st->l);
    logf_thread_begin(0);
    logf_set_batched(st->l);
    file_size_limit(pad + 64);
    capture_stderr(st);
    for (size_t i = 0; i < total; i++) {
        snprintf(line, sizeof(line), "%-98zu\n", i);
        put(st, line, T0);
    }
    file_size_limit(RLIM_INFINITY);
    for (int i = 0; i < 300 && strstr(captured(st), " again; ") == NULL; i++) {
        capture_stderr(st);
        logf_thread_flush();
        usleep(10000);
    }
    logf_thread_end();
    assert_non_null(strstr(st->text, " lines lost meanwhile\n"));
    lost = strtoul(strstr(st->text, " again; ") + 8, NULL, 10);
    /* the newest lines are kept: what is in the file and what was given up make the whole */
    slurp(st, "u_ex240801.log");
    in_file = count(st->text + pad, "\n") - 1;
    assert_int_equal(in_file + lost, total);
    assert_true(lost > 0 && in_file > 0);
    snprintf(msg, sizeof(msg), "\n%-98zu\n", total - 1);
    assert_non_null(strstr(st->text, msg));
    signal(SIGXFSZ, SIG_DFL);
}

static void test_removed_folder_made_again(void **pstate)
{
    struct state *st = *pstate;
    char err[256];

    st->l = logf_open(st->dir, PATTERN, header, T0, err, sizeof(err));
    assert_non_null(st->l);
    put(st, "one\n", T0);
    /* an administrator clears the log folder under the running server */
    assert_int_equal(nftw(st->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
    capture_stderr(st);
    put(st, "two\n", T0 + 1);
    put(st, "three\n", T0 + 2);
    captured(st);
    assert_int_equal(count(st->text, "\n"), 1);
    assert_non_null(strstr(st->text, "u_ex240801.log was removed; writing to a new one\n"));
    assert_string_equal(slurp(st, "u_ex240801.log"), "#Opened: 1722527101\ntwo\nthree\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_writes_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_appends_whole_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_repeats_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_earlier_day_goes_to_current_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollover_into_existing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_across_midnight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_daily_ignores_hours, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hourly_rollover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hourly_earlier_hour_goes_to_current_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hourly_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_preamble_starts_new_files_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_across_the_hour, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_is_a_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_not_written_at_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_error_warned_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollover_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mkdirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_numbered_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_long_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_resumes_after_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_numbering_from_existing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_bad_spec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_rollover_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_waits_for_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk_no_torn_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk_lines_given_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed_folder_made_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renamed_log, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
