/*
 * faults — fault rules at the stages of a request (faults.h).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "faults.h"
#include "gen.h"
#include "log.h"
#include "util.h"

#define FAULT_HANG_S 3600 /* a hang without a delay: a firewall's TCP session timeout */

/* The Host header without its port is NAME, without case. */
static int host_is(struct flow *f, const char *name)
{
    h2o_iovec_t h = flow_host(f);
    size_t n = util_host_strip_port(h.base, h.len);
    return n == strlen(name) && strncasecmp(h.base, name, n) == 0;
}

/* "Name" or "Name: text": the request has the header, with TEXT in a value, without case. */
static int has_header(struct flow *f, const char *spec)
{
    const char *colon = strchr(spec, ':'), *text;
    size_t n = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
    char lc[128], value[1024];

    while (n > 0 && spec[n - 1] == ' ')
        n--;
    if (n == 0 || n >= sizeof(lc))
        return 0;
    for (size_t i = 0; i < n; i++)
        lc[i] = (char)h2o_tolower(spec[i]);
    lc[n] = '\0';
    h2o_iovec_t v = flow_req_header(f, lc);
    if (colon == NULL)
        return h2o_find_header_by_str(&f->req->headers, lc, n, -1) >= 0;
    for (text = colon + 1; *text == ' '; text++)
        ;
    if (v.len >= sizeof(value))
        v.len = sizeof(value) - 1;
    memcpy(value, v.base, v.len);
    value[v.len] = '\0';
    return v.len != 0 && strcasestr(value, text) != NULL;
}

static int path_has_prefix(struct flow *f, const char *prefix)
{
    h2o_iovec_t p = f->req->path_normalized;
    size_t n = strlen(prefix);
    return p.len >= n && strncasecmp(p.base, prefix, n) == 0;
}

/* The criteria that do not count: where the request is, what it is, who sent it. */
static int meets(struct flow *f, const struct scn_fault_when *w)
{
    if (w->listener != NULL && strcasecmp(w->listener, f->listener->name) != 0)
        return 0;
    if (w->server != NULL && strcasecmp(w->server, f->server->name) != 0)
        return 0;
    if (w->host != NULL && !host_is(f, w->host))
        return 0;
    if (w->path != NULL && !path_has_prefix(f, w->path))
        return 0;
    if (w->method != NULL &&
        !h2o_memis(f->req->method.base, f->req->method.len, w->method, strlen(w->method)))
        return 0;
    if (w->header != NULL && !has_header(f, w->header))
        return 0;
    if (w->num_sources != 0) {
        size_t i;
        for (i = 0; i < w->num_sources && !scn_cidr_match(&w->sources[i], f->peer_ip); i++)
            ;
        if (i == w->num_sources)
            return 0;
    }
    return 1;
}

/* splitmix64's finalizer: a well-mixed 64-bit value of X. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

int faults_pick(const struct scn_fault *r, unsigned seed, size_t index, uint64_t k, uint64_t ms)
{
    const struct scn_fault_when *w = &r->when;

    if ((w->nth != 0 && k != w->nth) || (w->every != 0 && k % w->every != 0) ||
        (w->from != 0 && k < w->from) || (w->to != 0 && k > w->to))
        return 0;
    if ((w->after_ms != 0 && ms < w->after_ms) || (w->before_ms != 0 && ms >= w->before_ms))
        return 0;
    if (w->percent >= 100)
        return 1;
    return mix(mix(((uint64_t)seed << 32) ^ index) ^ k) % 100 < w->percent;
}

static uint64_t since_load_ms(const struct gen *g)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    return now > g->started_ms ? now - g->started_ms : 0;
}

/* After a delay: the stage runs, and its decision is the waiting stage's. */
static int run_stage(struct flow *f)
{
    return f->stages[f->stage].run(f);
}

/* Who answers at stage number STAGE (scn_stage_name order): a device before the route, IIS up
 * to Require SSL, the front end up to the endpoint, the application at it. */
static enum flow_by sender(const struct scn_fault *r)
{
    switch (r->by) {
    case SCN_FAULT_BY_DEVICE:
        return FLOW_BY_DEVICE;
    case SCN_FAULT_BY_IIS:
        return FLOW_BY_IIS;
    case SCN_FAULT_BY_FRONTEND:
        return FLOW_BY_FRONTEND;
    case SCN_FAULT_BY_BACKEND:
        return FLOW_BY_BACKEND;
    case SCN_FAULT_BY_STAGE:
        break;
    }
    const char *st = scn_stage_name(r->stage);
    if (strcmp(st, "urlfilter") == 0 || strcmp(st, "publish") == 0 || strcmp(st, "balancer") == 0)
        return FLOW_BY_DEVICE;
    if (strcmp(st, "route") == 0 || strcmp(st, "httpsys") == 0 || strcmp(st, "ssl") == 0)
        return FLOW_BY_IIS;
    return strcmp(st, "endpoint") == 0 ? FLOW_BY_BACKEND : FLOW_BY_FRONTEND;
}

static int act(struct flow *f, const struct scn_fault *r)
{
    switch (r->action) {
    case SCN_FAULT_STATUS:
        for (const char *const *h = r->headers; *h != NULL; h += 2)
            flow_header(f, h[0], h[1], strlen(h[1]));
        return flow_answer(
            f, &(struct flow_answer){.by = sender(r),
                                     .st = IIS_STATUS(r->status, r->substatus, r->win32),
                                     .content_type = r->content_type,
                                     .body = h2o_iovec_init(r->body, r->body_len)});
    case SCN_FAULT_DELAY:
        return flow_wait(f, r->delay_ms, run_stage);
    case SCN_FAULT_RESET:
        return flow_drop(f, 1);
    case SCN_FAULT_CLOSE:
        return flow_drop(f, 0);
    case SCN_FAULT_HANG:
        return flow_hold(f, "fault", r->delay_ms != 0 ? (r->delay_ms + 999) / 1000 : FAULT_HANG_S);
    case SCN_FAULT_TRUNCATE:
        f->body_cut = r->bytes == UINT_MAX ? FLOW_CUT_HALF : r->bytes;
        return FLOW_NEXT;
    case SCN_FAULT_BAD_LENGTH:
        f->length_lie = r->bytes;
        return FLOW_NEXT;
    case SCN_FAULT_DRIP:
        f->drip_bytes = r->bytes;
        f->drip_ms = r->delay_ms;
        return FLOW_NEXT;
    }
    return FLOW_NEXT;
}

int faults_before(struct flow *f)
{
    const struct scn *s = f->scn;
    uint64_t ms = 0;
    int timed = 0;

    for (size_t i = 0; i < s->num_faults; i++) {
        const struct scn_fault *r = &s->faults[i];
        if ((size_t)r->stage != f->stage || !meets(f, &r->when))
            continue;
        if (!timed) {
            ms = since_load_ms(f->gen);
            timed = 1;
        }
        uint64_t k =
            atomic_fetch_add_explicit(&f->gen->fault_counts[i], 1, memory_order_relaxed) + 1;
        if (!faults_pick(r, s->fault_seed, i, k, ms))
            continue;
        flow_why(f, "fault", "%s at %s: %s (its request %llu)", r->name, scn_stage_name(r->stage),
                 scn_fault_action_name(r->action), (unsigned long long)k);
        return act(f, r);
    }
    return FLOW_NEXT;
}
