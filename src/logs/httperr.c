/*
 * httperr — HTTP.sys error log lines, headers and files.
 *
 * The field list is one table: a row per #Fields name with its renderer and its bound (a string
 * field: the source bytes it keeps; others: their widest rendering). Escaping never lengthens a
 * field (one byte in, one byte out), so the bounds add up to the longest line; compile() checks
 * once that it fits HTTPERR_LINE_MAX, and a line is then rendered in one pass without checks on
 * the way.
 *
 * What HTTP.sys documents and this module follows (KB 820729, "Format of the HTTP Server API
 * Error Logs"): fields separated by one space; inside a field, spaces, tabs and non-printable
 * control characters replaced by "+"; "-" for an absent field; the verb cut at 255 bytes, the
 * URL with its query at 4096, the status never above 999. The field list is that of the IIS 7+
 * era with s-queuename (reference 7.2); newer Windows builds add streamid after cs-uri
 * [unconfirmed which], which mrsmock does not write.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httperr.h"
#include "log.h"
#include "logfile.h"
#include "util.h"

struct line_ctx;
struct httperr_field;

typedef char *(*httperr_render_cb)(char *p, const struct line_ctx *ctx,
                                   const struct httperr_field *f);

struct httperr_field {
    const char *name;
    httperr_render_cb render;
    size_t offset; /* of the member in struct httperr_entry, for the renderers that take one */
    size_t bound;  /* strings: source bytes kept; others: widest rendering */
};

static char *r_date(char *p, const struct line_ctx *ctx, const struct httperr_field *f);
static char *r_time(char *p, const struct line_ctx *ctx, const struct httperr_field *f);
static char *r_str(char *p, const struct line_ctx *ctx, const struct httperr_field *f);
static char *r_port(char *p, const struct line_ctx *ctx, const struct httperr_field *f);
static char *r_status(char *p, const struct line_ctx *ctx, const struct httperr_field *f);
static char *r_site(char *p, const struct line_ctx *ctx, const struct httperr_field *f);
static char *r_reason(char *p, const struct line_ctx *ctx, const struct httperr_field *f);

#define AT(member) offsetof(struct httperr_entry, member)
#define STR(member, max) .render = r_str, .offset = AT(member), .bound = (max)
/* An IPv6 address in text (45 bytes at most), "%" and a scope id of up to 10 digits. */
#define IP_MAX 64
#define NUMBER 10 /* digits of an unsigned */
/* The longest token, Connection_Abandoned_By_ReqQueue, has 32 bytes (compile() checks). */
#define REASON_MAX 32

static const struct httperr_field fields[] = {
    {.name = "date", .render = r_date, .bound = 10}, /* YYYY-MM-DD */
    {.name = "time", .render = r_time, .bound = 8},  /* HH:MM:SS */
    {.name = "c-ip", STR(c_ip, IP_MAX)},
    {.name = "c-port", .render = r_port, .offset = AT(c_port), .bound = NUMBER},
    {.name = "s-ip", STR(s_ip, IP_MAX)},
    {.name = "s-port", .render = r_port, .offset = AT(s_port), .bound = NUMBER},
    {.name = "cs-version", STR(version, 16)},
    {.name = "cs-method", STR(method, 255)}, /* "any verb that is more than 255 bytes is
                                                truncated to this length" */
    {.name = "cs-uri", STR(uri, 4096)},      /* "truncated at its length limit of 4096 bytes" */
    {.name = "sc-status", .render = r_status, .offset = AT(status), .bound = 3},
    {.name = "s-siteid", .render = r_site, .offset = AT(site_id), .bound = NUMBER},
    {.name = "s-reason", .render = r_reason, .bound = REASON_MAX},
    /* an application pool's name; IIS sets no documented limit, 256 keeps any real one */
    {.name = "s-queuename", STR(queue_name, 256)},
};

#undef AT
#undef STR

#define HTTPERR_NFIELDS (sizeof(fields) / sizeof(fields[0]))

