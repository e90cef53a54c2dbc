/*
 * Unit tests for the request API (flow, flow_answer): requests driven through stage tables of
 * the test's own, without sockets — a stage that passes, one that answers, one that waits on
 * the worker's loop and is resumed, a client that leaves while a stage waits — and the answer
 * call: which headers and which logs for each sender.
 *
 * The request is h2o's own (h2o_init_request) on a fake connection: its output stream records
 * what is sent; disposing it releases the pool, which runs the flow's loggers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <stdio.h>

#include "flow.h"
#include "gen.h"
#include "httperr.h"
#include "log.h"
#include "reqlog.h"
#include "srvlog.h"
#include "w3c.h"

#ifndef MRSMOCK_SRCDIR
#define MRSMOCK_SRCDIR "."
#endif
#define HEALTHY MRSMOCK_SRCDIR "/scenarios/healthy.xml"

struct fixture {
    h2o_globalconf_t conf;
    h2o_pathconf_t *pathconf;
    h2o_context_t ctx;
    struct gen gen;
    struct conn_worker worker;
    struct conn conn;
    h2o_conn_t hconn;
    h2o_ostream_t ostr;
    h2o_req_t req;
    int req_live;
    /* what the output stream and the logger saw */
    int sent_final;
    size_t body_len;
    int logged;
    unsigned logged_logs;
    enum flow_by logged_by;
    /* stage counters */
    int passes, timers, never;
};

static struct fixture *current;

static h2o_socket_t *on_get_socket(h2o_conn_t *c)
{
    UNUSED(c);
    return NULL;
}

static const h2o_conn_callbacks_t conn_callbacks = {.get_socket = on_get_socket};

static void on_do_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t n,
                       h2o_send_state_t state)
{
    UNUSED(self), UNUSED(req);
    for (size_t i = 0; i < n; i++)
        current->body_len += bufs[i].len;
    if (!h2o_send_state_is_in_progress(state))
        current->sent_final = 1;
}

static void on_log(struct flow *f, const struct timeval *now)
{
    UNUSED(now);
    current->logged++;
    current->logged_logs = f->logs;
    current->logged_by = f->by;
}

static const struct flow_logger loggers[] = {{"test", on_log}};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    struct scn_errors e = {0};
    struct scn *s = scn_load(HEALTHY, &e);

    assert_non_null(s);
    scn_errors_free(&e);
    h2o_config_init(&fx->conf);
    h2o_hostconf_t *host =
        h2o_config_register_host(&fx->conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    fx->pathconf = h2o_config_register_path(host, "/", 0);
    h2o_context_init(&fx->ctx, h2o_evloop_create(), &fx->conf);
    /* a generation of the test's own: the flow takes and drops references, ours stays */
    atomic_init(&fx->gen.refcnt, 1);
    fx->gen.scn = s;
    fx->gen.listeners = calloc(s->num_listeners, sizeof(*fx->gen.listeners));
    fx->gen.servers = calloc(s->num_servers, sizeof(*fx->gen.servers));
    for (size_t i = 0; i < s->num_listeners; i++)
        fx->gen.listeners[i] = (struct gen_listener){.port = 8443 + (unsigned)i, .bound = i};
    fx->worker = (struct conn_worker){.ctx = &fx->ctx, .gen = &fx->gen};
    fx->conn = (struct conn){.gen = &fx->gen, .worker = &fx->worker};
    strcpy(fx->conn.local_ip, "127.0.0.1");
    strcpy(fx->conn.peer_ip, "127.0.0.2");
    fx->hconn = (h2o_conn_t){.ctx = &fx->ctx, .callbacks = &conn_callbacks};
    fx->ostr = (h2o_ostream_t){.do_send = on_do_send};
    current = fx;
    *state = fx;
    return 0;
}

