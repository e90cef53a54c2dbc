/*
 * balancer — choosing members, their health, and the balancer's log (balancer.h).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "balancer.h"
#include "logfile.h"
#include "log.h"
#include "tls.h"
#include "util.h"

struct lb_member {
    SSL_CTX *ssl;      /* its own certificate's context, or NULL: the listener's */
    atomic_uint conns; /* open connections it holds */
    atomic_int up;     /* the last verdict logged: 1 up, 0 down */
};

struct lb {
    atomic_int refcnt;
    const struct scn_balancer *m;
    const char *frontend; /* the listener's name */
    SSL_CTX *listener_ssl;
    struct lb_member *members;
    atomic_uint_fast64_t arrivals;
    atomic_uint_fast64_t turn; /* round robin */
    atomic_uint active;
    time_t started;
    struct logf *log;
    struct halog_origin origin; /* host and pid; the time is set per line */
    char host[65];
};

static size_t header_none(char *buf, size_t len, time_t now)
{
    UNUSED(buf), UNUSED(len), UNUSED(now);
    return 0;
}

struct lb *lb_new(const struct scn *s, size_t li, SSL_CTX *listener_ssl, const struct lb_env *env,
                  char *err, size_t errlen)
{
    const struct scn_listener *l = &s->listeners[li];
    const struct scn_balancer *m = l->balancer;
    struct lb *b = calloc(1, sizeof(*b));
    char dir[1024];

    if (b == NULL || (b->members = calloc(m->num_members + 1, sizeof(*b->members))) == NULL)
        fatalx("out of memory");
    atomic_init(&b->refcnt, 1);
    b->m = m;
    b->frontend = l->name;
    b->listener_ssl = listener_ssl;
    b->started = time(NULL);
    for (size_t i = 0; i < sizeof(b->host) - 1 && m->name[i] != '\0'; i++)
        b->host[i] = (char)h2o_tolower(m->name[i]);
    b->origin = (struct halog_origin){.host = b->host, .pid = (unsigned)getpid()};
    for (size_t i = 0; i < m->num_members; i++) {
        atomic_init(&b->members[i].up, 1);
        if (m->members[i].cert != NULL &&
            (b->members[i].ssl = tls_build_with(s, l, m->members[i].cert, env->pki, env->crl_base,
                                                err, errlen)) == NULL) {
            lb_unref(b);
            return NULL;
        }
    }
    snprintf(dir, sizeof(dir), "%s/%s", env->logs_dir, m->name);
    /* rsyslog's file for HAProxy, one per day as logrotate's dateext leaves them */
    if ((b->log = logf_open(dir, "haproxy-%Y%m%d.log", header_none, b->started, err, errlen)) ==
        NULL) {
        lb_unref(b);
        return NULL;
    }
    return b;
}

void lb_ref(struct lb *b)
{
    atomic_fetch_add(&b->refcnt, 1);
}

void lb_unref(struct lb *b)
{
    if (b == NULL || atomic_fetch_sub(&b->refcnt, 1) != 1)
        return;
    for (size_t i = 0; i < b->m->num_members; i++)
        SSL_CTX_free(b->members[i].ssl);
    if (b->log != NULL)
        logf_close(b->log);
    free(b->members);
    free(b);
}

/* Whether schedule D has the member down at ARRIVAL (or at the seconds since START). */
static int flap_down(const struct scn_flap *d, uint64_t arrival, time_t started)
{
    uint64_t n;

    if (d->from == 0)
        return 0;
    if (d->seconds) {
        time_t t = time(NULL) - started;
        n = t < 0 ? 0 : (uint64_t)t;
        if (d->period != 0)
            n %= d->period;
    } else {
        n = d->period != 0 ? (arrival - 1) % d->period + 1 : arrival;
    }
    return n >= d->from && n <= d->to;
}

/* The directory a check path is in: Autodiscover's, else EWS's. */
static const struct scn_vdir *check_vdir(const struct scn_balancer *m, const struct scn_server *sv)
{
    return strncasecmp(m->check_path, "/autodiscover", 13) == 0 ? &sv->autodiscover : &sv->ews;
}

