/*
 * scenario_perimeter — the devices at the edge of the organisation's network in front of a
 * listener: a firewall (<firewall>) with its source-address rules (<rule>, tried in order) and
 * the URL filter of its TLS inspection (<url-filter>), the paths it publishes as a reverse proxy
 * (<publish>) and whether it offloads TLS; their defaults, the checks that need them, and
 * address ranges; and what a listener's port does with a connection attempt (port-state).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "scenario_int.h"
#include "util.h"

/* <firewall default>: what a source no rule matches meets; "deny" is a silent drop, as the
 * implicit deny of a firewall's last rule is. */
const struct scn_enum scn_fw_defaults[] = {
    {"allow", SCN_FW_ALLOW}, {"deny", SCN_FW_DROP}, {NULL, 0}};

const struct scn_enum scn_fw_actions[] = {{"allow", SCN_FW_ALLOW},
                                          {"drop", SCN_FW_DROP},
                                          {"reset", SCN_FW_RESET},
                                          {"hang", SCN_FW_HANG},
                                          {NULL, 0}};

const struct scn_enum scn_uf_actions[] = {
    {"block-page", SCN_UF_BLOCK_PAGE}, {"reset", SCN_UF_RESET}, {"hang", SCN_UF_HANG}, {NULL, 0}};

const struct scn_enum scn_preauths[] = {{"none", SCN_PREAUTH_NONE},
                                        {"forms", SCN_PREAUTH_FORMS},
                                        {"adfs", SCN_PREAUTH_ADFS},
                                        {NULL, 0}};

const struct scn_enum scn_port_states[] = {{"open", SCN_PORT_OPEN},
                                           {"closed", SCN_PORT_CLOSED},
                                           {"filtered", SCN_PORT_FILTERED},
                                           {NULL, 0}};

static const char *enum_name(const struct scn_enum *t, int v)
{
    for (; t->name != NULL; t++)
        if (t->value == v)
            return t->name;
    return "?";
}

const char *scn_fw_action_name(enum scn_fw_action a)
{
    return enum_name(scn_fw_actions, (int)a);
}

const char *scn_uf_action_name(enum scn_uf_action a)
{
    return enum_name(scn_uf_actions, (int)a);
}

const char *scn_preauth_name(enum scn_preauth p)
{
    return enum_name(scn_preauths, (int)p);
}

const char *scn_port_state_name(enum scn_port_state st)
{
    return enum_name(scn_port_states, (int)st);
}

int scn_cidr_match(const struct scn_cidr *c, const char *ip)
{
    unsigned char a[16];
    const unsigned char *p = a;
    int v6;

    if (inet_pton(AF_INET, ip, a) == 1) {
        v6 = 0;
    } else if (inet_pton(AF_INET6, ip, a) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        v6 = memcmp(a, mapped, sizeof(mapped)) != 0;
        if (!v6)
            p = a + 12; /* ::ffff:a.b.c.d, a dual-stack socket's IPv4 client */
    } else {
        return 0;
    }
    if (v6 != c->v6)
        return 0;
    for (unsigned b = 0; b < c->bits; b += 8) {
        unsigned n = c->bits - b >= 8 ? 8 : c->bits - b;
        unsigned mask = (0xff00u >> n) & 0xffu;
        if ((p[b / 8] & mask) != (c->addr[b / 8] & mask))
            return 0;
    }
    return 1;
}

int scn_path_covers(const char *prefix, const char *path, size_t len)
{
    size_t n = strlen(prefix);

    if (len < n || strncasecmp(path, prefix, n) != 0)
        return 0;
    return len == n || (n > 0 && prefix[n - 1] == '/') || path[n] == '/';
}

/* --- building -------------------------------------------------------------------------------- */

