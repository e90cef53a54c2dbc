/*
 * shell_org — the shell's views of the organisation and of its servers' health, for steps 1
 * and 2 of the troubleshooting article: Get-ExchangeServer, Get-AcceptedDomain,
 * Get-Mailbox <identity> | fl EmailAddresses, Get-Service MSExchangeMailboxReplication and
 * Test-MRSHealth, printed as the Exchange Management Shell prints them (default table views of
 * PowerShell 5.1, whose columns cut a longer value with "...").
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "shell.h"

/* A table cell WIDTH wide: the value, cut to WIDTH - 3 characters and "..." when longer. */
static void cell(FILE *out, int width, const char *v, int last)
{
    int n = (int)strlen(v);

    if (last)
        fprintf(out, "%s\n", v);
    else if (n > width)
        fprintf(out, "%.*s... ", width - 3, v);
    else
        fprintf(out, "%-*s ", width, v);
}

static void heading(FILE *out, const char *const *names, const int *widths, size_t n)
{
    fputc('\n', out);
    for (size_t i = 0; i < n; i++)
        cell(out, widths[i], names[i], i + 1 == n);
    for (size_t i = 0; i < n; i++) {
        char dash[64];
        size_t len = strlen(names[i]) < sizeof(dash) - 1 ? strlen(names[i]) : sizeof(dash) - 1;
        memset(dash, '-', len);
        dash[len] = '\0';
        cell(out, widths[i], dash, i + 1 == n);
    }
}

/* What ServerRole shows: a 2016 or 2019 server is the Mailbox role (the Client Access services
 * are part of it); a 2010 server with both roles is taken as the usual all-in-one, transport
 * included. */
static const char *roles(const struct scn_server *sv)
{
    int mbx = (sv->roles & SCN_ROLE_MAILBOX) != 0, cas = (sv->roles & SCN_ROLE_CLIENT_ACCESS) != 0;

    if (sv->version >= SCN_V2016)
        return "Mailbox";
    if (mbx && cas)
        return sv->version == SCN_V2013 ? "Mailbox, ClientAccess"
                                        : "Mailbox, ClientAccess, HubTransport";
    return mbx ? "Mailbox" : "ClientAccess";
}

static int want(const struct scn_server *sv, const char *server)
{
    return server == NULL || strcasecmp(server, sv->name) == 0;
}

/* Every server object, dead ones included: Active Directory still holds them. */
static int exchange_server(FILE *out, const struct scn *s, const char *server)
{
    static const char *const names[] = {"Name", "Site", "ServerRole", "Edition",
                                        "AdminDisplayVersion"};
    static const int widths[] = {20, 20, 15, 15, 0};
    char site[300], version[64];
    int found = 0;

    heading(out, names, widths, 5);
    snprintf(site, sizeof(site), "%s/Configuration/Sites/Default-First-Site-Name", s->domain);
    for (size_t i = 0; i < s->num_servers; i++) {
        const struct scn_server *sv = &s->servers[i];
        if (!want(sv, server))
            continue;
        found = 1;
        snprintf(version, sizeof(version), "Version %u.%u (Build %u.%u)", sv->build[0],
                 sv->build[1], sv->build[2], sv->build[3]);
        cell(out, 20, sv->name, 0);
        cell(out, 20, site, 0);
        cell(out, 15, roles(sv), 0);
        cell(out, 15, "Enterprise", 0);
        cell(out, 0, version, 1);
    }
    fputc('\n', out);
    return found || server == NULL ? 0 : -1;
}

static int accepted_domain(FILE *out, const struct scn *s)
{
    static const char *const names[] = {"Name", "DomainName", "DomainType", "Default"};
    static const int widths[] = {30, 30, 21, 0};
    static const char *const types[] = {"Authoritative", "InternalRelay", "ExternalRelay"};

    heading(out, names, widths, 4);
    for (size_t i = 0; i < s->num_accepted_domains; i++) {
        const struct scn_accepted_domain *d = &s->accepted_domains[i];
        cell(out, 30, d->name, 0);
        cell(out, 30, d->name, 0);
        cell(out, 21, types[d->type], 0);
        cell(out, 0, d->is_default ? "True" : "False", 1);
    }
    fputc('\n', out);
    return 0;
}

