/*
 * healthcheck — Managed Availability's healthcheck.htm.
 */
#include <string.h>

#include "healthcheck.h"

int hc_page(struct flow *f)
{
    const struct scn_server *sv = f->server;

    if (sv->version < SCN_V2013) {
        flow_why(f, "healthcheck", "Exchange 2010 has no Managed Availability page");
        return flow_answer(
            f, &(struct flow_answer){.by = FLOW_BY_FRONTEND, .st = IIS_NOT_FOUND, .iis_page = 1});
    }
    /* The body is the status and the server's FQDN, as administrators see it when they browse
     * the page (its exact case and the front end's headers on it are unconfirmed). */
    h2o_iovec_t body = h2o_concat(&f->req->pool, h2o_iovec_init(H2O_STRLIT("200 OK<br/>")),
                                  h2o_iovec_init(sv->fqdn, strlen(sv->fqdn)));
    flow_why(f, "healthcheck", "the protocol is healthy on %s", sv->name);
    return flow_answer(
        f, &(struct flow_answer){
               .by = FLOW_BY_FRONTEND, .st = IIS_OK, .content_type = "text/html", .body = body});
}