_Static_assert(HTTPERR_NFIELDS == 13, "HTTP.sys writes 13 fields");

/* KB 820729's reason phrases, exactly. */
static const char *const reasons[] = {
    [HTTPERR_REASON_APP_OFFLINE] = "AppOffline",
    [HTTPERR_REASON_APP_POOL_TIMER] = "AppPoolTimer",
    [HTTPERR_REASON_APP_SHUTDOWN] = "AppShutdown",
    [HTTPERR_REASON_BAD_REQUEST] = "BadRequest",
    [HTTPERR_REASON_CLIENT_RESET] = "Client_Reset",
    [HTTPERR_REASON_CONNECTION_ABANDONED_BY_APP_POOL] = "Connection_Abandoned_By_AppPool",
    [HTTPERR_REASON_CONNECTION_ABANDONED_BY_REQ_QUEUE] = "Connection_Abandoned_By_ReqQueue",
    [HTTPERR_REASON_CONNECTION_DROPPED] = "Connection_Dropped",
    [HTTPERR_REASON_CONNECTION_DROPPED_LIST_FULL] = "Connection_Dropped_List_Full",
    [HTTPERR_REASON_CONN_LIMIT] = "ConnLimit",
    [HTTPERR_REASON_CONNECTIONS_REFUSED] = "Connections_Refused",
    [HTTPERR_REASON_DISABLED] = "Disabled",
    [HTTPERR_REASON_ENTITY_TOO_LARGE] = "EntityTooLarge",
    [HTTPERR_REASON_FIELD_LENGTH] = "FieldLength",
    [HTTPERR_REASON_FORBIDDEN] = "Forbidden",
    [HTTPERR_REASON_HEADER] = "Header",
    [HTTPERR_REASON_HOSTNAME] = "Hostname",
    [HTTPERR_REASON_INTERNAL] = "Internal",
    [HTTPERR_REASON_INVALID_CR_LF] = "Invalid_CR/LF",
    [HTTPERR_REASON_LENGTH_REQUIRED] = "LengthRequired",
    [HTTPERR_REASON_N_A] = "N/A",
    [HTTPERR_REASON_N_I] = "N/I",
    [HTTPERR_REASON_NUMBER] = "Number",
    [HTTPERR_REASON_PRECONDITION] = "Precondition",
    [HTTPERR_REASON_QUEUE_FULL] = "QueueFull",
    [HTTPERR_REASON_REQUEST_LENGTH] = "RequestLength",
    [HTTPERR_REASON_TIMER_APP_POOL] = "Timer_AppPool",
    [HTTPERR_REASON_TIMER_CONNECTION_IDLE] = "Timer_ConnectionIdle",
    [HTTPERR_REASON_TIMER_ENTITY_BODY] = "Timer_EntityBody",
    [HTTPERR_REASON_TIMER_HEADER_WAIT] = "Timer_HeaderWait",
    [HTTPERR_REASON_TIMER_MIN_BYTES_PER_SECOND] = "Timer_MinBytesPerSecond",
    [HTTPERR_REASON_TIMER_REQ_QUEUE] = "Timer_ReqQueue",
    [HTTPERR_REASON_TIMER_RESPONSE] = "Timer_Response",
    [HTTPERR_REASON_TIMER_SSL_RENEGOTIATION] = "Timer_SslRenegotiation",
    [HTTPERR_REASON_URL] = "URL",
    [HTTPERR_REASON_URL_LENGTH] = "URL_Length",
    [HTTPERR_REASON_VERB] = "Verb",
    [HTTPERR_REASON_VERSION_N_S] = "Version_N/S",
};

_Static_assert(sizeof(reasons) / sizeof(reasons[0]) == HTTPERR_NREASONS, "one token per reason");

/* What every field of one line needs: the entry and its time split once. */
struct line_ctx {
    const struct httperr_entry *e;
    struct tm tm;
};

