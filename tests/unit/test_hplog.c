/*
 * test_hplog — Exchange HttpProxy log lines and headers (reference/exchange-behaviour.md 7.3),
 * read back with a CSV parser field by field: the shape of a proxied Autodiscover request, an
 * anonymous challenge, Exchange's quoting, hostile client bytes, the line's bound, the files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hplog.h"
#include "logfile.h"

#define NFIELDS 74
#define BIG (100 * 1024)
#define T_END ((time_t)1673290800) /* 2023-01-09 19:00:00 UTC */

/* The field list of reference 7.3, as Exchange 2016 CU2x and 2019 write it. */
static const char fields_line[] =
    "#Fields: DateTime,RequestId,MajorVersion,MinorVersion,BuildVersion,RevisionVersion,"
    "ClientRequestId,Protocol,UrlHost,UrlStem,ProtocolAction,AuthenticationType,IsAuthenticated,"
    "AuthenticatedUser,Organization,AnchorMailbox,UserAgent,ClientIpAddress,ServerHostName,"
    "HttpStatus,BackEndStatus,ErrorCode,Method,ProxyAction,TargetServer,TargetServerVersion,"
    "RoutingType,RoutingHint,BackEndCookie,ServerLocatorHost,ServerLocatorLatency,RequestBytes,"
    "ResponseBytes,TargetOutstandingRequests,AuthModulePerfContext,HttpPipelineLatency,"
    "CalculateTargetBackEndLatency,GlsLatencyBreakup,TotalGlsLatency,AccountForestLatencyBreakup,"
    "TotalAccountForestLatency,ResourceForestLatencyBreakup,TotalResourceForestLatency,ADLatency,"
    "SharedCacheLatencyBreakup,TotalSharedCacheLatency,ActivityContextLifeTime,"
    "ModuleToHandlerSwitchingLatency,ClientReqStreamLatency,BackendReqInitLatency,"
    "BackendReqStreamLatency,BackendProcessingLatency,BackendRespInitLatency,"
    "BackendRespStreamLatency,ClientRespStreamLatency,KerberosAuthHeaderLatency,"
    "HandlerCompletionLatency,RequestHandlerLatency,HandlerToModuleSwitchingLatency,ProxyTime,"
    "CoreLatency,RoutingLatency,HttpProxyOverhead,TotalRequestTime,RouteRefresherLatency,UrlQuery,"
    "BackEndGenericInfo,GenericInfo,GenericErrors,EdgeTraceId,DatabaseGuid,UserADObjectGuid,"
    "PartitionEndpointLookupLatency,RoutingStatus\r\n";

/* Indexes of the fields the tests look at. */
enum {
    F_DATETIME = 0,
    F_REQUESTID = 1,
    F_CLIENTREQUESTID = 6,
    F_URLHOST = 8,
    F_URLSTEM = 9,
    F_AUTHTYPE = 11,
    F_ISAUTH = 12,
    F_USER = 13,
    F_ANCHOR = 15,
    F_USERAGENT = 16,
    F_CLIENTIP = 17,
    F_HTTPSTATUS = 19,
    F_BACKENDSTATUS = 20,
    F_METHOD = 22,
    F_PROXYACTION = 23,
    F_TARGETSERVER = 24,
    F_TARGETVERSION = 25,
    F_ROUTINGHINT = 27,
    F_RESPONSEBYTES = 32,
    F_TOTAL = 63,
    F_URLQUERY = 65,
    F_GENERICINFO = 67,
    F_GENERICERRORS = 68,
    F_ROUTINGSTATUS = 73,
};

struct state {
    char *line;   /* HPLOG_LINE_MAX bytes, on the heap so that ASan sees an overrun */
    char *big;    /* BIG bytes, no NUL */
    char *values; /* the fields of the last line parsed, each NUL-terminated */
    char *field[NFIELDS + 1];
    size_t len[NFIELDS + 1];
    char tmp[64]; /* a mkdtemp folder for the file tests; "" when none */
};

