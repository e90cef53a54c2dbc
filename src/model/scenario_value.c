/*
 * scenario_value — the attribute types of the scenario format: what each accepts and what it
 * stores in the draft (see enum scn_type in scenario_int.h). Messages say what was expected.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <h2o/memory.h>
#include <h2o/string_.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "scenario_int.h"
#include "util.h"

static const struct {
    const char *name;
    unsigned bits;
} auth_methods[] = {
    {"basic", SCN_AUTH_BASIC},     {"ntlm", SCN_AUTH_NTLM},   {"negotiate", SCN_AUTH_NEGOTIATE},
    {"windows", SCN_AUTH_WINDOWS}, {"oauth", SCN_AUTH_OAUTH},
};

static const struct {
    const char *name;
    unsigned bits;
} roles[] = {{"mailbox", SCN_ROLE_MAILBOX}, {"client-access", SCN_ROLE_CLIENT_ACCESS}};

static const struct {
    const char *name;
    unsigned version;
} tls_versions[] = {
    {"tls1.0", SCN_TLS10}, {"tls1.1", SCN_TLS11}, {"tls1.2", SCN_TLS12}, {"tls1.3", SCN_TLS13}};

static const enum scn_version versions[] = {SCN_V2010, SCN_V2013, SCN_V2016, SCN_V2019};

static const char *const digests[] = {"sha1", "sha256", "sha384", "sha512"};

static const struct {
    const char *name;
    enum scn_account_state state;
} account_states[] = {
    {"enabled", SCN_ACCOUNT_ENABLED},
    {"disabled", SCN_ACCOUNT_DISABLED},
    {"locked", SCN_ACCOUNT_LOCKED},
    {"password-expired", SCN_ACCOUNT_PASSWORD_EXPIRED},
};

/* Value shapes --------------------------------------------------------------------------- */

static int is_dns(const char *p, size_t len)
{
    size_t label = 0;

    if (len == 0 || len > 253)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '.') {
            if (label == 0 || p[i - 1] == '-')
                return 0;
            label = 0;
        } else if (isalnum((unsigned char)p[i]) || p[i] == '_' || (p[i] == '-' && label != 0)) {
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return label != 0 && p[len - 1] != '-';
}

static int is_ip(const char *p, size_t len)
{
    char buf[INET6_ADDRSTRLEN];
    unsigned char bin[sizeof(struct in6_addr)];

    if (len == 0 || len >= sizeof(buf))
        return 0;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return inet_pton(AF_INET, buf, bin) == 1 || inet_pton(AF_INET6, buf, bin) == 1;
}

static int is_charset(const char *v, size_t maxlen, const char *extra)
{
    size_t n = strlen(v);

    if (n == 0 || n > maxlen)
        return 0;
    for (const char *p = v; *p != '\0'; p++)
        if (!isalnum((unsigned char)*p) && strchr(extra, *p) == NULL)
            return 0;
    return 1;
}

static int is_sam(const char *v, size_t len)
{
    size_t chars = 0;

    for (const unsigned char *p = (const unsigned char *)v; p < (const unsigned char *)v + len;
         p++) {
        if (*p <= ' ' || *p == 0x7f || strchr("\"/\\[]:;|=,+*?<>@", *p) != NULL)
            return 0;
        if ((*p & 0xc0) != 0x80) /* count characters, not UTF-8 continuation bytes */
            chars++;
    }
    return chars >= 1 && chars <= 20;
}

static int is_mailaddr(const char *v)
{
    const char *at = strchr(v, '@');

    if (at == NULL || at == v || at - v > 64)
        return 0;
    for (const unsigned char *p = (const unsigned char *)v; p < (const unsigned char *)at; p++)
        if (*p <= ' ' || *p == 0x7f || strchr("\"(),:;<>[\\]", *p) != NULL)
            return 0;
    return is_dns(at + 1, strlen(at + 1));
}

