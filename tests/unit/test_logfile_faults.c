/*
 * test_logfile_faults — what goes wrong under a log: folders that cannot be made or opened,
 * write errors said once, a rollover that fails, a full disk (no torn line, lines given up and
 * counted), a folder removed under it; worker batches held until flushed.
 */
#include "logfile_test.h"

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
        cmocka_unit_test_setup_teardown(test_unwritable_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_is_a_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_not_written_at_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_error_warned_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollover_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mkdirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_rollover_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_waits_for_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk_no_torn_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk_lines_given_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed_folder_made_again, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
