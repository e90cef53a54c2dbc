/*
 * balance — a layer 7 balancer in front of the servers (balance.h).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "balance.h"
#include "balancer.h"
#include "gen.h"

#define LB_COOKIE "SERVERID" /* HAProxy's `cookie SERVERID insert` */

/* HAProxy's own 503 page (errorfile default). */
static const char no_server_page[] =
    "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this "
    "request.\n</body></html>\n";

static struct lb *layer7_of(const struct flow *f)
{
    struct lb *b = f->gen->listeners[f->listener_index].lb;
    return b != NULL && lb_model(b)->layer7 ? b : NULL;
}

/* The member the request's SERVERID cookie names, copied into BUF; NULL: none. */
static const char *cookie_member(struct flow *f, char *buf, size_t len)
{
    h2o_iovec_t v = flow_req_header(f, "cookie");
    const char *p = v.base, *end = v.base + v.len;
    size_t n = sizeof(LB_COOKIE "=") - 1;

    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p)), *stop = semi != NULL ? semi : end;
        while (p < stop && *p == ' ')
            p++;
        if ((size_t)(stop - p) > n && strncasecmp(p, LB_COOKIE "=", n) == 0 &&
            (size_t)(stop - p - n) < len) {
            memcpy(buf, p + n, (size_t)(stop - p - n));
            buf[stop - p - n] = '\0';
            return buf;
        }
        p = stop + 1;
    }
    return NULL;
}

int balance_stage(struct flow *f)
{
    struct lb *b = layer7_of(f);
    const struct scn_balancer *m;
    struct lb_choice ch;
    char want[64];

    f->lb_member = SIZE_MAX;
    if (b == NULL)
        return FLOW_NEXT;
    m = lb_model(b);
    const char *cookie = m->policy == SCN_LB_COOKIE ? cookie_member(f, want, sizeof(want)) : NULL;
    /* the connection's member, kept like a cookie's (the member must still be up) */
    if (m->keep_connection && f->conn->member[0] != '\0')
        cookie = f->conn->member;
    lb_choose(b, f->peer_ip, cookie, &ch);
    f->lb_chosen = 1;
    f->lb_member = ch.member;
    if (ch.member == SIZE_MAX || ch.unreachable) {
        flow_why(f, "balancer", "%s: %s", m->name,
                 ch.member == SIZE_MAX ? "no member is up" : "its member does not answer");
        return flow_answer(f,
                           &(struct flow_answer){
                               .by = FLOW_BY_DEVICE,
                               .st = IIS_UNAVAILABLE,
                               .content_type = "text/html",
                               .body = h2o_iovec_init(no_server_page, sizeof(no_server_page) - 1)});
    }
    f->server = m->members[ch.member].server;
    f->server_index = (size_t)(f->server - f->scn->servers);
    f->pool_offline = ch.offline;
    if (m->keep_connection)
        snprintf(f->conn->member, sizeof(f->conn->member), "%s", f->server->name);
    flow_why(f, "balancer", "%s: arrival %llu to %s (%s)", m->name, (unsigned long long)ch.arrival,
             f->server->name, scn_lb_policy_name(m->policy));
    if (m->policy == SCN_LB_COOKIE &&
        (cookie == NULL || strcasecmp(cookie, f->server->name) != 0)) {
        char c[128];
        int n = snprintf(c, sizeof(c), LB_COOKIE "=%s; path=/", f->server->name);
        flow_header(f, "Set-Cookie", c, (size_t)n);
        f->lb_cookie = f->server->name;
    }
    return FLOW_NEXT;
}

void balance_log(struct flow *f, const struct timeval *now)
{
    struct lb *b;
    h2o_req_t *req = f->req;

    if (!f->lb_chosen || (b = f->gen->listeners[f->listener_index].lb) == NULL)
        return;
    const struct scn_balancer *m = lb_model(b);
    int64_t tt = (int64_t)flow_taken_ms(f, now);
    char uri[2048], ver[32];
    snprintf(uri, sizeof(uri), "%.*s", (int)req->path.len, req->path.base);
    snprintf(ver, sizeof(ver), "HTTP/%d.%d", req->version >> 8, req->version & 0xff);
    char method[32];
    snprintf(method, sizeof(method), "%.*s", (int)req->method.len, req->method.base);
    struct halog_entry e = {
        .client_ip = f->peer_ip,
        .client_port = f->peer_port,
        .accepted = {req->timestamps.request_begin_at.tv_sec,
                     req->timestamps.request_begin_at.tv_usec * 1000},
        .server = f->lb_member != SIZE_MAX ? m->members[f->lb_member].server->name : "<NOSRV>",
        .tq = 0,
        .tw = 0,
        .tc = f->by == FLOW_BY_DEVICE ? -1 : 0,
        .tr = f->by == FLOW_BY_DEVICE ? -1 : tt,
        .tt = tt,
        .status = req->res.status,
        .bytes = req->bytes_sent,
        .cookie_req = "-",
        .cookie_res = "-",
        .actconn = lb_active(b),
        .feconn = lb_active(b),
        .beconn = lb_active(b),
        .srv_conn = f->lb_member != SIZE_MAX ? lb_member_active(b, f->lb_member) : 0,
        .retries = f->by == FLOW_BY_DEVICE && f->lb_member != SIZE_MAX ? 3 : 0,
        .method = method,
        .uri = uri,
        .version = ver,
    };
    /* termination state: a normal end, or the balancer's own 503 (no server: "SC") */
    memcpy(e.term, f->by == FLOW_BY_DEVICE ? "SC--" : f->lb_cookie != NULL ? "--NI" : "----", 4);
    lb_log(b, &e);
    lb_release(b, f->lb_member);
}
