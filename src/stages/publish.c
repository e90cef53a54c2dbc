/*
 * publish — a reverse proxy's publishing rules and pre-authentication (publish.h).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "firewall.h"
#include "gen.h"
#include "publish.h"
#include "util.h"

#define LOGON_PATH "/CookieAuth.dll"
/* TMG's forms directory for Exchange publishing (formdir=3: the Exchange forms of TMG's
 * CookieAuthTemplates; derived from published TMG URLs) */
#define LOGON_FORMDIR "3"

static const struct flow_hname H_LOCATION = FLOW_HNAME_TOKEN("Location", H2O_TOKEN_LOCATION);

/* TMG's error page and the reason phrase it puts on the status line (ISA Server and TMG both
 * write the error's text there, in parentheses: WCF and browsers show it). The text of 12202 is
 * TMG's; that a request no rule publishes gets it rather than a 404 is unconfirmed. */
#define DENIED_TEXT "Forefront TMG denied the specified Uniform Resource Locator (URL)."
static const char denied_page[] =
    "<html><head><title>Error Message</title></head>\n"
    "<body><h1>Network Access Message: The page cannot be displayed</h1>\n"
    "<p>Explanation: There is a problem with the page you are trying to reach and it cannot be "
    "displayed.</p>\n"
    "<h2>Technical Information (for support personnel)</h2>\n"
    "<ul><li>Error Code: 403 Forbidden. " DENIED_TEXT " (12202)</li>\n"
    "<li>IP Address: %s</li>\n"
    "<li>Date: %s [GMT]</li>\n"
    "<li>Server: %s</li>\n"
    "<li>Source: proxy</li></ul></body></html>\n";

/* The device's logon form, in the shape of TMG's forms-based authentication page. Logging on
 * is not emulated: whatever is posted, the form comes back (no Exchange client gets here). */
static const char logon_page[] =
    "<!DOCTYPE html>\n"
    "<html><head><meta charset=\"utf-8\"><title>Forefront TMG</title></head>\n"
    "<body><form action=\"" LOGON_PATH "?Logon\" method=\"post\">\n"
    "<h1>%s</h1>\n"
    "<p>Security: this is a public or shared computer / this is a private computer</p>\n"
    "<p><label>Domain\\user name: <input name=\"username\"></label></p>\n"
    "<p><label>Password: <input name=\"password\" type=\"password\"></label></p>\n"
    "<p><input type=\"submit\" value=\"Log On\"></p>\n"
    "</form></body></html>\n";

static const char moved_page[] = "<head><title>Document Moved</title></head>\n"
                                 "<body><h1>Object Moved</h1>This document may be found <a "
                                 "HREF=\"%s\">here</a></body>";

static const struct scn_publish *publish_match(const struct scn_firewall *m, h2o_iovec_t path)
{
    for (size_t i = 0; i < m->num_publish; i++)
        if (scn_path_covers(m->publish[i].path, path.base, path.len))
            return &m->publish[i];
    return NULL;
}

static int has_forms(const struct scn_firewall *m)
{
    for (size_t i = 0; i < m->num_publish; i++)
        if (m->publish[i].preauth == SCN_PREAUTH_FORMS)
            return 1;
    return 0;
}

static int answer_page(struct flow *f, unsigned status, const char *reason, const char *body,
                       int len)
{
    return flow_answer(
        f, &(struct flow_answer){.by = FLOW_BY_DEVICE,
                                 .st = IIS_STATUS(status, 0, 0),
                                 .reason = reason,
                                 .content_type = "text/html",
                                 .body = h2o_iovec_init(body, len > 0 ? (size_t)len : 0)});
}

static int denied(struct flow *f, const struct scn_firewall *m)
{
    char date[64], *body;
    struct tm tm;
    time_t now = time(NULL);
    size_t cap = sizeof(denied_page) + sizeof(f->local_ip) + sizeof(date) + strlen(m->name);

    util_gmtime(now, &tm);
    strftime(date, sizeof(date), "%m/%d/%Y %I:%M:%S %p", &tm);
    body = h2o_mem_alloc_pool(&f->req->pool, cap);
    int n = snprintf(body, cap, denied_page, f->local_ip, date, m->name);
    return answer_page(f, 403, "Forbidden ( " DENIED_TEXT " )", body, n);
}

/* TMG's encoding of the original URL in curl=: '%' of percent-encoding written as 'Z', so '/'
 * is Z2F (a literal 'Z' is Z5A: unconfirmed). */
static size_t tmg_curl(char *out, size_t cap, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;

    for (size_t i = 0; i < len && k + 4 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((h2o_tolower(c) >= 'a' && h2o_tolower(c) <= 'y') || (c >= '0' && c <= '9') ||
            c == '.' || c == '-' || c == '_') {
            out[k++] = (char)c;
        } else {
            out[k++] = 'Z', out[k++] = hex[c >> 4], out[k++] = hex[c & 15];
        }
    }
    out[k] = '\0';
    return k;
}