static void dispose_req(struct fixture *fx)
{
    if (fx->req_live) {
        h2o_dispose_request(&fx->req);
        fx->req_live = 0;
    }
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    dispose_req(fx);
    conn_worker_dispose(&fx->worker);
    h2o_context_dispose(&fx->ctx);
    h2o_evloop_destroy(fx->ctx.loop);
    h2o_config_dispose(&fx->conf);
    scn_unref(fx->gen.scn);
    free(fx->gen.listeners);
    free(fx->gen.servers);
    free(fx);
    return 0;
}

/* A GET of PATH over HTTP/1.0 (no chunking) on the fake connection, and its flow. */
static struct flow *request(struct fixture *fx, const char *path, const struct flow_stage *stages,
                            size_t n)
{
    h2o_init_request(&fx->req, &fx->hconn, NULL);
    fx->req_live = 1;
    fx->req.version = 0x100;
    fx->req.method = h2o_iovec_init(H2O_STRLIT("GET"));
    fx->req.path = fx->req.path_normalized = h2o_iovec_init(path, strlen(path));
    fx->req.query_at = SIZE_MAX;
    fx->req.authority = h2o_iovec_init(H2O_STRLIT("mail.contoso.com"));
    fx->req.pathconf = fx->pathconf;
    fx->req._ostr_top = &fx->ostr;
    struct flow *f = flow_new(&fx->req, &fx->conn, stages, n, loggers, 1);
    assert_non_null(f);
    return f;
}

/* --- stages of the tests' own ---------------------------------------------------------------- */

static int s_pass(struct flow *f)
{
    current->passes++;
    flow_why(f, "pass", "passed");
    return FLOW_NEXT;
}

static int s_answer(struct flow *f)
{
    flow_why(f, "answer", "answered");
    return flow_answer(f, &(struct flow_answer){.by = FLOW_BY_BACKEND,
                                                .st = IIS_OK,
                                                .content_type = "text/plain",
                                                .body = h2o_iovec_init(H2O_STRLIT("hello"))});
}

static int s_never(struct flow *f)
{
    UNUSED(f);
    current->never++;
    return FLOW_NEXT;
}

static int on_waited(struct flow *f)
{
    current->timers++;
    flow_why(f, "wait", "resumed");
    return FLOW_NEXT;
}

static int s_wait(struct flow *f)
{
    flow_why(f, "wait", "waiting");
    return flow_wait(f, 20, on_waited);
}

/* Runs the worker's loop until the response is sent or MS pass. */
static void run_loop(struct fixture *fx, int ms)
{
    for (int i = 0; i < ms / 5 && !fx->sent_final; i++)
        h2o_evloop_run(fx->ctx.loop, 5);
}

static void test_a_stage_passes_and_one_answers(void **state)
{
    struct fixture *fx = *state;
    static const struct flow_stage stages[] = {
        {"pass", s_pass}, {"answer", s_answer}, {"never", s_never}};
    struct flow *f = request(fx, "/x", stages, 3);

    flow_run(f);
    assert_int_equal(fx->passes, 1);
    assert_int_equal(fx->never, 0); /* nothing runs after the stage that answered */
    assert_true(fx->sent_final);
    assert_int_equal(fx->body_len, 5);
    assert_int_equal(fx->req.res.status, 200);
    assert_string_equal(fx->req.res.reason, "OK");
    assert_string_equal(f->why, "pass: passed; answer: answered");
    dispose_req(fx);
    assert_int_equal(fx->logged, 1);
    assert_int_equal(fx->logged_by, FLOW_BY_BACKEND);
}

static void test_a_stage_waits_and_is_resumed(void **state)
{
    struct fixture *fx = *state;
    static const struct flow_stage stages[] = {
        {"pass", s_pass}, {"wait", s_wait}, {"answer", s_answer}};
    struct flow *f = request(fx, "/x", stages, 3);

    flow_run(f);
    assert_false(fx->sent_final); /* waiting: nothing sent yet */
    assert_int_equal(fx->timers, 0);
    run_loop(fx, 2000);
    assert_int_equal(fx->timers, 1);
    assert_true(fx->sent_final); /* the stage after the waiting one answered */
    assert_int_equal(fx->passes, 1);
    assert_string_equal(f->why, "pass: passed; wait: waiting; wait: resumed; answer: answered");
    dispose_req(fx);
    assert_int_equal(fx->logged, 1);
}

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A stage that starts waiting late in a turn of the loop, whose clock was read at the turn's
 * start, still waits as long as it asked, in real time. */
