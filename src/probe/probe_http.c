/*
 * probe_http — one HTTP exchange through libcurl, set up as the migration service's WCF client
 * makes it (HTTP/1.1, TLS 1.2 or newer, the certificate and the name verified, Negotiate by
 * default), and what each response of it said: the status, the challenges, the Server header,
 * the body (capped). libcurl runs the authentication handshakes; this module only watches them.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "probe_int.h"

/* .NET's HttpStatusCode descriptions, as "(NNN) Reason" prints them (net_httpstatuscode_*). */
static const struct {
    long status;
    const char *reason;
} reasons[] = {
    {200, "OK"},
    {202, "Accepted"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {407, "Proxy Authentication Required"},
    {413, "Request Entity Too Large"},
    {415, "Unsupported Media Type"},
    {500, "Internal Server Error"},
    {502, "Bad Gateway"},
    {503, "Server Unavailable"},
    {504, "Gateway Timeout"},
};

const char *probe_http_reason(long status)
{
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reasons[i].status == status)
            return reasons[i].reason;
    return "Unknown";
}

/* Appends ", VALUE" (without the space: .NET joins with ",") to the LEN-byte list DST. */
static void append_challenge(char *dst, size_t len, const char *v, size_t vlen)
{
    size_t n = strlen(dst);
    if (n + (n != 0) + vlen + 1 > len)
        return;
    if (n != 0)
        dst[n++] = ',';
    memcpy(dst + n, v, vlen);
    dst[n + vlen] = '\0';
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *arg)
{
    struct probe_http *h = arg;
    size_t len = size * nitems, n = len;
    const char *colon;

    while (n > 0 && (buf[n - 1] == '\r' || buf[n - 1] == '\n'))
        n--;
    if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        /* a new response: what the previous one said is forgotten, but the first 401's
         * challenges and whether a token came are kept */
        const char *sp = memchr(buf, ' ', n);
        if (h->status == 401 && h->first_challenges[0] == '\0' && h->challenges[0] != '\0')
            memcpy(h->first_challenges, h->challenges, sizeof(h->challenges));
        h->responses++;
        h->status = sp != NULL ? strtol(sp + 1, NULL, 10) : 0;
        h->reason[0] = '\0';
        /* "HTTP/1.1 413 Request Entity Too Large": the phrase after the code, printable only */
        const char *rp = sp != NULL ? memchr(sp + 1, ' ', (size_t)(buf + n - sp - 1)) : NULL;
        if (rp != NULL) {
            size_t rl = (size_t)(buf + n - rp - 1), k = 0;
            for (; k < rl && k + 1 < sizeof(h->reason); k++)
                h->reason[k] = rp[1 + k] >= 0x20 && rp[1 + k] < 0x7f ? rp[1 + k] : '?';
            h->reason[k] = '\0';
        }
        h->challenges[0] = '\0';
        h->server_header[0] = h->content_type[0] = h->location[0] = '\0';
        return len;
    }
    if ((colon = memchr(buf, ':', n)) == NULL)
        return len;
    size_t klen = (size_t)(colon - buf);
    const char *v = colon + 1;
    while (v < buf + n && (*v == ' ' || *v == '\t'))
        v++;
    size_t vlen = (size_t)(buf + n - v);
    if (klen == 16 && strncasecmp(buf, "WWW-Authenticate", 16) == 0) {
        append_challenge(h->challenges, sizeof(h->challenges), v, vlen);
        /* "NTLM <token>" or "Negotiate <token>": the server's Type 2, the handshake ran */
        const char *sp = memchr(v, ' ', vlen);
        if (sp != NULL && sp + 1 < v + vlen &&
            (strncasecmp(v, "NTLM ", 5) == 0 || strncasecmp(v, "Negotiate ", 10) == 0))
            h->token_challenge = 1;
    } else if (klen == 6 && strncasecmp(buf, "Server", 6) == 0) {
        snprintf(h->server_header, sizeof(h->server_header), "%.*s", (int)vlen, v);
    } else if (klen == 12 && strncasecmp(buf, "Content-Type", 12) == 0) {
        snprintf(h->content_type, sizeof(h->content_type), "%.*s", (int)vlen, v);
    } else if (klen == 8 && strncasecmp(buf, "Location", 8) == 0) {
        snprintf(h->location, sizeof(h->location), "%.*s", (int)vlen, v);
    }
    return len;
}

