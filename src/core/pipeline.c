/*
 * pipeline — the routing table, the request stages and the loggers, and the one h2o handler.
 */
#include <string.h>
#include <sys/socket.h>
#include <strings.h>

#include "auth.h"
#include "balance.h"
#include "autodiscover.h"
#include "ews.h"
#include "faults.h"
#include "flow.h"
#include "frontend.h"
#include "healthcheck.h"
#include "httpsys.h"
#include "journal.h"
#include "log.h"
#include "metrics.h"
#include "mrsproxy.h"
#include "pipeline.h"
#include "reqlog.h"
#include "publish.h"
#include "urlfilter.h"
#include "util.h"
#include "vdir.h"
#include "wsrm.h"

/* What Autodiscover answers carry, challenges included: EWSMA's SOAP discovery reads them from
 * an unauthenticated GET (reference 1.5; values unconfirmed, any non-empty value counts). */
static const char *const ad_headers[] = {"X-SOAP-Enabled",
                                         "True",
                                         "X-WSSecurity-Enabled",
                                         "True",
                                         "X-WSSecurity-SymmetricKey-Enabled",
                                         "True",
                                         "X-WSSecurity-X509Cert-Enabled",
                                         "True",
                                         "X-OAuth-Enabled",
                                         "True",
                                         NULL};

/* Routing, case-insensitive as IIS is; the first row that matches wins. */
static const struct flow_route routes[] = {
    {.path = "/autodiscover/autodiscover.xml",
     .vdir = FLOW_VDIR_AUTODISCOVER,
     .endpoint = ad_pox,
     .plain_http = ad_http_redirect,
     .headers = ad_headers},
    {.path = "/autodiscover/autodiscover.svc", .vdir = FLOW_VDIR_AUTODISCOVER, .endpoint = ad_soap},
    {.path = "/autodiscover/autodiscover.json",
     .prefix = 1,
     .vdir = FLOW_VDIR_AUTODISCOVER,
     .flags = FLOW_ROUTE_ANONYMOUS | FLOW_ROUTE_ADDRESS_IN_PATH,
     .endpoint = ad_json},
    {.path = "/autodiscover/healthcheck.htm",
     .vdir = FLOW_VDIR_AUTODISCOVER,
     .flags = FLOW_ROUTE_ANONYMOUS | FLOW_ROUTE_LOCAL,
     .endpoint = hc_page},
    {.path = "/autodiscover", .prefix = 1, .vdir = FLOW_VDIR_AUTODISCOVER},
    {.path = "/ews/mrsproxy.svc",
     .vdir = FLOW_VDIR_EWS,
     .flags = FLOW_ROUTE_MRS,
     .endpoint = mrs_svc},
    {.path = "/ews/exchange.asmx", .vdir = FLOW_VDIR_EWS, .endpoint = ews_asmx},
    {.path = "/ews/services.wsdl", .vdir = FLOW_VDIR_EWS, .endpoint = ews_wsdl},
    {.path = "/ews/healthcheck.htm",
     .vdir = FLOW_VDIR_EWS,
     .flags = FLOW_ROUTE_ANONYMOUS | FLOW_ROUTE_LOCAL,
     .endpoint = hc_page},
    {.path = "/ews", .prefix = 1, .vdir = FLOW_VDIR_EWS},
};

static int path_matches(h2o_iovec_t path, const struct flow_route *r)
{
    size_t n = strlen(r->path);
    if (path.len < n || strncasecmp(path.base, r->path, n) != 0)
        return 0;
    if (path.len == n)
        return 1;
    /* a folder matches what lies below it; a file, itself with a trailing "/" */
    return r->prefix ? path.base[n] == '/' : path.len == n + 1 && path.base[n] == '/';
}

/* --- the pipeline's own stages -------------------------------------------------------------- */

const struct flow_route *pipeline_route(h2o_iovec_t path)
{
    for (size_t i = 0; i < COUNTOF(routes); i++)
        if (path_matches(path, &routes[i]))
            return &routes[i];
    return NULL;
}

