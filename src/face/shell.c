/*
 * shell — Exchange Management Shell views of the scenario (Format-List output).
 */
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "log.h"
#include "scenario.h"
#include "shell.h"

/* The cmdlets, by name. */
static const struct {
    const char *name;
    unsigned which;
} cmdlets[] = {
    {"Get-WebServicesVirtualDirectory", SHELL_EWS},
    {"Get-AutodiscoverVirtualDirectory", SHELL_AUTODISCOVER},
    {"Get-OutlookAnywhere", SHELL_OUTLOOK_ANYWHERE},
    {"Get-ExchangeServer", SHELL_EXCHANGE_SERVER},
    {"Get-AcceptedDomain", SHELL_ACCEPTED_DOMAIN},
    {"Get-Mailbox", SHELL_MAILBOX},
    {"Get-Service", SHELL_SERVICE},
    {"Test-MRSHealth", SHELL_MRS_HEALTH},
};

#define CMDLET_LIST                                                                                \
    "Get-WebServicesVirtualDirectory, Get-AutodiscoverVirtualDirectory, Get-OutlookAnywhere, "     \
    "Get-ExchangeServer, Get-AcceptedDomain, Get-Mailbox IDENTITY, Get-Service NAME, "             \
    "Test-MRSHealth"

unsigned shell_cmdlet_of(const char *name)
{
    for (size_t i = 0; i < sizeof(cmdlets) / sizeof(cmdlets[0]); i++)
        if (strcasecmp(cmdlets[i].name, name) == 0)
            return cmdlets[i].which;
    return 0;
}

/* One "Name : value" line, names padded as Format-List pads them to the longest. */
static void field(FILE *out, int width, const char *name, const char *value)
{
    fprintf(out, "%-*s : %s\n", width, name, value != NULL ? value : "");
}

static const char *bool_of(int v)
{
    return v ? "True" : "False";
}

/* {Basic, Ntlm, WindowsIntegrated, WSSecurity, OAuth}, as the derived
 * Internal/ExternalAuthenticationMethods print: Negotiate shows as WindowsIntegrated, and
 * WSSecurity is on (the scenario does not model WSSecurityAuthentication; it is on by default
 * and hybrid needs it). */
static void methods(char *buf, size_t len, unsigned auth, int wssecurity)
{
    size_t n = (size_t)snprintf(buf, len, "{");
    static const struct {
        unsigned bit;
        const char *name;
    } rows[] = {{SCN_AUTH_BASIC, "Basic"},
                {SCN_AUTH_NTLM, "Ntlm"},
                {SCN_AUTH_NEGOTIATE, "WindowsIntegrated"},
                {0, "WSSecurity"},
                {SCN_AUTH_OAUTH, "OAuth"}};

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]) && n < len; i++) {
        if (rows[i].bit == 0 ? !wssecurity : !(auth & rows[i].bit))
            continue;
        n += (size_t)snprintf(buf + n, len - n, "%s%s", n > 1 ? ", " : "", rows[i].name);
    }
    if (n < len)
        snprintf(buf + n, len - n, "}");
}

static void vdir(FILE *out, const struct scn *s, const struct scn_server *sv, const char *name,
                 const struct scn_vdir *v, int ews)
{
    char identity[192], site[128], m[128];
    const int w = 29; /* Format-List pads to the longest name shown */

    snprintf(site, sizeof(site), "%s (Default Web Site)", name);
    snprintf(identity, sizeof(identity), "%s\\%s", sv->name, site);
    methods(m, sizeof(m), v->auth, 1);
    field(out, w, "Server", sv->name);
    field(out, w, "Name", site);
    field(out, w, "Identity", identity);
    field(out, w, "InternalUrl", v->internal_url);
    field(out, w, "ExternalUrl", v->external_url);
    field(out, w, "InternalAuthenticationMethods", m);
    field(out, w, "ExternalAuthenticationMethods", m);
    field(out, w, "BasicAuthentication", bool_of(v->auth & SCN_AUTH_BASIC));
    field(out, w, "WindowsAuthentication", bool_of(v->auth & SCN_AUTH_WINDOWS));
    field(out, w, "DigestAuthentication", "False");
    field(out, w, "OAuthAuthentication", bool_of(v->auth & SCN_AUTH_OAUTH));
    field(out, w, "WSSecurityAuthentication", "True");
    if (ews) {
        char max[16];
        snprintf(max, sizeof(max), "%u", sv->mrsproxy_max_connections);
        field(out, w, "MRSProxyEnabled", bool_of(sv->mrsproxy_enabled));
        field(out, w, "MRSProxyMaxConnections", max);
    }
    /* Not a property of the cmdlet: IIS's authorization rules live in the directory's
     * web.config; shown as a comment line, as a trainee would find them in IIS Manager. */
    if (v->num_deny != 0) {
        fprintf(out, "# IIS Manager, %s, Authorization Rules: Deny", site);
        for (size_t i = 0; i < v->num_deny; i++)
            fprintf(out, "%s %s\\%s", i ? "," : "", s->netbios, v->deny[i]->sam);
        fputc('\n', out);
    }
    fputc('\n', out);
}

