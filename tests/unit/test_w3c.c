/*
 * test_w3c — IIS W3C lines and headers compared with lines real Exchange servers wrote
 * (reference/exchange-behaviour.md 7.1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "w3c.h"

#define NFIELDS 15
#define BIG_UA (100 * 1024)

struct state {
    char *line; /* W3C_LINE_MAX bytes, on the heap so that ASan sees an overrun */
    char *big;  /* BIG_UA bytes, no NUL */
};

struct field {
    const char *base;
    size_t len;
};

static int setup(void **pstate)
{
    struct state *st = calloc(1, sizeof(*st));

    if (st == NULL || (st->line = malloc(W3C_LINE_MAX)) == NULL ||
        (st->big = malloc(BIG_UA)) == NULL)
        abort();
    *pstate = st;
    return 0;
}

static int teardown(void **pstate)
{
    struct state *st = *pstate;

    free(st->big);
    free(st->line);
    free(st);
    return 0;
}

static struct w3c_str str(const char *s)
{
    return (struct w3c_str){.base = s, .len = s == NULL ? 0 : strlen(s)};
}

/* Checks that LINE is one line ending in a single CRLF and splits it on single spaces into
 * OUT; returns the number of fields. */
static size_t split(const char *line, size_t len, struct field *out, size_t max)
{
    size_t i, start = 0, n = 0;

    assert_true(len >= 2);
    assert_true(len <= W3C_LINE_MAX);
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
        /* two spaces in a row would make an empty field: IIS writes "-" instead */
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

/* The second line of reference 7.1, an anonymous MRS handshake. */
static struct w3c_entry anonymous_401(void)
{
    return (struct w3c_entry){
        .at = {.tv_sec = 1714644843, .tv_nsec = 999999999},
        .s_ip = str("10.0.0.5"),
        .method = str("POST"),
        .uri_stem = str("/EWS/mrsproxy.svc"),
        .c_ip = str("52.100.1.20"),
        .s_port = 443,
        .status = 401,
        .substatus = 2,
        .win32_status = 5,
        .time_taken_ms = 3,
    };
}

static void test_header(void **pstate)
{
    struct state *st = *pstate;
    const char *expected = "#Software: Microsoft Internet Information Services 10.0\r\n"
                           "#Version: 1.0\r\n"
                           "#Date: 2024-08-01 15:45:00\r\n"
                           "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port "
                           "cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus "
                           "sc-win32-status time-taken\r\n";
    size_t n = w3c_header(st->line, W3C_LINE_MAX, 1722527100);

    assert_int_equal(n, strlen(expected));
    assert_memory_equal(st->line, expected, n);
    /* a buffer too small gets no header at all rather than part of one */
    assert_int_equal(w3c_header(st->line, 40, 1722527100), 0);
}

static void test_exchange_line(void **pstate)
{
    struct state *st = *pstate;
    static const char query[] = "&CorrelationID=<empty>;&ClientId=SR0WSDR7B0IXI4TCOLJG"
                                "&cafeReqId=d26343b6-8790-4ccc-954d-936aed081d88;";
    static const char *const expected[NFIELDS] = {
        "2016-09-15",
        "08:23:57",
        "10.2.0.5",
        "POST",
        "/EWS/mrsproxy.svc",
        query,
        "443",
        "pronicsi\\nicsi",
        "132.245.35.172",
        "-",
        "-",
        "200",
        "0",
        "0",
        "343",
    };
    const char *whole = "2016-09-15 08:23:57 10.2.0.5 POST /EWS/mrsproxy.svc "
                        "&CorrelationID=<empty>;&ClientId=SR0WSDR7B0IXI4TCOLJG&cafeReqId=d26343b6-"
                        "8790-4ccc-954d-936aed081d88; 443 pronicsi\\nicsi 132.245.35.172 - - 200 0 "
                        "0 343\r\n";
    struct w3c_entry e = {
        .at = {.tv_sec = 1473927837},
        .s_ip = str("10.2.0.5"),
        .method = str("POST"),
        .uri_stem = str("/EWS/mrsproxy.svc"),
        .uri_query = str(query),
        .username = str("pronicsi\\nicsi"),
        .c_ip = str("132.245.35.172"),
        .s_port = 443,
        .status = 200,
        .time_taken_ms = 343,
    };
    size_t n = w3c_format(st->line, W3C_LINE_MAX, &e);

    assert_fields(st->line, n, expected);
    assert_int_equal(n, strlen(whole));
    assert_memory_equal(st->line, whole, n);
}

static void test_empty_fields(void **pstate)
{
    struct state *st = *pstate;
    static const char *const expected[NFIELDS] = {
        "2024-05-02", "10:14:03", "10.0.0.5", "POST",        "/EWS/mrsproxy.svc",
        "-",          "443",      "-",        "52.100.1.20", "-",
        "-",          "401",      "2",        "5",           "3",
    };
    const char *whole =
        "2024-05-02 10:14:03 10.0.0.5 POST /EWS/mrsproxy.svc - 443 - 52.100.1.20 - - 401 2 5 3\r\n";
    struct w3c_entry e = anonymous_401();
    size_t n;

    /* NULL and empty are both "-", whatever the pointer */
    e.uri_query = (struct w3c_str){.base = "ignored", .len = 0};
    e.username = (struct w3c_str){.base = NULL, .len = 5};
    n = w3c_format(st->line, W3C_LINE_MAX, &e);
    assert_fields(st->line, n, expected);
    assert_int_equal(n, strlen(whole));
    assert_memory_equal(st->line, whole, n);
}

static void test_user_agent_spaces_and_controls(void **pstate)
{
    struct state *st = *pstate;
    static const char *const expected[NFIELDS] = {
        "2024-05-02",
        "10:14:03",
        "10.0.0.5",
        "POST",
        "/EWS/mrsproxy.svc",
        "-",
        "443",
        "CONTOSO\\mig+admin",
        "52.100.1.20",
        "Mozilla/5.0+(Windows+NT+10.0;++Win64)+x+2024-05-02+10:14:03+x+y+z+",
        "http://a/+b",
        "401",
        "2",
        "5",
        "3",
    };
    struct w3c_entry e = anonymous_401();
    size_t n;

    /* a CRLF followed by a whole forged line, a TAB, DEL, other control bytes */
    e.user_agent =
        str("Mozilla/5.0 (Windows NT 10.0;\r\nWin64)\tx\n2024-05-02 10:14:03\x7fx\x01y\x1fz"
            "\r");
    e.username = str("CONTOSO\\mig admin");
    e.referer = str("http://a/\vb");
    n = w3c_format(st->line, W3C_LINE_MAX, &e);
    assert_fields(st->line, n, expected);
}

static void test_utf8_kept(void **pstate)
{
    struct state *st = *pstate;
    struct w3c_entry e = anonymous_401();
    struct field f[NFIELDS + 1];
    size_t n;

    e.username = str("CONTOSO\\j\xc3\xbcrgen");
    n = w3c_format(st->line, W3C_LINE_MAX, &e);
    assert_int_equal(split(st->line, n, f, NFIELDS + 1), NFIELDS);
    assert_field(&f[7], "CONTOSO\\j\xc3\xbcrgen");
}

static void test_long_user_agent_cut(void **pstate)
{
    struct state *st = *pstate;
    struct w3c_entry e = anonymous_401();
    struct field f[NFIELDS + 1];
    size_t n, i;

    memset(st->big, 'A', BIG_UA);
    e.user_agent = (struct w3c_str){.base = st->big, .len = BIG_UA};
    e.uri_query = str("&CorrelationID=<empty>;&cafeReqId=d26343b6-8790-4ccc-954d-936aed081d88;");
    n = w3c_format(st->line, W3C_LINE_MAX, &e);
    assert_true(n <= W3C_LINE_MAX);
    assert_int_equal(split(st->line, n, f, NFIELDS + 1), NFIELDS);
    /* the other fields are whole, the user agent takes what is left and no more */
    assert_field(&f[0], "2024-05-02");
    assert_field(&f[5], "&CorrelationID=<empty>;&cafeReqId=d26343b6-8790-4ccc-954d-936aed081d88;");
    assert_field(&f[10], "-");
    assert_field(&f[14], "3");
    assert_true(f[9].len > 7000);
    for (i = 0; i < f[9].len; i++)
        assert_int_equal(f[9].base[i], 'A');
}

static void test_all_fields_long(void **pstate)
{
    struct state *st = *pstate;
    struct w3c_entry e = anonymous_401();
    struct field f[NFIELDS + 1];
    static const size_t strings[] = {2, 3, 4, 5, 7, 8, 9, 10};
    size_t n, i;

    memset(st->big, 'x', BIG_UA);
    e.s_ip = e.method = e.uri_stem = e.uri_query = e.username = e.c_ip = e.user_agent = e.referer =
        (struct w3c_str){.base = st->big, .len = BIG_UA};
    e.s_port = e.status = e.substatus = UINT32_MAX;
    e.win32_status = UINT32_MAX;
    e.time_taken_ms = UINT64_MAX;
    n = w3c_format(st->line, W3C_LINE_MAX, &e);
    assert_true(n <= W3C_LINE_MAX);
    assert_true(n >= W3C_LINE_MAX - 8);
    assert_int_equal(split(st->line, n, f, NFIELDS + 1), NFIELDS);
    /* cut to equal shares */
    for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
        assert_true(f[strings[i]].len >= f[2].len - 1 && f[strings[i]].len <= f[2].len + 1);
    assert_field(&f[6], "4294967295");
    assert_field(&f[14], "18446744073709551615");
    /* a buffer too small for any line at all */
    assert_int_equal(w3c_format(st->line, 50, &e), 0);
}

static void test_line_at_the_limit(void **pstate)
{
    struct state *st = *pstate;
    struct w3c_entry e = anonymous_401();
    struct field f[NFIELDS + 1];
    size_t n, fixed, others;

    /* numbers at their widest: the line is then exactly as long as its fields */
    e.s_port = e.status = e.substatus = UINT32_MAX;
    e.win32_status = UINT32_MAX;
    e.time_taken_ms = UINT64_MAX;
    memset(st->big, 'u', BIG_UA);
    e.user_agent = (struct w3c_str){.base = st->big, .len = 1};
    n = w3c_format(st->line, W3C_LINE_MAX, &e);
    others = n - 1; /* all but the user agent's one byte */

    /* a user agent that just fits is whole */
    fixed = W3C_LINE_MAX - others;
    e.user_agent.len = fixed;
    n = w3c_format(st->line, W3C_LINE_MAX, &e);
    assert_int_equal(n, W3C_LINE_MAX);
    assert_int_equal(split(st->line, n, f, NFIELDS + 1), NFIELDS);
    assert_int_equal(f[9].len, fixed);

    /* one byte more is cut by one byte */
    e.user_agent.len = fixed + 1;
    n = w3c_format(st->line, W3C_LINE_MAX, &e);
    assert_int_equal(n, W3C_LINE_MAX);
    assert_int_equal(split(st->line, n, f, NFIELDS + 1), NFIELDS);
    assert_int_equal(f[9].len, fixed);
}

static void test_cut_between_utf8_characters(void **pstate)
{
    struct state *st = *pstate;
    struct w3c_entry e = anonymous_401();
    struct field f[NFIELDS + 1];
    size_t n, i, ref;

    /* three-byte characters; a referer of 1, 2 and 3 bytes moves the cut through each byte of
     * a character */
    for (i = 0; i + 3 <= BIG_UA; i += 3)
        memcpy(st->big + i, "\xe2\x82\xac", 3);
    e.user_agent = (struct w3c_str){.base = st->big, .len = BIG_UA - BIG_UA % 3};
    for (ref = 1; ref <= 3; ref++) {
        e.referer = (struct w3c_str){.base = "rrr", .len = ref};
        n = w3c_format(st->line, W3C_LINE_MAX, &e);
        assert_int_equal(split(st->line, n, f, NFIELDS + 1), NFIELDS);
        assert_int_equal(f[9].len % 3, 0);
        assert_true(f[9].len > 7000);
        assert_memory_equal(f[9].base + f[9].len - 3, "\xe2\x82\xac", 3);
    }
}

static void test_not_nul_terminated(void **pstate)
{
    struct state *st = *pstate;
    /* exact-size arrays without a NUL: ASan stops any read past the given length */
    static const char method[4] = {'P', 'O', 'S', 'T'};
    static const char stem[6] = {'/', 'E', 'W', 'S', '/', 'x'};
    struct w3c_entry e = anonymous_401();
    struct field f[NFIELDS + 1];
    size_t n;

    e.method = (struct w3c_str){.base = method, .len = sizeof(method)};
    e.uri_stem = (struct w3c_str){.base = stem, .len = 5};
    n = w3c_format(st->line, W3C_LINE_MAX, &e);
    assert_int_equal(split(st->line, n, f, NFIELDS + 1), NFIELDS);
    assert_field(&f[3], "POST");
    assert_field(&f[4], "/EWS/");
}

static void test_win32_status(void **pstate)
{
    struct state *st = *pstate;
    static const char *const expected[NFIELDS] = {
        "2024-05-02", "10:14:03", "10.0.0.5", "POST",        "/EWS/mrsproxy.svc",
        "-",          "443",      "-",        "52.100.1.20", "-",
        "-",          "401",      "1",        "2148074254",  "2",
    };
    struct w3c_entry e = anonymous_401();
    size_t n;

    e.substatus = 1;
    e.win32_status = 2148074254u; /* SEC_E_INVALID_TOKEN */
    e.time_taken_ms = 2;
    n = w3c_format(st->line, W3C_LINE_MAX, &e);
    assert_fields(st->line, n, expected);
}

static void test_dir(void **pstate)
{
    char small[16], buf[256];

    (void)pstate;
    assert_string_equal(w3c_dir(buf, sizeof(buf), "/var/lib/mrsmock/logs", "EX1"),
                        "/var/lib/mrsmock/logs/EX1/inetpub/logs/LogFiles/W3SVC1");
    assert_null(w3c_dir(small, sizeof(small), "/var/lib/mrsmock/logs", "EX1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exchange_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_agent_spaces_and_controls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utf8_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_user_agent_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_fields_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_at_the_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_between_utf8_characters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_nul_terminated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_win32_status, setup, teardown),
        cmocka_unit_test(test_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
