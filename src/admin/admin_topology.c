/*
 * admin_topology — the running scenario as the dashboard draws it (GET /topology): listeners
 * with their certificates and what is wrong with them, balancers with their members, servers
 * with their directories, pools and services, and what is broken in each, named.
 *
 * Built from the model alone (admin_topology_json, pure: a unit test calls it on a loaded
 * scenario); the route adds what only the running lab knows (ports, each member's verdict now).
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <jansson.h>

#include "admin.h"
#include "scenario.h"
#include "util.h"

#define DAY (24 * 3600)

static const char *tls_version_name(unsigned v)
{
    return v == SCN_TLS10   ? "1.0"
           : v == SCN_TLS11 ? "1.1"
           : v == SCN_TLS12 ? "1.2"
           : v == SCN_TLS13 ? "1.3"
                            : "?";
}

static const char *app_pool_state_name(enum scn_app_pool p)
{
    return p == SCN_POOL_STOPPED ? "stopped" : p == SCN_POOL_RAPID_FAIL ? "rapid-fail" : "started";
}

static const char *check_name(enum scn_lb_check c)
{
    return c == SCN_LB_CHECK_HTTP ? "http" : c == SCN_LB_CHECK_NONE ? "none" : "tcp";
}

static const char *chain_name(enum scn_chain c)
{
    return c == SCN_CHAIN_LEAF ? "leaf" : c == SCN_CHAIN_ROOT ? "root" : "full";
}

static const char *domain_type_name(enum scn_domain_type t)
{
    return t == SCN_DOMAIN_INTERNAL_RELAY   ? "InternalRelay"
           : t == SCN_DOMAIN_EXTERNAL_RELAY ? "ExternalRelay"
                                            : "Authoritative";
}

static const char *client_cert_name(enum scn_client_cert c)
{
    return c == SCN_CLIENT_CERT_ACCEPT    ? "accept"
           : c == SCN_CLIENT_CERT_REQUIRE ? "require"
                                          : "ignore";
}

/* REL seconds from NOW as an ISO 8601 UTC time. */
static json_t *when(time_t now, int64_t rel)
{
    char out[32];
    struct tm tm;

    if (util_gmtime(now + (time_t)rel, &tm) == NULL)
        return json_null();
    strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(out);
}

