/*
 * run — `mrsmock run`: its options, signals, the ready line (DESIGN.md, "Contracts other
 * programs rely on"). The lab itself is lab.h's.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include "commands.h"
#include "flow.h"
#include "gen.h"
#include "admin.h"
#include "journal.h"
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
            "  --admin ADDR:PORT         serve the admin API there (plain HTTP, JSON; port 0: a\n"
            "                            free one); loopback addresses only, unless:\n"
            "  --admin-token TOKEN       the admin API requires Authorization: Bearer TOKEN and\n"
            "                            may listen on any address\n"
            "  --ready-file PATH         also write the ready line to PATH (atomically)\n"
            "  --journal-size N          requests the journal keeps (default 4096)\n"
            "  --journal-jsonl           also append every journal entry to\n"
            "                            <state>/journal.jsonl (one JSON object a line)\n"
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

    const char *a = eq != NULL ? eq + 1 : arg, *colon = strrchr(a, ':');

    memset(o, 0, sizeof(*o));
    if (eq == arg)
        return -1;
    if (util_hostport_parse(a, o->host, sizeof(o->host), &o->port) != 0) {
        /* a bare IPv6 address before the port ("::1:0"), as earlier versions took it: the
         * port is after the last colon */
        char tmp[sizeof(o->host) + 16];
        if (a[0] == '[' || colon == NULL || strchr(a, ':') == colon ||
            snprintf(tmp, sizeof(tmp), "[%.*s]%s", (int)(colon - a), a, colon) >=
                (int)sizeof(tmp) ||
            util_hostport_parse(tmp, o->host, sizeof(o->host), &o->port) != 0)
            return -1;
    }
    if (eq != NULL && (o->name = strndup(arg, (size_t)(eq - arg))) == NULL)
        fatalx("out of memory");
    return 0;
}

/* What `run` takes besides the lab's options. */
struct run_opts {
    struct lab_opts lab;
    struct lab_listen *listen; /* lab.listen, owned here */
    int admin;                 /* --admin given */
    struct admin_opts admin_opts;
    const char *ready_file;
    size_t journal_size;
    int journal_jsonl; /* --journal-jsonl: <state>/journal.jsonl */
};

/* The ready line: on standard output and, with --ready-file, into that file (written whole
 * under another name, then renamed, so that a reader never sees half of it). */
static int print_ready(const struct run_opts *o, const char *admin_url)
{
    struct gen *g = lab_acquire(NULL, 0, NULL);
    char dashboard[UTIL_HOSTPORT_MAX + 16];
    if (admin_url != NULL)
        snprintf(dashboard, sizeof(dashboard), "%s/", admin_url);
    json_t *ready =
        json_pack("{s:s, s:s, s:o, s:s, s:o, s:s, s:o}", "event", "ready", "scenario", g->scn->name,
                  "listeners", admin_listeners_json(g), "ca", pki_ca_path(lab_pki()), "admin",
                  admin_url != NULL ? json_string(admin_url) : json_null(), "logs", o->lab.logs_dir,
                  "dashboard", admin_url != NULL ? json_string(dashboard) : json_null());
    char *line = json_dumps(ready, JSON_COMPACT | JSON_PRESERVE_ORDER), tmp[PATH_MAX + 16];
    int rc = 0;

    gen_unref(g);
    json_decref(ready);
    if (line == NULL)
        fatalx("cannot render the ready line");
    if (o->ready_file != NULL) {
        FILE *fp = NULL;
        if (snprintf(tmp, sizeof(tmp), "%s.tmp", o->ready_file) >= (int)sizeof(tmp) ||
            (fp = fopen(tmp, "w")) == NULL || fprintf(fp, "%s\n", line) < 0 || fclose(fp) != 0 ||
            rename(tmp, o->ready_file) != 0) {
            log_warn("--ready-file %s", o->ready_file);
            rc = -1;
        }
    }
    printf("%s\n", line);
    fflush(stdout);
    free(line);
    return rc;
}

