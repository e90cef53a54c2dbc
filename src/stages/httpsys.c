/*
 * httpsys — HTTP.sys's own answers.
 */
#include "httpsys.h"

/* HTTP.sys's error page, as Windows sends it for a 503 (reference 7.2). */
static const char unavailable_page[] =
    "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\"\"http://www.w3.org/TR/html4/strict.dtd\">"
    "\r\n<HTML><HEAD><TITLE>Service Unavailable</TITLE>\r\n"
    "<META HTTP-EQUIV=\"Content-Type\" Content=\"text/html; charset=us-ascii\"></HEAD>\r\n"
    "<BODY><h2>Service Unavailable</h2>\r\n"
    "<hr><p>HTTP Error 503. The service is unavailable.</p>\r\n"
    "</BODY></HTML>\r\n";

int httpsys_stage(struct flow *f)
{
    const struct scn_vdir *v = f->vdir;
    int rapid;

    if (v == NULL || (v->app_pool == SCN_POOL_STARTED && !f->pool_offline))
        return FLOW_NEXT;
    /* a balancer member down on its schedule: its pools crash and rapid-fail takes them offline */
    rapid = v->app_pool == SCN_POOL_RAPID_FAIL || f->pool_offline;
    flow_why(f, "httpsys", "application pool %s of %s is %s: its queue is disabled",
             v->app_pool_name, f->server->name,
             rapid ? "stopped by rapid-fail protection" : "stopped");
    return flow_answer(
        f, &(struct flow_answer){
               .by = FLOW_BY_HTTPSYS,
               .st = IIS_UNAVAILABLE,
               .content_type = "text/html; charset=us-ascii",
               .body = h2o_iovec_init(unavailable_page, sizeof(unavailable_page) - 1),
               /* an administrator's stop disables the queue; rapid-fail protection takes the
                * application offline */
               .httperr_reason = rapid ? HTTPERR_REASON_APP_OFFLINE : HTTPERR_REASON_DISABLED,
               .queue = v->app_pool_name});
}
