/*
 * scenario — the organisation model: its vocabularies (versions, authentication methods, TLS
 * versions and the other attribute types), defaults, the checks that need the whole merged
 * model, reference counting and lookups. Reading the files is scenario_xml.c's business.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <h2o/memory.h>
#include <h2o/string_.h>

#include "scenario_int.h"
#include "util.h"

#ifndef MRSMOCK_SRCDIR
#define MRSMOCK_SRCDIR "."
#endif
#ifndef MRSMOCK_SHAREDIR
#define MRSMOCK_SHAREDIR "/usr/local/share/mrsmock"
#endif

/* Exchange versions: product name and the build of the last cumulative update we emulate. */
static const struct {
    enum scn_version v;
    const char *name;
    unsigned build[4];
} versions[] = {
    {SCN_V2010, "Exchange2010", {14, 3, 123, 4}},   /* 2010 SP3 RU32 */
    {SCN_V2013, "Exchange2013", {15, 0, 1497, 2}},  /* 2013 CU23 */
    {SCN_V2016, "Exchange2016", {15, 1, 2507, 6}},  /* 2016 CU23 */
    {SCN_V2019, "Exchange2019", {15, 2, 1258, 12}}, /* 2019 CU13 */
};

const struct scn_enum scn_chains[] = {
    {"full", SCN_CHAIN_FULL}, {"leaf", SCN_CHAIN_LEAF}, {"root", SCN_CHAIN_ROOT}, {NULL, 0}};

const struct scn_enum scn_app_pools[] = {{"started", SCN_POOL_STARTED},
                                         {"stopped", SCN_POOL_STOPPED},
                                         {"rapid-fail", SCN_POOL_RAPID_FAIL},
                                         {"queue-full", SCN_POOL_QUEUE_FULL},
                                         {NULL, 0}};

const struct scn_enum scn_client_certs[] = {{"ignore", SCN_CLIENT_CERT_IGNORE},
                                            {"accept", SCN_CLIENT_CERT_ACCEPT},
                                            {"require", SCN_CLIENT_CERT_REQUIRE},
                                            {NULL, 0}};

const struct scn_enum scn_hs_actions[] = {{"hang", SCN_HS_HANG},
                                          {"silent", SCN_HS_SILENT},
                                          {"alert", SCN_HS_ALERT},
                                          {"close-after-hello", SCN_HS_CLOSE},
                                          {"reset", SCN_HS_RESET},
                                          {"plain-http", SCN_HS_PLAIN_HTTP},
                                          {NULL, 0}};

const struct scn_enum scn_hs_snis[] = {
    {"any", SCN_HS_SNI_ANY}, {"none", SCN_HS_SNI_NONE}, {"unknown", SCN_HS_SNI_UNKNOWN}, {NULL, 0}};

/* Fatal TLS alerts a server sends during a handshake (RFC 8446 6.2, RFC 5246 7.2.2); the
 * warning-only close_notify and user_canceled are not faults. */
const struct scn_enum scn_alerts[] = {
    {"unexpected_message", 10},
    {"bad_record_mac", 20},
    {"record_overflow", 22},
    {"handshake_failure", 40},
    {"bad_certificate", 42},
    {"unsupported_certificate", 43},
    {"certificate_revoked", 44},
    {"certificate_expired", 45},
    {"certificate_unknown", 46},
    {"illegal_parameter", 47},
    {"unknown_ca", 48},
    {"access_denied", 49},
    {"decode_error", 50},
    {"decrypt_error", 51},
    {"protocol_version", 70},
    {"insufficient_security", 71},
    {"internal_error", 80},
    {"inappropriate_fallback", 86},
    {"missing_extension", 109},
    {"unsupported_extension", 110},
    {"unrecognized_name", 112},
    {"bad_certificate_status_response", 113},
    {"unknown_psk_identity", 115},
    {"certificate_required", 116},
    {"no_application_protocol", 120},
    {NULL, 0},
};

const char *scn_alert_name(unsigned code)
{
    for (const struct scn_enum *e = scn_alerts; e->name != NULL; e++)
        if ((unsigned)e->value == code)
            return e->name;
    return NULL;
}

const char *scn_hs_action_name(enum scn_hs_action a)
{
    for (const struct scn_enum *e = scn_hs_actions; e->name != NULL; e++)
        if (e->value == (int)a)
            return e->name;
    return NULL;
}

const char *scn_version_name(enum scn_version v)
{
    for (size_t i = 0; i < COUNTOF(versions); i++)
        if (versions[i].v == v)
            return versions[i].name;
    return "Exchange2016";
}

/* Whether this program is one of the checkout's own build tree (build/mrsmock,
 * build/san/mrsmock, their unit tests in tests/): only those read the checkout's scenarios/.
 * An installed copy of the same build must not, though the checkout may still be there. */