/* Get-Mailbox IDENTITY | fl EmailAddresses: the primary address as SMTP:, the others smtp:. */
static int mailbox(FILE *out, const struct scn *s, const char *id)
{
    const struct scn_account *a = NULL;

    for (size_t i = 0; id != NULL && i < s->num_accounts && a == NULL; i++) {
        const struct scn_account *c = &s->accounts[i];
        if (c->mailbox != NULL && (strcasecmp(c->sam, id) == 0 || strcasecmp(c->upn, id) == 0 ||
                                   strcasecmp(c->mailbox, id) == 0))
            a = c;
    }
    if (a == NULL) {
        fprintf(stderr,
                "The operation couldn't be performed because object '%s' couldn't be found on "
                "'dc1.%s'.\n",
                id != NULL ? id : "", s->domain);
        return -1;
    }
    fprintf(out, "\nEmailAddresses : {SMTP:%s", a->mailbox);
    for (size_t i = 0; i < a->num_proxy_addresses; i++)
        fprintf(out, ", smtp:%s", a->proxy_addresses[i]);
    fprintf(out, "}\n\n");
    return 0;
}

/* Get-Service NAME -ComputerName SV. */
static int service(FILE *out, const struct scn_server *sv, const char *name)
{
    static const char *const names[] = {"Status", "Name", "DisplayName"};
    static const int widths[] = {8, 18, 0};
    size_t id = 0;

    while (id < SCN_SVC_COUNT && (name == NULL || strcasecmp(scn_service_name(id), name) != 0))
        id++;
    if (id == SCN_SVC_COUNT) {
        fprintf(stderr,
                "Get-Service : Cannot find any service with service name '%s'. (the model knows "
                "MSExchangeMailboxReplication)\n",
                name != NULL ? name : "");
        return -1;
    }
    if (sv->state == SCN_SERVER_DEAD) {
        fprintf(stderr,
                "Get-Service : Cannot open Service Control Manager on computer '%s'. This "
                "operation might require other privileges.\n",
                sv->name);
        return -1;
    }
    if (!scn_service_installed(sv, id)) {
        fprintf(stderr,
                "Get-Service : Cannot find any service with service name '%s' on computer "
                "'%s'.\n",
                scn_service_name(id), sv->name);
        return -1;
    }
    heading(out, names, widths, 3);
    cell(out, 8, scn_service_runs(sv, id) ? "Running" : "Stopped", 0);
    cell(out, 18, scn_service_name(id), 0);
    cell(out, 0, scn_service_display_name(id), 1);
    fputc('\n', out);
    return 0;
}

/* Test-MRSHealth -Identity SV: its three checks, as Format-List prints the results. The
 * failure texts follow the success texts' wording; Microsoft does not publish them [derived]. */
static int mrs_health(FILE *out, const struct scn_server *sv)
{
    if (sv->state == SCN_SERVER_DEAD) {
        fprintf(stderr,
                "Test-MRSHealth : Couldn't connect to the Mailbox Replication service on server "
                "%s. The RPC server is unavailable.\n",
                sv->fqdn);
        return -1;
    }
    if (!scn_service_installed(sv, SCN_SVC_MRS)) {
        /* a 2013 Client Access server: MRS runs on the Mailbox role [wording derived] */
        fprintf(stderr,
                "Test-MRSHealth : The Mailbox Replication service isn't installed on server "
                "%s.\n",
                sv->fqdn);
        return -1;
    }
    int up = scn_service_runs(sv, SCN_SVC_MRS);
    const struct {
        const char *check, *ok, *bad;
    } rows[] = {
        {"ServiceCheck", "The Mailbox Replication service is running.",
         "The Mailbox Replication service isn't running."},
        {"RPCPingCheck",
         "The Mailbox Replication service is responding to a remote procedure call (RPC) ping.",
         "The Mailbox Replication service isn't responding to a remote procedure call (RPC) "
         "ping."},
        {"QueueScanCheck",
         "The Mailbox Replication service is scanning mailbox database queues for jobs. Last "
         "scan age: 00:00:12.",
         "The Mailbox Replication service isn't scanning mailbox database queues for jobs."},
    };
    for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++)
        fprintf(out, "\nIdentity : %s\nCheck    : %s\nPassed   : %s\nMessage  : %s\n", sv->name,
                rows[k].check, up ? "True" : "False", up ? rows[k].ok : rows[k].bad);
    fputc('\n', out);
    return 0;
}

int shell_org_print(FILE *out, const struct scn *s, unsigned which, const char *server,
                    const char *arg)
{
    /* Get-Service and Test-MRSHealth run against the local server unless told another: the
     * scenario's first */
    const struct scn_server *here = server != NULL ? scn_server_by_name(s, server) : &s->servers[0];

    switch (which) {
    case SHELL_EXCHANGE_SERVER:
        return exchange_server(out, s, server);
    case SHELL_ACCEPTED_DOMAIN:
        return accepted_domain(out, s);
    case SHELL_MAILBOX:
        return mailbox(out, s, arg);
    case SHELL_SERVICE:
        return here != NULL ? service(out, here, arg) : -1;
    case SHELL_MRS_HEALTH:
        return here != NULL ? mrs_health(out, here) : -1;
    default:
        return -1;
    }
}