static void test_a_wait_is_never_shorter_than_asked(void **state)
{
    struct fixture *fx = *state;
    static const struct flow_stage stages[] = {{"wait", s_wait}, {"answer", s_answer}};
    struct flow *f = request(fx, "/x", stages, 2);

    h2o_evloop_run(fx->ctx.loop, 0); /* the loop reads its clock */
    usleep(15 * 1000);               /* a busy turn: the loop's clock is now 15 ms behind */
    uint64_t began = monotonic_ms();
    flow_run(f);
    run_loop(fx, 2000);
    assert_int_equal(fx->timers, 1);
    assert_true(monotonic_ms() - began >= 20); /* s_wait's 20 ms */
    dispose_req(fx);
}

static void test_time_taken_rounds_down(void **state)
{
    struct fixture *fx = *state;
    static const struct flow_stage stages[] = {{"answer", s_answer}};
    struct flow *f = request(fx, "/x", stages, 1);

    fx->req.timestamps.request_begin_at = (struct timeval){10, 900500};
    assert_int_equal(flow_taken_ms(f, &(struct timeval){12, 900000}), 1999);
    assert_int_equal(flow_taken_ms(f, &(struct timeval){12, 900500}), 2000);
    assert_int_equal(flow_taken_ms(f, &(struct timeval){11, 0}), 99);
    assert_int_equal(flow_taken_ms(f, &(struct timeval){9, 0}), 0); /* the clock went back */
    flow_run(f);
    dispose_req(fx);
}

static void test_a_client_that_leaves_while_a_stage_waits(void **state)
{
    struct fixture *fx = *state;
    static const struct flow_stage stages[] = {{"wait", s_wait}, {"answer", s_answer}};

    flow_run(request(fx, "/x", stages, 2));
    dispose_req(fx); /* the pool is released before the timer fires (an HTTP/2 reset) */
    for (int i = 0; i < 10; i++)
        h2o_evloop_run(fx->ctx.loop, 10);
    assert_int_equal(fx->timers, 0); /* the timer went with the request */
    /* the loggers see it, never answered: no line for the Windows logs */
    assert_int_equal(fx->logged, 1);
    assert_int_equal(fx->logged_by, FLOW_BY_NONE);
    assert_int_equal(fx->logged_logs, 0);
}

/* --- the answer call ------------------------------------------------------------------------ */

static const char *header(h2o_req_t *req, const char *name)
{
    static char v[256];
    for (size_t i = 0; i != req->res.headers.size; i++) {
        const h2o_header_t *h = &req->res.headers.entries[i];
        if (h->name->len == strlen(name) && strncasecmp(h->name->base, name, h->name->len) == 0) {
            snprintf(v, sizeof(v), "%.*s", (int)h->value.len, h->value.base);
            return v;
        }
    }
    return NULL;
}

static const char *const route_headers[] = {"X-Route", "yes", NULL};
static const struct flow_route route = {
    .path = "/ews/x", .vdir = FLOW_VDIR_EWS, .headers = route_headers};

static enum flow_by answer_by;
static int answer_page;

static int s_answer_by(struct flow *f)
{
    f->route = &route;
    f->vdir = &f->server->ews;
    return flow_answer(f, &(struct flow_answer){.by = answer_by,
                                                .st = answer_page ? IIS_NOT_FOUND : IIS_OK,
                                                .iis_page = answer_page,
                                                .content_type = "text/xml"});
}