static int setup(void **pstate)
{
    struct state *st = calloc(1, sizeof(*st));

    if (st == NULL || (st->line = malloc(HPLOG_LINE_MAX)) == NULL ||
        (st->big = malloc(BIG)) == NULL || (st->values = malloc(HPLOG_LINE_MAX + 80)) == NULL)
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

    if (st->tmp[0] != '\0')
        nftw(st->tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(st->values);
    free(st->big);
    free(st->line);
    free(st);
    return 0;
}

static struct hplog_str str(const char *s)
{
    return (struct hplog_str){.base = s, .len = s == NULL ? 0 : strlen(s)};
}

/*
 * Checks that LINE (LEN bytes) is one CSV record ending in a single CRLF and parses it as RFC
 * 4180 does (a quoted field, "" for a quote inside it) into st->field/st->len. Returns the number
 * of fields.
 */
static size_t parse(struct state *st, size_t len)
{
    const char *p = st->line, *end;
    char *out = st->values;
    size_t n = 0;

    assert_true(len >= 2);
    assert_true(len <= HPLOG_LINE_MAX);
    assert_memory_equal(p + len - 2, "\r\n", 2);
    end = p + len - 2;
    assert_null(memchr(p, '\r', (size_t)(end - p)));
    assert_null(memchr(p, '\n', (size_t)(end - p)));
    for (;;) {
        assert_true(n < NFIELDS + 1);
        st->field[n] = out;
        if (p < end && *p == '"') {
            for (p++;; p++) {
                assert_true(p < end); /* a quoted field is closed */
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        *out++ = '"';
                        p++;
                        continue;
                    }
                    p++;
                    break;
                }
                *out++ = *p;
            }
            /* a closing quote ends the field */
            assert_true(p == end || *p == ',');
        } else {
            while (p < end && *p != ',') {
                assert_true(*p != '"'); /* a quote only in a quoted field */
                *out++ = *p++;
            }
        }
        st->len[n] = (size_t)(out - st->field[n]);
        *out++ = '\0';
        n++;
        if (p == end)
            return n;
        p++; /* the comma */
    }
}

static void assert_field(const struct state *st, size_t i, const char *expected)
{
    if (st->len[i] != strlen(expected) || memcmp(st->field[i], expected, st->len[i]) != 0)
        fail_msg("field %zu \"%s\", expected \"%s\"", i, st->field[i], expected);
}

static void assert_fields(struct state *st, size_t len, const char *const expected[NFIELDS])
{
    assert_int_equal(parse(st, len), NFIELDS);
    for (size_t i = 0; i < NFIELDS; i++)
        assert_field(st, i, expected[i]);
}

/* A proxied Autodiscover request with the values of reference 7.3's sample: NTLM logon,
 * WindowsIdentity routing, 13 ms. */
static struct hplog_entry autodiscover(void)
{
    return (struct hplog_entry){
        .begin = {.tv_sec = T_END, .tv_nsec = 116999999},
        .end = {.tv_sec = T_END, .tv_nsec = 130999999},
        .request_id = "5e58f5e5-1ddc-48d3-82c6-0199bc121640",
        .build = {15, 1, 2375, 7},
        .protocol = HPLOG_AUTODISCOVER,
        .url_host = str("autodiscover.domain.com"),
        .url_stem = str("/autodiscover/autodiscover.xml"),
        .auth_type = str("NTLM"),
        .is_authenticated = 1,
        .authenticated_user = str("DOMAIN\\username"),
        .anchor_mailbox = str("Sid~S-1-5-21-123456789-987654321-123456798-4343"),
        .user_agent = str("AppleExchangeWebServices/818.120.2 accountsd/113"),
        .client_ip = str("95.1.2.3"),
        .server_host_name = str("SERVER-HOSTNAME"),
        .http_status = 200,
        .method = str("POST"),
        .backend_status = 200,
        .target_server = str("SERVER-HOSTNAME.domain.test"),
        .routing_hint = str("WindowsIdentity"),
        .request_bytes = 336,
        .response_bytes = 327,
        .total_ms = 13,
    };
}

