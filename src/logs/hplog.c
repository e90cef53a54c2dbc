/*
 * hplog — Exchange HttpProxy log lines, headers and files.
 *
 * The field list is one table: a row per #Fields name with its renderer and the bound of what
 * it writes (a string field: the source bytes it keeps; others: their widest rendering). It is
 * compiled once into the #Fields line and the line's worst case, which must fit HPLOG_LINE_MAX:
 * a string field can at most double when escaped, plus its two quotes, so the bound holds
 * whatever a client sends and a line is rendered in one pass without checks on the way.
 *
 * The field list is that of Exchange 2016 CU2x and 2019 (reference 7.3). Exchange 2013 writes a
 * shorter list (no UrlHost, RoutingType, SharedCache or RoutingStatus columns in its RTM build;
 * what its last CU writes is not known here): 2013 servers get the same list as the others.
 *
 * Values follow Microsoft.Exchange.HttpProxy's RequestDetailsLogger and ProxyModule:
 * ServerHostName is the computer name, TargetServer the back end's FQDN, TargetServerVersion the
 * version AD keeps (no revision). Latencies: TotalRequestTime and ActivityContextLifeTime are the
 * whole time; a request not proxied spent it all in the front end (HttpProxyOverhead,
 * CoreLatency); a proxied one spent it all in mrsmock's in-process back end (BackendProcessing,
 * RequestHandler and ProxyTime), its other latencies are 0. Fields mrsmock has nothing for (the
 * back end cookie, server locator, AD and GLS breakups) are empty.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hplog.h"
#include "log.h"
#include "logfile.h"
#include "util.h"

struct line_ctx;
struct hplog_field;

typedef char *(*hplog_render_cb)(char *p, const struct line_ctx *ctx, const struct hplog_field *f);

struct hplog_field {
    const char *name;
    hplog_render_cb render;
    size_t offset;    /* of the member in struct hplog_entry, for the renderers that take one */
    size_t bound;     /* strings: source bytes kept; others: widest rendering */
    const char *text; /* the constant some renderers write */
};

static char *r_empty(char *p, const struct line_ctx *ctx, const struct hplog_field *f);
static char *r_datetime(char *p, const struct line_ctx *ctx, const struct hplog_field *f);
static char *r_request_id(char *p, const struct line_ctx *ctx, const struct hplog_field *f);
static char *r_build(char *p, const struct line_ctx *ctx, const struct hplog_field *f);
static char *r_protocol(char *p, const struct line_ctx *ctx, const struct hplog_field *f);
static char *r_str(char *p, const struct line_ctx *ctx, const struct hplog_field *f);
static char *r_proxied_str(char *p, const struct line_ctx *ctx, const struct hplog_field *f);
static char *r_host(char *p, const struct line_ctx *ctx, const struct hplog_field *f);
static char *r_bool(char *p, const struct line_ctx *ctx, const struct hplog_field *f);
static char *r_uint(char *p, const struct line_ctx *ctx, const struct hplog_field *f);
static char *r_backend_status(char *p, const struct line_ctx *ctx, const struct hplog_field *f);
static char *r_proxied_text(char *p, const struct line_ctx *ctx, const struct hplog_field *f);
static char *r_target_version(char *p, const struct line_ctx *ctx, const struct hplog_field *f);
static char *r_u64(char *p, const struct line_ctx *ctx, const struct hplog_field *f);
static char *r_proxied_u64(char *p, const struct line_ctx *ctx, const struct hplog_field *f);
static char *r_total(char *p, const struct line_ctx *ctx, const struct hplog_field *f);
static char *r_proxied_total(char *p, const struct line_ctx *ctx, const struct hplog_field *f);
static char *r_proxied_zero(char *p, const struct line_ctx *ctx, const struct hplog_field *f);
static char *r_overhead(char *p, const struct line_ctx *ctx, const struct hplog_field *f);
static char *r_generic_info(char *p, const struct line_ctx *ctx, const struct hplog_field *f);

