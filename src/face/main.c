/*
 * main — the sub-commands run, check and list; options, signals, exit statuses and the ready
 * line (DESIGN.md, "Contracts other programs rely on"). Only wiring: the work is in modules.
 *
 * Exit statuses: 0 success, 1 invalid input (scenario, arguments), 2 runtime failure.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <openssl/pem.h>

#include "flow.h"
#include "listener.h"
#include "log.h"
#include "logfile.h"
#include "pki.h"
#include "scenario.h"
#include "shell.h"

#define EXIT_INVALID 1
#define EXIT_RUNTIME 2
#define DRAIN_MS 10000

/* A --listen option: NAME=ADDR:PORT moves one listener, ADDR:PORT all of them. */
struct listen_opt {
    const char *name; /* NULL: every listener */
    char host[64];
    unsigned port;
};

struct run_opts {
    const char *scenario;
    char path[PATH_MAX];
    char state_dir[PATH_MAX];
    char logs_dir[PATH_MAX + 8];
    struct listen_opt *listen;
    size_t num_listen;
    unsigned threads;
};

static void usage_main(FILE *out)
{
    fprintf(out,
            "usage: mrsmock run SCENARIO [options]   serve a scenario (see mrsmock run --help)\n"
            "       mrsmock check FILE...            validate scenario files\n"
            "       mrsmock list                     list the bundled scenarios\n"
            "       mrsmock certs [SCENARIO] [options] print or export the lab CA (see --help)\n"
            "       mrsmock shell SCENARIO [CMDLET] [--server NAME]\n"
            "                                        the servers' virtual directories as the\n"
            "                                        Exchange Management Shell shows them\n"
            "       mrsmock --help | --version\n");
}

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
static int parse_listen(const char *arg, struct listen_opt *o)
{
    const char *eq = strchr(arg, '='), *a = eq != NULL ? eq + 1 : arg, *colon, *hb, *he;
    char *end;
    unsigned long port;

    memset(o, 0, sizeof(*o));
    if (eq == arg)
        return -1;
    if (*a == '[') {
        hb = a + 1;
        if ((he = strchr(hb, ']')) == NULL || he[1] != ':')
            return -1;
        colon = he + 1;
    } else {
        hb = a;
        if ((colon = strrchr(a, ':')) == NULL)
            return -1;
        he = colon;
    }
    if (he == hb || (size_t)(he - hb) >= sizeof(o->host))
        return -1;
    memcpy(o->host, hb, (size_t)(he - hb));
    errno = 0;
    port = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || errno != 0 || port > 65535)
        return -1;
    o->port = (unsigned)port;
    if (eq != NULL && (o->name = strndup(arg, (size_t)(eq - arg))) == NULL)
        fatalx("out of memory");
    return 0;
}

/* The order listeners are reported and moved in: TLS listeners first, then plain ones. */
static size_t listener_order(const struct scn *s, size_t *order)
{
    size_t n = 0;
    for (int tls = 1; tls >= 0; tls--)
        for (size_t i = 0; i < s->num_listeners; i++)
            if (!!s->listeners[i].tls == tls)
                order[n++] = i;
    return n;
}

/* Applies the --listen options to S before it is bound; 0, or -1 with a message. */
static int apply_listen(struct scn *s, const struct run_opts *o, char *err, size_t errlen)
{
    size_t *order = calloc(s->num_listeners + 1, sizeof(*order));

    if (order == NULL)
        fatalx("out of memory");
    listener_order(s, order);
    for (size_t k = 0; k < o->num_listen; k++) {
        const struct listen_opt *lo = &o->listen[k];
        if (lo->name == NULL) {
            for (size_t j = 0; j < s->num_listeners; j++) {
                struct scn_listener *l = &s->listeners[order[j]];
                l->host = h2o_strdup(&s->pool, lo->host, SIZE_MAX).base;
                l->port = j == 0 ? lo->port : 0;
            }
            continue;
        }
        struct scn_listener *l = scn_listener_by_name(s, lo->name);
        if (l == NULL) {
            snprintf(err, errlen, "--listen %s: the scenario has no listener \"%s\"", lo->name,
                     lo->name);
            free(order);
            return -1;
        }
        l->host = h2o_strdup(&s->pool, lo->host, SIZE_MAX).base;
        l->port = lo->port;
    }
    free(order);
    return 0;
}

static void print_errors(struct scn_errors *errs)
{
    if (errs->text != NULL)
        fputs(errs->text, stderr);
    scn_errors_free(errs);
}