/* The table compiled: the #Fields line and the longest line the table can render. */
static struct {
    pthread_once_t once;
    char fields_line[256];
    size_t worst;
} compiled = {.once = PTHREAD_ONCE_INIT};

static void compile(void)
{
    size_t i, n, len;

    n = (size_t)snprintf(compiled.fields_line, sizeof(compiled.fields_line), "#Fields:");
    compiled.worst = (HTTPERR_NFIELDS - 1) + 2; /* spaces, CRLF */
    for (i = 0; i < HTTPERR_NFIELDS; i++) {
        len = strlen(fields[i].name);
        /* the tables are ours: a #Fields line that does not fit, a line longer than the
         * limit or a missing or overlong token is a bug for the first test to find */
        if (n + 1 + len + 3 > sizeof(compiled.fields_line))
            abort();
        compiled.fields_line[n++] = ' ';
        memcpy(compiled.fields_line + n, fields[i].name, len);
        n += len;
        compiled.worst += fields[i].bound;
    }
    memcpy(compiled.fields_line + n, "\r\n", 3);
    if (compiled.worst > HTTPERR_LINE_MAX)
        abort();
    for (i = 0; i < HTTPERR_NREASONS; i++)
        if (reasons[i] == NULL || strlen(reasons[i]) > REASON_MAX)
            abort();
}

/* --- renderers ---------------------------------------------------------------------------- */

static const struct httperr_str *str_at(const struct httperr_entry *e, size_t offset)
{
    return (const struct httperr_str *)((const char *)e + offset);
}

static unsigned uint_at(const struct httperr_entry *e, size_t offset)
{
    unsigned v;

    memcpy(&v, (const char *)e + offset, sizeof(v));
    return v;
}

static char *put2(char *p, int v)
{
    *p++ = (char)('0' + v / 10 % 10);
    *p++ = (char)('0' + v % 10);
    return p;
}

static char *r_date(char *p, const struct line_ctx *ctx, const struct httperr_field *f)
{
    int year = ctx->tm.tm_year + 1900;

    UNUSED(f);
    /* a clock outside 0000-9999 is a bug elsewhere; keep the field ten bytes wide anyway */
    if (year < 0)
        year = 0;
    else if (year > 9999)
        year = 9999;
    p = put2(p, year / 100);
    p = put2(p, year % 100);
    *p++ = '-';
    p = put2(p, ctx->tm.tm_mon + 1);
    *p++ = '-';
    return put2(p, ctx->tm.tm_mday);
}

static char *r_time(char *p, const struct line_ctx *ctx, const struct httperr_field *f)
{
    UNUSED(f);
    p = put2(p, ctx->tm.tm_hour);
    *p++ = ':';
    p = put2(p, ctx->tm.tm_min);
    *p++ = ':';
    return put2(p, ctx->tm.tm_sec);
}

/*
 * At most F->bound bytes of a string field as HTTP.sys writes it: "-" when empty; a space, a
 * tab or another control character (DEL included) as "+", as KB 820729 documents — so that the
 * method and the URI, which are a client's bytes written as received, can neither add a field
 * nor end the line. Bytes from 0x80 are kept: a URI not yet parsed is "copied exactly". A cut
 * falls before a UTF-8 character rather than through it (our choice; HTTP.sys counts bytes).
 */
static char *r_str(char *p, const struct line_ctx *ctx, const struct httperr_field *f)
{
    const struct httperr_str *s = str_at(ctx->e, f->offset);
    const unsigned char *src = (const unsigned char *)s->base;
    size_t n = s->len, k;

    if (src == NULL || n == 0) {
        *p++ = '-';
        return p;
    }
    if (n > f->bound) {
        n = f->bound;
        /* at most 3 continuation bytes */
        for (k = 0; k < 3 && n > 1 && (src[n] & 0xc0) == 0x80; k++)
            n--;
    }
    for (k = 0; k < n; k++)
        *p++ = (src[k] <= 0x20 || src[k] == 0x7f) ? '+' : (char)src[k];
    return p;
}

