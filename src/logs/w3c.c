/*
 * w3c — IIS W3C extended log lines and headers.
 *
 * The field list is one table: a row per field with its #Fields name, its renderer and, for
 * the fields that have one, its widest rendering. It is compiled once (the #Fields line and the
 * room the fixed-width fields need); a line is then rendered in one pass into the caller's
 * buffer. Strings are bounded by a share of the line computed up front, so the line always
 * keeps its fifteen fields and its single CRLF however long a client's header is.
 */
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "logfile.h"
#include "util.h"
#include "w3c.h"

struct line_ctx;

typedef char *(*w3c_render_cb)(char *p, const struct line_ctx *ctx, size_t i);

struct w3c_field {
    const char *name;
    w3c_render_cb render;
    size_t offset; /* of the member in struct w3c_entry, for the generic renderers */
    size_t width;  /* widest rendering of a fixed-width field; 0 for a string */
};

static char *render_date(char *p, const struct line_ctx *ctx, size_t i);
static char *render_time(char *p, const struct line_ctx *ctx, size_t i);
static char *render_str(char *p, const struct line_ctx *ctx, size_t i);
static char *render_uint(char *p, const struct line_ctx *ctx, size_t i);
static char *render_u32(char *p, const struct line_ctx *ctx, size_t i);
static char *render_u64(char *p, const struct line_ctx *ctx, size_t i);

#define AT(member) offsetof(struct w3c_entry, member)

/* The default field list of an Exchange server's IIS (it never adds sc-bytes/cs-bytes). */
static const struct w3c_field fields[] = {
    {.name = "date", .render = render_date, .width = 10}, /* YYYY-MM-DD */
    {.name = "time", .render = render_time, .width = 8},  /* HH:MM:SS */
    {.name = "s-ip", .render = render_str, .offset = AT(s_ip)},
    {.name = "cs-method", .render = render_str, .offset = AT(method)},
    {.name = "cs-uri-stem", .render = render_str, .offset = AT(uri_stem)},
    {.name = "cs-uri-query", .render = render_str, .offset = AT(uri_query)},
    {.name = "s-port", .render = render_uint, .offset = AT(s_port), .width = 10},
    {.name = "cs-username", .render = render_str, .offset = AT(username)},
    {.name = "c-ip", .render = render_str, .offset = AT(c_ip)},
    {.name = "cs(User-Agent)", .render = render_str, .offset = AT(user_agent)},
    {.name = "cs(Referer)", .render = render_str, .offset = AT(referer)},
    {.name = "sc-status", .render = render_uint, .offset = AT(status), .width = 10},
    {.name = "sc-substatus", .render = render_uint, .offset = AT(substatus), .width = 10},
    {.name = "sc-win32-status", .render = render_u32, .offset = AT(win32_status), .width = 10},
    {.name = "time-taken", .render = render_u64, .offset = AT(time_taken_ms), .width = 20},
};

#undef AT

#define W3C_NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* the widths above count the digits of 32-bit unsigned and 64-bit values */
_Static_assert(UINT_MAX == 4294967295u, "s-port and status widths assume a 32-bit unsigned");

/* What every field of one line needs: the entry, its time split once, the room each string
 * field may take. */
struct line_ctx {
    const struct w3c_entry *e;
    struct tm tm;
    size_t cap[W3C_NFIELDS];
};

/* The table compiled: the #Fields line, the bytes a line takes besides its strings. */
static struct {
    pthread_once_t once;
    char fields_line[512];
    size_t fixed; /* separators, CRLF and the fixed-width fields at their widest */
    size_t nstr;  /* string fields, each at least one byte */
} compiled = {.once = PTHREAD_ONCE_INIT};

static void append(size_t *n, const char *s)
{
    size_t len = strlen(s);

    /* the table is ours: a #Fields line that does not fit is a bug to catch in the first test */
    if (*n + len >= sizeof(compiled.fields_line))
        abort();
    memcpy(compiled.fields_line + *n, s, len + 1);
    *n += len;
}

static void compile(void)
{
    size_t i, n = 0;

    append(&n, "#Fields:");
    compiled.fixed = 2 + (W3C_NFIELDS - 1);
    for (i = 0; i < W3C_NFIELDS; i++) {
        append(&n, " ");
        append(&n, fields[i].name);
        if (fields[i].width != 0)
            compiled.fixed += fields[i].width;
        else
            compiled.nstr++;
    }
    append(&n, "\r\n");
}

static const struct w3c_str *str_at(const struct w3c_entry *e, size_t offset)
{
    return (const struct w3c_str *)((const char *)e + offset);
}

static char *put2(char *p, int v)
{
    *p++ = (char)('0' + v / 10 % 10);
    *p++ = (char)('0' + v % 10);
    return p;
}