/* The anonymous challenge of an MRS client: never proxied. */
static struct hplog_entry challenge(void)
{
    return (struct hplog_entry){
        .begin = {.tv_sec = T_END, .tv_nsec = 120000000},
        .end = {.tv_sec = T_END, .tv_nsec = 123000000},
        .request_id = "6f1c0e2a-0000-4000-8000-00000000a1b2",
        .build = {15, 1, 2507, 6},
        .protocol = HPLOG_EWS,
        .url_host = str("mail.contoso.com"),
        .url_stem = str("/EWS/mrsproxy.svc"),
        .client_ip = str("52.100.1.20"),
        .server_host_name = str("EX1"),
        .http_status = 401,
        .method = str("POST"),
        /* a target, which a line not proxied does not show */
        .target_server = str("ex1.contoso.com"),
        .request_bytes = 0,
        .response_bytes = 58,
        .total_ms = 3,
    };
}

static void test_header(void **pstate)
{
    struct state *st = *pstate;
    static const unsigned build[4] = {15, 1, 2375, 7};
    char expected[2048];
    size_t n;

    snprintf(expected, sizeof(expected),
             "#Software: Microsoft Exchange Server\r\n"
             "#Version: 15.01.2375.007\r\n"
             "#Log-type: HttpProxy Logs\r\n"
             "#Date: 2023-01-09T19:00:00.000Z\r\n"
             "%s",
             fields_line);
    n = hplog_header(st->line, HPLOG_LINE_MAX, T_END, build);
    assert_int_equal(n, strlen(expected));
    assert_memory_equal(st->line, expected, n);
    /* Exchange 2013's build, zero-padded the same way */
    static const unsigned b2013[4] = {15, 0, 1497, 2};
    n = hplog_header(st->line, HPLOG_LINE_MAX, T_END, b2013);
    assert_memory_equal(st->line + 38, "#Version: 15.00.1497.002\r\n", 26);
    /* a buffer too small gets no header at all rather than part of one */
    assert_int_equal(hplog_header(st->line, 200, T_END, build), 0);
}

static void test_header_date_has_the_clock_milliseconds(void **pstate)
{
    struct state *st = *pstate;
    static const unsigned build[4] = {15, 1, 2507, 6};
    time_t now = time(NULL);
    size_t n = hplog_header(st->line, HPLOG_LINE_MAX, now, build);
    char date[32];
    struct tm tm;

    assert_true(n > 0);
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "#Date: %Y-%m-%dT%H:%M:%S.", &tm);
    /* the date line is the fourth; the milliseconds are whatever the clock said, or 000 when
     * the second turned meanwhile */
    const char *line = strstr(st->line, "#Date: ");
    assert_non_null(line);
    assert_memory_equal(line, date, strlen(date));
    assert_memory_equal(line + strlen(date) + 3, "Z\r\n", 3);
}

static void test_proxied_line(void **pstate)
{
    struct state *st = *pstate;
    static const char *const expected[NFIELDS] = {
        "2023-01-09T19:00:00.130Z",
        "5e58f5e5-1ddc-48d3-82c6-0199bc121640",
        "15",
        "1",
        "2375",
        "7",
        "",
        "Autodiscover",
        "autodiscover.domain.com",
        "/autodiscover/autodiscover.xml",
        "",
        "NTLM",
        "true",
        "DOMAIN\\username",
        "",
        "Sid~S-1-5-21-123456789-987654321-123456798-4343",
        "AppleExchangeWebServices/818.120.2 accountsd/113",
        "95.1.2.3",
        "SERVER-HOSTNAME",
        "200",
        "200",
        "",
        "POST",
        "Proxy",
        "SERVER-HOSTNAME.domain.test",
        "15.01.2375.000",
        "IntraForest",
        "WindowsIdentity",
        "", /* BackEndCookie */
        "",
        "",
        "336",
        "327",
        "",
        "",
        "0", /* HttpPipelineLatency */
        "0",
        "",
        "0",
        "",
        "0",
        "",
        "0",
        "0", /* ADLatency */
        "",
        "0",
        "13", /* ActivityContextLifeTime */
        "0",
        "0",
        "0",
        "0",
        "13", /* BackendProcessingLatency */
        "0",
        "0",
        "0",
        "0",
        "0",
        "13", /* RequestHandlerLatency */
        "0",
        "13", /* ProxyTime */
        "0",
        "0",
        "0", /* HttpProxyOverhead */
        "13",
        "",
        "",
        "",
        "BeginRequest=2023-01-09T19:00:00.116Z;CorrelationID=<empty>;ProxyState-Run=None;"
        "FEAuth=BEVersion-1942063431;BeginGetResponse=2023-01-09T19:00:00.116Z;"
        "OnResponseReady=2023-01-09T19:00:00.130Z;EndGetResponse=2023-01-09T19:00:00.130Z;"
        "ProxyState-Complete=ProxyResponseData;SharedCacheGuard=0;"
        "EndRequest=2023-01-09T19:00:00.130Z;",
        "",
        "",
        "",
        "",
        "",
        "CafeV1",
    };
    struct hplog_entry e = autodiscover();
    size_t n = hplog_format(st->line, HPLOG_LINE_MAX, &e);

    assert_fields(st, n, expected);
    /* nothing in it needs quotes: the line is the fields joined by commas */
    assert_null(memchr(st->line, '"', n));
}