/* The check's verdict on member I at ARRIVAL; REASON says why it fails, as HAProxy words it. */
static int check_up(const struct lb *b, size_t i, uint64_t arrival, const char **reason)
{
    const struct scn_member *mb = &b->m->members[i];
    const struct scn_server *sv = mb->server;

    if (b->m->check == SCN_LB_CHECK_NONE)
        return 1;
    if (sv->state == SCN_SERVER_DEAD) {
        *reason = "Layer4 timeout"; /* nothing answers the SYN */
        return 0;
    }
    if (b->m->check == SCN_LB_CHECK_TCP)
        return 1;
    if (sv->version < SCN_V2013) {
        *reason = "Layer7 wrong status, code: 404, info: \"Not Found\"";
        return 0;
    }
    if (check_vdir(b->m, sv)->app_pool != SCN_POOL_STARTED ||
        flap_down(&mb->down, arrival, b->started)) {
        *reason = "Layer7 wrong status, code: 503, info: \"Service Unavailable\"";
        return 0;
    }
    return 1;
}

static void log_health(struct lb *b, size_t i, int up, const char *reason, unsigned left)
{
    char line[HALOG_LINE_MAX];
    struct halog_origin o = b->origin;

    if (up)
        reason = b->m->check == SCN_LB_CHECK_HTTP ? "Layer7 check passed" : "Layer4 check passed";
    o.now = time(NULL);
    size_t n = halog_health(line, sizeof(line), &o, b->m->name, b->m->members[i].server->name, up,
                            reason, left);
    logf_write(b->log, line, n, o.now);
}