/* Absolute http(s) URL: scheme://host[:port][/path]. Sets the host (without brackets). */
int scn_url_host(const char *v, const char **host, size_t *hlen)
{
    const char *p, *h;
    size_t n;

    if (strncasecmp(v, "https://", 8) == 0)
        p = v + 8;
    else if (strncasecmp(v, "http://", 7) == 0)
        p = v + 7;
    else
        return -1;
    for (const unsigned char *q = (const unsigned char *)v; *q != '\0'; q++)
        if (*q <= ' ' || *q == 0x7f)
            return -1;
    if (*p == '[') {
        h = ++p;
        if ((p = strchr(p, ']')) == NULL || !is_ip(h, (size_t)(p - h)) ||
            memchr(h, ':', (size_t)(p - h)) == NULL)
            return -1;
        n = (size_t)(p++ - h);
    } else {
        h = p;
        n = strcspn(p, ":/?#");
        if (!is_dns(h, n))
            return -1;
        p += n;
    }
    if (*p == ':') {
        unsigned long port = 0;
        size_t digits = strspn(++p, "0123456789");
        if (digits == 0 || digits > 5 || (port = strtoul(p, NULL, 10)) == 0 || port > 65535)
            return -1;
        p += digits;
    }
    if (*p != '\0' && *p != '/' && *p != '?')
        return -1;
    *host = h;
    *hlen = n;
    return 0;
}

/* Decimal digits only, no sign, no spaces; at most 18 of them so nothing overflows. */
static int parse_digits(const char **p, int64_t *out)
{
    size_t n = strspn(*p, "0123456789");
    int64_t v = 0;

    if (n == 0 || n > 18)
        return -1;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + ((*p)[i] - '0');
    *p += n;
    *out = v;
    return 0;
}

static int parse_duration(const char *v, int64_t *out)
{
    int64_t n, sign = 1;

    if (*v == '+' || *v == '-')
        sign = *v++ == '-' ? -1 : 1;
    if (parse_digits(&v, &n) != 0 || v[0] == '\0' || v[1] != '\0' || n > INT64_MAX / 86400)
        return -1;
    switch (*v) {
    case 's':
        break;
    case 'm':
        n *= 60;
        break;
    case 'h':
        n *= 3600;
        break;
    case 'd':
        n *= 86400;
        break;
    default:
        return -1;
    }
    *out = sign * n;
    return 0;
}

static int parse_timeout(const char *v, int64_t *out)
{
    int64_t n;

    if (parse_digits(&v, &n) != 0 || n > INT64_MAX / 60000)
        return -1;
    if (strcmp(v, "ms") == 0)
        *out = n;
    else if (strcmp(v, "s") == 0)
        *out = n * 1000;
    else if (strcmp(v, "m") == 0)
        *out = n * 60000;
    else
        return -1;
    return 0;
}

/* Splits V at white space into at most MAX tokens, copied into POOL, or pointing into V when
 * POOL is NULL (then each ends at white space). Returns the number found, MAX + 1 for more. */
static size_t split(h2o_mem_pool_t *pool, const char *v, const char **tok, size_t max)
{
    size_t n = 0, len;

    for (;;) {
        v += strspn(v, " \t\r\n");
        if (*v == '\0' || n > max)
            return n;
        len = strcspn(v, " \t\r\n");
        if (n < max)
            tok[n] = pool != NULL ? h2o_strdup(pool, v, len).base : v;
        n++;
        v += len;
    }
}

static int token_is(const char *tok, const char *name)
{
    size_t len = strcspn(tok, " \t\r\n");
    return strlen(name) == len && memcmp(name, tok, len) == 0;
}

/* "basic ntlm" -> SCN_AUTH_*; "" -> 0 (no method at all). */
static int parse_auth(const char *v, unsigned *bits)
{
    const char *tok[16];
    size_t n = split(NULL, v, tok, COUNTOF(tok));

    *bits = 0;
    if (n > COUNTOF(tok))
        return -1;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < COUNTOF(auth_methods) && !token_is(tok[i], auth_methods[k].name))
            k++;
        if (k == COUNTOF(auth_methods))
            return -1;
        *bits |= auth_methods[k].bits;
    }
    return 0;
}