#define AT(member) offsetof(struct hplog_entry, member)
#define STR(member, max) .render = r_str, .offset = AT(member), .bound = (max)
#define EMPTY .render = r_empty
#define NUMBER 20        /* digits of a 64-bit number */
#define GENERIC_INFO 512 /* GenericInfo's longest rendering is about 360 bytes */

static const struct hplog_field fields[] = {
    {.name = "DateTime", .render = r_datetime, .bound = 24}, /* 2023-01-09T19:00:00.130Z */
    {.name = "RequestId", .render = r_request_id, .bound = 36},
    {.name = "MajorVersion", .render = r_build, .offset = 0, .bound = 10},
    {.name = "MinorVersion", .render = r_build, .offset = 1, .bound = 10},
    {.name = "BuildVersion", .render = r_build, .offset = 2, .bound = 10},
    {.name = "RevisionVersion", .render = r_build, .offset = 3, .bound = 10},
    {.name = "ClientRequestId", STR(client_request_id, 64)},
    {.name = "Protocol", .render = r_protocol, .bound = 12},
    {.name = "UrlHost", .render = r_host, .offset = AT(url_host), .bound = 256},
    {.name = "UrlStem", STR(url_stem, 1024)},
    {.name = "ProtocolAction", STR(protocol_action, 64)},
    {.name = "AuthenticationType", STR(auth_type, 32)},
    {.name = "IsAuthenticated", .render = r_bool, .offset = AT(is_authenticated), .bound = 5},
    {.name = "AuthenticatedUser", STR(authenticated_user, 256)},
    {.name = "Organization", EMPTY}, /* the tenant: empty on premises */
    {.name = "AnchorMailbox", STR(anchor_mailbox, 330)},
    {.name = "UserAgent", STR(user_agent, 1024)},
    {.name = "ClientIpAddress", STR(client_ip, 256)},
    {.name = "ServerHostName", STR(server_host_name, 64)},
    {.name = "HttpStatus", .render = r_uint, .offset = AT(http_status), .bound = 10},
    {.name = "BackEndStatus", .render = r_backend_status, .bound = 10},
    {.name = "ErrorCode", EMPTY},
    {.name = "Method", STR(method, 32)},
    {.name = "ProxyAction", .render = r_proxied_text, .bound = 5, .text = "Proxy"},
    {.name = "TargetServer", .render = r_proxied_str, .offset = AT(target_server), .bound = 256},
    {.name = "TargetServerVersion", .render = r_target_version, .bound = 4 * 10 + 3},
    {.name = "RoutingType", .render = r_proxied_text, .bound = 11, .text = "IntraForest"},
    {.name = "RoutingHint", STR(routing_hint, 64)},
    {.name = "BackEndCookie", STR(backend_cookie, 400)},
    {.name = "ServerLocatorHost", EMPTY},
    {.name = "ServerLocatorLatency", EMPTY},
    {.name = "RequestBytes", .render = r_u64, .offset = AT(request_bytes), .bound = NUMBER},
    {.name = "ResponseBytes",
     .render = r_proxied_u64,
     .offset = AT(response_bytes),
     .bound = NUMBER},
    {.name = "TargetOutstandingRequests", EMPTY},
    {.name = "AuthModulePerfContext", EMPTY},
    {.name = "HttpPipelineLatency", .render = r_proxied_zero, .bound = 1},
    {.name = "CalculateTargetBackEndLatency", .render = r_proxied_zero, .bound = 1},
    {.name = "GlsLatencyBreakup", EMPTY},
    {.name = "TotalGlsLatency", .render = r_proxied_zero, .bound = 1},
    {.name = "AccountForestLatencyBreakup", EMPTY},
    {.name = "TotalAccountForestLatency", .render = r_proxied_zero, .bound = 1},
    {.name = "ResourceForestLatencyBreakup", EMPTY},
    {.name = "TotalResourceForestLatency", .render = r_proxied_zero, .bound = 1},
    {.name = "ADLatency", .render = r_proxied_zero, .bound = 1},
    {.name = "SharedCacheLatencyBreakup", EMPTY},
    {.name = "TotalSharedCacheLatency", .render = r_proxied_zero, .bound = 1},
    {.name = "ActivityContextLifeTime", .render = r_total, .bound = NUMBER},
    {.name = "ModuleToHandlerSwitchingLatency", .render = r_proxied_zero, .bound = 1},
    {.name = "ClientReqStreamLatency", .render = r_proxied_zero, .bound = 1},
    {.name = "BackendReqInitLatency", .render = r_proxied_zero, .bound = 1},
    {.name = "BackendReqStreamLatency", .render = r_proxied_zero, .bound = 1},
    {.name = "BackendProcessingLatency", .render = r_proxied_total, .bound = NUMBER},
    {.name = "BackendRespInitLatency", .render = r_proxied_zero, .bound = 1},
    {.name = "BackendRespStreamLatency", .render = r_proxied_zero, .bound = 1},
    {.name = "ClientRespStreamLatency", .render = r_proxied_zero, .bound = 1},
    {.name = "KerberosAuthHeaderLatency", .render = r_proxied_zero, .bound = 1},
    {.name = "HandlerCompletionLatency", .render = r_proxied_zero, .bound = 1},
    {.name = "RequestHandlerLatency", .render = r_proxied_total, .bound = NUMBER},
    {.name = "HandlerToModuleSwitchingLatency", .render = r_proxied_zero, .bound = 1},
    {.name = "ProxyTime", .render = r_proxied_total, .bound = NUMBER},
    {.name = "CoreLatency", .render = r_overhead, .bound = NUMBER},
    {.name = "RoutingLatency", .render = r_proxied_zero, .bound = 1},
    {.name = "HttpProxyOverhead", .render = r_overhead, .bound = NUMBER},
    {.name = "TotalRequestTime", .render = r_total, .bound = NUMBER},
    {.name = "RouteRefresherLatency", EMPTY},
    {.name = "UrlQuery", STR(url_query, 1024)},
    {.name = "BackEndGenericInfo", EMPTY},
    {.name = "GenericInfo", .render = r_generic_info, .bound = GENERIC_INFO},
    {.name = "GenericErrors", STR(generic_errors, 512)},
    {.name = "EdgeTraceId", EMPTY},
    {.name = "DatabaseGuid", STR(database_guid, 36)},
    {.name = "UserADObjectGuid", EMPTY},
    {.name = "PartitionEndpointLookupLatency", EMPTY},
    {.name = "RoutingStatus", .render = r_proxied_text, .bound = 6, .text = "CafeV1"},
};

