/*
 * lab — loading, serving and switching the scenario of `mrsmock run`.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "gen.h"
#include "lab.h"
#include "listener.h"
#include "journal.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"
#include "pki.h"
#include "tls.h"
#include "util.h"

/* Switches come from the main thread (SIGHUP) and the admin API's thread: one at a time. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct lab_opts opts;
static struct pki *pki;
static struct gen *current;
static time_t loaded_at;
static h2o_globalconf_t conf;
static int conf_ready;

/* *ERRORS = the formatted line (with a newline), malloc'ed. */
static void fail(char **errors, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(char **errors, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0 || s == NULL)
        fatalx("out of memory");
    va_end(ap);
    if (asprintf(errors, "%s\n", s) < 0)
        fatalx("out of memory");
    free(s);
}

size_t lab_listener_order(const struct scn *s, size_t *order)
{
    size_t n = 0;
    for (int tls = 1; tls >= 0; tls--)
        for (size_t i = 0; i < s->num_listeners; i++)
            if (!!s->listeners[i].tls == tls)
                order[n++] = i;
    return n;
}

/* Applies the --listen options to S before it is bound; 0, or -1 with a cause in ERRORS. */
static int apply_listen(struct scn *s, char **errors)
{
    size_t *order = calloc(s->num_listeners + 1, sizeof(*order));

    if (order == NULL)
        fatalx("out of memory");
    lab_listener_order(s, order);
    for (size_t k = 0; k < opts.num_listen; k++) {
        const struct lab_listen *lo = &opts.listen[k];
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
            fail(errors, "--listen %s: the scenario has no listener \"%s\"", lo->name, lo->name);
            free(order);
            return -1;
        }
        l->host = h2o_strdup(&s->pool, lo->host, SIZE_MAX).base;
        l->port = lo->port;
    }
    free(order);
    return 0;
}

/* Loads PATH with the run options applied; NULL with the cause in ERRORS. */
static struct scn *load(const char *path, char **errors)
{
    struct scn_errors errs = {0};
    struct scn *s = scn_load(path, &errs);

    if (s == NULL) {
        *errors = errs.text != NULL ? errs.text : strdup("the scenario could not be loaded\n");
        return NULL;
    }
    scn_errors_free(&errs);
    if (apply_listen(s, errors) != 0) {
        scn_unref(s);
        return NULL;
    }
    return s;
}

/* Binds what S needs and builds its generation; NULL with the cause in ERRORS. */
static struct gen *bring_up(struct scn *s, char **errors)
{
    unsigned *ports = calloc(s->num_listeners + 1, sizeof(*ports));
    size_t *bound = calloc(s->num_listeners + 1, sizeof(*bound));
    struct gen *g = NULL;
    char err[1024];

    if (ports == NULL || bound == NULL)
        fatalx("out of memory");
    if (lsn_bind(s, err, sizeof(err)) == 0 && lsn_ports(s, ports, bound, err, sizeof(err)) == 0) {
        struct gen_env env = {
            .pki = pki, .logs_dir = opts.logs_dir, .ports = ports, .bound = bound};
        g = gen_new(s, &env, err, sizeof(err));
    }
    if (g == NULL)
        fail(errors, "%s", err);
    free(ports);
    free(bound);
    return g;
}