static void build_rules(struct scn *s, struct scn_d_listener *dl, struct scn_firewall *fw,
                        struct scn_errors *errs)
{
    fw->num_rules = dl->rules.size;
    fw->rules = h2o_mem_alloc_pool(&s->pool, (fw->num_rules + 1) * sizeof(*fw->rules));
    for (size_t i = 0; i < fw->num_rules; i++) {
        struct scn_d_rule *dr = dl->rules.entries[i];
        struct scn_fw_rule *r = &fw->rules[i];
        *r = dr->v;
        r->at = dr->m.at;
        if (scn_unset(&dr->m, SCN_A_RULE_ACTION))
            r->action = SCN_FW_ALLOW;
        if (scn_unset(&dr->m, SCN_A_RULE_SOURCE)) {
            if (dr->m.attr[SCN_A_RULE_SOURCE].line == 0) /* a bad value is reported already */
                scn_error(errs, &dr->m.at,
                          "firewall \"%s\": rule \"%s\": missing required attribute \"source\"",
                          fw->name, r->name);
            r->num_sources = 0;
        }
    }
}

/* A device's path (a URL filter's, a publishing rule's): a path, nothing a request line could
 * not match. */
static void check_path(struct scn_errors *errs, const struct scn_mark *m, unsigned attr,
                       const struct scn_firewall *fw, const char *what, const char *path)
{
    if (path[0] != '/' || strpbrk(path, " \t\r\n?#") != NULL)
        scn_error(errs, scn_where_attr(m, attr),
                  "firewall \"%s\": %s path \"%s\" must be a path starting with \"/\", without "
                  "spaces, query or fragment",
                  fw->name, what, path);
}

static void build_publish(struct scn *s, struct scn_d_listener *dl, struct scn_firewall *fw,
                          struct scn_errors *errs)
{
    int adfs = 0;

    fw->num_publish = dl->publish.size;
    fw->publish = h2o_mem_alloc_pool(&s->pool, (fw->num_publish + 1) * sizeof(*fw->publish));
    for (size_t i = 0; i < fw->num_publish; i++) {
        struct scn_d_publish *dp = dl->publish.entries[i];
        struct scn_publish *p = &fw->publish[i];
        *p = dp->v;
        p->at = dp->m.at;
        if (scn_unset(&dp->m, SCN_A_PUB_PREAUTH))
            p->preauth = SCN_PREAUTH_NONE;
        check_path(errs, &dp->m, SCN_A_PUB_PATH, fw, "publish", p->path);
        if (p->preauth == SCN_PREAUTH_ADFS && !adfs++ && fw->adfs == NULL)
            scn_error(errs, &dp->m.at,
                      "firewall \"%s\": publish \"%s\" pre-authenticates with AD FS, and the "
                      "firewall names no AD FS server (adfs=\"sts.example.com\")",
                      fw->name, p->path);
    }
}

static void build_sni_filters(struct scn *s, struct scn_d_listener *dl, struct scn_firewall *fw,
                              const struct scn_listener *v, struct scn_errors *errs)
{
    fw->num_sni_filters = dl->sni_filters.size;
    fw->sni_filters =
        h2o_mem_alloc_pool(&s->pool, (fw->num_sni_filters + 1) * sizeof(*fw->sni_filters));
    for (size_t i = 0; i < fw->num_sni_filters; i++) {
        struct scn_d_sni_filter *df = dl->sni_filters.entries[i];
        struct scn_sni_filter *f = &fw->sni_filters[i];
        *f = df->v;
        f->at = df->m.at;
        if (scn_unset(&df->m, SCN_A_SF_ACTION))
            f->action = SCN_UF_RESET;
        if (f->action == SCN_UF_BLOCK_PAGE)
            scn_error(errs, scn_where_attr(&df->m, SCN_A_SF_ACTION),
                      "firewall \"%s\": sni-filter \"%s\": a device that reads only the SNI "
                      "has no request to answer with a page: reset or hang",
                      fw->name, f->host);
        if (f->host[0] == '\0' || strpbrk(f->host, " \t\r\n/:") != NULL)
            scn_error(errs, scn_where_attr(&df->m, SCN_A_SF_HOST),
                      "firewall \"%s\": sni-filter host \"%s\" must be a host name (\"*.\" "
                      "for a wildcard), without a path or a port",
                      fw->name, f->host);
    }
    if (fw->num_sni_filters != 0 && !v->tls)
        scn_error(errs, &dl->fw.at,
                  "firewall \"%s\": sni-filter needs a TLS listener (plain HTTP has no SNI)",
                  fw->name);
}

