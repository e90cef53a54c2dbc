/*
 * autodiscover_json — Autodiscover v2, /autodiscover/autodiscover.json, anonymous: the URL of
 * one protocol for an address, in JSON (reference 2.5). Two forms:
 *   /autodiscover/autodiscover.json/v1.0/{address}?Protocol=EWS
 *   /autodiscover/autodiscover.json?Email={address}&Protocol=EWS
 * The Exchange 2013+ front end serves it (it is what ProxyShell went through); 2010 has no such
 * file. JSON is written with jansson, never pasted together.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>

#include "autodiscover_int.h"
#include "log.h"

#define CT_JSON "application/json; charset=utf-8"
#define MAX_VALUE 320 /* longest address or protocol looked at (an SMTP address is <= 320) */

typedef const char *(*url_fn)(const struct ad_ctx *c, const struct scn_server *sv);

static const char *ews_url(const struct scn_server *sv)
{
    return sv->ews.external_url != NULL ? sv->ews.external_url : sv->ews.internal_url;
}

/* https://<host of the EWS URL><path>: the model has no ActiveSync or REST directories, whose
 * external URLs are, on real servers, almost always on the EWS host. */
static const char *on_ews_host(const struct ad_ctx *c, const struct scn_server *sv,
                               const char *path)
{
    char host[256], url[512];

    if (ews_url(sv) == NULL)
        return NULL;
    ad_host_of(ews_url(sv), host, sizeof(host));
    snprintf(url, sizeof(url), "https://%s%s", host, path);
    return ad_url(c, url);
}

static const char *url_ews(const struct ad_ctx *c, const struct scn_server *sv)
{
    return ews_url(sv) != NULL ? ad_url(c, ews_url(sv)) : NULL;
}

static const char *url_activesync(const struct ad_ctx *c, const struct scn_server *sv)
{
    return on_ews_host(c, sv, "/Microsoft-Server-ActiveSync");
}

static const char *url_autodiscover(const struct ad_ctx *c, const struct scn_server *sv)
{
    const char *u = sv->autodiscover.external_url != NULL ? sv->autodiscover.external_url
                                                          : sv->autodiscover.internal_url;
    return u != NULL ? ad_url(c, u) : on_ews_host(c, sv, "/autodiscover/autodiscover.xml");
}

static const char *url_rest(const struct ad_ctx *c, const struct scn_server *sv)
{
    return on_ews_host(c, sv, "/api");
}

/* Protocol values, compared without case; REST came with 2016 (reference 2.5). */
static const struct {
    const char *name;
    enum scn_version since;
    url_fn url;
} protocols[] = {
    {"Rest", SCN_V2016, url_rest},
    {"ActiveSync", SCN_V2013, url_activesync},
    {"Ews", SCN_V2013, url_ews},
    {"AutodiscoverV1", SCN_V2013, url_autodiscover},
};

static int hex(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
        return (ch | 0x20) - 'a' + 10;
    return -1;
}

/* Percent-decodes LEN bytes at S into C's pool; PLUS: '+' is a space, as ASP.NET decodes a
 * query string. A malformed escape is kept as written, as .NET's UrlDecode keeps it. */
static h2o_iovec_t decode(const struct ad_ctx *c, const char *s, size_t len, int plus)
{
    char *out = h2o_mem_alloc_pool(c->pool, len + 1);
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < len && (hi = hex(s[i + 1])) >= 0 && (lo = hex(s[i + 2])) >= 0) {
            out[n++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[n++] = plus && s[i] == '+' ? ' ' : s[i];
        }
    }
    out[n] = '\0';
    return h2o_iovec_init(out, n);
}

/* The decoded value of query parameter NAME (compared without case, as ASP.NET does), or
 * {NULL, 0} when absent. */
static h2o_iovec_t param(const struct ad_ctx *c, h2o_iovec_t query, const char *name)
{
    size_t n = strlen(name), i = 0;

    while (i < query.len) {
        size_t end = i, eq;
        while (end < query.len && query.base[end] != '&')
            end++;
        for (eq = i; eq < end && query.base[eq] != '='; eq++)
            ;
        if (eq - i == n && strncasecmp(query.base + i, name, n) == 0)
            return decode(c, query.base + eq + (eq < end), end - eq - (eq < end), 1);
        i = end + 1;
    }
    return h2o_iovec_init(NULL, 0);
}

/* V as text fit to be echoed in a message: printable ASCII, the rest as '?', cut. */
static const char *printable(const struct ad_ctx *c, h2o_iovec_t v)
{
    size_t n = v.len > 100 ? 100 : v.len;
    char *out = h2o_mem_alloc_pool(c->pool, n + 1);

    for (size_t i = 0; i < n; i++)
        out[i] = v.base[i] >= 0x20 && v.base[i] < 0x7f ? v.base[i] : '?';
    out[n] = '\0';
    return out;
}

