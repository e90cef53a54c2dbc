/*
 * test_logfile — per-day, per-hour and numbered files, headers and preambles, rollover and whole
 * lines from many threads, in a temporary folder under /tmp.
 */
#include "logfile_test.h"

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
        cmocka_unit_test_setup_teardown(test_size_numbered_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_long_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_resumes_after_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_numbering_from_existing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_bad_spec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renamed_log, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