static void config_h2o(const struct scn *s)
{
    h2o_config_init(&conf);
    /* flow_answer writes the Server header of each emulated server's IIS version. */
    conf.server_name = h2o_iovec_init("", 0);
    /* Room above the scenario's limit, so that a body over it still reaches the pipeline and
     * is answered (and logged) as the server would; only a body over twice the limit meets
     * libh2o's own 413 (HTTP/1.1) or stream refusal (HTTP/2), before any stage runs. */
    conf.max_request_entity_size = s->limits.max_request_body * 2;
    conf.handshake_timeout = s->limits.handshake_timeout_ms;
    /* each worker's context sets its own from the limits in force (listener.c, apply_limits) */
    conf.http1.req_timeout = 0;      /* unused: each context's is set */
    conf.http1.upgrade_to_http2 = 0; /* IIS does not do h2c */
    conf.http2.idle_timeout = s->limits.idle_timeout_ms;
    h2o_hostconf_t *host =
        h2o_config_register_host(&conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pathconf = h2o_config_register_path(host, "/", 0);
    /* the CRL distribution point first: it answers only /pki/<ca>.crl on the crl="true"
     * listener and hands everything else to the pipeline */
    pki_crl_register(pathconf, conn_crls_of);
    pipeline_register(pathconf);
    conf_ready = 1;
}

enum lab_result lab_start(const struct lab_opts *o, char **errors)
{
    struct scn *s = NULL;
    char err[1024];

    *errors = NULL;
    opts = *o;
    if ((s = load(opts.path, errors)) == NULL)
        return LAB_INVALID;
    if (util_mkdirs(opts.state_dir, 0700) != 0 || access(opts.state_dir, W_OK) != 0) {
        fail(errors, "state folder %s is not writable: %s", opts.state_dir, strerror(errno));
        scn_unref(s);
        return LAB_RUNTIME;
    }
    if ((pki = pki_open(opts.state_dir, err, sizeof(err))) == NULL) {
        fail(errors, "%s", err);
        scn_unref(s);
        return LAB_RUNTIME;
    }
    tls_observe_sni(conn_note_sni);
    lsn_on_tick(pipeline_tick);
    conn_observe(&journal_conn_observer);
    conn_observe(&metrics_conn_observer);
    if ((current = bring_up(s, errors)) == NULL) {
        scn_unref(s);
        return LAB_RUNTIME;
    }
    config_h2o(s);
    scn_unref(s); /* the generation holds it */
    loaded_at = time(NULL);
    lsn_start(opts.threads, &conf, current);
    return LAB_OK;
}

/* Serves G (taking the caller's reference) in place of the current generation; locked. */
static void publish(struct gen *g)
{
    lsn_publish(g);
    gen_unref(current);
    current = g;
    loaded_at = time(NULL);
}

/* Serves S (the caller's reference), which a reload reads again from FILE; called with the
 * lock held, which it releases. */
static enum lab_result switch_to(struct scn *s, const char *file, char **errors)
{
    struct gen *g;

    if ((g = bring_up(s, errors)) == NULL) {
        scn_unref(s);
        pthread_mutex_unlock(&lock);
        return LAB_RUNTIME;
    }
    if (memcmp(&s->limits, &current->scn->limits, sizeof(s->limits)) != 0)
        log_warnx("the new <limits> take effect when mrsmock restarts");
    scn_unref(s);
    snprintf(opts.path, sizeof(opts.path), "%s", file);
    publish(g);
    pthread_mutex_unlock(&lock);
    return LAB_OK;
}

enum lab_result lab_switch(const char *path, char **errors)
{
    struct scn *s;
    char file[PATH_MAX];

    *errors = NULL;
    pthread_mutex_lock(&lock);
    snprintf(file, sizeof(file), "%s", path != NULL ? path : opts.path);
    if ((s = load(file, errors)) == NULL) {
        pthread_mutex_unlock(&lock);
        return LAB_INVALID;
    }
    return switch_to(s, file, errors);
}

enum lab_result lab_switch_loaded(struct scn *s, const char *path, char **errors)
{
    *errors = NULL;
    pthread_mutex_lock(&lock);
    if (apply_listen(s, errors) != 0) {
        scn_unref(s);
        pthread_mutex_unlock(&lock);
        return LAB_INVALID;
    }
    return switch_to(s, path, errors);
}

enum lab_result lab_reset(char **errors)
{
    struct gen *g;

    *errors = NULL;
    pthread_mutex_lock(&lock);
    /* the same scenario object: what a reset brings back is the state built from it */
    if ((g = bring_up(current->scn, errors)) == NULL) {
        pthread_mutex_unlock(&lock);
        return LAB_RUNTIME;
    }
    pipeline_reset();
    publish(g);
    pthread_mutex_unlock(&lock);
    return LAB_OK;
}

struct gen *lab_acquire(char *path, size_t pathlen, time_t *at)
{
    struct gen *g;

    pthread_mutex_lock(&lock);
    g = current;
    if (g != NULL)
        gen_ref(g);
    if (path != NULL)
        snprintf(path, pathlen, "%s", opts.path);
    if (at != NULL)
        *at = loaded_at;
    pthread_mutex_unlock(&lock);
    return g;
}

struct pki *lab_pki(void)
{
    return pki;
}

void lab_stop(unsigned drain_ms)
{
    lsn_stop(drain_ms);
    gen_unref(current);
    current = NULL;
    if (pki != NULL)
        pki_close(pki);
    pki = NULL;
    if (conf_ready)
        h2o_config_dispose(&conf);
    conf_ready = 0;
}