/* Appends {"code": CODE, "text": TEXT} to PROBLEMS. */
static void problem(json_t *problems, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(json_t *problems, const char *code, const char *fmt, ...)
{
    char text[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    json_array_append_new(problems, json_pack("{s:s, s:s}", "code", code, "text", text));
}

static int cert_covers(const struct scn_cert *c, const char *host)
{
    for (size_t i = 0; i < c->num_names; i++)
        if (util_host_matches(c->names[i], host))
            return 1;
    return 0;
}

/* Whether URL ("https://HOST[:port]/...") names HOST. */
static int url_names(const char *url, const char *host)
{
    const char *h = url != NULL ? strstr(url, "://") : NULL;
    size_t n = strlen(host);

    return h != NULL && strncasecmp(h + 3, host, n) == 0 &&
           (h[3 + n] == '\0' || h[3 + n] == '/' || h[3 + n] == ':');
}

/* Whether clients outside reach HOST (an external URL's, or autodiscover.<domain>): a
 * certificate that does not cover it is a problem; one that does not cover an internal name
 * only is shown, not marked. */
static int is_external(const struct scn *s, const char *host)
{
    if (strncasecmp(host, "autodiscover.", 13) == 0 && strcasecmp(host + 13, s->domain) == 0)
        return 1;
    for (size_t i = 0; i < s->num_servers; i++)
        if (url_names(s->servers[i].ews.external_url, host) ||
            url_names(s->servers[i].autodiscover.external_url, host))
            return 1;
    return 0;
}

/* The root a certificate chains to: NULL for the lab root, else the CA of its own. */
static const struct scn_ca *own_root(const struct scn_cert *c)
{
    for (const struct scn_ca *ca = c->issuer; ca != NULL; ca = ca->issuer)
        if (ca->self_signed)
            return ca;
    return NULL;
}

/* Certificate C as served for HOSTS (NULL: none to judge the name by), with what a client
 * would find wrong with it. */
static json_t *cert_json(const struct scn *s, const struct scn_cert *c, const char *const *hosts,
                         size_t num_hosts, time_t now)
{
    json_t *names = json_array(), *problems = json_array(), *covered = json_array();
    const struct scn_ca *root = own_root(c);
    char key[32];

    for (size_t i = 0; i < c->num_names; i++)
        json_array_append_new(names, json_string(c->names[i]));
    if (c->key == SCN_KEY_RSA)
        snprintf(key, sizeof(key), "RSA %u", c->key_bits);
    else
        snprintf(key, sizeof(key), "ECDSA P-256");

    if (c->not_after < 0)
        problem(problems, "expired", "expired %lld days ago (NotAfter in the past: NotTimeValid)",
                (long long)(-c->not_after / DAY));
    if (c->not_before > 0)
        problem(problems, "not-yet-valid",
                "not valid for another %lld days (NotBefore in the future: NotTimeValid)",
                (long long)(c->not_before / DAY));
    if (c->self_signed)
        problem(problems, "self-signed",
                "self-signed: no client trusts it (UntrustedRoot / RemoteCertificateChainErrors)");
    else if (root != NULL)
        problem(problems, "untrusted-issuer",
                "issued under \"%s\", a root of its own that clients do not trust (UntrustedRoot)",
                root->name);
    if (c->chain == SCN_CHAIN_LEAF && c->issuer != NULL && !c->self_signed)
        problem(problems, "leaf-only",
                "sent without its intermediate \"%s\" (missing intermediate: PartialChain)",
                c->issuer->name);
    if (strcasecmp(c->digest, "sha1") == 0 || strcasecmp(c->digest, "md5") == 0)
        problem(problems, "weak-digest", "signed with %s, which clients refuse", c->digest);
    if (c->key == SCN_KEY_RSA && c->key_bits < 2048)
        problem(problems, "weak-key", "an RSA key of %u bits (below 2048)", c->key_bits);
    if (c->revoked)
        problem(problems, "revoked", "listed in its issuer's CRL (revoked)");
    for (size_t h = 0; h < num_hosts; h++) {
        int ok = cert_covers(c, hosts[h]), external = is_external(s, hosts[h]);
        json_array_append_new(covered, json_pack("{s:s, s:b, s:b}", "host", hosts[h], "covered", ok,
                                                 "external", external));
        if (!ok && external)
            problem(problems, "name-mismatch",
                    "does not cover %s (RemoteCertificateNameMismatch): it names %s", hosts[h],
                    c->names[0]);
    }
    return json_pack("{s:s, s:o, s:o, s:o, s:s, s:s, s:s, s:s, s:o, s:o}", "id", c->id, "names",
                     names, "not_before", when(now, c->not_before), "not_after",
                     when(now, c->not_after), "issuer",
                     c->self_signed      ? "self"
                     : c->issuer != NULL ? c->issuer->name
                                         : "lab root CA",
                     "key", key, "digest", c->digest, "chain", chain_name(c->chain), "hosts",
                     covered, "problems", problems);
}

/* The certificate listener L serves for HOST: its SNI entry for that name, else its own. */
static const struct scn_cert *cert_for_host(const struct scn_listener *l, const char *host)
{
    for (size_t i = 0; i < l->num_sni; i++)
        if (strcasecmp(l->sni[i].name, host) == 0)
            return l->sni[i].cert;
    return l->cert;
}

/* The certificates listener L serves (CERT, the one of a layer 4 member, or NULL for L's own
 * with its SNI entries), each judged against the hosts it is served for. */
static json_t *listener_certs(const struct scn *s, const struct scn_listener *l,
                              const struct scn_cert *member_cert, time_t now)
{
    json_t *out = json_array();
    const char *hosts[64];

    if (!l->tls)
        return out;
    if (member_cert != NULL) { /* a member's IIS binding serves it for every name */
        size_t n = 0;
        for (size_t h = 0; h < l->num_hosts && n < COUNTOF(hosts); h++)
            hosts[n++] = l->hosts[h];
        json_array_append_new(out, cert_json(s, member_cert, hosts, n, now));
        return out;
    }
    /* the default certificate, then each SNI one, each for the hosts that reach it */
    for (size_t k = 0; k <= l->num_sni; k++) {
        const struct scn_cert *c = k == 0 ? l->cert : l->sni[k - 1].cert;
        size_t n = 0;
        int seen = 0;
        for (size_t j = 1; j < k; j++)
            seen |= l->sni[j - 1].cert == c;
        if (c == NULL || (k != 0 && (c == l->cert || seen)))
            continue;
        for (size_t h = 0; h < l->num_hosts && n < COUNTOF(hosts); h++)
            if (cert_for_host(l, l->hosts[h]) == c)
                hosts[n++] = l->hosts[h];
        json_array_append_new(out, cert_json(s, c, hosts, n, now));
    }
    return out;
}

static json_t *auth_json(unsigned auth)
{
    static const struct {
        unsigned bit;
        const char *name;
    } rows[] = {{SCN_AUTH_BASIC, "Basic"},
                {SCN_AUTH_NTLM, "NTLM"},
                {SCN_AUTH_NEGOTIATE, "Negotiate"},
                {SCN_AUTH_OAUTH, "OAuth"}};
    json_t *a = json_array();

    for (size_t i = 0; i < COUNTOF(rows); i++)
        if (auth & rows[i].bit)
            json_array_append_new(a, json_string(rows[i].name));
    return a;
}

static json_t *nullable(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

static json_t *vdir_json(const char *name, const struct scn_vdir *v, json_t *problems,
                         const char *server)
{
    if (v->app_pool != SCN_POOL_STARTED)
        problem(problems, "app-pool",
                "%s: application pool %s is %s: HTTP.sys answers 503 for %s (HTTPERR: %s)", server,
                v->app_pool_name, app_pool_state_name(v->app_pool), name,
                v->app_pool == SCN_POOL_STOPPED ? "Disabled" : "AppOffline");
    if ((v->auth & (SCN_AUTH_BASIC | SCN_AUTH_WINDOWS)) == 0)
        problem(problems, "no-auth", "%s: %s has neither Basic nor Windows authentication", server,
                name);
    return json_pack("{s:s, s:o, s:o, s:o, s:{s:s, s:s}, s:o}", "name", name, "internal_url",
                     nullable(v->internal_url), "external_url", nullable(v->external_url), "auth",
                     auth_json(v->auth), "app_pool", "name", v->app_pool_name, "state",
                     app_pool_state_name(v->app_pool), "redirect_url", nullable(v->redirect_url));
}

static json_t *server_json(const struct scn_server *sv)
{
    json_t *problems = json_array(), *services = json_array(), *vdirs = json_array();
    char build[48];

    snprintf(build, sizeof(build), "%u.%u.%u.%u", sv->build[0], sv->build[1], sv->build[2],
             sv->build[3]);
    if (sv->state == SCN_SERVER_DEAD)
        problem(problems, "dead", "%s is dead: its machine is gone, nothing answers at its address",
                sv->name);
    else if (sv->state == SCN_SERVER_PASSIVE)
        problem(problems, "passive", "%s is passive: its Exchange services are stopped", sv->name);
    for (int i = 0; i < SCN_SVC_COUNT; i++) {
        int runs = scn_service_runs(sv, (enum scn_service_id)i);
        json_array_append_new(
            services, json_pack("{s:s, s:s, s:s}", "name", scn_service_name((enum scn_service_id)i),
                                "display_name", scn_service_display_name((enum scn_service_id)i),
                                "status", runs ? "Running" : "Stopped"));
        if (!runs && sv->state == SCN_SERVER_RUNNING)
            problem(problems, "service-stopped", "%s: %s is stopped", sv->name,
                    scn_service_name((enum scn_service_id)i));
    }
    /* a dead server's directories are settings left in Active Directory: nothing to mark there */
    json_t *vp = sv->state == SCN_SERVER_DEAD ? json_array() : json_incref(problems);
    json_array_append_new(vdirs, vdir_json("EWS", &sv->ews, vp, sv->name));
    json_array_append_new(vdirs, vdir_json("Autodiscover", &sv->autodiscover, vp, sv->name));
    json_decref(vp);
    if (!sv->mrsproxy_enabled && sv->state != SCN_SERVER_DEAD)
        problem(problems, "mrsproxy-disabled",
                "%s: MRSProxyEnabled is False on EWS: /EWS/mrsproxy.svc answers 403", sv->name);
    return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:o, s:b, s:i, s:o, s:o, s:o}", "name",
                     sv->name, "fqdn", sv->fqdn, "version", (int)sv->version, "product",
                     scn_version_name(sv->version), "build", build, "state",
                     scn_server_state_name(sv->state), "ip", nullable(sv->ip), "mrsproxy_enabled",
                     sv->mrsproxy_enabled, "mrsproxy_max_connections",
                     (int)sv->mrsproxy_max_connections, "services", services, "vdirs", vdirs,
                     "problems", problems);
}

static json_t *balancer_json(const struct scn *s, const struct scn_listener *l, time_t now)
{
    const struct scn_balancer *b = l->balancer;
    json_t *members = json_array();

    for (size_t i = 0; i < b->num_members; i++) {
        const struct scn_member *m = &b->members[i];
        json_t *down = json_null(), *problems = json_array();
        if (m->down.from != 0) {
            const char *unit = m->down.seconds ? "seconds" : "arrivals";
            down = json_pack("{s:i, s:i, s:i, s:s}", "from", (int)m->down.from, "to",
                             (int)m->down.to, "period", (int)m->down.period, "unit", unit);
            if (m->down.period != 0)
                problem(problems, "flapping",
                        "%s goes offline (rapid-fail) for %s %u-%u of every %u on %s",
                        m->server->name, unit, m->down.from, m->down.to, m->down.period, b->name);
            else
                problem(problems, "flapping", "%s goes offline (rapid-fail) for %s %u-%u on %s",
                        m->server->name, unit, m->down.from, m->down.to, b->name);
        }
        if (m->server->state == SCN_SERVER_DEAD && b->check == SCN_LB_CHECK_NONE)
            problem(
                problems, "dead-member",
                "%s is dead and %s does not check its members: it still sends connections there",
                m->server->name, b->name);
        json_array_append_new(
            members, json_pack("{s:s, s:o, s:o, s:o}", "server", m->server->name, "certificates",
                               m->cert != NULL && !b->layer7 ? listener_certs(s, l, m->cert, now)
                                                             : json_array(),
                               "down", down, "problems", problems));
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "name", b->name, "mode",
                     b->layer7 ? "layer7" : "layer4", "policy", scn_lb_policy_name(b->policy),
                     "check", check_name(b->check), "check_path",
                     b->check == SCN_LB_CHECK_HTTP ? json_string(b->check_path) : json_null(),
                     "members", members);
}

/* The firewall in front of a listener: its rules in order, its URL filters, what is broken
 * (a rule or a default that stops connections, a filtered path under /EWS). */
static json_t *firewall_json(const struct scn_firewall *fw)
{
    json_t *rules = json_array(), *filters = json_array(), *problems = json_array();

    for (size_t i = 0; i < fw->num_rules; i++) {
        const struct scn_fw_rule *r = &fw->rules[i];
        json_t *sources = json_array();
        for (size_t k = 0; k < r->num_sources; k++) {
            char a[INET6_ADDRSTRLEN], cidr[INET6_ADDRSTRLEN + 8];
            if (inet_ntop(r->sources[k].v6 ? AF_INET6 : AF_INET, r->sources[k].addr, a,
                          sizeof(a)) == NULL)
                continue;
            snprintf(cidr, sizeof(cidr), "%s/%u", a, r->sources[k].bits);
            json_array_append_new(sources, json_string(cidr));
        }
        json_array_append_new(rules, json_pack("{s:s, s:o, s:s}", "name", r->name, "sources",
                                               sources, "action", scn_fw_action_name(r->action)));
        if (r->action != SCN_FW_ALLOW)
            problem(problems, "firewall-rule", "%s: rule %s %s connections from %zu range(s)",
                    fw->name, r->name,
                    r->action == SCN_FW_RESET  ? "resets"
                    : r->action == SCN_FW_HANG ? "holds without an answer"
                                               : "drops",
                    r->num_sources);
    }
    if (fw->def != SCN_FW_ALLOW)
        problem(problems, "firewall-default", "%s drops what no rule allows", fw->name);
    for (size_t i = 0; i < fw->num_url_filters; i++) {
        const struct scn_url_filter *u = &fw->url_filters[i];
        json_array_append_new(filters, json_pack("{s:s, s:s}", "path", u->path, "action",
                                                 scn_uf_action_name(u->action)));
        problem(problems, "url-filter", "%s filters %s (%s)", fw->name, u->path,
                scn_uf_action_name(u->action));
    }
    json_t *publish = json_array(), *snis = json_array();
    for (size_t i = 0; i < fw->num_sni_filters; i++) {
        const struct scn_sni_filter *f = &fw->sni_filters[i];
        json_array_append_new(snis, json_pack("{s:s, s:s}", "host", f->host, "action",
                                              scn_uf_action_name(f->action)));
        problem(problems, "sni-filter", "%s stops connections to %s by their SNI (%s)", fw->name,
                f->host, scn_uf_action_name(f->action));
    }
    int mrs_published = fw->num_publish == 0;
    for (size_t i = 0; i < fw->num_publish; i++) {
        const struct scn_publish *p = &fw->publish[i];
        int mrs = scn_path_covers(p->path, "/EWS/mrsproxy.svc", 17);
        json_array_append_new(publish, json_pack("{s:s, s:s}", "path", p->path, "pre_auth",
                                                 scn_preauth_name(p->preauth)));
        mrs_published |= mrs;
        if (p->preauth != SCN_PREAUTH_NONE)
            problem(problems, "pre-auth", "%s pre-authenticates %s (%s)%s", fw->name, p->path,
                    scn_preauth_name(p->preauth),
                    mrs ? ": the MRS Proxy meets the device's logon, not IIS" : "");
    }
    if (!mrs_published)
        problem(problems, "not-published", "%s publishes no path that covers /EWS/mrsproxy.svc",
                fw->name);
    if (fw->ssl_offload)
        problem(problems, "ssl-offload",
                "%s offloads TLS: the servers get plain HTTP on port 80 and their virtual "
                "directories require SSL (403.4)",
                fw->name);
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:b, s:o}", "name", fw->name, "default",
                     scn_fw_action_name(fw->def), "rules", rules, "url_filters", filters,
                     "sni_filters", snis, "publish", publish, "ssl_offload", fw->ssl_offload,
                     "problems", problems);
}