static void build_url_filters(struct scn *s, struct scn_d_listener *dl, struct scn_firewall *fw,
                              struct scn_errors *errs)
{
    fw->num_url_filters = dl->url_filters.size;
    fw->url_filters =
        h2o_mem_alloc_pool(&s->pool, (fw->num_url_filters + 1) * sizeof(*fw->url_filters));
    for (size_t i = 0; i < fw->num_url_filters; i++) {
        struct scn_d_url_filter *du = dl->url_filters.entries[i];
        struct scn_url_filter *u = &fw->url_filters[i];
        *u = du->v;
        u->at = du->m.at;
        if (scn_unset(&du->m, SCN_A_UF_ACTION))
            u->action = SCN_UF_BLOCK_PAGE;
        check_path(errs, &du->m, SCN_A_UF_PATH, fw, "url-filter", u->path);
    }
}

void scn_build_firewall(struct scn *s, struct scn_d_listener *dl, struct scn_listener *v,
                        struct scn_errors *errs)
{
    const struct scn_mark *m = &dl->fw;
    struct scn_firewall *fw;

    if (scn_unset(&dl->m, SCN_A_LISTENER_PORT_STATE))
        v->port_state = SCN_PORT_OPEN;
    v->firewall = NULL;
    if (m->gen == 0)
        return;
    fw = v->firewall = h2o_mem_alloc_pool(&s->pool, sizeof(*fw));
    *fw = dl->fw_v;
    fw->at = m->at;
    if (scn_unset(m, SCN_A_FW_DEFAULT))
        fw->def = SCN_FW_ALLOW;
    if (scn_unset(m, SCN_A_FW_SSL_OFFLOAD))
        fw->ssl_offload = 0;
    if (scn_unset(m, SCN_A_FW_ADFS))
        fw->adfs = NULL;
    if (scn_unset(m, SCN_A_FW_LOG_SIZE))
        fw->log_kb = 4096; /* Windows' default */
    if (fw->ssl_offload && !v->tls)
        scn_error(errs, scn_where_attr(m, SCN_A_FW_SSL_OFFLOAD),
                  "firewall \"%s\": ssl-offload needs a TLS listener (tls=\"true\"): the device "
                  "ends the client's TLS",
                  fw->name);
    for (size_t i = 0; i < s->num_servers; i++)
        if (strcasecmp(s->servers[i].name, fw->name) == 0)
            scn_error(errs, &m->at,
                      "firewall \"%s\": a server has that name (each has its log folder)",
                      fw->name);
    build_rules(s, dl, fw, errs);
    build_url_filters(s, dl, fw, errs);
    build_publish(s, dl, fw, errs);
    build_sni_filters(s, dl, fw, v, errs);
}

/* Device names are log folders: a firewall's is unique among firewalls and balancers. */
void scn_check_firewalls(struct scn *s, struct scn_errors *errs)
{
    for (size_t i = 0; i < s->num_listeners; i++) {
        const struct scn_firewall *fw = s->listeners[i].firewall;
        if (fw == NULL)
            continue;
        for (size_t k = 0; k < s->num_listeners; k++) {
            const struct scn_firewall *o = s->listeners[k].firewall;
            const struct scn_balancer *b = s->listeners[k].balancer;
            if (k < i && o != NULL && strcasecmp(o->name, fw->name) == 0) {
                scn_error(errs, &fw->at, "duplicate firewall \"%s\" (first defined at %s:%u)",
                          fw->name, o->at.file, o->at.line);
                break;
            }
            if (b != NULL && strcasecmp(b->name, fw->name) == 0) {
                scn_error(errs, &fw->at,
                          "firewall \"%s\": balancer at %s:%u has that name (each device has its "
                          "log folder)",
                          fw->name, b->at.file, b->at.line);
                break;
            }
        }
    }
}