static void test_challenge_line(void **pstate)
{
    struct state *st = *pstate;
    static const char *const expected[NFIELDS] = {
        "2023-01-09T19:00:00.123Z",
        "6f1c0e2a-0000-4000-8000-00000000a1b2",
        "15",
        "1",
        "2507",
        "6",
        "",
        "Ews",
        "mail.contoso.com",
        "/EWS/mrsproxy.svc",
        "",
        "",
        "false",
        "",
        "",
        "",
        "",
        "52.100.1.20",
        "EX1",
        "401",
        "", /* BackEndStatus: never proxied */
        "",
        "POST",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "0", /* RequestBytes */
        "",  /* ResponseBytes: the back end's */
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "3", /* ActivityContextLifeTime */
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "3", /* CoreLatency: the front end's own */
        "",
        "3", /* HttpProxyOverhead */
        "3",
        "",
        "",
        "",
        "BeginRequest=2023-01-09T19:00:00.120Z;CorrelationID=<empty>;"
        "EndRequest=2023-01-09T19:00:00.123Z;",
        "",
        "",
        "",
        "",
        "",
        "",
    };
    struct hplog_entry e = challenge();
    size_t n = hplog_format(st->line, HPLOG_LINE_MAX, &e);

    assert_fields(st, n, expected);
}

static void test_front_end_refusal(void **pstate)
{
    struct state *st = *pstate;
    struct hplog_entry e = challenge();
    size_t n;

    /* MRSProxyEnabled false: authenticated, answered 403 by the front end itself */
    e.http_status = 403;
    e.auth_type = str("Negotiate");
    e.is_authenticated = 1;
    e.authenticated_user = str("CONTOSO\\admin");
    e.generic_errors = str("OnUnhandledException=System.Web.HttpException (0x80004005): MRS "
                           "proxy service is disabled;");
    n = hplog_format(st->line, HPLOG_LINE_MAX, &e);
    assert_int_equal(parse(st, n), NFIELDS);
    assert_field(st, F_HTTPSTATUS, "403");
    assert_field(st, F_BACKENDSTATUS, "");
    assert_field(st, F_PROXYACTION, "");
    assert_field(st, F_TARGETSERVER, "");
    assert_field(st, F_ISAUTH, "true");
    assert_field(st, F_USER, "CONTOSO\\admin");
    assert_field(st, F_GENERICERRORS,
                 "OnUnhandledException=System.Web.HttpException "
                 "(0x80004005): MRS proxy service is disabled;");
}