static int redirect(struct flow *f, unsigned status, const char *reason, const char *location,
                    size_t len)
{
    size_t cap = sizeof(moved_page) + 5 * len, k = 0;
    char *body = h2o_mem_alloc_pool(&f->req->pool, cap);
    char *href = h2o_mem_alloc_pool(&f->req->pool, 5 * len + 1);

    /* the href as HTML: '&' escaped, what would end the attribute left out (the Host header in
     * it is the client's) */
    for (size_t i = 0; i < len; i++)
        if (location[i] == '&')
            memcpy(href + k, "&amp;", 5), k += 5;
        else if (strchr("<>\"'", location[i]) == NULL)
            href[k++] = location[i];
    href[k] = '\0';
    int n = snprintf(body, cap, moved_page, href);

    flow_header_ref(f, &H_LOCATION, location, len);
    return answer_page(f, status, reason, body, n);
}

/* Forms-based pre-authentication: to the logon form, with where the client was going. */
static int to_logon_form(struct flow *f)
{
    h2o_iovec_t host = flow_host(f), path = f->req->path;
    char curl[2048];
    size_t cl = tmg_curl(curl, sizeof(curl), path.base, path.len);
    size_t cap = host.len + cl + 128;
    char *loc = h2o_mem_alloc_pool(&f->req->pool, cap);
    int n = snprintf(loc, cap,
                     "https://%.*s" LOGON_PATH "?GetLogon?curl=%s&reason=0&formdir=" LOGON_FORMDIR,
                     (int)host.len, host.base, curl);
    /* TMG and ISA answer 302 with HTTP/1.0's phrase (derived) */
    return redirect(f, 302, "Moved Temporarily", loc, n > 0 ? (size_t)n : 0);
}

/* The Web Application Proxy's pre-authentication: to AD FS, with the published application's
 * realm and the URL to come back to (the query's shape is WAP's; the values are the lab's). */
static int to_adfs(struct flow *f, const struct scn_firewall *m, const struct scn_publish *p)
{
    h2o_iovec_t host = flow_host(f), path = f->req->path;
    uint8_t realm[16];
    char app[UTIL_GUID_LEN], req_id[UTIL_GUID_LEN];
    char *url = h2o_mem_alloc_pool(&f->req->pool, host.len + path.len + 16);
    int ul = sprintf(url, "https://%.*s%.*s", (int)host.len, host.base, (int)path.len, path.base);
    h2o_iovec_t back = h2o_uri_escape(&f->req->pool, url, (size_t)ul, NULL);

    util_stable_bytes(p->path, strlen(p->path), realm, sizeof(realm));
    util_guid_format(realm, app);
    util_guid_unique(req_id);
    size_t cap = strlen(m->adfs) + back.len + 256;
    char *loc = h2o_mem_alloc_pool(&f->req->pool, cap);
    int n = snprintf(loc, cap,
                     "https://%s/adfs/ls/?version=1.0&action=signin&realm=urn%%3AAppProxy%%3Acom"
                     "&appRealm=%s&returnUrl=%.*s&client-request-id=%s",
                     m->adfs, app, (int)back.len, back.base, req_id);
    return redirect(f, 307, "Temporary Redirect", loc, n > 0 ? (size_t)n : 0);
}

static void log_verdict(struct flow *f, struct fw *fw, const char *info)
{
    fw_log(fw, 0, f->peer_ip, f->peer_port, f->local_ip, flow_port(f, f->listener_index), 0, info);
}

int publish_stage(struct flow *f)
{
    struct fw *fw = f->gen->listeners[f->listener_index].fw;
    h2o_iovec_t path = f->req->path_normalized;
    const struct scn_firewall *m;
    const struct scn_publish *p;
    char info[300];

    if (fw == NULL || (m = fw_model(fw))->num_publish == 0)
        return FLOW_NEXT;
    if (has_forms(m) && scn_path_covers(LOGON_PATH, path.base, path.len)) {
        /* the device's own form, which its redirect sends browsers to */
        flow_why(f, "publish", "%s: its logon form", m->name);
        size_t cap = sizeof(logon_page) + strlen(m->name);
        char *body = h2o_mem_alloc_pool(&f->req->pool, cap);
        return answer_page(f, 200, NULL, body, snprintf(body, cap, logon_page, m->name));
    }
    if ((p = publish_match(m, path)) == NULL) {
        log_verdict(f, fw, "publish:none");
        flow_why(f, "publish", "%s: no publishing rule covers this path", m->name);
        return denied(f, m);
    }
    if (p->preauth == SCN_PREAUTH_NONE) {
        flow_why(f, "publish", "%s: published by %s, passed on", m->name, p->path);
        return FLOW_NEXT;
    }
    snprintf(info, sizeof(info), "pre-auth:%s:%s", scn_preauth_name(p->preauth), p->path);
    log_verdict(f, fw, info);
    flow_why(f, "publish", "%s: %s pre-authenticates (%s): the device's logon, not the server",
             m->name, p->path, scn_preauth_name(p->preauth));
    return p->preauth == SCN_PREAUTH_FORMS ? to_logon_form(f) : to_adfs(f, m, p);
}