/* Answers as BY (with IIS's page when PAGE); the request stays until dispose_req(). */
static void answer_as(struct fixture *fx, enum flow_by by, int page)
{
    static const struct flow_stage stages[] = {{"answer", s_answer_by}};
    answer_by = by;
    answer_page = page;
    dispose_req(fx);
    fx->logged = 0;
    fx->sent_final = 0;
    flow_run(request(fx, "/ews/x", stages, 1));
    assert_true(fx->sent_final);
}

static void test_who_answers_decides_headers_and_logs(void **state)
{
    struct fixture *fx = *state;

    /* the back end of a 2016 server: the application's headers, the IIS line with the front
     * end's cafeReqId, the HttpProxy line */
    answer_as(fx, FLOW_BY_BACKEND, 0);
    assert_string_equal(header(&fx->req, "server"), "Microsoft-IIS/10.0");
    assert_string_equal(header(&fx->req, "x-feserver"), "EX1");
    assert_string_equal(header(&fx->req, "x-calculatedbetarget"), "ex1.contoso.com");
    assert_non_null(header(&fx->req, "request-id"));
    assert_string_equal(header(&fx->req, "x-route"), "yes");
    assert_string_equal(header(&fx->req, "x-powered-by"), "ASP.NET");
    dispose_req(fx);
    assert_int_equal(fx->logged_logs, FLOW_LOG_W3C | FLOW_LOG_HPLOG);

    /* IIS's own page inside the directory: no application headers (but the directory's custom
     * headers), and the front end saw it */
    answer_as(fx, FLOW_BY_FRONTEND, 1);
    assert_int_equal(fx->req.res.status, 404);
    assert_string_equal(header(&fx->req, "content-type"), "text/html");
    assert_null(header(&fx->req, "x-feserver"));
    assert_string_equal(header(&fx->req, "x-route"), "yes");
    assert_true(fx->body_len > 0);
    dispose_req(fx);
    assert_int_equal(fx->logged_logs, FLOW_LOG_W3C | FLOW_LOG_HPLOG);

    /* IIS before Exchange's modules: an IIS line without the front end's */
    answer_as(fx, FLOW_BY_IIS, 0);
    assert_string_equal(header(&fx->req, "server"), "Microsoft-IIS/10.0");
    assert_null(header(&fx->req, "request-id"));
    assert_null(header(&fx->req, "x-route"));
    assert_string_equal(header(&fx->req, "x-powered-by"), "ASP.NET");
    dispose_req(fx);
    assert_int_equal(fx->logged_logs, FLOW_LOG_W3C);

    /* HTTP.sys: its own Server header, only an HTTPERR line */
    answer_as(fx, FLOW_BY_HTTPSYS, 0);
    assert_string_equal(header(&fx->req, "server"), "Microsoft-HTTPAPI/2.0");
    assert_null(header(&fx->req, "x-powered-by"));
    dispose_req(fx);
    assert_int_equal(fx->logged_logs, FLOW_LOG_HTTPERR);

    /* a device in front: none of the server's headers or logs */
    answer_as(fx, FLOW_BY_DEVICE, 0);
    assert_null(header(&fx->req, "server"));
    assert_null(header(&fx->req, "x-powered-by"));
    dispose_req(fx);
    assert_int_equal(fx->logged, 1);
    assert_int_equal(fx->logged_logs, 0);

    /* Exchange 2010 has no front end: no HttpProxy line, no front-end headers */
    fx->gen.scn->servers[0].version = SCN_V2010;
    answer_as(fx, FLOW_BY_BACKEND, 0);
    assert_string_equal(header(&fx->req, "server"), "Microsoft-IIS/7.5");
    assert_null(header(&fx->req, "request-id"));
    assert_null(header(&fx->req, "x-feserver"));
    assert_string_equal(header(&fx->req, "cache-control"), "private");
    dispose_req(fx);
    assert_int_equal(fx->logged_logs, FLOW_LOG_W3C);
}

static int s_httpsys_503(struct flow *f)
{
    return flow_answer(f, &(struct flow_answer){.by = FLOW_BY_HTTPSYS,
                                                .st = IIS_UNAVAILABLE,
                                                .httperr_reason = HTTPERR_REASON_DISABLED,
                                                .queue = "MSExchangeServicesAppPool"});
}