static int in_build_tree(void)
{
    static const char *const dirs[] = {"", "/san", "/tests", "/san/tests"};
    char exe[PATH_MAX], top[PATH_MAX], *slash;
    size_t n;

    if (MRSMOCK_SRCDIR[0] == '\0' || realpath("/proc/self/exe", exe) == NULL ||
        realpath(MRSMOCK_SRCDIR "/build", top) == NULL || (slash = strrchr(exe, '/')) == NULL)
        return 0;
    *slash = '\0';
    n = strlen(top);
    if (strncmp(exe, top, n) != 0)
        return 0;
    for (size_t i = 0; i < COUNTOF(dirs); i++)
        if (strcmp(exe + n, dirs[i]) == 0)
            return 1;
    return 0;
}

static char bundled_dir[PATH_MAX];
static pthread_once_t bundled_once = PTHREAD_ONCE_INIT;

static void find_bundled_dir(void)
{
    const char *env = getenv("MRSMOCK_SHAREDIR");
    struct stat st;
    int n;

    if (env != NULL && env[0] != '\0')
        n = snprintf(bundled_dir, sizeof(bundled_dir), "%s/scenarios", env);
    else if (in_build_tree() && stat(MRSMOCK_SRCDIR "/scenarios", &st) == 0 && S_ISDIR(st.st_mode))
        n = snprintf(bundled_dir, sizeof(bundled_dir), "%s", MRSMOCK_SRCDIR "/scenarios");
    else
        n = snprintf(bundled_dir, sizeof(bundled_dir), "%s", MRSMOCK_SHAREDIR "/scenarios");
    if (n < 0 || (size_t)n >= sizeof(bundled_dir))
        snprintf(bundled_dir, sizeof(bundled_dir), "%s", MRSMOCK_SHAREDIR "/scenarios");
}

