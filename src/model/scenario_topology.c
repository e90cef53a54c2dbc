/*
 * scenario_topology — the parts of the model that a topology is made of beyond one server: the
 * organisation's accepted domains, each server's state and Windows services, and the load
 * balancers on listeners with their members; their defaults and the checks that need them.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "scenario_int.h"
#include "util.h"

const struct scn_enum scn_domain_types[] = {{"authoritative", SCN_DOMAIN_AUTHORITATIVE},
                                            {"internal-relay", SCN_DOMAIN_INTERNAL_RELAY},
                                            {"external-relay", SCN_DOMAIN_EXTERNAL_RELAY},
                                            {NULL, 0}};

const struct scn_enum scn_server_states[] = {{"running", SCN_SERVER_RUNNING},
                                             {"passive", SCN_SERVER_PASSIVE},
                                             {"dead", SCN_SERVER_DEAD},
                                             {NULL, 0}};

const struct scn_enum scn_service_statuses[] = {{"running", 1}, {"stopped", 0}, {NULL, 0}};

const struct scn_enum scn_lb_modes[] = {{"layer4", 0}, {"layer7", 1}, {NULL, 0}};

const struct scn_enum scn_lb_policies[] = {{"round-robin", SCN_LB_ROUND_ROBIN},
                                           {"least-connections", SCN_LB_LEAST_CONNECTIONS},
                                           {"source", SCN_LB_SOURCE},
                                           {"cookie", SCN_LB_COOKIE},
                                           {"none", SCN_LB_NONE},
                                           {NULL, 0}};

const struct scn_enum scn_lb_checks[] = {
    {"tcp", SCN_LB_CHECK_TCP}, {"http", SCN_LB_CHECK_HTTP}, {"none", SCN_LB_CHECK_NONE}, {NULL, 0}};

/* The services the model knows: the name Get-Service takes and its display name. */
static const struct {
    const char *name, *display;
} services[SCN_SVC_COUNT] = {
    [SCN_SVC_MRS] = {"MSExchangeMailboxReplication", "Microsoft Exchange Mailbox Replication"},
};

const char *scn_service_name(enum scn_service_id id)
{
    return services[id].name;
}

const char *scn_service_display_name(enum scn_service_id id)
{
    return services[id].display;
}

int scn_service_installed(const struct scn_server *sv, enum scn_service_id id)
{
    (void)id; /* the one service known: the MRS */
    return (sv->roles & (sv->version >= SCN_V2013 ? SCN_ROLE_MAILBOX : SCN_ROLE_CLIENT_ACCESS)) !=
           0;
}

int scn_service_runs(const struct scn_server *sv, enum scn_service_id id)
{
    return sv->state != SCN_SERVER_DEAD && scn_service_installed(sv, id) && sv->service_running[id];
}

static const char *enum_name(const struct scn_enum *t, int v)
{
    for (; t->name != NULL; t++)
        if (t->value == v)
            return t->name;
    return "?";
}

const char *scn_server_state_name(enum scn_server_state st)
{
    return enum_name(scn_server_states, (int)st);
}

const char *scn_lb_policy_name(enum scn_lb_policy p)
{
    return enum_name(scn_lb_policies, (int)p);
}

int scn_domain_accepted(const struct scn *s, const char *domain, size_t len)
{
    for (size_t i = 0; i < s->num_accepted_domains; i++) {
        const char *n = s->accepted_domains[i].name;
        if (strlen(n) == len && strncasecmp(n, domain, len) == 0)
            return 1;
    }
    return 0;
}

/* --- building -------------------------------------------------------------------------------- */

/* The organisation's domain is always the default accepted domain (Exchange's setup makes it and
 * it cannot be removed); <accepted-domain> adds the others. */
static void build_domains(struct scn *s, struct scn_draft *d)
{
    s->accepted_domains =
        h2o_mem_alloc_pool(&s->pool, (d->domains.size + 2) * sizeof(*s->accepted_domains));
    s->num_accepted_domains = 0;
    if (s->domain != NULL)
        s->accepted_domains[s->num_accepted_domains++] =
            (struct scn_accepted_domain){.name = s->domain,
                                         .type = SCN_DOMAIN_AUTHORITATIVE,
                                         .is_default = 1,
                                         .at = d->organization.at};
    for (size_t i = 0; i < d->domains.size; i++) {
        struct scn_d_domain *dd = d->domains.entries[i];
        struct scn_accepted_domain v = dd->v;
        v.at = dd->m.at;
        if (scn_unset(&dd->m, SCN_A_DOMAIN_TYPE))
            v.type = SCN_DOMAIN_AUTHORITATIVE;
        if (s->domain != NULL && strcasecmp(v.name, s->domain) == 0) {
            s->accepted_domains[0].type = v.type; /* the default one, written out */
            continue;
        }
        s->accepted_domains[s->num_accepted_domains++] = v;
    }
}