#undef AT
#undef STR
#undef EMPTY

#define HPLOG_NFIELDS (sizeof(fields) / sizeof(fields[0]))

_Static_assert(HPLOG_NFIELDS == 74, "the 2016/2019 field list has 74 fields");

/* What every field of one line needs: the entry, its end time split once, whether it was
 * proxied. */
struct line_ctx {
    const struct hplog_entry *e;
    struct tm end;
    int proxied;
};

/* The table compiled: the #Fields line and the longest line the table can render. */
static struct {
    pthread_once_t once;
    char fields_line[2048];
    size_t worst;
} compiled = {.once = PTHREAD_ONCE_INIT};

static int is_string(const struct hplog_field *f)
{
    return f->render == r_str || f->render == r_proxied_str || f->render == r_host ||
           f->render == r_request_id;
}

static void compile(void)
{
    size_t i, n, len;

    n = (size_t)snprintf(compiled.fields_line, sizeof(compiled.fields_line), "#Fields: ");
    compiled.worst = (HPLOG_NFIELDS - 1) + 2; /* commas, CRLF */
    for (i = 0; i < HPLOG_NFIELDS; i++) {
        len = strlen(fields[i].name);
        /* the table is ours: a #Fields line that does not fit is a bug the first test finds */
        if (n + len + 3 >= sizeof(compiled.fields_line))
            abort();
        if (i != 0)
            compiled.fields_line[n++] = ',';
        memcpy(compiled.fields_line + n, fields[i].name, len);
        n += len;
        compiled.worst += is_string(&fields[i]) ? 2 * fields[i].bound + 2 : fields[i].bound;
    }
    memcpy(compiled.fields_line + n, "\r\n", 3);
    /* and so is a table whose bounds do not fit a line */
    if (compiled.worst > HPLOG_LINE_MAX)
        abort();
}

