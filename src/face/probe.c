/*
 * probe — `mrsmock probe`: reads the inputs, the password, runs the probe (src/probe) and
 * prints its report. Exit statuses: 0 the endpoint passes, 3 it fails (the diagnosis is the
 * output), 1 invalid input, 2 the probe could not run.
 */
#include <stdio.h>
#include <stdlib.h>

#include <curl/curl.h>
#include <libxml/parser.h>

#include "commands.h"
#include "log.h"
#include "probe.h"

static void usage_probe(FILE *out)
{
    fprintf(out,
            "usage: mrsmock probe (--server HOST | --autodiscover --email ADDRESS)\n"
            "                     --user DOMAIN\\name [options]\n"
            "Walks the path of a remote move to an MRS Proxy (Test-MigrationServerAvailability\n"
            "-ExchangeRemoteMove) and says which step fails, with the client's error text and\n"
            "the troubleshooting step that finds the cause.\n"
            "  --server HOST        the MRS Proxy host (RemoteServer), port 443\n"
            "  --autodiscover       find it by Autodiscover for --email ADDRESS\n"
            "  --email ADDRESS      an on-premises mailbox\n"
            "  --user DOMAIN\\name   the on-premises administrator\n"
            "  --password-file FILE its password, first line (- for standard input); else\n"
            "                       standard input when it is not a terminal, else a prompt\n"
            "  --auth SCHEME        negotiate (the default, as the migration service), ntlm or\n"
            "                       basic\n"
            "  --cacert FILE        trust these CAs (PEM) instead of the system's store\n"
            "  --connect-to HOST:PORT:ADDR:PORT\n"
            "                       connect to ADDR:PORT for HOST:PORT, as curl's; repeatable\n"
            "  --dns ADDR[:PORT]    the DNS server (IPv4, port 53 by default) asked for\n"
            "                       Autodiscover's SRV record, as dig @ADDR; default: the\n"
            "                       system's resolver (/etc/resolv.conf)\n"
            "  --repeat N           N rounds on fresh connections (intermittent failures)\n"
            "  --timeout SECONDS    for each connection, request and DNS look-up (default 20)\n"
            "  --json               one JSON object: result, message, steps, next_step\n"
            "  -v                   libcurl's trace on standard error (twice)\n"
            "  -h, --help           this text\n"
            "Exit status: 0 the endpoint passes, 3 it fails, 1 invalid input, 2 the probe could\n"
            "not run.\n");
}

int probe_main(int argc, char **argv)
{
    struct probe_opts o;
    struct probe_report *r = NULL;
    char err[512] = "";
    int rc;

    log_init(0);
    if ((rc = probe_parse_args(argc, argv, &o, err, sizeof(err))) == 1) {
        usage_probe(stdout);
        return 0;
    }
    if (rc != 0) {
        log_warnx("probe: %s", err);
        usage_probe(stderr);
        return EXIT_INVALID;
    }
    log_init(o.verbose);
    if (probe_read_password(&o, err, sizeof(err)) != 0) {
        log_warnx("probe: %s", err);
        return EXIT_INVALID;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_warnx("probe: libcurl cannot start");
        probe_opts_free(&o);
        return EXIT_RUNTIME;
    }
    xmlInitParser();
    if ((r = calloc(1, sizeof(*r))) == NULL)
        fatalx("out of memory");
    rc = probe_run(&o, r);
    probe_print(r, o.json, stdout);
    if (rc == EXIT_RUNTIME)
        log_warnx("probe: could not run: %s", r->message);
    free(r);
    probe_opts_free(&o);
    xmlCleanupParser();
    curl_global_cleanup();
    return rc;
}