static void build_services(struct scn *s, struct scn_draft *d, struct scn_errors *errs)
{
    for (size_t i = 0; i < s->num_servers; i++) {
        struct scn_d_server *ds = d->servers.entries[i];
        struct scn_server *v = &s->servers[i];
        if (scn_unset(&ds->m, SCN_A_SERVER_STATE))
            v->state = SCN_SERVER_RUNNING;
        if (scn_unset(&ds->m, SCN_A_SERVER_ROLES) || v->version >= SCN_V2016) {
            if (!scn_unset(&ds->m, SCN_A_SERVER_ROLES) && v->roles != SCN_ROLES_ALL &&
                v->roles != SCN_ROLE_MAILBOX)
                scn_error(errs, scn_where_attr(&ds->m, SCN_A_SERVER_ROLES),
                          "server \"%s\": Exchange %d has no Client Access role of its own (its "
                          "Mailbox role holds the Client Access services)",
                          v->name, (int)v->version);
            v->roles = SCN_ROLES_ALL;
        }
        /* a passive server is one whose Exchange services were stopped and disabled */
        for (size_t k = 0; k < SCN_SVC_COUNT; k++)
            v->service_running[k] = v->state == SCN_SERVER_RUNNING;
        for (size_t k = 0; k < ds->services.size; k++) {
            struct scn_d_service *dv = ds->services.entries[k];
            size_t id = 0;
            while (id < SCN_SVC_COUNT && strcasecmp(services[id].name, dv->name) != 0)
                id++;
            if (id == SCN_SVC_COUNT) {
                scn_error(errs, &dv->m.at,
                          "server \"%s\": unknown service \"%s\" (the model knows "
                          "MSExchangeMailboxReplication)",
                          v->name, dv->name);
                continue;
            }
            if (!scn_unset(&dv->m, SCN_A_SERVICE_STATUS))
                v->service_running[id] = dv->running;
        }
    }
}

/* A GUID as Exchange prints it: 8-4-4-4-12 hexadecimal digits; written into OUT in lower case.
 * 0, or -1 when P is not one. */
static int guid_of(const char *p, char out[37])
{
    if (strlen(p) != 36)
        return -1;
    for (size_t i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? p[i] != '-' : !isxdigit((unsigned char)p[i]))
            return -1;
        out[i] = (char)tolower((unsigned char)p[i]);
    }
    out[36] = '\0';
    return 0;
}