/* --- renderers ---------------------------------------------------------------------------- */

static const struct hplog_str *str_at(const struct hplog_entry *e, size_t offset)
{
    return (const struct hplog_str *)((const char *)e + offset);
}

static char *put2(char *p, int v)
{
    *p++ = (char)('0' + v / 10 % 10);
    *p++ = (char)('0' + v % 10);
    return p;
}

/* The end of put_iso()'s rendering: "130Z", the milliseconds of NSEC, cut. */
static char *put_iso_ms(char *p, long nsec)
{
    int ms = nsec < 0 || nsec > 999999999 ? 0 : (int)(nsec / 1000000);

    *p++ = (char)('0' + ms / 100);
    p = put2(p, ms % 100);
    *p++ = 'Z';
    return p;
}

/* "2023-01-09T19:00:00.130Z" (.NET's "yyyy-MM-ddTHH:mm:ss.fffZ": milliseconds cut, not
 * rounded); always 24 bytes, the first ISO_SECOND those of the second. */
#define ISO_SECOND 20
static char *put_iso(char *p, const struct tm *tm, long nsec)
{
    int year = tm->tm_year + 1900;

    /* a clock outside 0000-9999 is a bug elsewhere; keep the field 24 bytes wide anyway */
    if (year < 0)
        year = 0;
    else if (year > 9999)
        year = 9999;
    p = put2(p, year / 100);
    p = put2(p, year % 100);
    *p++ = '-';
    p = put2(p, tm->tm_mon + 1);
    *p++ = '-';
    p = put2(p, tm->tm_mday);
    *p++ = 'T';
    p = put2(p, tm->tm_hour);
    *p++ = ':';
    p = put2(p, tm->tm_min);
    *p++ = ':';
    p = put2(p, tm->tm_sec); /* a leap second stays 60 (.NET's DateTime has none) */
    *p++ = '.';
    return put_iso_ms(p, nsec);
}

/*
 * At most CAP bytes of S as Exchange's log writer escapes a field (Utf8Csv.Escape with line
 * breaks escaped): CR and LF become the two characters \r and \n; a field holding a comma or a
 * double quote goes in double quotes, its own quotes doubled. Other control characters, which
 * Exchange would leave as they are, become '?': they are a client's bytes and have no business
 * in a text file. Bytes from 0x80 are kept (the log is UTF-8). Writes at most 2 * CAP + 2.
 */
static char *put_bytes(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}
#define put_lit(p, s) put_bytes((p), (s), sizeof(s) - 1)

/* The bytes put_csv() does not copy as they are: controls, DEL, the comma and the quote. */
static const unsigned char csv_special[256] = {
    [0 ... 0x1f] = 1,
    [','] = 1,
    ['"'] = 1,
    [0x7f] = 1,
};

static char *put_csv(char *p, const char *s, size_t len, size_t cap)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i, k;
    int quote = 0;

    if (s == NULL || len == 0)
        return p;
    if (len > cap) {
        len = cap;
        /* cut before a UTF-8 character rather than through it (at most 3 continuation bytes) */
        for (k = 0; k < 3 && len > 1 && (u[len] & 0xc0) == 0x80; k++)
            len--;
    }
    /* the usual field has nothing to escape: copied whole */
    for (i = 0; i < len && !csv_special[u[i]]; i++)
        ;
    if (i == len) {
        memcpy(p, s, len);
        return p + len;
    }
    for (i = 0; i < len && !quote; i++)
        quote = u[i] == ',' || u[i] == '"';
    if (quote)
        *p++ = '"';
    for (i = 0; i < len; i++) {
        if (u[i] == '"') {
            *p++ = '"';
            *p++ = '"';
        } else if (u[i] == '\r' || u[i] == '\n') {
            *p++ = '\\';
            *p++ = u[i] == '\r' ? 'r' : 'n';
        } else if (u[i] < 0x20 || u[i] == 0x7f) {
            *p++ = '?';
        } else {
            *p++ = (char)u[i];
        }
    }
    if (quote)
        *p++ = '"';
    return p;
}