/* HTTP.sys's answer goes to the server's HTTPERR log (reqlog_httperr), opened at its first
 * line, and to none of IIS's */
static void test_httpsys_answer_leaves_an_httperr_line(void **state)
{
    struct fixture *fx = *state;
    static const struct flow_stage stages[] = {{"httpsys", s_httpsys_503}};
    static const struct flow_logger rows[] = {{"httperr", reqlog_httperr}, {"w3c", reqlog_w3c}};
    char dir[] = "/tmp/mrsmock-flow-XXXXXX", path[4200], buf[4096], err[256];

    assert_non_null(mkdtemp(dir));
    fx->gen.servers[0].logs = srvlog_open(dir, &fx->gen.scn->servers[0], err, sizeof(err));
    assert_non_null(fx->gen.servers[0].logs);
    h2o_init_request(&fx->req, &fx->hconn, NULL);
    fx->req_live = 1;
    fx->req.version = 0x101;
    fx->req.method = h2o_iovec_init(H2O_STRLIT("POST"));
    fx->req.path = fx->req.path_normalized = h2o_iovec_init(H2O_STRLIT("/EWS/mrsproxy.svc"));
    fx->req.query_at = SIZE_MAX;
    fx->req.pathconf = fx->pathconf;
    fx->req._ostr_top = &fx->ostr;
    fx->conn.peer_port = 51544;
    flow_run(flow_new(&fx->req, &fx->conn, stages, 1, rows, 2));
    assert_int_equal(fx->req.res.status, 503);
    assert_string_equal(header(&fx->req, "server"), "Microsoft-HTTPAPI/2.0");
    dispose_req(fx);
    srvlog_close(fx->gen.servers[0].logs);
    fx->gen.servers[0].logs = NULL;

    httperr_dir(path, sizeof(path), dir, "EX1");
    strcat(path, "/httperr1.log");
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "#Software: Microsoft HTTP API 2.0\r\n"));
    assert_non_null(strstr(buf, " 127.0.0.2 51544 127.0.0.1 8443 HTTP/1.1 POST /EWS/mrsproxy.svc "
                                "503 1 Disabled MSExchangeServicesAppPool\r\n"));
    /* no IIS line: the request never reached IIS (its W3C file holds only its header) */
    w3c_dir(path, sizeof(path), dir, "EX1");
    char cmd[4400];
    snprintf(cmd, sizeof(cmd), "grep -rq mrsproxy '%s'", path);
    assert_int_not_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_iis_vocabulary(void **state)
{
    UNUSED(state);
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    h2o_iovec_t p = iis_error_page(&pool, IIS_SSL_REQUIRED);
    assert_non_null(memmem(p.base, p.len, H2O_STRLIT("403.4 - Forbidden: SSL is required")));
    p = iis_error_page(&pool, IIS_AUTHZ_DENIED); /* 403.0 takes the status's own page */
    assert_non_null(memmem(p.base, p.len, H2O_STRLIT("403 - Forbidden: Access is denied.")));
    h2o_mem_clear_pool(&pool);
    assert_string_equal(iis_reason(413), "Request Entity Too Large");
    assert_string_equal(iis_reason(418), "Bad Request"); /* no row: the class's phrase */
    assert_int_equal(IIS_NTLM_CONTINUE.win32, 2148074254u);
    assert_int_equal(IIS_NTLM_LOGON_DENIED.win32, 2148074252u);
    assert_int_equal(IIS_NTLM_INVALID_TOKEN.win32, 2148074248u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_stage_passes_and_one_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_stage_waits_and_is_resumed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_wait_is_never_shorter_than_asked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_taken_rounds_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_client_that_leaves_while_a_stage_waits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_who_answers_decides_headers_and_logs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_httpsys_answer_leaves_an_httperr_line, setup,
                                        teardown),
        cmocka_unit_test(test_iis_vocabulary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