static size_t on_body(char *buf, size_t size, size_t nitems, void *arg)
{
    struct probe_http *h = arg;
    size_t len = size * nitems, take = len;

    if (h->body_len + take > PROBE_BODY_MAX)
        take = PROBE_BODY_MAX - h->body_len;
    if (take > 0) {
        char *p = realloc(h->body, h->body_len + take + 1);
        if (p == NULL)
            fatalx("out of memory");
        memcpy(p + h->body_len, buf, take);
        h->body = p;
        h->body_len += take;
        h->body[h->body_len] = '\0';
    }
    return len; /* the rest is read and dropped */
}

int probe_http_init(struct probe_ctx *c, struct probe_http *h, const char *url,
                    enum probe_http_auth auth)
{
    const struct probe_opts *o = c->o;

    memset(h, 0, sizeof(*h));
    if ((h->curl = curl_easy_init()) == NULL)
        return -1;
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    /* cookies kept for the handle's requests: the migration service sends a 2013+ front end's
     * X-BackEndCookie back, so that its session stays on the back end that holds it */
    curl_easy_setopt(h->curl, CURLOPT_COOKIEFILE, "");
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(h->curl, CURLOPT_CONNECT_TO, c->connect_to);
    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)o->timeout_ms);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
    /* the migration service: HTTP/1.1 (Windows authentication is not done over HTTP/2 by IIS),
     * TLS 1.2 at least, the chain and the name checked */
    curl_easy_setopt(h->curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h->curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (o->cacert != NULL)
        curl_easy_setopt(h->curl, CURLOPT_CAINFO, o->cacert);
    curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(h->curl, CURLOPT_VERBOSE, o->verbose > 1 ? 1L : 0L);
    if (auth == PROBE_HTTP_CREDENTIALS) {
        switch (o->auth) {
        case PROBE_AUTH_BASIC:
            curl_easy_setopt(h->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
            curl_easy_setopt(h->curl, CURLOPT_USERNAME, o->user);
            curl_easy_setopt(h->curl, CURLOPT_PASSWORD, o->password);
            break;
        case PROBE_AUTH_NTLM:
            /* libcurl reads DOMAIN\name itself */
            curl_easy_setopt(h->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_NTLM);
            curl_easy_setopt(h->curl, CURLOPT_USERNAME, o->user);
            curl_easy_setopt(h->curl, CURLOPT_PASSWORD, o->password);
            break;
        case PROBE_AUTH_NEGOTIATE:
            /* GSS-API's SPNEGO; the credentials come from gss-ntlmssp's NTLM_USER_FILE, which
             * probe.c wrote, or from a Kerberos ticket cache */
            curl_easy_setopt(h->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_NEGOTIATE);
            curl_easy_setopt(h->curl, CURLOPT_USERPWD, ":");
            break;
        }
    }
    return 0;
}

CURLcode probe_http_perform(struct probe_http *h, const char *body, size_t len,
                            const char *content_type)
{
    struct curl_slist *hdrs = NULL;
    char ct[160];
    char *ip = NULL;

    /* what the previous exchange on this handle said is not this one's */
    h->status = 0;
    h->reason[0] = '\0';
    h->responses = 0;
    h->token_challenge = 0;
    h->challenges[0] = h->first_challenges[0] = h->server_header[0] = h->content_type[0] = '\0';
    h->location[0] = '\0';
    h->body_len = 0;
    if (h->body != NULL)
        h->body[0] = '\0';
    h->errbuf[0] = '\0';
    if (body != NULL) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
        hdrs = curl_slist_append(hdrs, ct);
        hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
        if (hdrs == NULL)
            fatalx("out of memory");
        curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, (long)len);
    } else {
        curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs);
    h->rc = curl_easy_perform(h->curl);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    if (h->challenges[0] == '\0' && h->first_challenges[0] != '\0')
        memcpy(h->challenges, h->first_challenges, sizeof(h->challenges));
    if (h->first_challenges[0] == '\0' && h->status == 401)
        memcpy(h->first_challenges, h->challenges, sizeof(h->challenges));
    if (curl_easy_getinfo(h->curl, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip != NULL)
        snprintf(h->primary_ip, sizeof(h->primary_ip), "%s", ip);
    curl_easy_getinfo(h->curl, CURLINFO_PRIMARY_PORT, &h->primary_port);
    if (h->errbuf[0] == '\0' && h->rc != CURLE_OK)
        snprintf(h->errbuf, sizeof(h->errbuf), "%s", curl_easy_strerror(h->rc));
    return h->rc;
}

void probe_http_free(struct probe_http *h)
{
    if (h->curl != NULL)
        curl_easy_cleanup(h->curl);
    free(h->body);
    h->curl = NULL;
    h->body = NULL;
}