static void build_databases(struct scn *s, struct scn_draft *d, struct scn_errors *errs)
{
    s->num_databases = d->databases.size;
    s->databases = h2o_mem_alloc_pool(&s->pool, (s->num_databases + 1) * sizeof(*s->databases));
    for (size_t i = 0; i < s->num_databases; i++) {
        struct scn_d_database *dd = d->databases.entries[i];
        struct scn_database *db = &s->databases[i];
        memset(db, 0, sizeof(*db));
        db->name = dd->name;
        db->at = dd->m.at;
        if (scn_unset(&dd->m, SCN_A_DB_SERVER) || dd->server == NULL) {
            if (dd->m.attr[SCN_A_DB_SERVER].line == 0)
                scn_error(errs, &dd->m.at, "database \"%s\": missing required attribute \"server\"",
                          db->name);
        } else if ((db->server = scn_server_by_name(s, dd->server)) == NULL) {
            scn_error(errs, scn_where_attr(&dd->m, SCN_A_DB_SERVER),
                      "database \"%s\": server \"%s\" does not exist", db->name, dd->server);
        } else if (!(db->server->roles & SCN_ROLE_MAILBOX)) {
            scn_error(errs, scn_where_attr(&dd->m, SCN_A_DB_SERVER),
                      "database \"%s\": server \"%s\" has no Mailbox role", db->name,
                      db->server->name);
        }
        if (!scn_unset(&dd->m, SCN_A_DB_GUID) && dd->guid != NULL) {
            if (guid_of(dd->guid, db->guid) != 0)
                scn_error(errs, scn_where_attr(&dd->m, SCN_A_DB_GUID),
                          "database \"%s\": guid \"%s\" is not a GUID "
                          "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                          db->name, dd->guid);
        } else {
            /* stable from the name, lower case: two runs and two readers agree */
            char lc[65];
            uint8_t b[16];
            size_t n = strlen(db->name);
            for (size_t k = 0; k <= n && k < sizeof(lc); k++)
                lc[k] = (char)tolower((unsigned char)db->name[k]);
            util_stable_bytes(lc, n, b, sizeof(b));
            b[6] = (uint8_t)((b[6] & 0x0f) | 0x40), b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
            util_guid_format(b, db->guid);
        }
    }
}

struct scn_database *scn_database_by_id(const struct scn *s, const char *name, size_t len)
{
    for (size_t i = 0; i < s->num_databases; i++) {
        struct scn_database *db = &s->databases[i];
        if ((strlen(db->name) == len && strncasecmp(db->name, name, len) == 0) ||
            (len == 36 && strncasecmp(db->guid, name, len) == 0))
            return db;
    }
    return NULL;
}

void scn_build_topology(struct scn *s, struct scn_draft *d, struct scn_errors *errs)
{
    build_domains(s, d);
    build_services(s, d, errs);
    build_databases(s, d, errs);
}

/* Roles the rest of the model needs: a mailbox lives on a Mailbox server, a listener (or a
 * balancer's member) reaches a Client Access server. */
void scn_check_roles(struct scn *s, struct scn_errors *errs)
{
    for (size_t i = 0; i < s->num_accounts; i++) {
        const struct scn_account *a = &s->accounts[i];
        if (a->server != NULL && !(a->server->roles & SCN_ROLE_MAILBOX))
            scn_error(errs, &a->at,
                      "account \"%s\": its mailbox's server \"%s\" has no Mailbox role", a->sam,
                      a->server->name);
    }
    for (size_t i = 0; i < s->num_listeners; i++) {
        const struct scn_listener *l = &s->listeners[i];
        const struct scn_balancer *b = l->balancer;
        for (size_t k = 0; k < (b != NULL ? b->num_members : 1); k++) {
            const struct scn_server *sv = b != NULL ? b->members[k].server : l->server;
            if (sv != NULL && !(sv->roles & SCN_ROLE_CLIENT_ACCESS))
                scn_error(errs, b != NULL ? &b->members[k].at : &l->at,
                          "listener \"%s\": server \"%s\" has no Client Access role (clients "
                          "reach Exchange through one)",
                          l->name, sv->name);
        }
    }
}

static struct scn_cert *cert_by_id(struct scn *s, const char *id)
{
    for (size_t i = 0; i < s->num_certs; i++)
        if (strcasecmp(s->certs[i].id, id) == 0)
            return &s->certs[i];
    return NULL;
}

/* Listener V's <balancer>, when it has one (DL its draft); the servers exist by now. */
void scn_build_balancer(struct scn *s, struct scn_d_listener *dl, struct scn_listener *v,
                        struct scn_errors *errs)
{
    const struct scn_mark *m = &dl->lb;
    struct scn_balancer *b;

    v->balancer = NULL;
    if (m->gen == 0)
        return;
    b = v->balancer = h2o_mem_alloc_pool(&s->pool, sizeof(*b));
    *b = dl->lb_v;
    b->at = m->at;
    if (scn_unset(m, SCN_A_LB_MODE))
        b->layer7 = 0;
    if (scn_unset(m, SCN_A_LB_POLICY))
        b->policy = SCN_LB_ROUND_ROBIN;
    if (scn_unset(m, SCN_A_LB_CHECK))
        b->check = SCN_LB_CHECK_TCP;
    if (scn_unset(m, SCN_A_LB_KEEP_CONNECTION))
        b->keep_connection = 0;
    else if (b->keep_connection && !b->layer7)
        scn_error(errs, scn_where_attr(m, SCN_A_LB_KEEP_CONNECTION),
                  "balancer \"%s\": keep-connection needs mode=\"layer7\" (at layer 4 a "
                  "connection always stays on its member)",
                  b->name);
    if (scn_unset(m, SCN_A_LB_CHECK_PATH))
        b->check_path = "/EWS/healthcheck.htm";
    else if (b->check_path[0] != '/')
        scn_error(errs, scn_where_attr(m, SCN_A_LB_CHECK_PATH),
                  "balancer \"%s\": check-path must be a path starting with \"/\"", b->name);
    if (b->policy == SCN_LB_COOKIE && !b->layer7)
        scn_error(errs, scn_where_attr(m, SCN_A_LB_POLICY),
                  "balancer \"%s\": cookie affinity needs mode=\"layer7\" (a layer 4 balancer "
                  "never sees a cookie)",
                  b->name);
    for (size_t i = 0; b->name != NULL && i < s->num_servers; i++)
        if (s->servers[i].name != NULL && strcasecmp(s->servers[i].name, b->name) == 0)
            scn_error(errs, &m->at,
                      "balancer \"%s\": a server has that name (each has its log folder)", b->name);

    b->num_members = dl->members.size;
    b->members = h2o_mem_alloc_pool(&s->pool, (b->num_members + 1) * sizeof(*b->members));
    if (b->num_members == 0)
        scn_error(errs, &m->at, "balancer \"%s\": no <member> (at least one is needed)", b->name);
    for (size_t i = 0; i < b->num_members; i++) {
        struct scn_d_member *dm = dl->members.entries[i];
        struct scn_member *mb = &b->members[i];
        *mb = (struct scn_member){.down = dm->down, .at = dm->m.at};
        if ((mb->server = scn_server_by_name(s, dm->server)) == NULL)
            scn_error(errs, scn_where_attr(&dm->m, SCN_A_MEMBER_SERVER),
                      "balancer \"%s\": server \"%s\" does not exist", b->name, dm->server);
        if (scn_unset(&dm->m, SCN_A_MEMBER_DOWN))
            mb->down = (struct scn_flap){0, 0, 0, 0};
        if (scn_unset(&dm->m, SCN_A_MEMBER_CERT))
            continue;
        if ((mb->cert = cert_by_id(s, dm->cert)) == NULL)
            scn_error(errs, scn_where_attr(&dm->m, SCN_A_MEMBER_CERT),
                      "balancer \"%s\": member \"%s\": certificate \"%s\" is not defined", b->name,
                      dm->server, dm->cert);
        else if (b->layer7)
            scn_error(errs, scn_where_attr(&dm->m, SCN_A_MEMBER_CERT),
                      "balancer \"%s\": member \"%s\": a layer 7 balancer ends TLS itself with "
                      "the listener's certificate (a member's certificate needs mode=\"layer4\")",
                      b->name, dm->server);
        else if (!v->tls)
            scn_error(errs, scn_where_attr(&dm->m, SCN_A_MEMBER_CERT),
                      "balancer \"%s\": member \"%s\": a certificate needs a TLS listener", b->name,
                      dm->server);
    }
    v->server = b->num_members != 0 ? b->members[0].server : NULL;
    /* a server written on the listener (the one a base file put there) must be a member */
    if (!scn_unset(&dl->m, SCN_A_LISTENER_SERVER) && dl->server != NULL) {
        size_t i = 0;
        while (i < b->num_members && (b->members[i].server == NULL ||
                                      strcasecmp(b->members[i].server->name, dl->server) != 0))
            i++;
        if (i == b->num_members)
            scn_error(errs, scn_where_attr(&dl->m, SCN_A_LISTENER_SERVER),
                      "listener \"%s\": server \"%s\" is not a member of its balancer \"%s\"",
                      v->name, dl->server, b->name);
    }
}

/* Balancer names are log folders: unique among balancers (servers are checked above). */
void scn_check_balancers(struct scn *s, struct scn_errors *errs)
{
    for (size_t i = 0; i < s->num_listeners; i++) {
        const struct scn_balancer *b = s->listeners[i].balancer;
        for (size_t k = 0; b != NULL && k < i; k++) {
            const struct scn_balancer *o = s->listeners[k].balancer;
            if (o != NULL && strcasecmp(o->name, b->name) == 0) {
                scn_error(errs, &b->at, "duplicate balancer \"%s\" (first defined at %s:%u)",
                          b->name, o->at.file, o->at.line);
                break;
            }
        }
    }
}