static void json_reply(const struct ad_ctx *c, struct ad_answer *a, int status, json_t *j)
{
    char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

    if (s == NULL)
        fatalx("out of memory writing JSON");
    ad_reply(a, status, CT_JSON, h2o_strdup(c->pool, s, strlen(s)));
    free(s);
    json_decref(j);
}

static void json_error(const struct ad_ctx *c, struct ad_answer *a, int status, const char *code,
                       const char *message)
{
    ad_why(a, "Autodiscover v2: %s", code);
    json_reply(c, a, status, json_pack("{s:s, s:s}", "ErrorCode", code, "ErrorMessage", message));
}

void ad_json_answer(const struct ad_ctx *c, h2o_iovec_t tail, struct ad_answer *a)
{
    const char *q = memchr(tail.base, '?', tail.len), *url;
    h2o_iovec_t path = h2o_iovec_init(tail.base, q != NULL ? (size_t)(q - tail.base) : tail.len);
    h2o_iovec_t query =
        q != NULL ? h2o_iovec_init(q + 1, tail.len - path.len - 1) : h2o_iovec_init("", 0);
    h2o_iovec_t email, proto;
    const struct scn_account *acc;
    const struct scn_server *sv;
    char msg[512], list[128] = "";
    size_t p = SIZE_MAX;
    int routed;

    memset(a, 0, sizeof(*a));
    if (c->server->version < SCN_V2013) {
        ad_why(a, "no Autodiscover v2 on Exchange 2010");
        a->iis_error = 1, a->st = IIS_NOT_FOUND;
        return;
    }
    if (path.len == 0 || h2o_memis(path.base, path.len, H2O_STRLIT("/"))) {
        email = param(c, query, "Email");
    } else if (path.len > 6 && strncasecmp(path.base, "/v1.0/", 6) == 0 &&
               memchr(path.base + 6, '/', path.len - 6) == NULL) {
        email = decode(c, path.base + 6, path.len - 6, 0);
    } else {
        ad_why(a, "no such Autodiscover v2 path");
        a->iis_error = 1, a->st = IIS_NOT_FOUND;
        return;
    }
    proto = param(c, query, "Protocol");
    for (size_t i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++) {
        if (c->server->version < protocols[i].since)
            continue;
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", list[0] ? "," : "",
                 protocols[i].name);
        if (proto.len == strlen(protocols[i].name) &&
            strncasecmp(proto.base, protocols[i].name, proto.len) == 0)
            p = i;
    }
    /* The value list of on-premises servers is [unconfirmed]; the text is Exchange Online's. */
    if (p == SIZE_MAX) {
        snprintf(msg, sizeof(msg),
                 "The given protocol value '%s' is invalid. Supported values are '%s'",
                 printable(c, proto), list);
        return json_error(c, a, 400, "InvalidProtocol", msg);
    }
    /* An address that is not one [unconfirmed: code and text]. */
    if (email.len == 0 || email.len > MAX_VALUE || memchr(email.base, '@', email.len) == NULL) {
        snprintf(msg, sizeof(msg), "The given SMTP address '%s' is invalid.", printable(c, email));
        return json_error(c, a, 400, "InvalidUser", msg);
    }
    /*
     * The front end routes an address it knows to its mailbox's server; one it does not know
     * (no mailbox, a typo) it sends to any back end, whose v2 handler answers with the URLs of
     * its own site without looking at the mailbox. So an unknown address still gets 200 and the
     * URL of the server answering [unconfirmed: chosen over a 404 because the v2 handler only
     * hands out service URLs]. A moved mailbox is a mail user there: routed the same way.
     */
    acc = scn_account_by_smtp(c->scn, email.base, email.len);
    routed = acc != NULL && acc->mailbox != NULL && acc->redirect_addr == NULL;
    sv = routed ? acc->server : c->server;
    if ((url = protocols[p].url(c, sv)) == NULL) {
        snprintf(msg, sizeof(msg), "No URL is configured for protocol '%s'.", protocols[p].name);
        return json_error(c, a, 404, "ProtocolNotFound", msg); /* [unconfirmed] */
    }
    ad_why(a, "Autodiscover v2 %s for %s: %s (%s of %s)", protocols[p].name, printable(c, email),
           url, routed ? "the mailbox's server" : "no mailbox: the answering server", sv->name);
    /* the protocol is echoed as asked ("EWS" in, "EWS" out; the reference's capture) */
    json_reply(c, a, 200, json_pack("{s:s, s:s}", "Protocol", printable(c, proto), "Url", url));
}