static char *r_empty(char *p, const struct line_ctx *ctx, const struct hplog_field *f)
{
    UNUSED(ctx);
    UNUSED(f);
    return p;
}

static char *r_datetime(char *p, const struct line_ctx *ctx, const struct hplog_field *f)
{
    /* the second's part made once a second (ctx->end is the entry's second split) */
    static __thread time_t at = -1;
    static __thread char second[24];

    UNUSED(f);
    if (ctx->e->end.tv_sec != at) {
        put_iso(second, &ctx->end, 0);
        at = ctx->e->end.tv_sec;
    }
    memcpy(p, second, ISO_SECOND);
    return put_iso_ms(p + ISO_SECOND, ctx->e->end.tv_nsec);
}

static char *r_request_id(char *p, const struct line_ctx *ctx, const struct hplog_field *f)
{
    const char *id = ctx->e->request_id;
    return id == NULL ? p : put_csv(p, id, strnlen(id, f->bound), f->bound);
}

static char *r_build(char *p, const struct line_ctx *ctx, const struct hplog_field *f)
{
    return logf_put_u64(p, ctx->e->build[f->offset]);
}

static char *r_protocol(char *p, const struct line_ctx *ctx, const struct hplog_field *f)
{
    const char *name = hplog_protocol_name(ctx->e->protocol);
    size_t n = strlen(name);

    UNUSED(f);
    memcpy(p, name, n);
    return p + n;
}

static char *r_str(char *p, const struct line_ctx *ctx, const struct hplog_field *f)
{
    const struct hplog_str *s = str_at(ctx->e, f->offset);
    return put_csv(p, s->base, s->len, f->bound);
}

static char *r_proxied_str(char *p, const struct line_ctx *ctx, const struct hplog_field *f)
{
    return ctx->proxied ? r_str(p, ctx, f) : p;
}

/* The host as .NET's Uri.DnsSafeHost gives it: no port, no brackets around an IPv6 address,
 * lower case. */
static char *r_host(char *p, const struct line_ctx *ctx, const struct hplog_field *f)
{
    const struct hplog_str *s = str_at(ctx->e, f->offset);
    const char *h = s->base, *end;
    size_t n = s->len, i;
    char lower[256];

    if (h == NULL || n == 0)
        return p;
    if (h[0] == '[' && (end = memchr(h, ']', n)) != NULL) {
        h++;
        n = (size_t)(end - h);
    } else {
        n = util_host_strip_port(h, n);
    }
    if (n > sizeof(lower))
        n = sizeof(lower);
    for (i = 0; i < n; i++)
        lower[i] = (h[i] >= 'A' && h[i] <= 'Z') ? (char)(h[i] - 'A' + 'a') : h[i];
    return put_csv(p, lower, n, f->bound);
}

static char *r_bool(char *p, const struct line_ctx *ctx, const struct hplog_field *f)
{
    int v;

    memcpy(&v, (const char *)ctx->e + f->offset, sizeof(v));
    memcpy(p, v ? "true" : "false", v ? 4 : 5);
    return p + (v ? 4 : 5);
}

static char *r_uint(char *p, const struct line_ctx *ctx, const struct hplog_field *f)
{
    unsigned v;

    memcpy(&v, (const char *)ctx->e + f->offset, sizeof(v));
    return logf_put_u64(p, v);
}

static char *r_backend_status(char *p, const struct line_ctx *ctx, const struct hplog_field *f)
{
    UNUSED(f);
    return ctx->e->backend_status != 0 ? logf_put_u64(p, ctx->e->backend_status) : p;
}

static char *r_proxied_text(char *p, const struct line_ctx *ctx, const struct hplog_field *f)
{
    size_t n = strlen(f->text);

    if (!ctx->proxied)
        return p;
    memcpy(p, f->text, n);
    return p + n;
}