/* Options of `run` into O. Returns -1 to go on, or the exit status (after --help, an error). */
static int parse_run(int argc, char **argv, struct run_opts *ro)
{
    static const struct option longopts[] = {{"listen", required_argument, NULL, 'l'},
                                             {"state-dir", required_argument, NULL, 's'},
                                             {"threads", required_argument, NULL, 't'},
                                             {"admin", required_argument, NULL, 'a'},
                                             {"admin-token", required_argument, NULL, 'T'},
                                             {"ready-file", required_argument, NULL, 'r'},
                                             {"journal-size", required_argument, NULL, 'j'},
                                             {"journal-jsonl", no_argument, NULL, 'J'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    struct lab_opts *o = &ro->lab;
    struct lab_listen **listen = &ro->listen;
    int c, verbose = 0;

    while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': {
            struct lab_listen *more = realloc(*listen, (o->num_listen + 1) * sizeof(**listen));
            if (more == NULL)
                fatalx("out of memory");
            *listen = more;
            o->listen = more;
            if (parse_listen(optarg, &(*listen)[o->num_listen]) != 0) {
                log_warnx("--listen %s: expected ADDR:PORT or NAME=ADDR:PORT", optarg);
                return EXIT_INVALID;
            }
            o->num_listen++;
            break;
        }
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
        case 'a':
            if (util_hostport_parse(optarg, ro->admin_opts.host, sizeof(ro->admin_opts.host),
                                    &ro->admin_opts.port) != 0) {
                log_warnx("--admin %s: expected ADDR:PORT", optarg);
                return EXIT_INVALID;
            }
            ro->admin = 1;
            break;
        case 'T':
            if (optarg[0] == '\0') {
                log_warnx("--admin-token: the token is empty");
                return EXIT_INVALID;
            }
            ro->admin_opts.token = optarg;
            break;
        case 'r':
            ro->ready_file = optarg;
            break;
        case 'j': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end != '\0' || n < 1 || n > 1000000) {
                log_warnx("--journal-size %s: expected a number from 1 to 1000000", optarg);
                return EXIT_INVALID;
            }
            ro->journal_size = (size_t)n;
            break;
        }
        case 'J':
            ro->journal_jsonl = 1;
            break;
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
    if (ro->admin_opts.token != NULL && !ro->admin) {
        log_warnx("--admin-token needs --admin ADDR:PORT");
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
static int serve(const struct run_opts *ro)
{
    const struct lab_opts *o = &ro->lab;
    int rc, sig;
    char *errors = NULL, admin_url[UTIL_HOSTPORT_MAX + 8] = "", err[512], path[PATH_MAX];
    sigset_t set;
    struct gen *g;

    /* Signals are taken by sigwait() here only: workers (started by lab_start) never run a
     * handler. */
    signal(SIGPIPE, SIG_IGN);
    /* a log past the file size limit (ulimit -f) is a full disk: an error to write through,
     * reported once by logfile.c, not a signal that kills the server */
    signal(SIGXFSZ, SIG_IGN);
    /* as many descriptors as we may have: a lab holding thousands of connections should not
     * stop at the soft limit of 1024 (nginx's worker_rlimit_nofile, h2o's default) */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &nofile) != 0)
            log_warn("cannot raise the limit of open files");
    }
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
    /* the journal's only readers are the admin API and its file: without them, no request
     * pays for an entry, nor for a why trail that only they and -vv show */
    if (ro->admin || ro->journal_jsonl)
        journal_init(ro->journal_size);
    flow_keep_why(ro->admin || ro->journal_jsonl || log_verbosity() >= 2);
    if ((rc = (int)lab_start(o, &errors)) != LAB_OK) {
        report((enum lab_result)rc, errors);
        lab_stop(0);
        journal_free();
        return rc;
    }
    if (ro->journal_jsonl) {
        char file[PATH_MAX + 16];
        snprintf(file, sizeof(file), "%s/journal.jsonl", o->state_dir);
        if (journal_file_start(file, err, sizeof(err)) != 0) {
            log_warnx("%s", err);
            lab_stop(0);
            journal_free();
            return EXIT_RUNTIME;
        }
    }
    if (ro->admin) {
        struct admin_opts ao = ro->admin_opts;
        ao.state_dir = o->state_dir;
        if ((rc = admin_start(&ao, admin_url, sizeof(admin_url), err, sizeof(err))) != 0) {
            log_warnx("%s", err);
            lab_stop(0);
            journal_free();
            return rc == -2 ? EXIT_INVALID : EXIT_RUNTIME;
        }
    }
    if (print_ready(ro, ro->admin ? admin_url : NULL) != 0) {
        admin_stop();
        lab_stop(0);
        journal_free();
        return EXIT_RUNTIME;
    }
    g = lab_acquire(NULL, 0, NULL);
    log_info("serving scenario \"%s\" with %u worker threads", g->scn->name, o->threads);
    gen_unref(g);
    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            break;
        /* SIGHUP reloads the scenario file; the running scenario is kept when anything fails */
        gen_unref(lab_acquire(path, sizeof(path), NULL));
        log_warnx("SIGHUP: reloading %s", path);
        enum lab_result r = lab_switch(NULL, &errors);
        if (r != LAB_OK)
            report(r, errors);
        g = lab_acquire(NULL, 0, NULL);
        if (r != LAB_OK)
            log_warnx("reload failed; still serving scenario \"%s\"", g->scn->name);
        else
            log_warnx("now serving scenario \"%s\"", g->scn->name);
        gen_unref(g);
    }
    log_info("stopping: finishing the requests in flight");
    admin_stop();
    lab_stop(DRAIN_MS);
    journal_file_stop(); /* after the last request: it is in the file */
    journal_free();
    return 0;
}

int run_main(int argc, char **argv)
{
    struct run_opts o = {.journal_size = 4096};
    int rc = parse_run(argc, argv, &o);

    if (rc < 0) {
        xmlInitParser();
        rc = serve(&o);
        scn_cleanup();
        xmlCleanupParser();
    }
    for (size_t i = 0; i < o.lab.num_listen; i++)
        free((char *)(uintptr_t)o.listen[i].name);
    free(o.listen);
    return rc;
}
