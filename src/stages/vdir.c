/*
 * vdir — Require SSL and the request body limit of a virtual directory.
 */
#include "vdir.h"

int vdir_require_ssl(struct flow *f)
{
    if (f->listener->tls && !flow_offloaded(f))
        return FLOW_NEXT;
    if (flow_offloaded(f)) {
        /* the device forwards to the server's HTTP binding, where Default Web Site's Exchange
         * virtual directories all require SSL (as Exchange sets them up); the Autodiscover
         * redirect site is not what the device forwards to */
        flow_why(f, "ssl",
                 "%s offloads TLS: plain HTTP reached a virtual directory that requires "
                 "SSL",
                 f->listener->firewall->name);
        return flow_answer(
            f, &(struct flow_answer){.by = FLOW_BY_IIS, .st = IIS_SSL_REQUIRED, .iis_page = 1});
    }
    if (f->route->plain_http != NULL) {
        flow_why(f, "ssl", "plain HTTP: answered without SSL on this path");
        return f->route->plain_http(f);
    }
    flow_why(f, "ssl", "plain HTTP on a virtual directory that requires SSL");
    /* IIS refuses it before Exchange's modules run */
    return flow_answer(
        f, &(struct flow_answer){.by = FLOW_BY_IIS, .st = IIS_SSL_REQUIRED, .iis_page = 1});
}

/* (Bodies over twice the limit are refused by libh2o before any stage runs; see run.c.) */
int vdir_body_limit(struct flow *f)
{
    if (f->req->entity.len <= f->scn->limits.max_request_body)
        return FLOW_NEXT;
    flow_why(f, "limits", "body of %zu bytes over max-request-body %zu", f->req->entity.len,
             f->scn->limits.max_request_body);
    return flow_answer(
        f, &(struct flow_answer){.by = FLOW_BY_FRONTEND, .st = IIS_TOO_LARGE, .iis_page = 1});
}
