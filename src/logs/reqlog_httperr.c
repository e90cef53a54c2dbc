/*
 * reqlog_httperr — what HTTP.sys answered itself (a stopped application pool's 503), as its
 * HTTPERR log writes it (httperr.h), into the log of the server whose HTTP.sys it was.
 */
#include <stdio.h>
#include <string.h>

#include "gen.h"
#include "httperr.h"
#include "logfile.h"
#include "reqlog.h"
#include "srvlog.h"

static struct httperr_str str_of(const char *base, size_t len)
{
    return (struct httperr_str){base, len};
}

void reqlog_httperr(struct flow *f, const struct timeval *now)
{
    h2o_req_t *req = f->req;
    struct logf *log;
    char line[HTTPERR_LINE_MAX], version[32];

    if (!(f->logs & FLOW_LOG_HTTPERR) ||
        (log = srvlog_httperr(f->gen->servers[f->server_index].logs)) == NULL)
        return;
    snprintf(version, sizeof(version), "HTTP/%d.%d", (req->version >> 8) & 0xff,
             req->version & 0xff);
    const char *s_ip = f->server->ip != NULL ? f->server->ip : f->local_ip;
    struct httperr_entry e = {
        .at = {now->tv_sec, now->tv_usec * 1000},
        .c_ip = str_of(f->peer_ip, strlen(f->peer_ip)),
        .c_port = f->peer_port,
        .s_ip = str_of(s_ip, strlen(s_ip)),
        .s_port = flow_port(f, f->listener_index),
        .version = str_of(version, strlen(version)),
        .method = str_of(req->method.base, req->method.len),
        .uri = str_of(req->path.base, req->path.len),
        .status = f->st.status,
        /* the request reached a site's queue: the Default Web Site, where Exchange lives */
        .site_id = 1,
        .reason = f->httperr_reason,
        .queue_name = str_of(f->queue, f->queue != NULL ? strlen(f->queue) : 0),
    };
    size_t n = httperr_format(line, sizeof(line), &e);
    if (n != 0)
        logf_write(log, line, n, now->tv_sec);
}