/* The version AD keeps for the back end: its build without the revision ("15.01.2507.000"). */
static char *r_target_version(char *p, const struct line_ctx *ctx, const struct hplog_field *f)
{
    const unsigned *b = ctx->e->build;
    char buf[64];
    int n;

    if (!ctx->proxied)
        return p;
    n = snprintf(buf, sizeof(buf), "%02u.%02u.%04u.000", b[0], b[1], b[2]);
    if (n < 0 || (size_t)n > f->bound)
        return p;
    memcpy(p, buf, (size_t)n);
    return p + n;
}

static char *r_u64(char *p, const struct line_ctx *ctx, const struct hplog_field *f)
{
    uint64_t v;

    memcpy(&v, (const char *)ctx->e + f->offset, sizeof(v));
    return logf_put_u64(p, v);
}

static char *r_proxied_u64(char *p, const struct line_ctx *ctx, const struct hplog_field *f)
{
    return ctx->proxied ? r_u64(p, ctx, f) : p;
}

static char *r_total(char *p, const struct line_ctx *ctx, const struct hplog_field *f)
{
    UNUSED(f);
    return logf_put_u64(p, ctx->e->total_ms);
}

static char *r_proxied_total(char *p, const struct line_ctx *ctx, const struct hplog_field *f)
{
    return ctx->proxied ? r_total(p, ctx, f) : p;
}

static char *r_proxied_zero(char *p, const struct line_ctx *ctx, const struct hplog_field *f)
{
    UNUSED(f);
    if (ctx->proxied)
        *p++ = '0';
    return p;
}

/* The front end's own share of the time: all of it when nothing was proxied, none of it when
 * the in-process back end took it all (ProxyModule.FinalizeRequestLatencies). */
static char *r_overhead(char *p, const struct line_ctx *ctx, const struct hplog_field *f)
{
    UNUSED(f);
    return logf_put_u64(p, ctx->proxied ? 0 : ctx->e->total_ms);
}

/* The AD version number of a build, as Exchange's FEAuth=BEVersion-<n> and Autodiscover's
 * ServerVersion carry it: 15.1.2375 is 0x73C18947, 1942063431. */
static uint32_t version_number(const unsigned b[4])
{
    return (7u << 28) | ((b[0] & 0x3fu) << 22) | ((b[1] & 0x3fu) << 16) | (1u << 15) |
           (b[2] & 0x7fffu);
}

/*
 * GenericInfo in Exchange's style: BeginRequest, CorrelationID, then, for a proxied request, the
 * proxy's states and timestamps, then EndRequest, each "key=value;". The back end being
 * in-process, the proxy's own timestamps (BeginGetResponse, OnResponseReady, EndGetResponse) are
 * the request's begin and end.
 */
static char *r_generic_info(char *p, const struct line_ctx *ctx, const struct hplog_field *f)
{
    const struct hplog_entry *e = ctx->e;
    char begin[25], end[25], buf[GENERIC_INFO], *q;
    struct tm tm;
    time_t t = e->begin.tv_sec;
    size_t n;

    if (util_gmtime(t, &tm) == NULL)
        memset(&tm, 0, sizeof(tm));
    put_iso(begin, &tm, e->begin.tv_nsec);
    begin[24] = '\0';
    put_iso(end, &ctx->end, e->end.tv_nsec);
    end[24] = '\0';
    /* built by hand: this runs for every request (STYLE: no printf on the hot path) */
    q = put_lit(buf, "BeginRequest=");
    q = put_bytes(q, begin, 24);
    q = put_lit(q, ";CorrelationID=<empty>;");
    if (ctx->proxied) {
        q = put_lit(q, "ProxyState-Run=None;FEAuth=BEVersion-");
        q = logf_put_u64(q, version_number(e->build));
        q = put_lit(q, ";BeginGetResponse=");
        q = put_bytes(q, begin, 24);
        q = put_lit(q, ";OnResponseReady=");
        q = put_bytes(q, end, 24);
        q = put_lit(q, ";EndGetResponse=");
        q = put_bytes(q, end, 24);
        q = put_lit(q, ";ProxyState-Complete=ProxyResponseData;SharedCacheGuard=0;");
    }
    q = put_lit(q, "EndRequest=");
    q = put_bytes(q, end, 24);
    q = put_lit(q, ";");
    n = (size_t)(q - buf);
    if (n > f->bound)
        return p;
    memcpy(p, buf, n);
    return p + n;
}