static char *render_date(char *p, const struct line_ctx *ctx, size_t i)
{
    int year = ctx->tm.tm_year + 1900;

    UNUSED(i);
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

static char *render_time(char *p, const struct line_ctx *ctx, size_t i)
{
    UNUSED(i);
    p = put2(p, ctx->tm.tm_hour);
    *p++ = ':';
    p = put2(p, ctx->tm.tm_min);
    *p++ = ':';
    /* a leap second (tm_sec 60) is printed as IIS would print it: 60 */
    return put2(p, ctx->tm.tm_sec);
}

static char *render_uint(char *p, const struct line_ctx *ctx, size_t i)
{
    unsigned v;
    memcpy(&v, (const char *)ctx->e + fields[i].offset, sizeof(v));
    return logf_put_u64(p, v);
}

static char *render_u32(char *p, const struct line_ctx *ctx, size_t i)
{
    uint32_t v;
    memcpy(&v, (const char *)ctx->e + fields[i].offset, sizeof(v));
    return logf_put_u64(p, v);
}

static char *render_u64(char *p, const struct line_ctx *ctx, size_t i)
{
    uint64_t v;
    memcpy(&v, (const char *)ctx->e + fields[i].offset, sizeof(v));
    return logf_put_u64(p, v);
}

/*
 * A string field as IIS writes it: "-" when empty, a space as "+". Control characters also
 * become "+": they are a client's bytes (User-Agent, Referer, the user name) and a CR or LF
 * would end the line and let the client forge the next one. Bytes from 0x80 are kept (IIS
 * writes UTF-8). Never more than ctx->cap[i] bytes.
 */
/* The bytes render_str() writes as '+'. */
static const unsigned char w3c_plus[256] = {[0 ... 0x20] = 1, [0x7f] = 1};

static char *render_str(char *p, const struct line_ctx *ctx, size_t i)
{
    const struct w3c_str *s = str_at(ctx->e, fields[i].offset);
    const unsigned char *src = (const unsigned char *)s->base;
    size_t n = s->len, k;

    if (src == NULL || n == 0) {
        *p++ = '-';
        return p;
    }
    if (n > ctx->cap[i]) {
        n = ctx->cap[i];
        /* cut before a UTF-8 character rather than through it (at most 3 continuation bytes) */
        for (k = 0; k < 3 && n > 1 && (src[n] & 0xc0) == 0x80; k++)
            n--;
    }
    for (k = 0; k < n && !w3c_plus[src[k]]; k++)
        ;
    memcpy(p, src, k); /* the usual field is copied whole */
    for (p += k; k < n; k++)
        *p++ = w3c_plus[src[k]] ? '+' : (char)src[k];
    return p;
}

/*
 * Shares BUDGET bytes among the string fields so that short fields are never cut and the long
 * ones are cut to equal lengths (water-filling): a 100 KB User-Agent loses its tail, the URL
 * and the user name stay whole.
 */
static void share_budget(struct line_ctx *ctx, size_t budget)
{
    size_t want[W3C_NFIELDS], i, left = 0, sum = 0, share, extra;
    int done[W3C_NFIELDS] = {0};
    int progress;

    for (i = 0; i < W3C_NFIELDS; i++) {
        const struct w3c_str *s;
        if (fields[i].width != 0) {
            done[i] = 1;
            continue;
        }
        s = str_at(ctx->e, fields[i].offset);
        want[i] = (s->base == NULL || s->len == 0) ? 1 : s->len;
        ctx->cap[i] = want[i];
        sum += want[i];
        left++;
    }
    if (sum <= budget)
        return;
    do {
        progress = 0;
        share = budget / left;
        for (i = 0; i < W3C_NFIELDS; i++) {
            if (!done[i] && want[i] <= share) {
                ctx->cap[i] = want[i];
                budget -= want[i];
                done[i] = 1;
                left--;
                progress = 1;
            }
        }
    } while (progress && left > 0);
    if (left == 0)
        return;
    share = budget / left;
    extra = budget % left;
    for (i = 0; i < W3C_NFIELDS; i++) {
        if (!done[i]) {
            ctx->cap[i] = share + (extra > 0);
            if (extra > 0)
                extra--;
        }
    }
}

size_t w3c_format(char *buf, size_t len, const struct w3c_entry *e)
{
    struct line_ctx ctx = {.e = e};
    size_t limit = len < W3C_LINE_MAX ? len : W3C_LINE_MAX, i;
    time_t t = e->at.tv_sec;
    char *p = buf;

    pthread_once(&compiled.once, compile);
    /* every string field needs at least its one byte ("-" or the first character) */
    if (limit < compiled.fixed + compiled.nstr || util_gmtime(t, &ctx.tm) == NULL)
        return 0;
    share_budget(&ctx, limit - compiled.fixed);
    for (i = 0; i < W3C_NFIELDS; i++) {
        if (i != 0)
            *p++ = ' ';
        p = fields[i].render(p, &ctx, i);
    }
    *p++ = '\r';
    *p++ = '\n';
    return (size_t)(p - buf);
}

size_t w3c_header(char *buf, size_t len, time_t now)
{
    pthread_once(&compiled.once, compile);
    return logf_w3c_header(buf, len, now, "Microsoft Internet Information Services 10.0",
                           compiled.fields_line);
}

const char *w3c_dir(char *buf, size_t len, const char *logs_dir, const char *server)
{
    return w3c_site_dir(buf, len, logs_dir, server, 1);
}

const char *w3c_site_dir(char *buf, size_t len, const char *logs_dir, const char *server,
                         unsigned site)
{
    int n = snprintf(buf, len, "%s/%s/inetpub/logs/LogFiles/W3SVC%u", logs_dir, server, site);

    if (n < 0 || (size_t)n >= len)
        return NULL;
    return buf;
}