static json_t *listener_json(const struct scn *s, const struct scn_listener *l, unsigned port,
                             time_t now)
{
    json_t *hosts = json_array(), *versions = json_array();
    char where[UTIL_HOSTPORT_MAX], url[UTIL_HOSTPORT_MAX + 8];

    for (size_t h = 0; h < l->num_hosts; h++)
        json_array_append_new(hosts, json_string(l->hosts[h]));
    for (unsigned v = l->tls_min; l->tls && v <= l->tls_max && v <= SCN_TLS13; v++)
        json_array_append_new(versions, json_string(tls_version_name(v)));
    util_hostport_format(l->host, port, where, sizeof(where));
    snprintf(url, sizeof(url), "%s://%s", l->tls ? "https" : "http", where);
    json_t *o = json_pack(
        "{s:s, s:s, s:i, s:s, s:b, s:o, s:o, s:s, s:o, s:o, s:o, s:o}", "name", l->name, "address",
        l->host, "port", (int)port, "url", url, "tls", l->tls, "tls_versions", versions, "hosts",
        hosts, "client_certificate", client_cert_name(l->client_cert), "handshake_fault",
        l->hs.action != SCN_HS_NONE ? json_string(scn_hs_action_name(l->hs.action)) : json_null(),
        "certificates", listener_certs(s, l, NULL, now), "server",
        l->balancer == NULL && l->server != NULL ? json_string(l->server->name) : json_null(),
        "balancer", l->balancer != NULL ? balancer_json(s, l, now) : json_null());
    json_object_set_new(o, "firewall",
                        l->firewall != NULL ? firewall_json(l->firewall) : json_null());
    json_object_set_new(o, "port_state", json_string(scn_port_state_name(l->port_state)));
    return o;
}