static void test_quoting(void **pstate)
{
    struct state *st = *pstate;
    struct hplog_entry e = challenge();
    size_t n;

    e.user_agent = str("Mozilla/5.0 (compatible, \"quoted\")");
    e.url_query = str("?a=1,2");
    e.generic_errors = str("\"");
    e.anchor_mailbox = str("no comma or quote");
    static const char ua[] = ",\"Mozilla/5.0 (compatible, \"\"quoted\"\")\",";
    static const char query[] = ",\"?a=1,2\",";
    static const char quote[] = ",\"\"\"\",";

    n = hplog_format(st->line, HPLOG_LINE_MAX, &e);
    /* as Exchange's Utf8Csv writes them */
    assert_non_null(memmem(st->line, n, ua, sizeof(ua) - 1));
    assert_non_null(memmem(st->line, n, query, sizeof(query) - 1));
    assert_non_null(memmem(st->line, n, quote, sizeof(quote) - 1));
    assert_int_equal(parse(st, n), NFIELDS);
    assert_field(st, F_USERAGENT, "Mozilla/5.0 (compatible, \"quoted\")");
    assert_field(st, F_URLQUERY, "?a=1,2");
    assert_field(st, F_GENERICERRORS, "\"");
}

static void test_line_breaks_and_controls(void **pstate)
{
    struct state *st = *pstate;
    struct hplog_entry e = challenge();
    size_t n;

    /* a CRLF followed by a whole forged line; a TAB, DEL and other control bytes; a NUL */
    static const char ua[] = "curl\r\n2023-01-09T19:00:00.000Z,forged,15\tx\x7fy\x01z\x00w\r";
    e.user_agent = (struct hplog_str){ua, sizeof(ua) - 1};
    e.authenticated_user = str("CONTOSO\\a\nb");
    n = hplog_format(st->line, HPLOG_LINE_MAX, &e);
    /* parse() checks the only CR and LF are the line's end */
    assert_int_equal(parse(st, n), NFIELDS);
    /* line breaks as Exchange escapes them, the rest neutralised; the comma quotes the field */
    assert_field(st, F_USERAGENT, "curl\\r\\n2023-01-09T19:00:00.000Z,forged,15?x?y?z?w\\r");
    assert_field(st, F_USER, "CONTOSO\\a\\nb");
    assert_non_null(memmem(st->line, n, ",CONTOSO\\a\\nb,", strlen(",CONTOSO\\a\\nb,")));
}

static void test_utf8_kept(void **pstate)
{
    struct state *st = *pstate;
    struct hplog_entry e = autodiscover();
    size_t n;

    e.authenticated_user = str("CONTOSO\\j\xc3\xbcrgen");
    n = hplog_format(st->line, HPLOG_LINE_MAX, &e);
    assert_int_equal(parse(st, n), NFIELDS);
    assert_field(st, F_USER, "CONTOSO\\j\xc3\xbcrgen");
}

static void test_host(void **pstate)
{
    struct state *st = *pstate;
    static const struct {
        const char *host, *logged;
    } cases[] = {
        {"Mail.Contoso.COM:8443", "mail.contoso.com"},
        {"mail.contoso.com", "mail.contoso.com"},
        {"[::1]:443", "::1"},
        {"[FE80::1]", "fe80::1"},
        {"127.0.0.1:41234", "127.0.0.1"},
        {"a,b\"c", "a,b\"c"},
        {"", ""},
    };
    struct hplog_entry e = challenge();
    size_t n, i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        e.url_host = str(cases[i].host);
        n = hplog_format(st->line, HPLOG_LINE_MAX, &e);
        assert_int_equal(parse(st, n), NFIELDS);
        assert_field(st, F_URLHOST, cases[i].logged);
    }
}

/* Every string a client can fill, 100 KB long: each is cut at its own bound and the line keeps
 * its 74 fields within HPLOG_LINE_MAX, even when every byte must be escaped. */