int shell_print(FILE *out, const struct scn *s, const char *server, unsigned which)
{
    int found = 0;

    for (size_t i = 0; i < s->num_servers; i++) {
        const struct scn_server *sv = &s->servers[i];
        if (server != NULL && strcasecmp(server, sv->name) != 0)
            continue;
        found = 1;
        if (which & SHELL_EWS)
            vdir(out, s, sv, "EWS", &sv->ews, 1);
        if (which & SHELL_AUTODISCOVER)
            vdir(out, s, sv, "Autodiscover", &sv->autodiscover, 0);
        if (which & SHELL_OUTLOOK_ANYWHERE) {
            char identity[128];
            snprintf(identity, sizeof(identity), "%s\\Rpc (Default Web Site)", sv->name);
            field(out, 34, "Server", sv->name);
            field(out, 34, "Identity", identity);
            field(out, 34, "ExternalHostname", sv->oa_external_host);
            field(out, 34, "ExternalClientsRequireSsl", "True");
            field(out, 34, "ExternalClientAuthenticationMethod",
                  sv->ews.auth & SCN_AUTH_NTLM ? "Ntlm" : "Basic");
            fputc('\n', out);
        }
    }
    return found || server == NULL ? 0 : -1;
}

/* `mrsmock shell SCENARIO [CMDLET [ARG]] [--server NAME]`: the virtual directories of the
 * scenario, | Format-List (one or all three), or one of the organisation's cmdlets. */
int shell_main(int argc, char **argv)
{
    const char *scenario = NULL, *server = NULL, *arg = NULL;
    unsigned which = 0;
    char path[PATH_MAX];
    struct scn_errors errs = {0};
    struct scn *s;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--server") == 0 && i + 1 < argc) {
            server = argv[++i];
        } else if (scenario == NULL && argv[i][0] != '-') {
            scenario = argv[i];
        } else if (argv[i][0] != '-' && shell_cmdlet_of(argv[i]) != 0 &&
                   (which & ~SHELL_ALL) == 0 &&
                   (which == 0 || shell_cmdlet_of(argv[i]) <= SHELL_ALL)) {
            which |= shell_cmdlet_of(argv[i]);
        } else if (argv[i][0] != '-' && (which == SHELL_MAILBOX || which == SHELL_SERVICE) &&
                   arg == NULL) {
            arg = argv[i];
        } else {
            log_warnx("shell: unknown argument \"%s\" (cmdlets: " CMDLET_LIST ")", argv[i]);
            return EXIT_INVALID;
        }
    }
    if ((which == SHELL_MAILBOX || which == SHELL_SERVICE) && arg == NULL) {
        log_warnx("shell: %s needs %s", which == SHELL_MAILBOX ? "Get-Mailbox" : "Get-Service",
                  which == SHELL_MAILBOX ? "an identity (Get-Mailbox admin)"
                                         : "a name (Get-Service MSExchangeMailboxReplication)");
        return EXIT_INVALID;
    }
    if (scenario == NULL) {
        log_warnx("shell: name a scenario");
        return EXIT_INVALID;
    }
    if (scn_resolve(scenario, path, sizeof(path)) != 0) {
        log_warnx("%s: no such file, and no bundled scenario of that name (mrsmock list)",
                  scenario);
        return EXIT_INVALID;
    }
    if ((s = scn_load(path, &errs)) == NULL) {
        cmd_print_errors(&errs);
        return EXIT_INVALID;
    }
    scn_errors_free(&errs);
    if (which > SHELL_ALL) {
        if (server != NULL && scn_server_by_name(s, server) == NULL) {
            log_warnx("shell: the scenario has no server \"%s\"", server);
            rc = -1;
        } else {
            rc = shell_org_print(stdout, s, which, server, arg);
        }
    } else if ((rc = shell_print(stdout, s, server, which != 0 ? which : SHELL_ALL)) != 0) {
        log_warnx("shell: the scenario has no server \"%s\"", server);
    }
    scn_unref(s);
    return rc != 0 ? EXIT_INVALID : 0;
}