/* --- lines, headers, files ---------------------------------------------------------------- */

size_t hplog_format(char *buf, size_t len, const struct hplog_entry *e)
{
    struct line_ctx ctx = {.e = e, .proxied = e->backend_status != 0 || e->target_attempted};
    time_t t = e->end.tv_sec;
    char *p = buf;
    size_t i;

    pthread_once(&compiled.once, compile);
    if (len < HPLOG_LINE_MAX || util_gmtime(t, &ctx.end) == NULL)
        return 0;
    for (i = 0; i < HPLOG_NFIELDS; i++) {
        if (i != 0)
            *p++ = ',';
        p = fields[i].render(p, &ctx, &fields[i]);
    }
    *p++ = '\r';
    *p++ = '\n';
    return (size_t)(p - buf);
}

size_t hplog_header(char *buf, size_t len, time_t now, const void *build)
{
    const unsigned *b = build;
    struct timespec ts;
    struct tm tm;
    char date[25];
    long nsec = 0;
    int n;

    pthread_once(&compiled.once, compile);
    if (gmtime_r(&now, &tm) == NULL)
        return 0;
    /* #Date is when the file was begun, to the millisecond; logfile gives the second, so the
     * milliseconds come from the clock while it still shows that second (always, in the
     * server), and are 000 otherwise (a test's fixed time) */
    if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && ts.tv_sec == now)
        nsec = ts.tv_nsec;
    put_iso(date, &tm, nsec);
    date[24] = '\0';
    n = snprintf(buf, len,
                 "#Software: Microsoft Exchange Server\r\n"
                 "#Version: %02u.%02u.%04u.%03u\r\n"
                 "#Log-type: HttpProxy Logs\r\n"
                 "#Date: %s\r\n"
                 "%s",
                 b[0], b[1], b[2], b[3], date, compiled.fields_line);
    /* a cut header would be a broken file: write none rather than part of one */
    if (n < 0 || (size_t)n >= len)
        return 0;
    return (size_t)n;
}

const char *hplog_protocol_name(enum hplog_protocol p)
{
    return p == HPLOG_AUTODISCOVER ? "Autodiscover" : "Ews";
}

const char *hplog_dir(char *buf, size_t len, const char *logs_dir, const char *server,
                      enum hplog_protocol p)
{
    int n =
        snprintf(buf, len, "%s/%s/Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy/%s",
                 logs_dir, server, hplog_protocol_name(p));

    if (n < 0 || (size_t)n >= len)
        return NULL;
    return buf;
}

struct logf *hplog_open(const char *logs_dir, const char *server, const unsigned build[4],
                        enum hplog_protocol p, time_t now, char *err, size_t errlen)
{
    char dir[4096];
    const struct logf_spec spec = {
        /* "-1": Exchange numbers a period's files from 1 and starts the next one at 10 MB
         * (MaxLogFileSizeInMB); mrsmock keeps one file per hour */
        .pattern = "HttpProxy_%Y%m%d%H-1.LOG",
        .period = LOGF_HOURLY,
        .header = hplog_header,
        .arg = build,
        .arg_len = 4 * sizeof(build[0]),
        /* Exchange's log writer begins a new file with a UTF-8 byte order mark (its
         * LogHeaderFormatter, not CSV-compatible) */
        .preamble = "\xef\xbb\xbf",
    };

    if (hplog_dir(dir, sizeof(dir), logs_dir, server, p) == NULL) {
        snprintf(err, errlen, "server %s: its HttpProxy log folder name is too long", server);
        return NULL;
    }
    return logf_open_spec(dir, &spec, now, err, errlen);
}