/* "mailbox client-access" -> SCN_ROLE_* bits; at least one. */
static int parse_roles(const char *v, unsigned *bits)
{
    const char *tok[8];
    size_t n = split(NULL, v, tok, COUNTOF(tok));

    *bits = 0;
    if (n == 0 || n > COUNTOF(tok))
        return -1;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < COUNTOF(roles) && !token_is(tok[i], roles[k].name))
            k++;
        if (k == COUNTOF(roles))
            return -1;
        *bits |= roles[k].bits;
    }
    return 0;
}

/* "tls1.2 tls1.3" -> the lowest and the highest version named (a gap is not kept). */
static int parse_protocols(const char *v, unsigned *lo, unsigned *hi)
{
    const char *tok[16];
    size_t n = split(NULL, v, tok, COUNTOF(tok));

    *lo = SCN_TLS13, *hi = SCN_TLS10;
    if (n == 0 || n > COUNTOF(tok))
        return -1;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < COUNTOF(tls_versions) && !token_is(tok[i], tls_versions[k].name))
            k++;
        if (k == COUNTOF(tls_versions))
            return -1;
        *lo = tls_versions[k].version < *lo ? tls_versions[k].version : *lo;
        *hi = tls_versions[k].version > *hi ? tls_versions[k].version : *hi;
    }
    return 0;
}

static int parse_version(const char *v, enum scn_version *out)
{
    for (size_t i = 0; i < COUNTOF(versions); i++) {
        char year[8];
        snprintf(year, sizeof(year), "%d", (int)versions[i]);
        if (strcmp(v, year) == 0) {
            *out = versions[i];
            return 0;
        }
    }
    return -1;
}

static int parse_build(const char *v, unsigned b[4])
{
    int64_t n;

    for (size_t i = 0; i < 4; i++) {
        if (parse_digits(&v, &n) != 0 || n > 65535 || *v != (i < 3 ? '.' : '\0'))
            return -1;
        b[i] = (unsigned)n;
        v += i < 3;
    }
    return 0;
}

/* "A-B[/P]", every number with an "s" suffix or none: arrivals or seconds, 1 <= A <= B (<= P). */
static int parse_flap(const char *v, struct scn_flap *out)
{
    int64_t n[3] = {0, 0, 0};
    int secs[3] = {0, 0, 0};
    size_t k = 0;

    for (;; k++) {
        if (parse_digits(&v, &n[k]) != 0 || n[k] < 1 || n[k] > 1000000000)
            return -1;
        if (*v == 's')
            secs[k] = 1, v++;
        if (k == 0 && *v == '-')
            v++;
        else if (k == 1 && *v == '/')
            v++;
        else
            break;
    }
    if (*v != '\0' || k == 0 || n[1] < n[0] || (k == 2 && n[2] < n[1]) || secs[1] != secs[0] ||
        (k == 2 && secs[2] != secs[0]))
        return -1;
    *out = (struct scn_flap){(unsigned)n[0], (unsigned)n[1], (unsigned)n[2], secs[0]};
    return 0;
}

/* One item of a list of TYPE (SCN_T_NAMES, SCN_T_HOSTS or SCN_T_SAMS), LEN bytes at P. */
static int is_list_item(enum scn_type type, const char *p, size_t len)
{
    int wild = len > 2 && memcmp(p, "*.", 2) == 0; /* a wildcard certificate */

    switch (type) {
    case SCN_T_NAMES:
        return is_ip(p, len) || is_dns(p + 2 * wild, len - 2 * wild);
    case SCN_T_HOSTS:
        return is_dns(p, len);
    case SCN_T_ADDRS: {
        char buf[400];
        if (len > 5 && strncasecmp(p, "smtp:", 5) == 0)
            p += 5, len -= 5;
        if (len >= sizeof(buf))
            return 0;
        memcpy(buf, p, len);
        buf[len] = '\0';
        return is_mailaddr(buf);
    }
    default:
        return is_sam(p, len);
    }
}

