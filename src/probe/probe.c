/*
 * probe — the step runner and the verdict: Autodiscover when asked, then the MRS Proxy host's
 * steps (probe_mrs.c), --repeat rounds on fresh connections, the steps that could not run
 * marked skipped, and the report for people or as JSON (jansson).
 *
 * Negotiate goes through libcurl's GSS-API SPNEGO; the credentials are handed to gss-ntlmssp in
 * a private file named by NTLM_USER_FILE (mode 0600, removed at the end), as on a Linux client
 * without Kerberos. NTLM needs MD4: Debian's libcurl 7.88 computes it itself, other builds ask
 * OpenSSL, whose MD4 is in the legacy provider; it is loaded when OpenSSL lacks MD4.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include "log.h"
#include "probe_int.h"

const char *probe_status_name(enum probe_status s)
{
    static const char *names[] = {"pass", "warn", "fail", "skipped"};
    return (unsigned)s < 4 ? names[s] : "?";
}

/* What a server sent may be any bytes: the report keeps printable ASCII only, so that it prints
 * and encodes as JSON whatever came. */
static void printable(char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            *s = '?';
}

struct probe_step *probe_step(struct probe_ctx *c, const char *name, const char *target,
                              enum probe_status st, const char *fmt, ...)
{
    struct probe_step *s;
    va_list ap;

    if (c->r->n >= PROBE_STEPS_MAX)
        return NULL;
    s = &c->r->steps[c->r->n++];
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(s->target, sizeof(s->target), "%s", target != NULL ? target : "");
    s->status = st;
    va_start(ap, fmt);
    vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
    va_end(ap);
    printable(s->target);
    printable(s->detail);
    return s;
}

void probe_fail(struct probe_ctx *c, const char *next_step, const char *fmt, ...)
{
    va_list ap;

    if (c->r->failed)
        return;
    c->r->failed = 1;
    va_start(ap, fmt);
    vsnprintf(c->r->message, sizeof(c->r->message), fmt, ap);
    va_end(ap);
    snprintf(c->r->next_step, sizeof(c->r->next_step), "%s", next_step ? next_step : "");
    printable(c->r->message);
    printable(c->r->next_step);
}

static const char *const mrs_steps[] = {"connect", "tls", "mrsproxy-anonymous", "mrsproxy-auth",
                                        "mrsproxy-session"};

/* Marks the MRS Proxy steps that did not run as skipped, from step FROM of the report on. */
static void skip_rest(struct probe_ctx *c, size_t from, const char *host)
{
    for (size_t i = 0; i < sizeof(mrs_steps) / sizeof(mrs_steps[0]); i++) {
        int seen = 0;
        for (size_t j = from; j < c->r->n; j++)
            seen |= strcmp(c->r->steps[j].name, mrs_steps[i]) == 0;
        if (!seen)
            probe_step(c, mrs_steps[i], host, PROBE_SKIPPED, "not run: an earlier step failed");
    }
}

/* Writes gss-ntlmssp's credentials file and points NTLM_USER_FILE at it. 0 or -1. */
static int ntlm_user_file(struct probe_ctx *c)
{
    const char *tmp = getenv("TMPDIR");
    FILE *f;
    int fd;

    if (strchr(c->o->password, '\n') != NULL || strchr(c->name, ':') != NULL ||
        strchr(c->domain, ':') != NULL)
        return -1;
    snprintf(c->ntlm_user_file, sizeof(c->ntlm_user_file), "%s/mrsmock-probe-XXXXXX",
             tmp != NULL && *tmp != '\0' && strlen(tmp) < 40 ? tmp : "/tmp");
    if ((fd = mkstemp(c->ntlm_user_file)) < 0 || (f = fdopen(fd, "w")) == NULL) {
        if (fd >= 0)
            close(fd);
        c->ntlm_user_file[0] = '\0';
        return -1;
    }
    /* DOMAIN:USER:PASSWORD, one line (gss-ntlmssp's format) */
    fprintf(f, "%s:%s:%s\n", c->domain, c->name, c->o->password);
    if (fclose(f) != 0)
        return -1;
    return setenv("NTLM_USER_FILE", c->ntlm_user_file, 1);
}

/* NTLM's MD4: present in OpenSSL, or loaded from its legacy provider. */
static void md4_ready(OSSL_PROVIDER **legacy, OSSL_PROVIDER **deflt)
{
    EVP_MD *md = EVP_MD_fetch(NULL, "MD4", NULL);
    if (md != NULL) {
        EVP_MD_free(md);
        return;
    }
    /* loading a provider by hand stops the default one from loading itself: load both */
    *deflt = OSSL_PROVIDER_load(NULL, "default");
    *legacy = OSSL_PROVIDER_load(NULL, "legacy");
    if (*legacy == NULL)
        log_debug("OpenSSL's legacy provider (MD4) is not available: NTLM relies on libcurl's "
                  "own MD4");
}

