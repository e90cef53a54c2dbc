/*
 * reqlog_w3c — a finished request as IIS logs it (w3c.h), into its server's W3SVC1 log, and,
 * once a 2013+ front end proxied it to a back end's IIS, into that back end's W3SVC2 log too.
 */
#include <string.h>

#include "gen.h"
#include "logfile.h"
#include "reqlog.h"
#include "srvlog.h"
#include "w3c.h"

static struct w3c_str str_of(h2o_iovec_t v)
{
    return (struct w3c_str){v.base, v.len};
}

static struct w3c_str header_value(h2o_req_t *req, const h2o_token_t *token)
{
    ssize_t i = h2o_find_header(&req->headers, token, -1);
    return i < 0 ? (struct w3c_str){NULL, 0} : str_of(req->headers.entries[i].value);
}

void reqlog_w3c(struct flow *f, const struct timeval *now)
{
    h2o_req_t *req = f->req;
    char line[W3C_LINE_MAX], query[1024];
    size_t qlen = 0, stem_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;

    if (!(f->logs & FLOW_LOG_W3C))
        return;

    /* Exchange 2013+ front ends decorate the query of what passes their HttpProxy module. */
    if (req->query_at != SIZE_MAX) {
        qlen = req->path.len - req->query_at - 1;
        if (qlen > sizeof(query) - 80)
            qlen = sizeof(query) - 80;
        memcpy(query, req->path.base + req->query_at + 1, qlen);
    }
    if (f->logs & FLOW_LOG_HPLOG) {
        /* by hand, not snprintf: every request comes here (room: 80 bytes kept above) */
        static const char pre[] = "&CorrelationID=<empty>;&cafeReqId=";
        size_t idlen = strlen(f->request_id);
        memcpy(query + qlen, pre, sizeof(pre) - 1);
        qlen += sizeof(pre) - 1;
        memcpy(query + qlen, f->request_id, idlen);
        qlen += idlen;
        query[qlen++] = ';';
    }

    struct w3c_entry e = {
        .at = {now->tv_sec, now->tv_usec * 1000},
        .s_ip = f->server->ip != NULL ? (struct w3c_str){f->server->ip, strlen(f->server->ip)}
                                      : (struct w3c_str){f->local_ip, strlen(f->local_ip)},
        .method = str_of(req->method),
        .uri_stem = {req->path.base, stem_len},
        .uri_query = {query, qlen},
        .s_port = flow_offloaded(f) ? 80 : flow_port(f, f->listener_index),
        .username = str_of(f->username),
        .c_ip = {f->peer_ip, strlen(f->peer_ip)},
        .user_agent = header_value(req, H2O_TOKEN_USER_AGENT),
        .referer = header_value(req, H2O_TOKEN_REFERER),
        .status = f->st.status,
        .substatus = f->st.substatus,
        .win32_status = f->st.win32,
        .time_taken_ms = flow_taken_ms(f, now),
    };
    size_t n = w3c_format(line, sizeof(line), &e);
    logf_write(f->gen->servers[f->server_index].logs->w3c, line, n, now->tv_sec);

    /* The back end's own line, in the Exchange Back End site on port 444, from the front end's
     * address (real Exchange logs the request on both servers: reference 7.1). The MRS Proxy's
     * back end is HTTP.sys-hosted by MRS itself, outside IIS: no such line. What the back end
     * writes in cs-uri-query is not known: the client's query, undecorated. */
    const struct scn_server *be = f->backend;
    struct logf *bl;
    if (f->by != FLOW_BY_BACKEND || be == NULL || (f->route->flags & FLOW_ROUTE_MRS) ||
        (bl = f->gen->servers[be - f->scn->servers].logs->w3c_backend) == NULL)
        return;
    e.c_ip = e.s_ip; /* the front end */
    e.s_ip = be->ip != NULL ? (struct w3c_str){be->ip, strlen(be->ip)}
                            : (struct w3c_str){f->local_ip, strlen(f->local_ip)};
    e.s_port = 444;
    e.uri_query = (struct w3c_str){req->path.base + stem_len + (req->query_at != SIZE_MAX),
                                   req->query_at != SIZE_MAX ? req->path.len - stem_len - 1 : 0};
    n = w3c_format(line, sizeof(line), &e);
    logf_write(bl, line, n, now->tv_sec);
}