/* The fault rules, in order: each with its stage, its action and what it picks, in words. */
static json_t *faults_json(const struct scn *s)
{
    json_t *a = json_array();

    for (size_t i = 0; i < s->num_faults; i++) {
        const struct scn_fault *f = &s->faults[i];
        const struct scn_fault_when *w = &f->when;
        char picks[512] = "";
        size_t n = 0;
#define SAY(...)                                                                                   \
    do {                                                                                           \
        int k = snprintf(picks + n, sizeof(picks) - n, "%s", n != 0 ? ", " : "");                  \
        n += k > 0 && (size_t)k < sizeof(picks) - n ? (size_t)k : 0;                               \
        k = snprintf(picks + n, sizeof(picks) - n, __VA_ARGS__);                                   \
        n += k > 0 && (size_t)k < sizeof(picks) - n ? (size_t)k : 0;                               \
    } while (0)
        if (w->listener != NULL)
            SAY("listener %s", w->listener);
        if (w->server != NULL)
            SAY("server %s", w->server);
        if (w->host != NULL)
            SAY("host %s", w->host);
        if (w->path != NULL)
            SAY("path %s", w->path);
        if (w->method != NULL)
            SAY("method %s", w->method);
        if (w->header != NULL)
            SAY("header %s", w->header);
        if (w->num_sources != 0)
            SAY("%zu source range(s)", w->num_sources);
        if (w->nth != 0)
            SAY("request %u only", w->nth);
        if (w->every != 0)
            SAY("every %u", w->every);
        if (w->from != 0 || w->to != 0)
            SAY("requests %u to %u", w->from != 0 ? w->from : 1, w->to);
        if (w->percent < 100)
            SAY("%u%% of them", w->percent);
        if (w->after_ms != 0 || w->before_ms != 0)
            SAY("from %u ms to %u ms after the load", w->after_ms, w->before_ms);
#undef SAY
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:s, s:o, s:s}", "name", f->name, "stage",
                         scn_stage_name(f->stage), "action", scn_fault_action_name(f->action),
                         "status",
                         f->action == SCN_FAULT_STATUS ? json_integer(f->status) : json_null(),
                         "picks", n != 0 ? picks : "every request"));
    }
    return a;
}

json_t *admin_topology_json(const struct scn *s, const unsigned *ports, time_t now)
{
    json_t *listeners = json_array(), *servers = json_array(), *domains = json_array();

    for (size_t i = 0; i < s->num_listeners; i++)
        json_array_append_new(listeners,
                              listener_json(s, &s->listeners[i],
                                            ports != NULL ? ports[i] : s->listeners[i].port, now));
    for (size_t i = 0; i < s->num_servers; i++)
        json_array_append_new(servers, server_json(&s->servers[i]));
    for (size_t i = 0; i < s->num_accepted_domains; i++) {
        const struct scn_accepted_domain *d = &s->accepted_domains[i];
        json_array_append_new(domains,
                              json_pack("{s:s, s:s, s:b}", "name", d->name, "type",
                                        domain_type_name(d->type), "default", d->is_default));
    }
    return json_pack("{s:{s:s, s:s, s:s, s:s}, s:s, s:o, s:o, s:o, s:o}", "scenario", "name",
                     s->name, "summary", s->summary, "description", s->description, "file", s->file,
                     "domain", s->domain, "accepted_domains", domains, "listeners", listeners,
                     "servers", servers, "faults", faults_json(s));
}