const char *scn_bundled_dir(void)
{
    pthread_once(&bundled_once, find_bundled_dir);
    return bundled_dir;
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int scn_resolve(const char *arg, char *out, size_t outlen)
{
    int n;

    if (is_file(arg))
        n = snprintf(out, outlen, "%s", arg);
    else if (arg[0] == '\0' || arg[0] == '.' || strchr(arg, '/') != NULL)
        return -1; /* a path that does not exist, or not a plain name */
    else
        n = snprintf(out, outlen, "%s/%s.xml", scn_bundled_dir(), arg);
    if (n < 0 || (size_t)n >= outlen)
        return -1;
    return is_file(out) ? 0 : -1;
}

int scn_resolve_base(const char *from, const char *name, char *out, size_t outlen)
{
    const char *slash = strrchr(from, '/');
    int dirlen = slash != NULL ? (int)(slash - from + 1) : 0, n;
    size_t len = strlen(name);

    if (strchr(name, '/') != NULL || (len > 4 && strcmp(name + len - 4, ".xml") == 0)) {
        n = name[0] == '/' ? snprintf(out, outlen, "%s", name)
                           : snprintf(out, outlen, "%.*s%s", dirlen, from, name);
        return n > 0 && (size_t)n < outlen && is_file(out) ? 0 : -1;
    }
    n = snprintf(out, outlen, "%.*s%s.xml", dirlen, from, name);
    if (n > 0 && (size_t)n < outlen && is_file(out))
        return 0;
    if (name[0] == '.')
        return -1;
    n = snprintf(out, outlen, "%s/%s.xml", scn_bundled_dir(), name);
    return n > 0 && (size_t)n < outlen && is_file(out) ? 0 : -1;
}

void scn_ref(struct scn *s)
{
    atomic_fetch_add_explicit(&s->refcnt, 1, memory_order_relaxed);
}

void scn_unref(struct scn *s)
{
    if (s == NULL || atomic_fetch_sub_explicit(&s->refcnt, 1, memory_order_acq_rel) != 1)
        return;
    h2o_mem_clear_pool(&s->pool);
    free(s);
}

/* LEN bytes at P equal the string Z, ignoring ASCII case. */
static int eq_n(const char *p, size_t len, const char *z)
{
    return z != NULL && strlen(z) == len && strncasecmp(p, z, len) == 0;
}

struct scn_server *scn_server_by_name(const struct scn *s, const char *name)
{
    for (size_t i = 0; i < s->num_servers; i++)
        if (strcasecmp(s->servers[i].name, name) == 0)
            return &s->servers[i];
    return NULL;
}

int scn_listener_serves(const struct scn_listener *l, const char *host, size_t len)
{
    for (size_t i = 0; i < l->num_hosts; i++)
        if (strlen(l->hosts[i]) == len && strncasecmp(l->hosts[i], host, len) == 0)
            return 1;
    return 0;
}

size_t scn_listener_for_host(const struct scn *s, const char *host, size_t len, size_t own,
                             int tls_only)
{
    size_t chosen = SIZE_MAX;

    if (own < s->num_listeners && (!tls_only || s->listeners[own].tls) &&
        scn_listener_serves(&s->listeners[own], host, len))
        return own;
    for (size_t i = 0; i < s->num_listeners; i++) {
        const struct scn_listener *l = &s->listeners[i];
        if ((tls_only && !l->tls) || !scn_listener_serves(l, host, len))
            continue;
        if (chosen == SIZE_MAX || (l->tls && !s->listeners[chosen].tls))
            chosen = i;
    }
    return chosen;
}

struct scn_listener *scn_listener_by_name(const struct scn *s, const char *name)
{
    for (size_t i = 0; i < s->num_listeners; i++)
        if (strcasecmp(s->listeners[i].name, name) == 0)
            return &s->listeners[i];
    return NULL;
}

const struct scn_listener *scn_crl_listener(const struct scn *s)
{
    for (size_t i = 0; i < s->num_listeners; i++)
        if (s->listeners[i].crl)
            return &s->listeners[i];
    return NULL;
}

struct scn_account *scn_account_by_smtp(const struct scn *s, const char *addr, size_t len)
{
    for (size_t i = 0; i < s->num_accounts; i++)
        if (eq_n(addr, len, s->accounts[i].mailbox))
            return &s->accounts[i];
    return NULL;
}

static struct scn_account *by_sam(const struct scn *s, const char *user, size_t ulen)
{
    for (size_t i = 0; i < s->num_accounts; i++)
        if (eq_n(user, ulen, s->accounts[i].sam))
            return &s->accounts[i];
    return NULL;
}

struct scn_account *scn_account_by_logon(const struct scn *s, const char *domain, size_t dlen,
                                         const char *user, size_t ulen)
{
    const char *at;

    if (domain != NULL && dlen != 0) {
        /* Windows takes the NetBIOS name or the DNS name of the domain before the backslash */
        if (!eq_n(domain, dlen, s->netbios) && !eq_n(domain, dlen, s->domain))
            return NULL;
        return by_sam(s, user, ulen);
    }
    if ((at = memchr(user, '@', ulen)) == NULL)
        return by_sam(s, user, ulen);
    for (size_t i = 0; i < s->num_accounts; i++)
        if (eq_n(user, ulen, s->accounts[i].upn))
            return &s->accounts[i];
    /* the implicit UPN, sam@<DNS domain>, works even when another UPN is set */
    if (eq_n(at + 1, ulen - (size_t)(at + 1 - user), s->domain))
        return by_sam(s, user, (size_t)(at - user));
    return NULL;
}

/* Appends to ERRS->text (without counting a message). */
static void __attribute__((format(printf, 2, 0)))
vappend(struct scn_errors *errs, const char *fmt, va_list ap)
{
    va_list cp;
    int n;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return;
    errs->text = h2o_mem_realloc(errs->text, errs->len + (size_t)n + 1);
    vsnprintf(errs->text + errs->len, (size_t)n + 1, fmt, ap);
    errs->len += (size_t)n;
}

static void __attribute__((format(printf, 2, 3)))
append(struct scn_errors *errs, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vappend(errs, fmt, ap);
    va_end(ap);
}

/* Writes the line breaks of ERRS->text from FROM on as the character references that put them
 * in the document (a value written "a&#10;b"), so that one message stays one line. */
static void escape_breaks(struct scn_errors *errs, size_t from)
{
    size_t k = 0, len = errs->len;

    for (size_t i = from; i < len; i++)
        k += errs->text[i] == '\n' || errs->text[i] == '\r';
    if (k == 0)
        return;
    errs->text = h2o_mem_realloc(errs->text, len + 4 * k + 1);
    errs->len = len + 4 * k;
    errs->text[errs->len] = '\0';
    for (size_t i = len, o = errs->len; i-- > from;) {
        char c = errs->text[i];
        if (c == '\n' || c == '\r') {
            o -= 5;
            memcpy(errs->text + o, c == '\n' ? "&#10;" : "&#13;", 5);
        } else {
            errs->text[--o] = c;
        }
    }
}

void scn_verror(struct scn_errors *errs, const struct scn_where *at, const char *fmt, va_list ap)
{
    size_t from;

    if (at != NULL && at->file != NULL && at->line != 0)
        append(errs, "%s:%u: ", at->file, at->line);
    else if (at != NULL && at->file != NULL)
        append(errs, "%s: ", at->file);
    from = errs->len;
    vappend(errs, fmt, ap);
    escape_breaks(errs, from);
    append(errs, "\n");
    errs->count++;
}

void scn_error(struct scn_errors *errs, const struct scn_where *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    scn_verror(errs, at, fmt, ap);
    va_end(ap);
}

void scn_errors_free(struct scn_errors *errs)
{
    free(errs->text);
    *errs = (struct scn_errors){0};
}

/* Building the model from the merged draft ------------------------------------------------ */

/* Never written, or its value was rejected: the default applies. */
static int unset(const struct scn_mark *m, int i)
{
    return m->attr[i].line == 0 || m->bad[i];
}

/* Required and absent; a rejected value has been reported already. */
static int missing(const struct scn_mark *m, int i, const void *value)
{
    return value == NULL && !m->bad[i];
}

/* Where attribute I was written, else where the object was. */
static const struct scn_where *where(const struct scn_mark *m, int i)
{
    return m->attr[i].line != 0 ? &m->attr[i] : &m->at;
}

int scn_unset(const struct scn_mark *m, int i)
{
    return unset(m, i);
}

const struct scn_where *scn_where_attr(const struct scn_mark *m, int i)
{
    return where(m, i);
}

static char *lower_dup(h2o_mem_pool_t *pool, const char *p, size_t len)
{
    char *r = h2o_strdup(pool, p, len).base;
    for (size_t i = 0; i < len; i++)
        r[i] = (char)tolower((unsigned char)r[i]);
    return r;
}

/* The description without the white space around it nor the indentation its lines share. */
static const char *clean_text(h2o_mem_pool_t *pool, const char *t)
{
    size_t len, indent = SIZE_MAX, o = 0;
    const char *p;
    char *r;

    t += strspn(t, " \t\r\n");
    len = strlen(t);
    while (len > 0 && isspace((unsigned char)t[len - 1]))
        len--;
    for (p = memchr(t, '\n', len); p != NULL; p = memchr(p, '\n', len - (size_t)(p - t))) {
        size_t w = strspn(++p, " \t");
        if (p[w] != '\n' && p[w] != '\r' && w < indent)
            indent = w;
    }
    r = h2o_mem_alloc_pool(pool, len + 1);
    for (size_t i = 0; i < len; i++) {
        r[o++] = t[i];
        if (t[i] == '\n')
            for (size_t w = 0; w < indent && i + 1 < len && (t[i + 1] == ' ' || t[i + 1] == '\t');
                 w++)
                i++;
    }
    r[o] = '\0';
    return r;
}

static const char *first_line(h2o_mem_pool_t *pool, const char *t)
{
    size_t len = strcspn(t, "\r\n");
    while (len > 0 && isspace((unsigned char)t[len - 1]))
        len--;
    return h2o_strdup(pool, t, len).base;
}

static void build_organization(struct scn *s, struct scn_draft *d, struct scn_errors *errs)
{
    struct scn_limits *l = &s->limits;

    *l = d->limits_v;
    if (unset(&d->limits, SCN_A_LIMITS_IDLE))
        l->idle_timeout_ms = 120000;
    if (unset(&d->limits, SCN_A_LIMITS_HEADER_WAIT))
        l->header_wait_ms = 120000;
    if (unset(&d->limits, SCN_A_LIMITS_ENTITY_BODY))
        l->entity_body_ms = 120000;
    if (unset(&d->limits, SCN_A_LIMITS_MIN_SEND_RATE))
        l->min_bytes_per_second = 240;
    if (unset(&d->limits, SCN_A_LIMITS_HANDSHAKE))
        l->handshake_timeout_ms = 10000;
    if (unset(&d->limits, SCN_A_LIMITS_BODY))
        l->max_request_body = 30000000;
    /* Windows gives up a TCP connect after its SYN and two retransmissions, 3 + 6 + 12 s
     * (TcpMaxConnectRetransmissions 2) */
    if (unset(&d->limits, SCN_A_LIMITS_CONNECT))
        l->backend_connect_ms = 21000;

    if (d->organization.gen == 0)
        scn_error(errs, &d->root.at, "missing <organization>");
    else if (missing(&d->organization, SCN_A_ORG_DOMAIN, d->domain))
        scn_error(errs, &d->organization.at,
                  "missing required attribute \"domain\" on <organization>");
    s->domain = d->domain;
    s->netbios = d->netbios;
    s->ntlmv1 = unset(&d->organization, SCN_A_ORG_NTLMV1) ? 0 : d->ntlmv1;
    if (s->netbios == NULL && s->domain != NULL) {
        /* as dcpromo proposes it: the first label, at most 15 characters, in upper case */
        size_t len = strcspn(s->domain, ".");
        char *n = h2o_strdup(&s->pool, s->domain, len < 15 ? len : 15).base;
        for (char *p = n; *p != '\0'; p++)
            *p = (char)toupper((unsigned char)*p);
        s->netbios = n;
    }
}

static void build_vdir(struct scn_vdir *v, const struct scn_mark *m, const struct scn_mark *server)
{
    if (unset(m, SCN_A_VDIR_AUTH))
        v->auth = SCN_AUTH_BASIC | SCN_AUTH_NTLM | SCN_AUTH_NEGOTIATE;
    v->deny = NULL, v->num_deny = 0; /* resolved once the accounts exist: build_deny() */
    v->at = m->gen != 0 ? m->at : server->at;
}

/* The host of the EWS external URL, in lower case: where Outlook Anywhere is published when the
 * scenario does not say (the usual single-namespace set-up); NULL without an external URL. */
static const char *default_oa_host(h2o_mem_pool_t *pool, const struct scn_server *v)
{
    const char *h;
    size_t len;

    if (v->ews.external_url == NULL || scn_url_host(v->ews.external_url, &h, &len) != 0)
        return NULL;
    return lower_dup(pool, h, len);
}

static void build_servers(struct scn *s, struct scn_draft *d, struct scn_errors *errs)
{
    s->num_servers = d->servers.size;
    s->servers = h2o_mem_alloc_pool(&s->pool, (s->num_servers + 1) * sizeof(*s->servers));
    for (size_t i = 0; i < s->num_servers; i++) {
        struct scn_d_server *ds = d->servers.entries[i];
        struct scn_server *v = &s->servers[i];
        *v = ds->v;
        v->at = ds->m.at;
        if (unset(&ds->m, SCN_A_SERVER_VERSION))
            v->version = SCN_V2016;
        if (unset(&ds->m, SCN_A_SERVER_BUILD))
            for (size_t k = 0; k < COUNTOF(versions); k++)
                if (versions[k].v == v->version)
                    memcpy(v->build, versions[k].build, sizeof(v->build));
        if (unset(&ds->m, SCN_A_SERVER_FQDN) && s->domain != NULL) {
            char *f = h2o_mem_alloc_pool(&s->pool, strlen(v->name) + strlen(s->domain) + 2);
            sprintf(f, "%s.%s", v->name, s->domain);
            v->fqdn = lower_dup(&s->pool, f, strlen(f));
        }
        build_vdir(&v->ews, &ds->ews, &ds->m);
        build_vdir(&v->autodiscover, &ds->autodiscover, &ds->m);
        /* the pools Exchange's setup creates for these directories */
        v->ews.app_pool_name = "MSExchangeServicesAppPool";
        v->autodiscover.app_pool_name = "MSExchangeAutodiscoverAppPool";
        if (unset(&ds->ews, SCN_A_EWS_MRSMAX))
            v->mrsproxy_max_connections = 100;
        if (unset(&ds->oa, SCN_A_OA_EXTERNAL))
            v->oa_external_host = default_oa_host(&s->pool, v);
    }
    if (s->num_servers == 0)
        scn_error(errs, &d->root.at, "no <server> defined (at least one is needed)");
}

/* An account's mailbox server, named by <account server> (mailbox and server go together). */
static void build_account_server(struct scn *s, struct scn_d_account *da, struct scn_account *v,
                                 struct scn_errors *errs)
{
    const struct scn_mark *m = &da->m;

    if (v->mailbox != NULL && missing(m, SCN_A_ACCOUNT_SERVER, da->server))
        scn_error(errs, where(m, SCN_A_ACCOUNT_MAILBOX),
                  "account \"%s\": mailbox without server or database (a mailbox lives on one)",
                  v->sam);
    if (da->server != NULL && missing(m, SCN_A_ACCOUNT_MAILBOX, v->mailbox))
        scn_error(errs, where(m, SCN_A_ACCOUNT_SERVER),
                  "account \"%s\": server without mailbox (mailbox and server go together)",
                  v->sam);
    if (da->server != NULL && (v->server = scn_server_by_name(s, da->server)) == NULL)
        scn_error(errs, where(m, SCN_A_ACCOUNT_SERVER),
                  "account \"%s\": server \"%s\" does not exist", v->sam, da->server);
}

_Static_assert(sizeof(((struct scn_account *)0)->password_sha256) == UTIL_SHA256_LEN,
               "an account keeps a SHA-256");

static void build_accounts(struct scn *s, struct scn_draft *d, struct scn_errors *errs)
{
    s->num_accounts = d->accounts.size;
    s->accounts = h2o_mem_alloc_pool(&s->pool, (s->num_accounts + 1) * sizeof(*s->accounts));
    for (size_t i = 0; i < s->num_accounts; i++) {
        struct scn_d_account *da = d->accounts.entries[i];
        const struct scn_mark *m = &da->m;
        struct scn_account *v = &s->accounts[i];
        *v = da->v;
        v->at = m->at;
        if (missing(m, SCN_A_ACCOUNT_PASSWORD, v->password)) {
            scn_error(errs, &m->at,
                      "missing required attribute \"password\" on <account sam=\"%s\">", v->sam);
        } else {
            v->password_len = strlen(v->password);
            memset(v->password_pad, 0, sizeof(v->password_pad));
            if (v->password_len <= sizeof(v->password_pad))
                memcpy(v->password_pad, v->password, v->password_len);
            util_sha256(v->password, v->password_len, v->password_sha256);
        }
        if (unset(m, SCN_A_ACCOUNT_UPN) && s->domain != NULL) {
            char *u = h2o_mem_alloc_pool(&s->pool, strlen(v->sam) + strlen(s->domain) + 2);
            sprintf(u, "%s@%s", v->sam, s->domain);
            v->upn = u;
        }
        if (unset(m, SCN_A_ACCOUNT_DISPLAY))
            v->display_name = v->sam;
        if (unset(m, SCN_A_ACCOUNT_STATE))
            v->state = SCN_ACCOUNT_ENABLED;
        v->database = NULL;
        if (!unset(m, SCN_A_ACCOUNT_DATABASE) && da->database != NULL) {
            /* the database says where the mailbox is: its server */
            if ((v->database = scn_database_by_id(s, da->database, strlen(da->database))) == NULL)
                scn_error(errs, where(m, SCN_A_ACCOUNT_DATABASE),
                          "account \"%s\": database \"%s\" does not exist", v->sam, da->database);
            else if (da->server != NULL && !unset(m, SCN_A_ACCOUNT_SERVER))
                scn_error(errs, where(m, SCN_A_ACCOUNT_SERVER),
                          "account \"%s\": server and database: give one (the database's "
                          "server is the mailbox's)",
                          v->sam);
            else if (missing(m, SCN_A_ACCOUNT_MAILBOX, v->mailbox))
                scn_error(errs, where(m, SCN_A_ACCOUNT_DATABASE),
                          "account \"%s\": database without mailbox", v->sam);
            v->server = v->database != NULL ? v->database->server : NULL;
        } else {
            build_account_server(s, da, v, errs);
        }
        for (size_t k = 0; k < i && v->mailbox != NULL; k++) {
            struct scn_d_account *o = d->accounts.entries[k];
            if (o->v.mailbox != NULL && strcasecmp(o->v.mailbox, v->mailbox) == 0) {
                const struct scn_where *first = where(&o->m, SCN_A_ACCOUNT_MAILBOX);
                scn_error(errs, where(m, SCN_A_ACCOUNT_MAILBOX),
                          "duplicate mailbox \"%s\" (first used by account \"%s\" at %s:%u)",
                          v->mailbox, o->v.sam, first->file, first->line);
                break;
            }
        }
    }
}

/* The accounts named by the deny attribute of a vdir (mark M, names N); each one once. */
static void resolve_deny(struct scn *s, struct scn_vdir *v, const struct scn_mark *m,
                         const struct scn_d_names *n, struct scn_errors *errs)
{
    if (unset(m, SCN_A_VDIR_DENY) || n->num == 0)
        return;
    v->deny = h2o_mem_alloc_pool(&s->pool, n->num * sizeof(*v->deny));
    for (size_t i = 0; i < n->num; i++) {
        struct scn_account *a = by_sam(s, n->names[i], strlen(n->names[i]));
        size_t k = 0;
        if (a == NULL) {
            scn_error(errs, where(m, SCN_A_VDIR_DENY), "deny: no account \"%s\"", n->names[i]);
            continue;
        }
        while (k < v->num_deny && v->deny[k] != a)
            k++;
        if (k == v->num_deny)
            v->deny[v->num_deny++] = a;
    }
}

static void build_deny(struct scn *s, struct scn_draft *d, struct scn_errors *errs)
{
    for (size_t i = 0; i < s->num_servers; i++) {
        struct scn_d_server *ds = d->servers.entries[i];
        resolve_deny(s, &s->servers[i].ews, &ds->ews, &ds->ews_deny, errs);
        resolve_deny(s, &s->servers[i].autodiscover, &ds->autodiscover, &ds->autodiscover_deny,
                     errs);
    }
}

static struct scn_cert *cert_by_id(struct scn *s, const char *id)
{
    for (size_t i = 0; i < s->num_certs; i++)
        if (strcasecmp(s->certs[i].id, id) == 0)
            return &s->certs[i];
    return NULL;
}

/* Adds LEN bytes at H to L's hosts, in lower case, unless already there. */
static void add_name(h2o_mem_pool_t *pool, struct scn_listener *l, const char *h, size_t len)
{
    for (size_t i = 0; i < l->num_hosts; i++)
        if (eq_n(h, len, l->hosts[i]))
            return;
    l->hosts[l->num_hosts++] = lower_dup(pool, h, len);
}

static void add_host(h2o_mem_pool_t *pool, struct scn_listener *l, const char *url)
{
    const char *h;
    size_t len;

    if (url != NULL && scn_url_host(url, &h, &len) == 0)
        add_name(pool, l, h, len);
}

/* The hosts attribute when written and not "", else derived from the server's URLs. */
static void build_hosts(struct scn *s, const struct scn_mark *m, struct scn_listener *l)
{
    const char **written = l->hosts;
    size_t num_written = unset(m, SCN_A_LISTENER_HOSTS) ? 0 : l->num_hosts;
    size_t num_servers = l->balancer != NULL ? l->balancer->num_members : 1;
    char buf[300];

    l->hosts =
        h2o_mem_alloc_pool(&s->pool, (num_written + 4 * num_servers + 1) * sizeof(*l->hosts));
    l->num_hosts = 0;
    if (num_written != 0) {
        for (size_t i = 0; i < num_written; i++)
            add_name(&s->pool, l, written[i], strlen(written[i]));
        return;
    }
    for (size_t i = 0; i < num_servers; i++) {
        const struct scn_server *sv =
            l->balancer != NULL ? l->balancer->members[i].server : l->server;
        if (sv == NULL)
            continue;
        add_host(&s->pool, l, sv->ews.external_url);
        add_host(&s->pool, l, sv->ews.internal_url);
        add_host(&s->pool, l, sv->autodiscover.external_url);
        add_host(&s->pool, l, sv->autodiscover.internal_url);
    }
    if (s->domain != NULL &&
        snprintf(buf, sizeof(buf), "https://autodiscover.%s/", s->domain) < (int)sizeof(buf))
        add_host(&s->pool, l, buf);
}

static int same_address(const struct scn_listener *a, const struct scn_listener *b)
{
    unsigned char x[sizeof(struct in6_addr)] = {0}, y[sizeof(struct in6_addr)] = {0};
    int fx = strchr(a->host, ':') != NULL ? AF_INET6 : AF_INET;
    int fy = strchr(b->host, ':') != NULL ? AF_INET6 : AF_INET;

    return a->port == b->port && a->port != 0 && fx == fy && inet_pton(fx, a->host, x) == 1 &&
           inet_pton(fy, b->host, y) == 1 && memcmp(x, y, sizeof(x)) == 0;
}

static void build_sni(struct scn *s, struct scn_d_listener *dl, struct scn_listener *v,
                      struct scn_errors *errs)
{
    v->num_sni = dl->sni.size;
    v->sni = h2o_mem_alloc_pool(&s->pool, (v->num_sni + 1) * sizeof(*v->sni));
    for (size_t k = 0; k < v->num_sni; k++) {
        struct scn_d_sni *dn = dl->sni.entries[k];
        v->sni[k] = dn->v;
        v->sni[k].at = dn->m.at;
        if (missing(&dn->m, SCN_A_SNI_CERT, dn->cert))
            scn_error(errs, &dn->m.at,
                      "missing required attribute \"certificate\" on <sni name=\"%s\">",
                      dn->v.name);
        else if (dn->cert != NULL && (v->sni[k].cert = cert_by_id(s, dn->cert)) == NULL)
            scn_error(errs, where(&dn->m, SCN_A_SNI_CERT),
                      "listener \"%s\": sni \"%s\": certificate \"%s\" is not defined", v->name,
                      dn->v.name, dn->cert);
    }
}

/* The listener's <handshake-fault>, when it has one. */
static void build_handshake_fault(struct scn_d_listener *dl, struct scn_listener *v,
                                  struct scn_errors *errs)
{
    const struct scn_mark *m = &dl->hs;

    v->hs.at = m->at;
    if (m->gen == 0) {
        v->hs = (struct scn_hs_fault){.action = SCN_HS_NONE};
        return;
    }
    if (unset(m, SCN_A_HS_ALERT))
        v->hs.alert = 40; /* handshake_failure, what a server that refuses to go on sends */
    if (unset(m, SCN_A_HS_SNI))
        v->hs.sni = SCN_HS_SNI_ANY;
    if (unset(m, SCN_A_HS_FIRST))
        v->hs.first = 0;
    if (unset(m, SCN_A_HS_EVERY))
        v->hs.every = 0;
    if (unset(m, SCN_A_HS_ACTION)) {
        if (!m->bad[SCN_A_HS_ACTION])
            scn_error(errs, &m->at,
                      "missing required attribute \"action\" on <handshake-fault> of listener "
                      "\"%s\"",
                      v->name);
        v->hs.action = SCN_HS_NONE;
    } else if (!v->tls) {
        scn_error(errs, &m->at,
                  "listener \"%s\": <handshake-fault> needs a TLS listener (tls is false)",
                  v->name);
    }
}

static void build_listeners(struct scn *s, struct scn_draft *d, struct scn_errors *errs)
{
    s->num_listeners = d->listeners.size;
    s->listeners = h2o_mem_alloc_pool(&s->pool, (s->num_listeners + 1) * sizeof(*s->listeners));
    for (size_t i = 0; i < s->num_listeners; i++) {
        struct scn_d_listener *dl = d->listeners.entries[i];
        const struct scn_mark *m = &dl->m;
        struct scn_listener *v = &s->listeners[i];
        *v = dl->v;
        v->at = m->at;
        if (unset(m, SCN_A_LISTENER_TLS))
            v->tls = 1;
        if (unset(m, SCN_A_LISTENER_HTTP2))
            v->http2 = 1;
        /* TLS 1.2 and 1.3 by default, as the product asks of a listener; Schannel on Windows
         * Server 2019 and older (every Exchange before SE) has no TLS 1.3: a scenario that
         * wants that exactness writes protocols="tls1.2". */
        if (unset(m, SCN_A_LISTENER_PROTOCOLS))
            v->tls_min = SCN_TLS12, v->tls_max = SCN_TLS13;
        if (missing(m, SCN_A_LISTENER_ADDRESS, v->host))
            scn_error(errs, &m->at,
                      "missing required attribute \"address\" on <listener name=\"%s\">", v->name);
        if (v->tls && missing(m, SCN_A_LISTENER_CERT, dl->cert))
            scn_error(
                errs, &m->at,
                "missing required attribute \"certificate\" on <listener name=\"%s\"> (tls is on)",
                v->name);
        else if (dl->cert != NULL && (v->cert = cert_by_id(s, dl->cert)) == NULL)
            scn_error(errs, where(m, SCN_A_LISTENER_CERT),
                      "listener \"%s\": certificate \"%s\" is not defined", v->name, dl->cert);
        scn_build_balancer(s, dl, v, errs);
        /* with a balancer, its members are the servers behind the listener */
        if (v->balancer == NULL && missing(m, SCN_A_LISTENER_SERVER, dl->server))
            scn_error(errs, &m->at,
                      "missing required attribute \"server\" on <listener name=\"%s\">", v->name);
        else if (v->balancer == NULL && dl->server != NULL &&
                 (v->server = scn_server_by_name(s, dl->server)) == NULL)
            scn_error(errs, where(m, SCN_A_LISTENER_SERVER),
                      "listener \"%s\": server \"%s\" does not exist", v->name, dl->server);
        build_sni(s, dl, v, errs);
        build_hosts(s, m, v);
        build_handshake_fault(dl, v, errs);
        scn_build_firewall(s, dl, v, errs);
        for (size_t k = 0; k < i && v->crl; k++)
            if (s->listeners[k].crl) {
                scn_error(errs, where(m, SCN_A_LISTENER_CRL),
                          "listener \"%s\": crl=\"true\" is already set on listener \"%s\" (one "
                          "listener publishes the CRLs)",
                          v->name, s->listeners[k].name);
                break;
            }
        for (size_t k = 0; k < i && v->host != NULL; k++) {
            const struct scn_listener *o = &s->listeners[k];
            if (o->host != NULL && same_address(o, v)) {
                char addr[UTIL_HOSTPORT_MAX];
                util_hostport_format(v->host, v->port, addr, sizeof(addr));
                scn_error(errs, where(m, SCN_A_LISTENER_ADDRESS),
                          "listener \"%s\": address %s is already used by listener \"%s\" (%s:%u)",
                          v->name, addr, o->name, o->at.file, o->at.line);
                break;
            }
        }
    }
    if (s->num_listeners == 0)
        scn_error(errs, &d->root.at, "no <listener> defined (at least one is needed)");
}

int scn_build(struct scn *s, struct scn_draft *d, struct scn_errors *errs)
{
    unsigned before = errs->count;

    s->name = d->name;
    s->description = clean_text(&s->pool, d->description_text != NULL ? d->description_text : "");
    s->summary = first_line(&s->pool, s->description);
    build_organization(s, d, errs);
    build_servers(s, d, errs);
    scn_build_topology(s, d, errs);
    scn_build_pki(s, d, errs);
    build_accounts(s, d, errs);
    build_deny(s, d, errs);
    build_listeners(s, d, errs);
    scn_check_balancers(s, errs);
    scn_check_roles(s, errs);
    scn_check_firewalls(s, errs);
    scn_build_faults(s, d, errs);
    return errs->count == before ? 0 : -1;
}