/* Space-separated items of A's type, 1 to SCN_MAX_NAMES of them (0 too when A takes ""). */
static int parse_list(h2o_mem_pool_t *pool, const struct scn_attr *a, const char *v,
                      const char ***items, size_t *num)
{
    const char *tok[SCN_MAX_NAMES];
    size_t n = split(NULL, v, tok, SCN_MAX_NAMES);

    if (n > SCN_MAX_NAMES || (n == 0 && (a->flags & SCN_F_EMPTY) == 0))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!is_list_item(a->type, tok[i], strcspn(tok[i], " \t\r\n")))
            return -1;
    *items = n != 0 ? h2o_mem_alloc_pool(pool, n * sizeof(**items)) : NULL;
    split(pool, v, *items, n);
    *num = n;
    return 0;
}

/* One address or ADDRESS/BITS range; the host bits must be zero, as a firewall's editor asks. */
static int parse_cidr(const char *p, size_t len, struct scn_cidr *out)
{
    char buf[64];
    const char *slash;
    unsigned long bits;
    char *end;

    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, p, len);
    buf[len] = '\0';
    memset(out, 0, sizeof(*out));
    if ((slash = strchr(buf, '/')) != NULL)
        buf[slash - buf] = '\0';
    if (inet_pton(AF_INET, buf, out->addr) == 1)
        out->v6 = 0;
    else if (inet_pton(AF_INET6, buf, out->addr) == 1)
        out->v6 = 1;
    else
        return -1;
    out->bits = out->v6 ? 128 : 32;
    if (slash != NULL) {
        if (!isdigit((unsigned char)slash[1]))
            return -1;
        bits = strtoul(slash + 1, &end, 10);
        if (*end != '\0' || bits > out->bits)
            return -1;
        out->bits = (unsigned)bits;
    }
    for (unsigned b = out->bits; b < (out->v6 ? 128u : 32u); b++)
        if (out->addr[b / 8] & (0x80u >> (b % 8)))
            return -1;
    return 0;
}

/* Space-separated ranges, 1 to SCN_MAX_CIDRS of them. */
static int parse_cidrs(h2o_mem_pool_t *pool, const char *v, struct scn_cidr **items, size_t *num)
{
    const char *tok[SCN_MAX_CIDRS];
    size_t n = split(NULL, v, tok, SCN_MAX_CIDRS);
    struct scn_cidr *c;

    if (n == 0 || n > SCN_MAX_CIDRS)
        return -1;
    c = h2o_mem_alloc_pool(pool, n * sizeof(*c));
    for (size_t i = 0; i < n; i++)
        if (parse_cidr(tok[i], strcspn(tok[i], " \t\r\n"), &c[i]) != 0)
            return -1;
    *items = c;
    *num = n;
    return 0;
}

/* "127.0.0.1:8443" or "[::1]:8443" (an IPv6 address needs its brackets); the host is returned
 * without brackets. */
static int parse_address(h2o_mem_pool_t *pool, const char *v, const char **host, unsigned *port)
{
    char h[UTIL_HOST_MAX];

    if (util_hostport_parse(v, h, sizeof(h), port) != 0 || !is_ip(h, strlen(h)))
        return -1;
    *host = h2o_strdup(pool, h, SIZE_MAX).base;
    return 0;
}

/* Whether OpenSSL accepts V as a cipher string (TLS 1.2 and below) or, SUITES, as TLS 1.3
 * ciphersuites: asked of OpenSSL itself, so that `mrsmock check` finds what the listener would
 * fail on. A context of our own, freed at once; the error queue is left as it was found. */
static int openssl_accepts(const char *v, int suites)
{
    SSL_CTX *ctx;
    int ok;

    ERR_set_mark();
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        h2o_fatal("out of memory");
    /* level 0: the listener lowers its level for what the scenario asks (tls.c) */
    SSL_CTX_set_security_level(ctx, 0);
    ok = suites ? SSL_CTX_set_ciphersuites(ctx, v) == 1 : SSL_CTX_set_cipher_list(ctx, v) == 1;
    SSL_CTX_free(ctx);
    ERR_pop_to_mark();
    return ok;
}

#define FIELD(type, base, off) (*(type *)(void *)((char *)(base) + (off)))