static int stage_route(struct flow *f)
{
    const struct flow_route *r = pipeline_route(f->req->path_normalized);

    if (r != NULL) {
        f->route = r;
        f->vdir = r->vdir == FLOW_VDIR_EWS ? &f->server->ews : &f->server->autodiscover;
        flow_why(f, "route", "%s on %s", r->path, f->server->name);
        return FLOW_NEXT;
    }
    flow_why(f, "route", "no virtual directory for this path");
    return flow_answer(
        f, &(struct flow_answer){.by = FLOW_BY_IIS, .st = IIS_NOT_FOUND, .iis_page = 1});
}

static int stage_endpoint(struct flow *f)
{
    if (f->route->endpoint == NULL) {
        flow_why(f, "endpoint", "no such file in the virtual directory");
        return flow_answer(
            f, &(struct flow_answer){.by = FLOW_BY_FRONTEND, .st = IIS_NOT_FOUND, .iis_page = 1});
    }
    return f->route->endpoint(f);
}

/* The stages of a request, in order (DESIGN.md): a new stage is its module and one row here,
 * and its name in the model's list of the stages fault rules may name (scn_stage_name()). */
static const struct flow_stage stages[] = {
    {"urlfilter", urlfilter_stage}, {"publish", publish_stage},  {"balancer", balance_stage},
    {"route", stage_route},         {"httpsys", httpsys_stage},  {"ssl", vdir_require_ssl},
    {"auth", auth_stage},           {"limits", vdir_body_limit}, {"frontend", frontend_stage},
    {"endpoint", stage_endpoint},
};

/* What sees every answered request when its pool is released, in order. */
static const struct flow_logger loggers[] = {
    /* first: what HTTP.sys's timers did to the request is in the lines after it */
    {"httpsys", httpsys_log},  {"w3c", reqlog_w3c},      {"httperr", reqlog_httperr},
    {"hplog", reqlog_hplog},   {"journal", journal_log}, {"metrics", metrics_log},
    {"balancer", balance_log},
};

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct flow *f = flow_new(req, NULL, stages, COUNTOF(stages), loggers, COUNTOF(loggers));
    UNUSED(self);

    if (f == NULL) {
        /* a keep-alive connection whose listener a switch removed: its port is closed now, so
         * the connection is reset, as a port that stops listening resets what it held (the
         * RST goes out at once; h2o frees the connection on its failed write) */
        h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
        struct sockaddr sa = {.sa_family = AF_UNSPEC};
        if (sock != NULL)
            (void)connect(h2o_socket_get_fd(sock), &sa, sizeof(sa));
        req->http1_is_persistent = 0;
        h2o_send_error_503(req, "Service Unavailable", "", H2O_SEND_ERROR_HTTP1_CLOSE_CONNECTION);
        return 0;
    }
    if (f->scn->num_faults != 0)
        f->before_stage = faults_before;
    flow_run(f);
    return 0;
}

const char *pipeline_stage_name(size_t i)
{
    return i < COUNTOF(stages) ? stages[i].name : NULL;
}

/* The virtual directory, and so the application pool, that PATH is routed to on SV. */
static const struct scn_vdir *route_vdir(const struct scn_server *sv, h2o_iovec_t path)
{
    const struct flow_route *r = pipeline_route(path);

    return r == NULL ? NULL : r->vdir == FLOW_VDIR_EWS ? &sv->ews : &sv->autodiscover;
}

void pipeline_tick(struct conn_worker *w)
{
    httpsys_tick(w, route_vdir);
}

void pipeline_reset(void)
{
    auth_reset();
    frontend_reset();
    wsrm_shutdown(); /* frees every sequence; the table stays usable */
}

void pipeline_register(h2o_pathconf_t *pathconf)
{
    h2o_create_handler(pathconf, sizeof(h2o_handler_t))->on_req = on_req;
}