/* Loads the scenario of O with the --listen options applied; NULL after reporting. */
static struct scn *load(const struct run_opts *o)
{
    struct scn_errors errs = {0};
    struct scn *s = scn_load(o->path, &errs);
    char err[512];

    if (s == NULL) {
        print_errors(&errs);
        return NULL;
    }
    scn_errors_free(&errs);
    if (apply_listen(s, o, err, sizeof(err)) != 0) {
        log_warnx("%s", err);
        scn_unref(s);
        return NULL;
    }
    return s;
}

static void print_ready(const struct lsn_gen *g, const struct pki *pki, const char *logs_dir)
{
    const struct scn *s = g->scn;
    size_t *order = calloc(s->num_listeners + 1, sizeof(*order)), n;
    json_t *listeners = json_array();

    if (order == NULL)
        fatalx("out of memory");
    n = listener_order(s, order);
    char url[128];

    for (size_t j = 0; j < n; j++) {
        const struct scn_listener *l = &s->listeners[order[j]];
        json_t *hosts = json_array();
        int v6 = strchr(l->host, ':') != NULL;
        for (size_t h = 0; h < l->num_hosts; h++)
            json_array_append_new(hosts, json_string(l->hosts[h]));
        snprintf(url, sizeof(url), "%s://%s%s%s:%u", l->tls ? "https" : "http", v6 ? "[" : "",
                 l->host, v6 ? "]" : "", g->ports[order[j]]);
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

static int default_state_dir(char *out, size_t len)
{
    const char *e;
    if ((e = getenv("MRSMOCK_STATE_DIR")) != NULL && *e != '\0')
        return snprintf(out, len, "%s", e) < (int)len ? 0 : -1;
    if ((e = getenv("XDG_STATE_HOME")) != NULL && *e != '\0')
        return snprintf(out, len, "%s/mrsmock", e) < (int)len ? 0 : -1;
    if ((e = getenv("HOME")) != NULL && *e != '\0')
        return snprintf(out, len, "%s/.local/state/mrsmock", e) < (int)len ? 0 : -1;
    return snprintf(out, len, "./mrsmock-state") < (int)len ? 0 : -1;
}

static void config_h2o(h2o_globalconf_t *conf, const struct scn *s)
{
    h2o_config_init(conf);
    /* flow_send writes the Server header of each emulated server's IIS version. */
    conf->server_name = h2o_iovec_init("", 0);
    /* Room above the scenario's limit, so that a body over it still reaches the flow and is
     * answered (and logged) as the server would; only a body over twice the limit meets
     * libh2o's own 413 (HTTP/1.1) or stream refusal (HTTP/2), before any stage runs. */
    conf->max_request_entity_size = s->limits.max_request_body * 2;
    conf->handshake_timeout = s->limits.handshake_timeout_ms;
    conf->http1.req_timeout = s->limits.idle_timeout_ms;
    conf->http1.upgrade_to_http2 = 0; /* IIS does not do h2c */
    conf->http2.idle_timeout = s->limits.idle_timeout_ms;
    h2o_hostconf_t *host =
        h2o_config_register_host(conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pathconf = h2o_config_register_path(host, "/", 0);
    /* the CRL distribution point first: it answers only /pki/<ca>.crl on the crl="true"
     * listener and hands everything else to the flow */
    pki_crl_register(pathconf, lsn_crls_of);
    flow_register(pathconf);
}

/* Reloads on SIGHUP: the old generation keeps running when anything fails. */
static struct lsn_gen *reload(const struct run_opts *o, struct lsn_gen *cur, struct pki *pki)
{
    struct scn *s = NULL;
    struct lsn_gen *g = NULL;
    char err[1024];

    log_warnx("SIGHUP: reloading %s", o->path);
    if ((s = load(o)) == NULL) {
        log_warnx("reload failed; still serving scenario \"%s\"", cur->scn->name);
        return cur;
    }
    if (lsn_bind(s, err, sizeof(err)) != 0 ||
        (g = lsn_gen_new(s, pki, o->logs_dir, err, sizeof(err))) == NULL) {
        log_warnx("%s", err);
        log_warnx("reload failed; still serving scenario \"%s\"", cur->scn->name);
        scn_unref(s);
        return cur;
    }
    if (memcmp(&s->limits, &cur->scn->limits, sizeof(s->limits)) != 0)
        log_warnx("the new <limits> take effect when mrsmock restarts");
    scn_unref(s);
    lsn_publish(g);
    lsn_gen_unref(cur);
    log_warnx("now serving scenario \"%s\"", g->scn->name);
    return g;
}

/* Options of `run` into O. Returns -1 to go on, or the exit status (after --help, an error). */
static int parse_run(int argc, char **argv, struct run_opts *o)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},  {"state-dir", required_argument, NULL, 's'},
        {"threads", required_argument, NULL, 't'}, {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    int c, verbose = 0;

    while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            o->listen = realloc(o->listen, (o->num_listen + 1) * sizeof(*o->listen));
            if (o->listen == NULL)
                fatalx("out of memory");
            if (parse_listen(optarg, &o->listen[o->num_listen]) != 0) {
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
    o->scenario = argv[optind];
    if (scn_resolve(o->scenario, o->path, sizeof(o->path)) != 0) {
        log_warnx("%s: no such file, and no bundled scenario of that name (mrsmock list)",
                  o->scenario);
        return EXIT_INVALID;
    }
    if (o->state_dir[0] == '\0' && default_state_dir(o->state_dir, sizeof(o->state_dir)) != 0) {
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

/* Serves until SIGTERM or SIGINT; returns the exit status. */
static int serve(const struct run_opts *o)
{
    struct scn *s = NULL;
    struct pki *pki = NULL;
    struct lsn_gen *gen = NULL;
    h2o_globalconf_t conf;
    int rc = EXIT_RUNTIME, sig, conf_ready = 0;
    char err[1024];
    sigset_t set;

    if ((s = load(o)) == NULL) {
        rc = EXIT_INVALID;
        goto done;
    }
    if (logf_mkdirs(o->state_dir, 0700) != 0 || access(o->state_dir, W_OK) != 0) {
        log_warn("state folder %s is not writable", o->state_dir);
        goto done;
    }
    if ((pki = pki_open(o->state_dir, err, sizeof(err))) == NULL ||
        lsn_bind(s, err, sizeof(err)) != 0 ||
        (gen = lsn_gen_new(s, pki, o->logs_dir, err, sizeof(err))) == NULL) {
        log_warnx("%s", err);
        goto done;
    }

    /* Signals are taken by sigwait() here only: workers never run a handler. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    config_h2o(&conf, s);
    conf_ready = 1;
    /* libxml2 reports some errors of client bodies (an unknown encoding, say) through its
     * generic handler even with XML_PARSE_NOERROR: the workers' handlers (per thread, set from
     * these defaults) say nothing. The endpoints answer such bodies as real servers do. */
    xmlThrDefSetGenericErrorFunc(NULL, on_xml_quiet);
    xmlThrDefSetStructuredErrorFunc(NULL, on_xml_quiet_structured);
    lsn_start(o->threads, &conf, gen);
    print_ready(gen, pki, o->logs_dir);
    log_info("serving scenario \"%s\" with %u worker threads", gen->scn->name, o->threads);
    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            break;
        gen = reload(o, gen, pki);
    }
    log_info("stopping: finishing the requests in flight");
    rc = 0;

done:
    lsn_stop(DRAIN_MS); /* also closes what lsn_bind() opened when nothing started */
    lsn_gen_unref(gen);
    scn_unref(s);
    if (pki != NULL)
        pki_close(pki);
    if (conf_ready)
        h2o_config_dispose(&conf);
    return rc;
}

static int cmd_run(int argc, char **argv)
{
    struct run_opts o = {.threads = 0};
    int rc = parse_run(argc, argv, &o);

    if (rc < 0) {
        xmlInitParser();
        rc = serve(&o);
        xmlCleanupParser();
    }
    for (size_t i = 0; i < o.num_listen; i++)
        free((char *)(uintptr_t)o.listen[i].name);
    free(o.listen);
    return rc;
}

static int cmd_check(int argc, char **argv)
{
    int rc = 0;
    char path[PATH_MAX];

    if (argc < 2) {
        log_warnx("check: name at least one scenario file");
        return EXIT_INVALID;
    }
    for (int i = 1; i < argc; i++) {
        struct scn_errors errs = {0};
        struct scn *s;
        if (scn_resolve(argv[i], path, sizeof(path)) != 0) {
            fprintf(stderr, "%s: cannot open: No such file or directory\n", argv[i]);
            rc = EXIT_INVALID;
            continue;
        }
        if ((s = scn_load(path, &errs)) == NULL) {
            print_errors(&errs);
            rc = EXIT_INVALID;
            continue;
        }
        scn_errors_free(&errs);
        printf("%s: ok (scenario \"%s\")\n", path, s->name);
        scn_unref(s);
    }
    return rc;
}

/* `mrsmock shell SCENARIO [CMDLET] [--server NAME]`: Get-WebServicesVirtualDirectory,
 * Get-AutodiscoverVirtualDirectory and Get-OutlookAnywhere of the scenario, | Format-List. */
static int cmd_shell(int argc, char **argv)
{
    const char *scenario = NULL, *server = NULL;
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
        } else if (argv[i][0] != '-' && shell_cmdlet_of(argv[i]) != 0) {
            which |= shell_cmdlet_of(argv[i]);
        } else {
            log_warnx("shell: unknown argument \"%s\" (cmdlets: Get-WebServicesVirtualDirectory, "
                      "Get-AutodiscoverVirtualDirectory, Get-OutlookAnywhere)",
                      argv[i]);
            return EXIT_INVALID;
        }
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
        print_errors(&errs);
        return EXIT_INVALID;
    }
    scn_errors_free(&errs);
    if ((rc = shell_print(stdout, s, server, which != 0 ? which : SHELL_ALL)) != 0)
        log_warnx("shell: the scenario has no server \"%s\"", server);
    scn_unref(s);
    return rc != 0 ? EXIT_INVALID : 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_xml(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 4 && strcmp(d->d_name + n - 4, ".xml") == 0;
}

static int cmd_list(void)
{
    const char *dir = scn_bundled_dir();
    struct dirent **ents;
    int n = scandir(dir, &ents, is_xml, by_name), rc = 0;
    char path[PATH_MAX];

    if (n < 0) {
        log_warn("cannot read %s", dir);
        return EXIT_RUNTIME;
    }
    for (int i = 0; i < n; i++) {
        struct scn_errors errs = {0};
        struct scn *s;
        snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
        if ((s = scn_load(path, &errs)) == NULL) {
            print_errors(&errs);
            rc = EXIT_INVALID;
        } else {
            scn_errors_free(&errs);
            printf("%-28s %s\n", s->name, s->summary);
            scn_unref(s);
        }
        free(ents[i]);
    }
    free(ents);
    return rc;
}

static void usage_certs(FILE *out)
{
    fprintf(
        out,
        "usage: mrsmock certs [SCENARIO] [options]\n"
        "Prints or exports the lab root CA (created when missing), for clients to trust.\n"
        "  --pem                the CA in PEM on standard output (the default)\n"
        "  --der FILE           the CA in DER (a .cer file Windows opens) into FILE; - for\n"
        "                       standard output\n"
        "  --bundle             the CA and SCENARIO's intermediate CAs, PEM, on standard output\n"
        "  --export DIR         writes DIR/mrsmock-lab-ca.crt (PEM), DIR/mrsmock-lab-ca.cer\n"
        "                       (DER) and, with SCENARIO, DIR/<scenario>-bundle.pem; prints\n"
        "                       the paths written\n"
        "  --state-dir DIR      as for run\n"
        "  -h, --help           this text\n");
}

/* Writes the certificates of ST as PEM (DER: only the first, in DER) to PATH ("-": stdout). */
static int write_certs(const char *path, STACK_OF(X509) * st, int der)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
    int ok = fp != NULL;

    if (ok && der)
        ok = i2d_X509_fp(fp, sk_X509_value(st, 0)) == 1;
    for (int i = 0; ok && !der && i < sk_X509_num(st); i++)
        ok = PEM_write_X509(fp, sk_X509_value(st, i)) == 1;
    if (fp != NULL && fp != stdout && fclose(fp) != 0)
        ok = 0;
    if (fp == stdout)
        fflush(stdout);
    if (!ok)
        log_warn("cannot write %s", path);
    return ok ? 0 : -1;
}

/* mrsmock certs: what a client, a browser or a Windows trainee machine imports. */
static int cmd_certs(int argc, char **argv)
{
    static const struct option longopts[] = {{"pem", no_argument, NULL, 'p'},
                                             {"der", required_argument, NULL, 'd'},
                                             {"bundle", no_argument, NULL, 'b'},
                                             {"export", required_argument, NULL, 'e'},
                                             {"state-dir", required_argument, NULL, 's'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    char state_dir[PATH_MAX] = "", path[PATH_MAX], err[1024], crl_base[256];
    const char *der = NULL, *export = NULL;
    int c, bundle = 0, rc = EXIT_RUNTIME, modes = 0;
    struct scn *s = NULL;
    struct pki *pki = NULL;
    STACK_OF(X509) *st = NULL;

    log_init(0);
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            modes++;
            break;
        case 'd':
            der = optarg, modes++;
            break;
        case 'b':
            bundle = 1, modes++;
            break;
        case 'e':
            export = optarg, modes++;
            break;
        case 's':
            snprintf(state_dir, sizeof(state_dir), "%s", optarg);
            break;
        case 'h':
            usage_certs(stdout);
            return 0;
        default:
            usage_certs(stderr);
            return EXIT_INVALID;
        }
    }
    if (modes > 1 || optind + 1 < argc) {
        usage_certs(stderr);
        return EXIT_INVALID;
    }
    if (optind < argc) {
        struct run_opts o = {.scenario = argv[optind]};
        if (scn_resolve(o.scenario, o.path, sizeof(o.path)) != 0) {
            log_warnx("%s: no such file, and no bundled scenario of that name (mrsmock list)",
                      o.scenario);
            return EXIT_INVALID;
        }
        if ((s = load(&o)) == NULL)
            return EXIT_INVALID;
    }
    if (state_dir[0] == '\0' && default_state_dir(state_dir, sizeof(state_dir)) != 0) {
        log_warnx("the state folder's path is too long");
        rc = EXIT_INVALID;
        goto done;
    }
    if (logf_mkdirs(state_dir, 0700) != 0) {
        log_warn("state folder %s is not writable", state_dir);
        goto done;
    }
    if ((pki = pki_open(state_dir, err, sizeof(err))) == NULL) {
        log_warnx("%s", err);
        goto done;
    }
    /* intermediates as `run` issues them: on the CRL listener's address as written (a port 0
     * is only known once bound; `run` then re-issues them with the same keys) */
    const struct scn_listener *cl = s != NULL ? scn_crl_listener(s) : NULL;
    if (cl == NULL || cl->port == 0 || pki_crl_base(cl, cl->port, crl_base, sizeof(crl_base)) != 0)
        crl_base[0] = '\0';
    if ((st = pki_bundle(pki, bundle || export != NULL ? s : NULL, crl_base[0] ? crl_base : NULL,
                         err, sizeof(err))) == NULL) {
        log_warnx("%s", err);
        goto done;
    }
    if (export != NULL) {
        STACK_OF(X509) *ca = sk_X509_new_null();
        int ok = ca != NULL && sk_X509_push(ca, sk_X509_value(st, 0)) > 0;
        if (logf_mkdirs(export, 0755) != 0) {
            log_warn("cannot create %s", export);
            sk_X509_free(ca);
            goto done;
        }
        snprintf(path, sizeof(path), "%s/mrsmock-lab-ca.crt", export);
        ok = ok && write_certs(path, ca, 0) == 0 && printf("%s\n", path) > 0;
        snprintf(path, sizeof(path), "%s/mrsmock-lab-ca.cer", export);
        ok = ok && write_certs(path, ca, 1) == 0 && printf("%s\n", path) > 0;
        if (ok && s != NULL) {
            snprintf(path, sizeof(path), "%s/%s-bundle.pem", export, s->name);
            ok = write_certs(path, st, 0) == 0 && printf("%s\n", path) > 0;
        }
        sk_X509_free(ca); /* the certificates belong to ST */
        if (!ok)
            goto done;
    } else if (der != NULL) {
        if (write_certs(der, st, 1) != 0)
            goto done;
    } else if (bundle) {
        if (write_certs("-", st, 0) != 0)
            goto done;
    } else {
        while (sk_X509_num(st) > 1)
            X509_free(sk_X509_pop(st));
        if (write_certs("-", st, 0) != 0)
            goto done;
    }
    rc = 0;
done:
    sk_X509_pop_free(st, X509_free);
    pki_close(pki);
    scn_unref(s);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage_main(stderr);
        return EXIT_INVALID;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage_main(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("mrsmock %s\n", MRSMOCK_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(argv[1], "check") == 0)
        return cmd_check(argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0)
        return cmd_list();
    if (strcmp(argv[1], "shell") == 0)
        return cmd_shell(argc - 1, argv + 1);
    if (strcmp(argv[1], "certs") == 0) {
        int rc;
        xmlInitParser();
        rc = cmd_certs(argc - 1, argv + 1);
        xmlCleanupParser();
        return rc;
    }
    log_warnx("unknown command \"%s\"", argv[1]);
    usage_main(stderr);
    return EXIT_INVALID;
}