/* One more round on fresh connections, summed up in one step. */
static void repeat_round(struct probe_ctx *c, unsigned round, const char *host, const char *wrap)
{
    struct probe_report *tmp = calloc(1, sizeof(*tmp));
    struct probe_ctx rc = *c;
    const struct probe_step *worst = NULL;

    if (tmp == NULL)
        fatalx("out of memory");
    rc.r = tmp;
    probe_mrsproxy(&rc, host, wrap);
    for (size_t i = 0; i < tmp->n; i++)
        if (tmp->steps[i].status != PROBE_PASS &&
            (worst == NULL || tmp->steps[i].status > worst->status))
            worst = &tmp->steps[i];
    char name[32];
    snprintf(name, sizeof(name), "repeat-%u", round);
    if (worst == NULL)
        probe_step(c, name, host, PROBE_PASS, "every step passed again on fresh connections");
    else
        probe_step(c, name, host, tmp->failed ? PROBE_FAIL : PROBE_WARN, "%s %s: %s", worst->name,
                   probe_status_name(worst->status), worst->detail);
    if (tmp->failed && !c->r->failed) {
        c->r->failed = 1;
        PROBE_COPY(c->r->message, tmp->message);
        snprintf(c->r->next_step, sizeof(c->r->next_step),
                 "Intermittent (round %u of %u failed, the first passed): a load balancer "
                 "member or one server of several differs; step 5 of the article, the IIS logs "
                 "of each server behind the name. %.*s",
                 round, c->o->repeat, (int)sizeof(c->r->next_step) / 2, tmp->next_step);
    }
    c->r->could_not_run |= tmp->could_not_run;
    free(tmp);
}

int probe_run(const struct probe_opts *o, struct probe_report *r)
{
    struct probe_ctx c = {.o = o, .r = r};
    OSSL_PROVIDER *legacy = NULL, *deflt = NULL;
    const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    char host[256], wrap[600];
    int rc = 2;

    memset(r, 0, sizeof(*r));
    for (size_t i = 0; i < o->n_connect_to; i++)
        if ((c.connect_to = curl_slist_append(c.connect_to, o->connect_to[i])) == NULL)
            fatalx("out of memory");
    probe_split_user(o->user, c.domain, sizeof(c.domain), c.name, sizeof(c.name));
    if (o->auth != PROBE_AUTH_BASIC) {
        if (!(cv->features & CURL_VERSION_NTLM)) {
            probe_fail(&c, NULL, "this libcurl (%s) has no NTLM: use --auth basic", cv->version);
            r->could_not_run = 1;
            goto done;
        }
        md4_ready(&legacy, &deflt);
    }
    if (o->auth == PROBE_AUTH_NEGOTIATE) {
        if (!(cv->features & CURL_VERSION_SPNEGO)) {
            probe_fail(&c, NULL, "this libcurl (%s) has no SPNEGO (GSS-API): use --auth ntlm",
                       cv->version);
            r->could_not_run = 1;
            goto done;
        }
        if (ntlm_user_file(&c) != 0) {
            probe_fail(&c, NULL, "cannot hand the credentials to GSS-API (%s): use --auth ntlm",
                       c.ntlm_user_file[0] ? strerror(errno) : "a ':' or newline in them");
            r->could_not_run = 1;
            goto done;
        }
    }

    if (o->autodiscover) {
        if (probe_autodiscover(&c, host, sizeof(host)) != 0) {
            skip_rest(&c, 0, "");
            rc = 3;
            goto done;
        }
        probe_words_no_mrsproxy(wrap, sizeof(wrap), host);
    } else {
        snprintf(host, sizeof(host), "%s", o->server);
        probe_words_connection_failed(wrap, sizeof(wrap), host);
    }
    snprintf(r->remote_server, sizeof(r->remote_server), "%s", host);
    printable(r->remote_server);
    size_t first = r->n;
    if (probe_mrsproxy(&c, host, wrap) != 0)
        skip_rest(&c, first, host);
    else
        for (unsigned i = 2; i <= o->repeat; i++)
            repeat_round(&c, i, host, wrap);
    rc = r->could_not_run ? 2 : r->failed ? 3 : 0;
done:
    if (r->could_not_run)
        rc = 2;
    if (c.ntlm_user_file[0] != '\0') {
        unlink(c.ntlm_user_file);
        unsetenv("NTLM_USER_FILE");
    }
    curl_slist_free_all(c.connect_to);
    if (legacy != NULL)
        OSSL_PROVIDER_unload(legacy);
    if (deflt != NULL)
        OSSL_PROVIDER_unload(deflt);
    return rc;
}

/* --- the report ------------------------------------------------------------------------------ */

static void print_json(const struct probe_report *r, FILE *out)
{
    json_t *steps = json_array(), *o;
    char *s;

    for (size_t i = 0; i < r->n; i++)
        json_array_append_new(steps, json_pack("{s:s, s:s, s:s, s:s}", "name", r->steps[i].name,
                                               "target", r->steps[i].target, "status",
                                               probe_status_name(r->steps[i].status), "detail",
                                               r->steps[i].detail));
    o = json_pack("{s:s, s:s, s:s, s:o, s:s}", "result",
                  r->failed || r->could_not_run ? "Failed" : "Success", "remote_server",
                  r->remote_server, "message", r->message, "steps", steps, "next_step",
                  r->next_step);
    if (o == NULL || (s = json_dumps(o, JSON_COMPACT)) == NULL)
        fatalx("out of memory");
    fprintf(out, "%s\n", s);
    free(s);
    json_decref(o);
}

void probe_print(const struct probe_report *r, int json, FILE *out)
{
    if (json) {
        print_json(r, out);
        return;
    }
    for (size_t i = 0; i < r->n; i++)
        fprintf(out, "[%-7s] %-18s %s\n          %s\n", probe_status_name(r->steps[i].status),
                r->steps[i].name, r->steps[i].target, r->steps[i].detail);
    fprintf(out, "\nRemoteServer : %s\nResult       : %s\nMessage      : %s\n",
            r->remote_server[0] ? r->remote_server : "(not found)",
            r->failed || r->could_not_run ? "Failed" : "Success", r->message);
    if (r->next_step[0] != '\0')
        fprintf(out, "Next step    : %s\n", r->next_step);
}
