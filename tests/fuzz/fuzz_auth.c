/*
 * fuzz_auth — the Authorization header of requests on one connection, as the authentication
 * stage reads it (auth_check on EX1's EWS directory of the bundled `healthy` scenario, which
 * takes Basic, NTLM and Negotiate): the scheme, Basic credentials, the base64 of NTLM and
 * Negotiate tokens, and a handshake across requests. Each field of the input (fuzz_field) is
 * one request's header value; the connection and what it holds end with the input.
 *
 * The requests are h2o's own (h2o_init_request) on a fake connection without a socket, as in
 * tests/unit/test_flow.c; answers go to an output stream that drops them.
 */
#include "auth.h"
#include "conn.h"
#include "flow.h"
#include "fuzz.h"
#include "gen.h"
#include "ntlm.h"

static struct {
    h2o_globalconf_t conf;
    h2o_pathconf_t *pathconf;
    h2o_context_t ctx;
    struct gen gen;
    struct conn_worker worker;
    h2o_conn_t hconn;
    h2o_ostream_t ostr;
} fx;

static h2o_socket_t *on_get_socket(h2o_conn_t *c)
{
    (void)c;
    return NULL;
}

static const h2o_conn_callbacks_t conn_callbacks = {.get_socket = on_get_socket};

static void on_do_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t n,
                       h2o_send_state_t state)
{
    (void)self, (void)req, (void)bufs, (void)n, (void)state;
}

static int s_auth(struct flow *f)
{
    return auth_check(f, &f->server->ews);
}

static int s_ok(struct flow *f)
{
    return flow_answer(f, &(struct flow_answer){.by = FLOW_BY_BACKEND, .st = IIS_OK});
}

static const struct flow_stage stages[] = {{"auth", s_auth}, {"ok", s_ok}};

static void setup(void)
{
    struct scn *s = fuzz_scenario("healthy");
    char err[256];

    log_init(-1);
    if (ntlm_init(err, sizeof(err)) != 0)
        fprintf(stderr, "fuzz_auth: %s (NTLM logons fail)\n", err);
    h2o_config_init(&fx.conf);
    h2o_hostconf_t *host =
        h2o_config_register_host(&fx.conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    fx.pathconf = h2o_config_register_path(host, "/", 0);
    h2o_context_init(&fx.ctx, h2o_evloop_create(), &fx.conf);
    atomic_init(&fx.gen.refcnt, 1);
    fx.gen.scn = s;
    fx.gen.listeners = calloc(s->num_listeners, sizeof(*fx.gen.listeners));
    fx.gen.servers = calloc(s->num_servers, sizeof(*fx.gen.servers));
    for (size_t i = 0; i < s->num_listeners; i++)
        fx.gen.listeners[i] = (struct gen_listener){.port = 8443 + (unsigned)i, .bound = i};
    fx.worker = (struct conn_worker){.ctx = &fx.ctx, .gen = &fx.gen};
    fx.hconn = (h2o_conn_t){.ctx = &fx.ctx, .callbacks = &conn_callbacks};
    fx.ostr = (h2o_ostream_t){.do_send = on_do_send};
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size, *value;
    struct conn c = {.gen = &fx.gen, .worker = &fx.worker};
    h2o_req_t req;

    if (fx.gen.scn == NULL)
        setup();
    strcpy(c.local_ip, "127.0.0.1");
    strcpy(c.peer_ip, "127.0.0.2");
    for (int n = 0; n < 4 && p < end; n++) {
        size_t len = fuzz_field(&p, end, &value);
        h2o_init_request(&req, &fx.hconn, NULL);
        req.version = 0x101;
        req.method = h2o_iovec_init(H2O_STRLIT("POST"));
        req.path = req.path_normalized = h2o_iovec_init(H2O_STRLIT("/EWS/Exchange.asmx"));
        req.query_at = SIZE_MAX;
        req.authority = h2o_iovec_init(H2O_STRLIT("mail.contoso.com"));
        req.pathconf = fx.pathconf;
        req._ostr_top = &fx.ostr;
        h2o_add_header(&req.pool, &req.headers, H2O_TOKEN_AUTHORIZATION, NULL,
                       h2o_strdup(&req.pool, (const char *)value, len).base, len);
        struct flow *f = flow_new(&req, &c, stages, 2, NULL, 0);
        if (f == NULL)
            abort();
        flow_run(f);
        h2o_dispose_request(&req);
    }
    /* the connection closes: what the handshake hung on it goes */
    for (size_t i = 0; i < CONN_MAX_DATA; i++)
        if (c.data[i].key != NULL)
            c.data[i].key->dispose(c.data[i].data);
    return 0;
}
