/*
 * test_httperr — HTTP.sys error log lines and headers compared with the lines of reference 7.2,
 * KB 820729 and public logs; hostile bytes from a client; the log's folder and first file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "httperr.h"
#include "logfile.h"

#define NFIELDS 13
#define BIG (100 * 1024)
#define T_503 ((time_t)1714645867)  /* 2024-05-02 10:31:07 UTC */
#define T_IDLE ((time_t)1714645992) /* 2024-05-02 10:33:12 UTC */

struct state {
    char *line;   /* HTTPERR_LINE_MAX bytes, on the heap so that ASan sees an overrun */
    char *big;    /* BIG bytes, no NUL */
    char tmp[64]; /* a mkdtemp folder for the file test; "" when none */
    struct logf *l;
    char *text; /* a file read back */
};

struct field {
    const char *base;
    size_t len;
};

static int setup(void **pstate)
{
    struct state *st = calloc(1, sizeof(*st));

    if (st == NULL || (st->line = malloc(HTTPERR_LINE_MAX)) == NULL ||
        (st->big = malloc(BIG)) == NULL)
        abort();
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

    logf_close(st->l);
    if (st->tmp[0] != '\0')
        nftw(st->tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(st->text);
    free(st->big);
    free(st->line);
    free(st);
    return 0;
}

static struct httperr_str str(const char *s)
{
    return (struct httperr_str){.base = s, .len = s == NULL ? 0 : strlen(s)};
}

/* Checks that LINE is one line ending in a single CRLF and splits it on single spaces into
 * OUT; returns the number of fields. */
static size_t split(const char *line, size_t len, struct field *out, size_t max)
{
    size_t i, start = 0, n = 0;

    assert_true(len >= 2);
    assert_true(len <= HTTPERR_LINE_MAX);
    assert_memory_equal(line + len - 2, "\r\n", 2);
    len -= 2;
    assert_null(memchr(line, '\r', len));
    assert_null(memchr(line, '\n', len));
    for (i = 0; i <= len; i++) {
        if (i < len && line[i] != ' ')
            continue;
        assert_true(n < max);
        out[n].base = line + start;
        out[n].len = i - start;
        /* two spaces in a row would make an empty field: HTTP.sys writes "-" instead */
        assert_true(out[n].len > 0);
        n++;
        start = i + 1;
    }
    return n;
}

static void assert_field(const struct field *f, const char *expected)
{
    if (f->len != strlen(expected) || memcmp(f->base, expected, f->len) != 0)
        fail_msg("field \"%.*s\", expected \"%s\"", (int)f->len, f->base, expected);
}

static void assert_fields(const char *line, size_t len, const char *const expected[NFIELDS])
{
    struct field f[NFIELDS + 1];
    size_t i;

    assert_int_equal(split(line, len, f, NFIELDS + 1), NFIELDS);
    for (i = 0; i < NFIELDS; i++)
        assert_field(&f[i], expected[i]);
}

/* Reference 7.2's first example: the MRS Proxy's application pool stopped. */
static struct httperr_entry pool_stopped(void)
{
    return (struct httperr_entry){
        .at = {.tv_sec = T_503, .tv_nsec = 999999999},
        .c_ip = str("52.100.1.20"),
        .c_port = 51544,
        .s_ip = str("10.0.0.5"),
        .s_port = 443,
        .version = str("HTTP/1.1"),
        .method = str("POST"),
        .uri = str("/EWS/mrsproxy.svc"),
        .status = 503,
        .site_id = 1,
        .reason = HTTPERR_REASON_DISABLED,
        .queue_name = str("MSExchangeServicesAppPool"),
    };
}

static void test_header(void **pstate)
{
    struct state *st = *pstate;
    const char *expected = "#Software: Microsoft HTTP API 2.0\r\n"
                           "#Version: 1.0\r\n"
                           "#Date: 2024-05-02 10:31:07\r\n"
                           "#Fields: date time c-ip c-port s-ip s-port cs-version cs-method "
                           "cs-uri sc-status s-siteid s-reason s-queuename\r\n";
    size_t n = httperr_header(st->line, HTTPERR_LINE_MAX, T_503);

    assert_int_equal(n, strlen(expected));
    assert_memory_equal(st->line, expected, n);
    /* a buffer too small gets no header at all rather than part of one */
    assert_int_equal(httperr_header(st->line, 40, T_503), 0);
    assert_int_equal(httperr_header(st->line, strlen(expected), T_503), 0);
    assert_int_equal(httperr_header(st->line, strlen(expected) + 1, T_503), strlen(expected));
}

static void test_pool_stopped_line(void **pstate)
{
    struct state *st = *pstate;
    static const char *const expected[NFIELDS] = {
        "2024-05-02",
        "10:31:07",
        "52.100.1.20",
        "51544",
        "10.0.0.5",
        "443",
        "HTTP/1.1",
        "POST",
        "/EWS/mrsproxy.svc",
        "503",
        "1",
        "Disabled",
        "MSExchangeServicesAppPool",
    };
    const char *whole = "2024-05-02 10:31:07 52.100.1.20 51544 10.0.0.5 443 HTTP/1.1 POST "
                        "/EWS/mrsproxy.svc 503 1 Disabled MSExchangeServicesAppPool\r\n";
    struct httperr_entry e = pool_stopped();
    size_t n = httperr_format(st->line, HTTPERR_LINE_MAX, &e);

    assert_fields(st->line, n, expected);
    assert_int_equal(n, strlen(whole));
    assert_memory_equal(st->line, whole, n);
}

static void test_connection_idle_line(void **pstate)
{
    struct state *st = *pstate;
    static const char *const expected[NFIELDS] = {
        "2024-05-02", "10:33:12", "52.100.1.20",          "51602", "10.0.0.5", "443", "-", "-", "-",
        "-",          "-",        "Timer_ConnectionIdle", "-",
    };
    const char *whole = "2024-05-02 10:33:12 52.100.1.20 51602 10.0.0.5 443 - - - - - "
                        "Timer_ConnectionIdle -\r\n";
    struct httperr_entry e = {
        .at = {.tv_sec = T_IDLE},
        .c_ip = str("52.100.1.20"),
        .c_port = 51602,
        .s_ip = str("10.0.0.5"),
        .s_port = 443,
        .reason = HTTPERR_REASON_TIMER_CONNECTION_IDLE,
    };
    size_t n;

    /* NULL and empty are both "-", whatever the pointer or the length */
    e.version = (struct httperr_str){.base = "ignored", .len = 0};
    e.method = (struct httperr_str){.base = NULL, .len = 4};
    n = httperr_format(st->line, HTTPERR_LINE_MAX, &e);
    assert_fields(st->line, n, expected);
    assert_int_equal(n, strlen(whole));
    assert_memory_equal(st->line, whole, n);
}

/* KB 820729's samples, status without a site and no queue name. */
static void test_kb_samples(void **pstate)
{
    struct state *st = *pstate;
    const char *hostname = "2002-07-05 19:51:59 127.0.0.1 2780 127.0.0.1 80 HTTP/1.1 GET "
                           "/ThisIsMyUrl.htm 400 - Hostname -\r\n";
    const char *version = "2002-07-05 19:53:00 127.0.0.1 2894 127.0.0.1 80 HTTP/2.0 GET / 505 - "
                          "Version_N/S -\r\n";
    struct httperr_entry e = {
        .at = {.tv_sec = 1025898719},
        .c_ip = str("127.0.0.1"),
        .c_port = 2780,
        .s_ip = str("127.0.0.1"),
        .s_port = 80,
        .version = str("HTTP/1.1"),
        .method = str("GET"),
        .uri = str("/ThisIsMyUrl.htm"),
        .status = 400,
        .reason = HTTPERR_REASON_HOSTNAME,
    };
    size_t n = httperr_format(st->line, HTTPERR_LINE_MAX, &e);

    assert_int_equal(n, strlen(hostname));
    assert_memory_equal(st->line, hostname, n);
    e = (struct httperr_entry){
        .at = {.tv_sec = 1025898780},
        .c_ip = str("127.0.0.1"),
        .c_port = 2894,
        .s_ip = str("127.0.0.1"),
        .s_port = 80,
        .version = str("HTTP/2.0"),
        .method = str("GET"),
        .uri = str("/"),
        .status = 505,
        .reason = HTTPERR_REASON_VERSION_N_S,
    };
    n = httperr_format(st->line, HTTPERR_LINE_MAX, &e);
    assert_int_equal(n, strlen(version));
    assert_memory_equal(st->line, version, n);
}

static void test_ipv6(void **pstate)
{
    struct state *st = *pstate;
    /* a public HTTPERR log's line: IPv6 addresses carry their scope id */
    const char *idle = "2012-02-06 13:31:17 2001:4898:0:fff:0:5efe:10.164.167.30%0 54697 "
                       "2001:4898:0:fff:0:5efe:10.85.220.4%0 80 - - - - - Timer_ConnectionIdle "
                       "-\r\n";
    struct httperr_entry e = {
        .at = {.tv_sec = 1328535077},
        .c_ip = str("2001:4898:0:fff:0:5efe:10.164.167.30%0"),
        .c_port = 54697,
        .s_ip = str("2001:4898:0:fff:0:5efe:10.85.220.4%0"),
        .s_port = 80,
        .reason = HTTPERR_REASON_TIMER_CONNECTION_IDLE,
    };
    struct field f[NFIELDS + 1];
    size_t n = httperr_format(st->line, HTTPERR_LINE_MAX, &e);

    assert_int_equal(n, strlen(idle));
    assert_memory_equal(st->line, idle, n);
    /* the longest IPv6 text with a long scope id is whole */
    e = pool_stopped();
    e.c_ip = str("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%4294967295");
    e.s_ip = str("fe80::5d3d:c591:3026:46ee%14");
    n = httperr_format(st->line, HTTPERR_LINE_MAX, &e);
    assert_int_equal(split(st->line, n, f, NFIELDS + 1), NFIELDS);
    assert_field(&f[2], "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%4294967295");
    assert_field(&f[4], "fe80::5d3d:c591:3026:46ee%14");
}

static void test_hostile_method_and_uri(void **pstate)
{
    struct state *st = *pstate;
    static const char method[] = "PO ST\r\n2024-05-02 10:31:07 1.2.3.4\t\x01\x7f";
    static const char uri[] = "/EWS/a b\r\n#Fields: x\n\x00y\x1f?q=1 2";
    static const char *const expected[NFIELDS] = {
        "2024-05-02",
        "10:31:07",
        "52.100.1.20",
        "51544",
        "10.0.0.5",
        "443",
        "HTTP/1.1",
        "PO+ST++2024-05-02+10:31:07+1.2.3.4+++",
        "/EWS/a+b++#Fields:+x++y+?q=1+2",
        "400",
        "-",
        "BadRequest",
        "-",
    };
    struct httperr_entry e = pool_stopped();
    size_t n;

    /* a CRLF followed by a forged line, a TAB, a NUL, DEL, other control bytes */
    e.method = (struct httperr_str){.base = method, .len = sizeof(method) - 1};
    e.uri = (struct httperr_str){.base = uri, .len = sizeof(uri) - 1};
    e.status = 400;
    e.site_id = 0;
    e.reason = HTTPERR_REASON_BAD_REQUEST;
    e.queue_name = str(NULL);
    n = httperr_format(st->line, HTTPERR_LINE_MAX, &e);
    assert_fields(st->line, n, expected);
    /* bytes from 0x80 are kept as they came */
    e.uri = str("/EWS/caf\xc3\xa9");
    n = httperr_format(st->line, HTTPERR_LINE_MAX, &e);
    assert_non_null(strstr(st->line, " /EWS/caf\xc3\xa9 400 "));
}

static void test_long_fields_cut(void **pstate)
{
    struct state *st = *pstate;
    struct httperr_entry e = pool_stopped();
    struct field f[NFIELDS + 1];
    size_t n, i;

    memset(st->big, 'A', BIG);
    e.method = (struct httperr_str){.base = st->big, .len = BIG};
    e.uri = (struct httperr_str){.base = st->big, .len = BIG};
    n = httperr_format(st->line, HTTPERR_LINE_MAX, &e);
    assert_int_equal(split(st->line, n, f, NFIELDS + 1), NFIELDS);
    /* HTTP.sys's own limits: the verb at 255 bytes, the URL and query at 4096 */
    assert_int_equal(f[7].len, 255);
    assert_int_equal(f[8].len, 4096);
    for (i = 0; i < f[8].len; i++)
        assert_int_equal(f[8].base[i], 'A');
    assert_field(&f[9], "503");
    assert_field(&f[12], "MSExchangeServicesAppPool");

    /* every field at its longest, spaces and CRLFs everywhere: still one line that fits */
    for (i = 0; i < BIG; i++)
        st->big[i] = (char)(i % 7 == 0 ? ' ' : i % 11 == 0 ? '\n' : i % 13 == 0 ? '\r' : 'x');
    e.c_ip = e.s_ip = e.version = e.method = e.uri = e.queue_name =
        (struct httperr_str){.base = st->big, .len = BIG};
    e.c_port = e.s_port = e.site_id = UINT32_MAX;
    e.status = 999;
    e.reason = HTTPERR_REASON_CONNECTION_ABANDONED_BY_REQ_QUEUE;
    n = httperr_format(st->line, HTTPERR_LINE_MAX, &e);
    assert_true(n <= HTTPERR_LINE_MAX);
    assert_int_equal(split(st->line, n, f, NFIELDS + 1), NFIELDS);
    assert_field(&f[3], "4294967295");
    assert_field(&f[9], "999");
    assert_field(&f[10], "4294967295");
    assert_field(&f[11], "Connection_Abandoned_By_ReqQueue");

    /* a buffer smaller than the longest line gets no line at all */
    assert_int_equal(httperr_format(st->line, HTTPERR_LINE_MAX - 1, &e), 0);
    assert_int_equal(httperr_format(st->line, 10, &e), 0);
}

static void test_cut_between_utf8_characters(void **pstate)
{
    struct state *st = *pstate;
    struct httperr_entry e = pool_stopped();
    struct field f[NFIELDS + 1];
    size_t n, i, lead;

    /* three-byte characters after 0, 1 or 2 ASCII bytes: the 4096-byte cut moves through each
     * byte of a character */
    for (lead = 0; lead < 3; lead++) {
        memset(st->big, '/', lead);
        for (i = lead; i + 3 <= BIG; i += 3)
            memcpy(st->big + i, "\xe2\x82\xac", 3);
        e.uri = (struct httperr_str){.base = st->big, .len = i};
        n = httperr_format(st->line, HTTPERR_LINE_MAX, &e);
        assert_int_equal(split(st->line, n, f, NFIELDS + 1), NFIELDS);
        assert_true(f[8].len <= 4096 && f[8].len > 4090);
        assert_int_equal((f[8].len - lead) % 3, 0);
        assert_memory_equal(f[8].base + f[8].len - 3, "\xe2\x82\xac", 3);
    }
}

static void test_not_nul_terminated(void **pstate)
{
    struct state *st = *pstate;
    /* exact-size arrays without a NUL: ASan stops any read past the given length */
    static const char method[4] = {'P', 'O', 'S', 'T'};
    static const char uri[6] = {'/', 'E', 'W', 'S', '/', 'x'};
    struct httperr_entry e = pool_stopped();
    struct field f[NFIELDS + 1];
    size_t n;

    e.method = (struct httperr_str){.base = method, .len = sizeof(method)};
    e.uri = (struct httperr_str){.base = uri, .len = 5};
    n = httperr_format(st->line, HTTPERR_LINE_MAX, &e);
    assert_int_equal(split(st->line, n, f, NFIELDS + 1), NFIELDS);
    assert_field(&f[7], "POST");
    assert_field(&f[8], "/EWS/");
}

static void test_status_and_site(void **pstate)
{
    struct state *st = *pstate;
    struct httperr_entry e = pool_stopped();
    struct field f[NFIELDS + 1];
    size_t n;

    e.status = 0;
    e.site_id = 0;
    n = httperr_format(st->line, HTTPERR_LINE_MAX, &e);
    assert_int_equal(split(st->line, n, f, NFIELDS + 1), NFIELDS);
    assert_field(&f[9], "-");
    assert_field(&f[10], "-");
    /* a status above 999 is "not available" */
    e.status = 1000;
    e.site_id = 2;
    n = httperr_format(st->line, HTTPERR_LINE_MAX, &e);
    assert_int_equal(split(st->line, n, f, NFIELDS + 1), NFIELDS);
    assert_field(&f[9], "-");
    assert_field(&f[10], "2");
    /* the time in UTC, the nanoseconds dropped, midnight and a leap year */
    e.at = (struct timespec){.tv_sec = 1709164800, .tv_nsec = 500000000}; /* 2024-02-29 */
    n = httperr_format(st->line, HTTPERR_LINE_MAX, &e);
    assert_int_equal(split(st->line, n, f, NFIELDS + 1), NFIELDS);
    assert_field(&f[0], "2024-02-29");
    assert_field(&f[1], "00:00:00");
}

static void test_reasons_round_trip(void **pstate)
{
    struct state *st = *pstate;
    /* reference 7.2 (KB 820729), in its order */
    static const char *const tokens[] = {
        "AppOffline",
        "AppPoolTimer",
        "AppShutdown",
        "BadRequest",
        "Client_Reset",
        "Connection_Abandoned_By_AppPool",
        "Connection_Abandoned_By_ReqQueue",
        "Connection_Dropped",
        "Connection_Dropped_List_Full",
        "ConnLimit",
        "Connections_Refused",
        "Disabled",
        "EntityTooLarge",
        "FieldLength",
        "Forbidden",
        "Header",
        "Hostname",
        "Internal",
        "Invalid_CR/LF",
        "LengthRequired",
        "N/A",
        "N/I",
        "Number",
        "Precondition",
        "QueueFull",
        "RequestLength",
        "Timer_AppPool",
        "Timer_ConnectionIdle",
        "Timer_EntityBody",
        "Timer_HeaderWait",
        "Timer_MinBytesPerSecond",
        "Timer_ReqQueue",
        "Timer_Response",
        "Timer_SslRenegotiation",
        "URL",
        "URL_Length",
        "Verb",
        "Version_N/S",
    };
    struct httperr_entry e = pool_stopped();
    struct field f[NFIELDS + 1];
    size_t n, i;

    assert_int_equal(sizeof(tokens) / sizeof(tokens[0]), HTTPERR_NREASONS);
    for (i = 0; i < HTTPERR_NREASONS; i++) {
        const char *name = httperr_reason_name((enum httperr_reason)i);

        assert_non_null(name);
        assert_string_equal(name, tokens[i]);
        assert_int_equal(httperr_reason_lookup(tokens[i], strlen(tokens[i])), (int)i);
        e.reason = (enum httperr_reason)i;
        n = httperr_format(st->line, HTTPERR_LINE_MAX, &e);
        assert_int_equal(split(st->line, n, f, NFIELDS + 1), NFIELDS);
        assert_field(&f[11], tokens[i]);
        assert_int_equal(httperr_reason_lookup(f[11].base, f[11].len), (int)i);
    }
    /* exact tokens only: no prefix, no other case, nothing outside the enum */
    assert_int_equal(httperr_reason_lookup("Timer_ConnectionIdl", 19), -1);
    assert_int_equal(httperr_reason_lookup("disabled", 8), -1);
    assert_int_equal(httperr_reason_lookup("NotFound", 8), -1);
    assert_int_equal(httperr_reason_lookup("", 0), -1);
    assert_int_equal(httperr_reason_lookup(NULL, 3), -1);
    /* the LEN bytes, not the string: "URL" within "URL_Length" */
    assert_int_equal(httperr_reason_lookup("URL_Length", 3), HTTPERR_REASON_URL);
    assert_null(httperr_reason_name(HTTPERR_NREASONS));
    assert_null(httperr_reason_name((enum httperr_reason)(-1)));
    e.reason = HTTPERR_NREASONS;
    assert_int_equal(httperr_format(st->line, HTTPERR_LINE_MAX, &e), 0);
}

static void test_dir(void **pstate)
{
    char small[16], buf[256];

    (void)pstate;
    assert_string_equal(httperr_dir(buf, sizeof(buf), "/var/lib/mrsmock/logs", "EX1"),
                        "/var/lib/mrsmock/logs/EX1/Windows/System32/LogFiles/HTTPERR");
    assert_null(httperr_dir(small, sizeof(small), "/var/lib/mrsmock/logs", "EX1"));
}

/* The file at PATH, read whole into st->text. */
static const char *slurp(struct state *st, const char *path)
{
    struct stat sb;
    ssize_t n;
    int fd;

    free(st->text);
    st->text = NULL;
    fd = open(path, O_RDONLY);
    if (fd < 0)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    assert_int_equal(fstat(fd, &sb), 0);
    if ((st->text = malloc((size_t)sb.st_size + 1)) == NULL)
        abort();
    n = read(fd, st->text, (size_t)sb.st_size);
    close(fd);
    assert_int_equal(n, (ssize_t)sb.st_size);
    st->text[sb.st_size] = '\0';
    return st->text;
}

static void test_open(void **pstate)
{
    struct state *st = *pstate;
    char err[256] = "", path[512], got[512], dir[256];
    struct httperr_entry e = pool_stopped();
    size_t n;

    snprintf(st->tmp, sizeof(st->tmp), "/tmp/test_httperr.XXXXXX");
    assert_non_null(mkdtemp(st->tmp));
    st->l = httperr_open(st->tmp, "EX1", T_503, err, sizeof(err));
    assert_non_null(st->l);
    assert_string_equal(err, "");
    n = httperr_format(st->line, HTTPERR_LINE_MAX, &e);
    logf_write(st->l, st->line, n, T_503);
    assert_non_null(httperr_dir(dir, sizeof(dir), st->tmp, "EX1"));
    snprintf(path, sizeof(path), "%s/httperr1.log", dir);
    assert_string_equal(logf_path(st->l, T_503, got, sizeof(got)), path);
    assert_string_equal(slurp(st, path),
                        "#Software: Microsoft HTTP API 2.0\r\n"
                        "#Version: 1.0\r\n"
                        "#Date: 2024-05-02 10:31:07\r\n"
                        "#Fields: date time c-ip c-port s-ip s-port cs-version cs-method cs-uri "
                        "sc-status s-siteid s-reason s-queuename\r\n"
                        "2024-05-02 10:31:07 52.100.1.20 51544 10.0.0.5 443 HTTP/1.1 POST "
                        "/EWS/mrsproxy.svc 503 1 Disabled MSExchangeServicesAppPool\r\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_stopped_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_idle_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kb_samples, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_method_and_uri, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_fields_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_between_utf8_characters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_nul_terminated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_and_site, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reasons_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