static char *r_port(char *p, const struct line_ctx *ctx, const struct httperr_field *f)
{
    return logf_put_u64(p, uint_at(ctx->e, f->offset));
}

/* "The protocol status can't be greater than 999": anything else is "not available". */
static char *r_status(char *p, const struct line_ctx *ctx, const struct httperr_field *f)
{
    unsigned v = uint_at(ctx->e, f->offset);

    if (v == 0 || v > 999) {
        *p++ = '-';
        return p;
    }
    return logf_put_u64(p, v);
}

static char *r_site(char *p, const struct line_ctx *ctx, const struct httperr_field *f)
{
    unsigned v = uint_at(ctx->e, f->offset);

    if (v == 0) {
        *p++ = '-';
        return p;
    }
    return logf_put_u64(p, v);
}

static char *r_reason(char *p, const struct line_ctx *ctx, const struct httperr_field *f)
{
    const char *name = reasons[ctx->e->reason]; /* checked by httperr_format */
    size_t n = strlen(name);

    UNUSED(f);
    memcpy(p, name, n);
    return p + n;
}

/* --- lines, headers, files ---------------------------------------------------------------- */

const char *httperr_reason_name(enum httperr_reason r)
{
    /* compared as unsigned: an enum may be signed, and a caller's bad value negative */
    if ((unsigned)r >= HTTPERR_NREASONS)
        return NULL;
    return reasons[r];
}

int httperr_reason_lookup(const char *name, size_t len)
{
    size_t i;

    if (name == NULL)
        return -1;
    for (i = 0; i < HTTPERR_NREASONS; i++)
        if (strlen(reasons[i]) == len && memcmp(reasons[i], name, len) == 0)
            return (int)i;
    return -1;
}

size_t httperr_format(char *buf, size_t len, const struct httperr_entry *e)
{
    struct line_ctx ctx = {.e = e};
    time_t t = e->at.tv_sec;
    char *p = buf;
    size_t i;

    pthread_once(&compiled.once, compile);
    if (len < HTTPERR_LINE_MAX || httperr_reason_name(e->reason) == NULL ||
        util_gmtime(t, &ctx.tm) == NULL)
        return 0;
    for (i = 0; i < HTTPERR_NFIELDS; i++) {
        if (i != 0)
            *p++ = ' ';
        p = fields[i].render(p, &ctx, &fields[i]);
    }
    *p++ = '\r';
    *p++ = '\n';
    return (size_t)(p - buf);
}

size_t httperr_header(char *buf, size_t len, time_t now)
{
    pthread_once(&compiled.once, compile);
    return logf_w3c_header(buf, len, now, "Microsoft HTTP API 2.0", compiled.fields_line);
}

const char *httperr_dir(char *buf, size_t len, const char *logs_dir, const char *server)
{
    int n = snprintf(buf, len, "%s/%s/Windows/System32/LogFiles/HTTPERR", logs_dir, server);

    if (n < 0 || (size_t)n >= len)
        return NULL;
    return buf;
}

/* httperr_header() as logfile's kind of header that takes an argument (none here). */
static size_t on_header(char *buf, size_t len, time_t now, const void *arg)
{
    UNUSED(arg);
    return httperr_header(buf, len, now);
}

struct logf *httperr_open(const char *logs_dir, const char *server, time_t now, char *err,
                          size_t errlen)
{
    char dir[4096];
    const struct logf_spec spec = {
        .pattern = "httperr%n.log",
        .period = LOGF_SIZE,
        .max_bytes = HTTPERR_FILE_MAX,
        .header = on_header,
        /* no byte order mark: HTTP.sys writes its log in the ANSI code page [unconfirmed] */
        .preamble = NULL,
    };

    if (httperr_dir(dir, sizeof(dir), logs_dir, server) == NULL) {
        snprintf(err, errlen, "server %s: its HTTPERR log folder name is too long", server);
        return NULL;
    }
    return logf_open_spec(dir, &spec, now, err, errlen);
}
