/*
 * httpsys — HTTP.sys's own answers.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gen.h"
#include "httpsys.h"
#include "log.h"
#include "logfile.h"
#include "srvlog.h"

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
    enum httperr_reason reason;

    if (v == NULL)
        return FLOW_NEXT;
    if (v->app_pool == SCN_POOL_STARTED && !f->pool_offline) {
        f->queued = v->app_pool_name; /* in its application pool's queue from now on */
        return FLOW_NEXT;
    }
    if (v->app_pool == SCN_POOL_QUEUE_FULL && !f->pool_offline) {
        reason = HTTPERR_REASON_QUEUE_FULL;
        flow_why(f, "httpsys", "the request queue of %s on %s is full", v->app_pool_name,
                 f->server->name);
    } else {
        /* an administrator's stop disables the queue; rapid-fail protection (also what takes a
         * balancer member down on its schedule offline) takes the application offline */
        int rapid = v->app_pool == SCN_POOL_RAPID_FAIL || f->pool_offline;
        reason = rapid ? HTTPERR_REASON_APP_OFFLINE : HTTPERR_REASON_DISABLED;
        flow_why(f, "httpsys", "application pool %s of %s is %s: its queue is disabled",
                 v->app_pool_name, f->server->name,
                 rapid ? "stopped by rapid-fail protection" : "stopped");
    }
    return flow_answer(f, &(struct flow_answer){.by = FLOW_BY_HTTPSYS,
                                                .st = IIS_UNAVAILABLE,
                                                .content_type = "text/html; charset=us-ascii",
                                                .body = h2o_iovec_init(
                                                    unavailable_page, sizeof(unavailable_page) - 1),
                                                .httperr_reason = reason,
                                                .queue = v->app_pool_name});
}

/* --- the idle timer ----------------------------------------------------------------------------
 */

/* What a connection that carried requests keeps for HTTP.sys's idle timer: when its last request
 * ended, and the limit it was held to. Hung on the connection by its first request. */
struct idle {
    struct conn *c;
    struct timespec last_done;
    unsigned idle_ms;
};

static void on_idle_dispose(void *p)
{
    struct idle *id = p;
    struct conn *c = id->c;
    struct timespec now;
    size_t li;
    struct gen *g = conn_current(c, &li); /* on the connection's worker, as it closes */

    clock_gettime(CLOCK_REALTIME, &now);
    int64_t ms = (now.tv_sec - id->last_done.tv_sec) * 1000 +
                 (now.tv_nsec - id->last_done.tv_nsec) / 1000000;
    /* closed by the server's timer (what h2o does at the idle limit), not by the client before
     * it: HTTP.sys logs the former only; 50 ms of slack for the loop's timer granularity */
    if (g != NULL && ms + 50 >= (int64_t)id->idle_ms) {
        const struct scn_listener *l = &g->scn->listeners[li];
        struct scn_server *sv = c->member[0] != '\0' ? scn_server_by_name(g->scn, c->member) : NULL;
        if (sv == NULL)
            sv = l->server;
        struct logf *log = srvlog_httperr(g->servers[sv - g->scn->servers].logs);
        const char *s_ip = sv->ip != NULL ? sv->ip : c->local_ip;
        struct httperr_entry e = {
            .at = now,
            .c_ip = {c->peer_ip, strlen(c->peer_ip)},
            .c_port = c->peer_port,
            .s_ip = {s_ip, strlen(s_ip)},
            .s_port = g->listeners[li].port,
            .reason = HTTPERR_REASON_TIMER_CONNECTION_IDLE,
        };
        char line[HTTPERR_LINE_MAX];
        size_t n = log != NULL ? httperr_format(line, sizeof(line), &e) : 0;
        if (n != 0)
            logf_write(log, line, n, now.tv_sec);
    }
    free(id);
}

static const struct conn_key idle_key = {"httpsys-idle", on_idle_dispose};

void httpsys_log(struct flow *f, const struct timeval *now)
{
    struct idle *id;

    /* a request of ours on a connection of ours: h2o releases a connection's requests before
     * the connection itself, so F's connection is still there */
    if (f->conn == NULL || f->req->http1_is_persistent == 0 || f->req->version >= 0x200)
        return;
    if ((id = flow_conn_data(f, &idle_key)) == NULL) {
        if ((id = calloc(1, sizeof(*id))) == NULL)
            fatalx("out of memory");
        id->c = f->conn;
        flow_conn_attach(f, &idle_key, id);
    }
    id->last_done = (struct timespec){now->tv_sec, now->tv_usec * 1000};
    id->idle_ms = f->scn->limits.idle_timeout_ms;
}