static void test_bound(void **pstate)
{
    struct state *st = *pstate;
    static const struct {
        size_t index, bound;
    } strings[] = {
        {F_CLIENTREQUESTID, 64}, {F_URLHOST, 256},   {F_URLSTEM, 1024},      {10, 64},
        {F_AUTHTYPE, 32},        {F_USER, 256},      {F_ANCHOR, 330},        {F_USERAGENT, 1024},
        {F_CLIENTIP, 256},       {18, 64},           {F_METHOD, 32},         {F_TARGETSERVER, 256},
        {F_ROUTINGHINT, 64},     {F_URLQUERY, 1024}, {F_GENERICERRORS, 512},
    };
    static const char fill[] = {'"', '\n', 'x'}; /* lower case: the host is lowered */
    struct hplog_entry e = autodiscover();
    struct hplog_str big;
    size_t n, i, k, j;

    for (k = 0; k < sizeof(fill); k++) {
        memset(st->big, fill[k], BIG);
        big = (struct hplog_str){st->big, BIG};
        e.client_request_id = e.url_host = e.url_stem = e.protocol_action = e.auth_type =
            e.authenticated_user = e.anchor_mailbox = e.user_agent = e.client_ip =
                e.server_host_name = e.method = e.target_server = e.routing_hint = e.url_query =
                    e.generic_errors = big;
        e.http_status = e.backend_status = UINT32_MAX;
        e.build[0] = e.build[1] = e.build[2] = e.build[3] = UINT32_MAX;
        e.request_bytes = e.response_bytes = e.total_ms = UINT64_MAX;
        n = hplog_format(st->line, HPLOG_LINE_MAX, &e);
        assert_true(n > 0 && n <= HPLOG_LINE_MAX);
        assert_int_equal(parse(st, n), NFIELDS);
        for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
            size_t want = strings[i].bound * (fill[k] == '\n' ? 2 : 1); /* "\n" is 2 bytes */
            assert_int_equal(st->len[strings[i].index], want);
            for (j = 0; j < st->len[strings[i].index]; j++)
                assert_int_equal(st->field[strings[i].index][j],
                                 fill[k] == '\n' ? "\\n"[j % 2] : fill[k]);
        }
        assert_field(st, F_HTTPSTATUS, "4294967295");
        assert_field(st, F_TOTAL, "18446744073709551615");
        assert_field(st, F_RESPONSEBYTES, "18446744073709551615");
        assert_field(st, F_TARGETVERSION, "4294967295.4294967295.4294967295.000");
    }
}

static void test_cut_between_utf8_characters(void **pstate)
{
    struct state *st = *pstate;
    struct hplog_entry e = challenge();
    size_t n, i, shift;

    /* three-byte characters after 0, 1 or 2 ASCII bytes: the 1024-byte cut falls on each byte
     * of a character in turn and always moves before it */
    for (shift = 0; shift < 3; shift++) {
        memset(st->big, 'a', shift);
        for (i = shift; i + 3 <= BIG; i += 3)
            memcpy(st->big + i, "\xe2\x82\xac", 3);
        e.user_agent = (struct hplog_str){st->big, i};
        n = hplog_format(st->line, HPLOG_LINE_MAX, &e);
        assert_int_equal(parse(st, n), NFIELDS);
        assert_int_equal((st->len[F_USERAGENT] - shift) % 3, 0);
        assert_true(st->len[F_USERAGENT] > 1020 && st->len[F_USERAGENT] <= 1024);
        assert_memory_equal(st->field[F_USERAGENT] + st->len[F_USERAGENT] - 3, "\xe2\x82\xac", 3);
    }
}

static void test_not_nul_terminated(void **pstate)
{
    struct state *st = *pstate;
    /* exact-size arrays without a NUL: ASan stops any read past the given length */
    static const char method[4] = {'P', 'O', 'S', 'T'};
    static const char host[9] = {'m', 'a', 'i', 'l', '.', 'c', 'o', 'm', ':'};
    struct hplog_entry e = challenge();
    size_t n;

    e.method = (struct hplog_str){method, sizeof(method)};
    e.url_host = (struct hplog_str){host, 8};
    n = hplog_format(st->line, HPLOG_LINE_MAX, &e);
    assert_int_equal(parse(st, n), NFIELDS);
    assert_field(st, F_METHOD, "POST");
    assert_field(st, F_URLHOST, "mail.com");
    /* NULL and empty are both empty, whatever the length or pointer */
    e.user_agent = (struct hplog_str){NULL, 5};
    e.client_ip = (struct hplog_str){"ignored", 0};
    e.request_id = NULL;
    n = hplog_format(st->line, HPLOG_LINE_MAX, &e);
    assert_int_equal(parse(st, n), NFIELDS);
    assert_field(st, F_USERAGENT, "");
    assert_field(st, F_CLIENTIP, "");
    assert_field(st, F_REQUESTID, "");
}

