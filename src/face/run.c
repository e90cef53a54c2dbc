/*
 * run — `mrsmock run`: its options, signals, the ready line (DESIGN.md, "Contracts other
 * programs rely on"). The lab itself is lab.h's.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include "commands.h"
#include "gen.h"
#include "lab.h"
#include "log.h"
#include "pki.h"
#include "scenario.h"
#include "util.h"

#define DRAIN_MS 10000

static void usage_run(FILE *out)
{
    fprintf(out,
            "usage: mrsmock run SCENARIO [options]\n"
            "SCENARIO is a file or the name of a bundled scenario (mrsmock list).\n"
            "  --listen ADDR:PORT        move every listener to ADDR: the first on PORT, the\n"
            "                            others on free ports (PORT 0: a free port for all)\n"
            "  --listen NAME=ADDR:PORT   move listener NAME (repeatable)\n"
            "  --state-dir DIR           lab CA, certificates and logs (default:\n"
            "                            $MRSMOCK_STATE_DIR, else $XDG_STATE_HOME/mrsmock, else\n"
            "                            ~/.local/state/mrsmock)\n"
            "  --threads N               worker threads (default: one per core)\n"
            "  -v, --verbose             more diagnostics on standard error (twice: debug)\n"
            "  -h, --help                this text\n"
            "When ready, one line of JSON goes to standard output. SIGHUP reloads the scenario\n"
            "(an invalid file is reported and the running one kept); SIGTERM or SIGINT stop after\n"
            "the requests in flight.\n");
}

/* "127.0.0.1:8443", "[::1]:0", optionally prefixed "NAME=". */
static int parse_listen(const char *arg, struct lab_listen *o)
{
    const char *eq = strchr(arg, '=');

    memset(o, 0, sizeof(*o));
    if (eq == arg ||
        util_hostport_parse(eq != NULL ? eq + 1 : arg, o->host, sizeof(o->host), &o->port) != 0)
        return -1;
    if (eq != NULL && (o->name = strndup(arg, (size_t)(eq - arg))) == NULL)
        fatalx("out of memory");
    return 0;
}

static void print_ready(const struct gen *g, const struct pki *pki, const char *logs_dir)
{
    const struct scn *s = g->scn;
    size_t *order = calloc(s->num_listeners + 1, sizeof(*order)), n;
    json_t *listeners = json_array();
    char url[UTIL_HOSTPORT_MAX + 8];

    if (order == NULL)
        fatalx("out of memory");
    n = lab_listener_order(s, order);
    for (size_t j = 0; j < n; j++) {
        const struct scn_listener *l = &s->listeners[order[j]];
        json_t *hosts = json_array();
        size_t n0 = (size_t)snprintf(url, sizeof(url), "%s://", l->tls ? "https" : "http");
        for (size_t h = 0; h < l->num_hosts; h++)
            json_array_append_new(hosts, json_string(l->hosts[h]));
        util_hostport_format(l->host, g->listeners[order[j]].port, url + n0, sizeof(url) - n0);
        json_array_append_new(
            listeners, json_pack("{s:s, s:s, s:o}", "name", l->name, "url", url, "hosts", hosts));
    }
    json_t *ready =
        json_pack("{s:s, s:s, s:o, s:s, s:n, s:s}", "event", "ready", "scenario", s->name,
                  "listeners", listeners, "ca", pki_ca_path(pki), "admin", "logs", logs_dir);
    free(order);
    char *line = json_dumps(ready, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (line == NULL)
        fatalx("cannot render the ready line");
    printf("%s\n", line);
    fflush(stdout);
    free(line);
    json_decref(ready);
}

/* Options of `run` into O. Returns -1 to go on, or the exit status (after --help, an error). */
static int parse_run(int argc, char **argv, struct lab_opts *o, struct lab_listen **listen)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},  {"state-dir", required_argument, NULL, 's'},
        {"threads", required_argument, NULL, 't'}, {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    int c, verbose = 0;

    while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            *listen = realloc(*listen, (o->num_listen + 1) * sizeof(**listen));
            if (*listen == NULL)
                fatalx("out of memory");
            o->listen = *listen;
            if (parse_listen(optarg, &(*listen)[o->num_listen]) != 0) {
                log_warnx("--listen %s: expected ADDR:PORT or NAME=ADDR:PORT", optarg);
                return EXIT_INVALID;
            }
            o->num_listen++;
            break;
        case 's':
            if (snprintf(o->state_dir, sizeof(o->state_dir), "%s", optarg) >=
                (int)sizeof(o->state_dir)) {
                log_warnx("--state-dir: path too long");
                return EXIT_INVALID;
            }
            break;
        case 't': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end != '\0' || n < 1 || n > 256) {
                log_warnx("--threads %s: expected a number from 1 to 256", optarg);
                return EXIT_INVALID;
            }
            o->threads = (unsigned)n;
            break;
        }
        case 'v':
            verbose++;
            break;
        case 'h':
            usage_run(stdout);
            return 0;
        default:
            usage_run(stderr);
            return EXIT_INVALID;
        }
    }
    log_init(verbose);
    if (optind + 1 != argc) {
        usage_run(stderr);
        return EXIT_INVALID;
    }
    if (scn_resolve(argv[optind], o->path, sizeof(o->path)) != 0) {
        log_warnx("%s: no such file, and no bundled scenario of that name (mrsmock list)",
                  argv[optind]);
        return EXIT_INVALID;
    }
    if (o->state_dir[0] == '\0' && cmd_default_state_dir(o->state_dir, sizeof(o->state_dir)) != 0) {
        log_warnx("the state folder's path is too long");
        return EXIT_INVALID;
    }
    snprintf(o->logs_dir, sizeof(o->logs_dir), "%s/logs", o->state_dir);
    if (o->threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o->threads = n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
    }
    return -1;
}