static uint32_t fnv(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s != '\0'; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

void lb_choose(struct lb *b, const char *client_ip, const char *cookie, struct lb_choice *out)
{
    const struct scn_balancer *m = b->m;
    size_t n = m->num_members, num_up = 0, pick = SIZE_MAX;
    int up[SCN_MAX_MEMBERS];
    const char *reason[SCN_MAX_MEMBERS];

    out->arrival = atomic_fetch_add(&b->arrivals, 1) + 1;
    if (n > COUNTOF(up)) /* the loader refuses more */
        n = COUNTOF(up);
    for (size_t i = 0; i < n; i++) {
        reason[i] = "";
        up[i] = check_up(b, i, out->arrival, &reason[i]);
        num_up += up[i] != 0;
    }
    /* verdicts that changed, logged once (whichever thread sees the change first) */
    for (size_t i = 0; i < n; i++) {
        int was = !up[i];
        if (atomic_compare_exchange_strong(&b->members[i].up, &was, up[i]))
            log_health(b, i, up[i], reason[i], (unsigned)num_up);
    }
    if (num_up != 0) {
        if (cookie != NULL) { /* a persistence cookie, or the connection kept */
            for (size_t i = 0; i < n && pick == SIZE_MAX; i++)
                if (up[i] && strcasecmp(m->members[i].server->name, cookie) == 0)
                    pick = i;
        }
        if (pick != SIZE_MAX) {
            /* the cookie's member */
        } else if (m->policy == SCN_LB_NONE) {
            for (size_t i = 0; i < n && pick == SIZE_MAX; i++)
                if (up[i])
                    pick = i;
        } else if (m->policy == SCN_LB_SOURCE) {
            size_t k = fnv(client_ip) % num_up;
            for (size_t i = 0; i < n && pick == SIZE_MAX; i++)
                if (up[i] && k-- == 0)
                    pick = i;
        } else if (m->policy == SCN_LB_LEAST_CONNECTIONS) {
            for (size_t i = 0; i < n; i++)
                if (up[i] && (pick == SIZE_MAX || atomic_load(&b->members[i].conns) <
                                                      atomic_load(&b->members[pick].conns)))
                    pick = i;
        } else { /* round robin (and cookie without one): the next member in turn that is up */
            uint64_t t = atomic_fetch_add(&b->turn, 1);
            for (size_t k = 0; k < n && pick == SIZE_MAX; k++)
                if (up[(t + k) % n])
                    pick = (size_t)((t + k) % n);
        }
    }
    out->member = pick;
    out->offline = pick != SIZE_MAX && flap_down(&m->members[pick].down, out->arrival, b->started);
    out->unreachable = pick != SIZE_MAX && m->members[pick].server->state == SCN_SERVER_DEAD;
    atomic_fetch_add(&b->active, 1);
    if (pick != SIZE_MAX)
        atomic_fetch_add(&b->members[pick].conns, 1);
}

void lb_release(struct lb *b, size_t member)
{
    atomic_fetch_sub(&b->active, 1);
    if (member != SIZE_MAX)
        atomic_fetch_sub(&b->members[member].conns, 1);
}

void lb_member_now(const struct lb *b, size_t member, struct lb_member_now *out)
{
    uint64_t next = atomic_load(&b->arrivals) + 1;

    out->reason = "";
    out->up = check_up(b, member, next, &out->reason);
    out->offline = flap_down(&b->m->members[member].down, next, b->started);
    out->active = atomic_load(&b->members[member].conns);
}

uint64_t lb_arrivals(const struct lb *b)
{
    return atomic_load(&b->arrivals);
}

SSL_CTX *lb_member_ssl(const struct lb *b, size_t member)
{
    return member < b->m->num_members && b->members[member].ssl != NULL ? b->members[member].ssl
                                                                        : b->listener_ssl;
}

const struct scn_balancer *lb_model(const struct lb *b)
{
    return b->m;
}

unsigned lb_active(const struct lb *b)
{
    return atomic_load(&b->active);
}

unsigned lb_member_active(const struct lb *b, size_t member)
{
    return member < b->m->num_members ? atomic_load(&b->members[member].conns) : 0;
}

void lb_log(struct lb *b, struct halog_entry *e)
{
    char line[HALOG_LINE_MAX];
    struct halog_origin o = b->origin;
    size_t n;

    o.now = time(NULL);
    e->frontend = b->frontend;
    e->backend = b->m->name;
    n = b->m->layer7 ? halog_http(line, sizeof(line), &o, e) : halog_tcp(line, sizeof(line), &o, e);
    logf_write(b->log, line, n, o.now);
}

/* --- layer 4: a connection's line ------------------------------------------------------------ */

/* What a connection given to a member holds until it closes: its tcplog line. */
struct lb_session {
    struct lb *b; /* one reference: the connection may outlive its generation */
    size_t member;
    char client_ip[48];
    unsigned client_port;
    struct timespec accepted;
    const uint64_t *bytes; /* the connection's count of bytes sent */
    const char *term;
};

struct lb_session *lb_session_open(struct lb *b, const char *client_ip, unsigned client_port,
                                   struct timespec accepted, const uint64_t *bytes,
                                   struct lb_choice *ch)
{
    struct lb_session *ls = calloc(1, sizeof(*ls));

    if (ls == NULL)
        fatalx("out of memory");
    lb_choose(b, client_ip, NULL, ch);
    lb_ref(b);
    *ls = (struct lb_session){.b = b,
                              .member = ch->member,
                              .client_port = client_port,
                              .accepted = accepted,
                              .bytes = bytes,
                              .term = "--"};
    snprintf(ls->client_ip, sizeof(ls->client_ip), "%s", client_ip);
    return ls;
}

void lb_session_refused(struct lb_session *ls)
{
    ls->term = "SC";
}

void lb_session_close(void *p)
{
    struct lb_session *ls = p;
    struct timespec now;
    int served = ls->member != SIZE_MAX;
    struct halog_entry e = {
        .client_ip = ls->client_ip,
        .client_port = ls->client_port,
        .accepted = ls->accepted,
        .server = served ? ls->b->m->members[ls->member].server->name : "<NOSRV>",
        .tw = 0,
        .tc = served && ls->term[0] == '-' ? 0 : -1,
        .bytes = *ls->bytes,
        .actconn = lb_active(ls->b),
        .feconn = lb_active(ls->b),
        .beconn = lb_active(ls->b),
        .srv_conn = served ? lb_member_active(ls->b, ls->member) : 0,
        .retries = ls->term[0] == 'S' && served ? 3 : 0,
    };

    clock_gettime(CLOCK_REALTIME, &now);
    e.tt =
        (now.tv_sec - ls->accepted.tv_sec) * 1000 + (now.tv_nsec - ls->accepted.tv_nsec) / 1000000;
    memcpy(e.term, ls->term, 2);
    lb_log(ls->b, &e);
    lb_release(ls->b, ls->member);
    lb_unref(ls->b);
    free(ls);
}