static void test_small_buffer(void **pstate)
{
    struct state *st = *pstate;
    struct hplog_entry e = challenge();

    /* the bound is for the whole line: a smaller buffer gets nothing */
    assert_int_equal(hplog_format(st->line, HPLOG_LINE_MAX - 1, &e), 0);
}

static void test_names_and_dir(void **pstate)
{
    char buf[256], small[32];

    (void)pstate;
    assert_string_equal(hplog_protocol_name(HPLOG_EWS), "Ews");
    assert_string_equal(hplog_protocol_name(HPLOG_AUTODISCOVER), "Autodiscover");
    assert_string_equal(hplog_dir(buf, sizeof(buf), "/var/lib/mrsmock/logs", "EX1", HPLOG_EWS),
                        "/var/lib/mrsmock/logs/EX1/Program Files/Microsoft/Exchange Server/V15/"
                        "Logging/HttpProxy/Ews");
    assert_string_equal(
        hplog_dir(buf, sizeof(buf), "/s/logs", "EX2", HPLOG_AUTODISCOVER),
        "/s/logs/EX2/Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy/Autodiscover");
    assert_null(hplog_dir(small, sizeof(small), "/var/lib/mrsmock/logs", "EX1", HPLOG_EWS));
}

static void test_open_writes_bom_and_header(void **pstate)
{
    struct state *st = *pstate;
    unsigned build[4] = {15, 2, 1258, 12};
    char err[256] = "", path[512], expected[2048], text[4096];
    struct logf *l;
    struct hplog_entry e = challenge();
    size_t n;
    ssize_t got;
    int fd;

    snprintf(st->tmp, sizeof(st->tmp), "/tmp/test_hplog.XXXXXX");
    if (mkdtemp(st->tmp) == NULL)
        abort();
    l = hplog_open(st->tmp, "EX2", build, HPLOG_AUTODISCOVER, T_END + 59, err, sizeof(err));
    assert_non_null(l);
    assert_string_equal(err, "");
    /* the build was copied */
    build[0] = 99;
    n = hplog_format(st->line, HPLOG_LINE_MAX, &e);
    logf_write(l, st->line, n, T_END + 60);
    /* the next hour, the next file, with its own byte order mark and header */
    logf_write(l, st->line, n, T_END + 3600);
    logf_close(l);

    snprintf(path, sizeof(path),
             "%s/EX2/Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy/Autodiscover/"
             "HttpProxy_2023010919-1.LOG",
             st->tmp);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    got = read(fd, text, sizeof(text) - 1);
    close(fd);
    assert_true(got > 0);
    snprintf(expected, sizeof(expected),
             "\xef\xbb\xbf#Software: Microsoft Exchange Server\r\n"
             "#Version: 15.02.1258.012\r\n"
             "#Log-type: HttpProxy Logs\r\n"
             "#Date: 2023-01-09T19:00:59.000Z\r\n"
             "%s%.*s",
             fields_line, (int)n, st->line);
    assert_int_equal((size_t)got, strlen(expected));
    assert_memory_equal(text, expected, (size_t)got);

    snprintf(path, sizeof(path),
             "%s/EX2/Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy/Autodiscover/"
             "HttpProxy_2023010920-1.LOG",
             st->tmp);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    got = read(fd, text, sizeof(text) - 1);
    close(fd);
    assert_true(got > 40);
    assert_memory_equal(text, "\xef\xbb\xbf#Software: Microsoft Exchange Server\r\n", 41);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_date_has_the_clock_milliseconds, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_proxied_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_challenge_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_front_end_refusal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quoting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_breaks_and_controls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utf8_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_between_utf8_characters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_nul_terminated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_and_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_writes_bom_and_header, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