static void on_xml_quiet(void *ctx, const char *msg, ...)
{
    UNUSED(ctx), UNUSED(msg);
}

static void on_xml_quiet_structured(void *ctx, xmlErrorPtr e)
{
    UNUSED(ctx), UNUSED(e);
}

/* Reports what lab_start() or lab_switch() returned RC for: a scenario's errors as they are
 * ("file:line: message" lines), a runtime failure as the one line it is. Frees ERRORS. */
static void report(enum lab_result rc, char *errors)
{
    size_t n = errors != NULL ? strlen(errors) : 0;

    if (rc == LAB_RUNTIME && n != 0) {
        if (errors[n - 1] == '\n')
            errors[n - 1] = '\0';
        log_warnx("%s", errors);
    } else if (n != 0) {
        fputs(errors, stderr);
    }
    free(errors);
}

/* Serves until SIGTERM or SIGINT; returns the exit status. */
static int serve(const struct lab_opts *o)
{
    int rc, sig;
    char *errors = NULL;
    sigset_t set;

    /* Signals are taken by sigwait() here only: workers (started by lab_start) never run a
     * handler. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    /* libxml2 reports some errors of client bodies (an unknown encoding, say) through its
     * generic handler even with XML_PARSE_NOERROR: the workers' handlers (per thread, set from
     * these defaults) say nothing. The endpoints answer such bodies as real servers do. */
    xmlThrDefSetGenericErrorFunc(NULL, on_xml_quiet);
    xmlThrDefSetStructuredErrorFunc(NULL, on_xml_quiet_structured);
    if ((rc = (int)lab_start(o, &errors)) != LAB_OK) {
        report((enum lab_result)rc, errors);
        lab_stop(0);
        return rc;
    }
    print_ready(lab_gen(), lab_pki(), o->logs_dir);
    log_info("serving scenario \"%s\" with %u worker threads", lab_gen()->scn->name, o->threads);
    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            break;
        /* SIGHUP reloads the scenario file; the running scenario is kept when anything fails */
        log_warnx("SIGHUP: reloading %s", o->path);
        enum lab_result r = lab_switch(NULL, &errors);
        if (r != LAB_OK) {
            report(r, errors);
            log_warnx("reload failed; still serving scenario \"%s\"", lab_gen()->scn->name);
        } else {
            log_warnx("now serving scenario \"%s\"", lab_gen()->scn->name);
        }
    }
    log_info("stopping: finishing the requests in flight");
    lab_stop(DRAIN_MS);
    return 0;
}

int run_main(int argc, char **argv)
{
    struct lab_opts o = {.threads = 0};
    struct lab_listen *listen = NULL;
    int rc = parse_run(argc, argv, &o, &listen);

    if (rc < 0) {
        xmlInitParser();
        rc = serve(&o);
        xmlCleanupParser();
    }
    for (size_t i = 0; i < o.num_listen; i++)
        free((char *)(uintptr_t)listen[i].name);
    free(listen);
    return rc;
}