int scn_parse_value(h2o_mem_pool_t *pool, const struct scn_attr *a, const char *v, void *base,
                    char *why, size_t whylen)
{
    const char *expected = "", *host;
    int64_t n = 0;
    size_t len;
    int ok = 0, copy = 0; /* copy: a string type, V is stored as is */

    if (*v == '\0' && (a->flags & SCN_F_EMPTY) != 0) {
        FIELD(const char *, base, a->off) = NULL;
        if (a->type == SCN_T_HOSTS || a->type == SCN_T_SAMS || a->type == SCN_T_ADDRS)
            FIELD(size_t, base, a->off2) = 0; /* the empty list */
        return 0;
    }
    switch (a->type) {
    case SCN_T_TEXT:
        ok = copy = 1;
        break;
    case SCN_T_NAME:
        ok = copy = is_charset(v, 64, "._-");
        expected = "a name of letters, digits, '.', '_' and '-'";
        break;
    case SCN_T_COMPUTER:
        ok = copy = is_charset(v, 15, "-");
        expected = "a NetBIOS name: 1 to 15 letters, digits or '-'";
        break;
    case SCN_T_SAM:
        ok = copy = is_sam(v, strlen(v));
        expected = "an account name of 1 to 20 characters, none of \"/\\[]:;|=,+*?<>@ or space";
        break;
    case SCN_T_DNS:
        ok = copy = is_dns(v, strlen(v));
        expected = "a DNS name such as contoso.com";
        break;
    case SCN_T_MAILADDR:
        ok = copy = is_mailaddr(v);
        expected = "an address such as user@contoso.com";
        break;
    case SCN_T_URL:
        ok = copy = scn_url_host(v, &host, &len) == 0;
        expected = "an absolute URL such as https://mail.contoso.com/EWS/Exchange.asmx";
        break;
    case SCN_T_IP:
        ok = copy = is_ip(v, strlen(v));
        expected = "an IPv4 or IPv6 address";
        break;
    case SCN_T_DIGEST:
        for (size_t i = 0; i < COUNTOF(digests); i++)
            if (strcmp(v, digests[i]) == 0) {
                FIELD(const char *, base, a->off) = digests[i];
                ok = 1;
            }
        expected = "sha1, sha256, sha384 or sha512";
        break;
    case SCN_T_BOOL:
        if ((ok = strcmp(v, "true") == 0 || strcmp(v, "false") == 0))
            FIELD(int, base, a->off) = v[0] == 't';
        expected = "true or false";
        break;
    case SCN_T_UINT:
    case SCN_T_SIZE: {
        const char *p = v;
        if (parse_digits(&p, &n) != 0 || *p != '\0' || n < a->min || n > a->max) {
            snprintf(why, whylen, "expected an integer from %" PRId64 " to %" PRId64, a->min,
                     a->max);
            return -1;
        }
        if (a->type == SCN_T_UINT)
            FIELD(unsigned, base, a->off) = (unsigned)n;
        else
            FIELD(size_t, base, a->off) = (size_t)n;
        return 0;
    }
    case SCN_T_DURATION:
        if ((ok = parse_duration(v, &n) == 0 && n >= a->min && n <= a->max))
            FIELD(int64_t, base, a->off) = n;
        expected = "a duration such as +365d or -30d";
        break;
    case SCN_T_TIMEOUT:
        if ((ok = parse_timeout(v, &n) == 0 && n >= a->min && n <= a->max))
            FIELD(unsigned, base, a->off) = (unsigned)n;
        expected = "a time from 1ms to 1440m, such as 120s, 500ms or 2m";
        break;
    case SCN_T_AUTH:
        ok = parse_auth(v, &FIELD(unsigned, base, a->off)) == 0;
        expected = "methods among basic, ntlm, negotiate, windows and oauth, or \"\" for none";
        break;
    case SCN_T_ROLES:
        ok = parse_roles(v, &FIELD(unsigned, base, a->off)) == 0;
        expected = "roles among mailbox and client-access";
        break;
    case SCN_T_PROTOCOLS:
        ok = parse_protocols(v, &FIELD(unsigned, base, a->off), &FIELD(unsigned, base, a->off2)) ==
             0;
        expected = "versions among tls1.0, tls1.1, tls1.2 and tls1.3";
        break;
    case SCN_T_VERSION:
        ok = parse_version(v, &FIELD(enum scn_version, base, a->off)) == 0;
        expected = "2010, 2013, 2016 or 2019";
        break;
    case SCN_T_BUILD:
        ok = parse_build(v, &FIELD(unsigned, base, a->off)) == 0;
        expected = "a build number such as 15.1.2507.6";
        break;
    case SCN_T_KEY:
        if ((ok = strcmp(v, "ec") == 0 || strcmp(v, "rsa") == 0))
            FIELD(enum scn_key_type, base, a->off) = v[0] == 'e' ? SCN_KEY_EC : SCN_KEY_RSA;
        expected = "ec or rsa";
        break;
    case SCN_T_NAMES:
    case SCN_T_HOSTS:
    case SCN_T_SAMS:
        ok = parse_list(pool, a, v, &FIELD(const char **, base, a->off),
                        &FIELD(size_t, base, a->off2)) == 0;
        expected = a->type == SCN_T_NAMES ? "1 to 32 DNS names or IP addresses separated by spaces"
                   : a->type == SCN_T_HOSTS ? "1 to 32 DNS names separated by spaces, or \"\""
                                            : "0 to 32 account names separated by spaces";
        break;
    case SCN_T_ADDRS:
        ok = parse_list(pool, a, v, &FIELD(const char **, base, a->off),
                        &FIELD(size_t, base, a->off2)) == 0;
        for (size_t i = 0; ok && i < FIELD(size_t, base, a->off2); i++) {
            const char **item = &FIELD(const char **, base, a->off)[i];
            if (strncasecmp(*item, "smtp:", 5) == 0)
                *item += 5; /* the type prefix of proxyAddresses: kept without it */
        }
        expected = "0 to 32 SMTP addresses separated by spaces, each as user@domain or "
                   "smtp:user@domain";
        break;
    case SCN_T_FLAP:
        ok = parse_flap(v, &FIELD(struct scn_flap, base, a->off)) == 0;
        expected = "a window of arrivals such as 3-4 or 3-4/10 (arrivals 3 to 4 of every 10), or "
                   "of seconds such as 10s-20s/60s";
        break;
    case SCN_T_CIDRS:
        ok = parse_cidrs(pool, v, &FIELD(struct scn_cidr *, base, a->off),
                         &FIELD(size_t, base, a->off2)) == 0;
        expected = "1 to 256 IPv4 or IPv6 addresses or ranges such as 40.92.0.0/15 separated by "
                   "spaces (no host bits set in a range)";
        break;
    case SCN_T_STATE:
        for (size_t i = 0; i < COUNTOF(account_states); i++)
            if (strcmp(v, account_states[i].name) == 0) {
                FIELD(enum scn_account_state, base, a->off) = account_states[i].state;
                ok = 1;
            }
        expected = "enabled, disabled, locked or password-expired";
        break;
    case SCN_T_ENUM:
        for (const struct scn_enum *e = a->values; e != NULL && e->name != NULL; e++)
            if (strcmp(v, e->name) == 0) {
                FIELD(int, base, a->off) = e->value;
                ok = 1;
                break;
            }
        expected = a->expected != NULL ? a->expected : "one of the documented values";
        break;
    case SCN_T_CIPHERS:
    case SCN_T_SUITES:
        ok = copy = openssl_accepts(v, a->type == SCN_T_SUITES);
        expected = a->type == SCN_T_SUITES
                       ? "TLS 1.3 ciphersuites OpenSSL knows, such as TLS_AES_256_GCM_SHA384"
                       : "an OpenSSL cipher string that selects at least one cipher, such as "
                         "ECDHE+AESGCM";
        break;
    case SCN_T_ADDRESS:
        ok = parse_address(pool, v, &FIELD(const char *, base, a->off),
                           &FIELD(unsigned, base, a->off2)) == 0;
        expected = "IPv4:port or [IPv6]:port, such as 127.0.0.1:8443";
        break;
    }
    if (!ok) {
        snprintf(why, whylen, "expected %s", expected);
        return -1;
    }
    if (copy)
        FIELD(const char *, base, a->off) = h2o_strdup(pool, v, SIZE_MAX).base;
    return 0;
}
