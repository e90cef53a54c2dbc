/*
 * flow — the request API: what a stage or an endpoint is handed (one request on its way
 * through the pipeline), what it may read and write, and how it answers.
 *
 * Stages and endpoints include this header and nothing of the pipeline that calls them
 * (pipeline.h). A stage returns FLOW_NEXT to pass the request on, FLOW_DONE once it has
 * answered (flow_answer), or FLOW_WAIT after flow_wait() armed a timer on the worker's loop:
 * the callback given to it then decides as the stage would have. Each stage leaves a short line
 * in the why trail: what it decided, and because of which setting.
 *
 * A flow lives in the request's pool and is released with it, after the response has gone out:
 * then the pipeline's loggers turn it into the log lines the answer called for.
 */
#ifndef MRSMOCK_FLOW_H
#define MRSMOCK_FLOW_H

#include <stddef.h>
#include <stdint.h>

#define H2O_USE_LIBUV 0
#include <h2o.h>

#include "conn.h"
#include "httperr.h"
#include "iis.h"
#include "scenario.h"

struct gen;

enum flow_result {
    FLOW_NEXT,
    FLOW_DONE,
    FLOW_WAIT,
};

struct flow;

/* A row of a stage table: its name (what the why trail and fault rules call it). */
struct flow_stage {
    const char *name;
    int (*run)(struct flow *f);
};

/* Which IIS virtual directory a path belongs to (its authentication settings apply). */
enum flow_vdir {
    FLOW_VDIR_NONE,
    FLOW_VDIR_EWS,
    FLOW_VDIR_AUTODISCOVER,
};

/* What sets a route apart, for the stages that read it. */
#define FLOW_ROUTE_ANONYMOUS 0x1u /* served without authentication (Autodiscover v2) */
#define FLOW_ROUTE_MRS                                                                             \
    0x2u /* the MRS Proxy: the front end routes it by the target                                   \
            database or to the organisation */
#define FLOW_ROUTE_LOCAL                                                                           \
    0x8u /* answered by the front end itself, never proxied (healthcheck.htm) */
#define FLOW_ROUTE_ADDRESS_IN_PATH                                                                 \
    0x4u /* the mailbox address is the last segment of the path                                    \
            (Autodiscover v2): the front end's explicit logon */

/* A row of the routing table: a path (matched case-insensitively, as IIS does), its virtual
 * directory, and what answers it once the stages before the endpoint have passed it. */
struct flow_route {
    const char *path; /* lower case */
    int prefix;       /* 1: PATH is a folder prefix; 0: exact (a trailing "/" is ignored) */
    enum flow_vdir vdir;
    unsigned flags;                    /* FLOW_ROUTE_* */
    int (*endpoint)(struct flow *f);   /* NULL: the folder exists but this file does not (404) */
    int (*plain_http)(struct flow *f); /* what answers it over plain HTTP, where the virtual
                                          directory requires SSL; NULL: 403.4 */
    const char *const *headers;        /* name, value, ...: the directory's customHeaders, on every
                                          answer from it (challenges and IIS's pages included) */
};

/* Who answers a request; it decides the headers and which logs get a line. */
enum flow_by {
    FLOW_BY_NONE,     /* not answered (yet) */
    FLOW_BY_DEVICE,   /* a device in front of the server (a firewall's block page): none of the
                         server's logs */
    FLOW_BY_HTTPSYS,  /* HTTP.sys, before IIS (a stopped application pool): an HTTPERR line */
    FLOW_BY_IIS,      /* IIS before Exchange's modules run (Require SSL, the HTTP Redirect
                         module): an IIS line, without the front end's cafeReqId */
    FLOW_BY_FRONTEND, /* inside a virtual directory, before the back end: challenges, the front
                         end's refusals, IIS's errors there. IIS line; on 2013+ a cafeReqId and
                         an HttpProxy line without BackEndStatus */
    FLOW_BY_BACKEND,  /* the application behind the front end (2013+: proxied to the back end;
                         2010: the CAS itself): as the front end, with BackEndStatus */
};

/* Which logs a request leaves a line in (flow_answer decides, the loggers obey). */
#define FLOW_LOG_W3C 0x1u
#define FLOW_LOG_HTTPERR 0x2u
#define FLOW_LOG_HPLOG 0x4u /* and the cafeReqId decoration of the IIS line */

/* An answer. Everything but BY and ST may be left zero. */
struct flow_answer {
    enum flow_by by;
    struct iis_status st;
    const char *content_type; /* NULL: none */
    h2o_iovec_t body;         /* copied into the pool */
    int iis_page;             /* 1: IIS's own error page for ST (content_type and body unused);
                                 it carries none of the application's headers */
    const char *reason;       /* a reason phrase other than IIS's for ST (WCF's 415) */
    const char *refusal;      /* FLOW_BY_FRONTEND: the HttpProxy module refused the request itself
                                 with this exception message (GenericErrors) */
    enum httperr_reason httperr_reason; /* FLOW_BY_HTTPSYS: s-reason of its HTTPERR line */
    const char *queue; /* FLOW_BY_HTTPSYS: the application pool whose queue it was (s-queuename);
                          NULL: none */
};

#define FLOW_CUT_HALF (SIZE_MAX - 1)

/* How a request ended without an answer (struct flow's ended). */
enum flow_end {
    FLOW_END_CLIENT,  /* its client left (or has not had an answer yet): HTTP.sys logs
                         Connection_Dropped once it had queued the request */
    FLOW_END_DROPPED, /* we reset or closed it (flow_drop): the application abandoned it */
    FLOW_END_HTTP11,  /* the HTTP/2 fallback (flow_require_http11): no line */
};

struct flow {
    h2o_req_t *req;
    struct conn *conn;     /* valid while stages run, not once the pool is released */
    struct gen *gen;       /* the generation now in force (see conn_current); one reference */
    size_t listener_index; /* in scn->listeners and gen->listeners */
    struct scn *scn;       /* gen->scn */
    const struct scn_listener *listener;
    struct scn_server *server; /* the server the request reached (a balancer's member) */
    size_t server_index;
    int pool_offline;      /* that member's application pools are offline on its down schedule */
    size_t lb_member;      /* a layer 7 balancer's member for it (balance.h); SIZE_MAX: none */
    int lb_chosen;         /* that balancer decided (a line in its log is due) */
    const char *lb_cookie; /* the persistence cookie it inserted; NULL: none */
    /* the front end's routing (2013+, frontend.h): where it proxies the request */
    struct scn_server *backend;            /* NULL: not proxied (2010, or not routed yet) */
    const struct scn_database *backend_db; /* the database that named the back end; NULL: none */
    const char *backend_cookie;            /* the X-BackEndCookie value it set; NULL: none */
    unsigned backend_status;        /* what the back end answered; 0: no answer (or not proxied) */
    const char *proxy_error;        /* GenericErrors of a proxy that failed; NULL: none */
    const struct flow_route *route; /* NULL until routed */
    const struct scn_vdir *vdir;    /* NULL outside a virtual directory */
    /* what authentication found */
    const struct scn_account *account; /* NULL: anonymous */
    h2o_iovec_t username;              /* cs-username as IIS logs it; empty = "-" */
    const char *auth_scheme;           /* "Basic", "NTLM" or "Negotiate"; NULL: anonymous */
    /* the answer, as flow_answer() recorded it */
    enum flow_by by;
    struct iis_status st;
    unsigned logs;       /* FLOW_LOG_* */
    const char *refusal; /* see struct flow_answer */
    enum httperr_reason httperr_reason;
    const char *queue;
    char request_id[37];            /* request-id header and cafeReqId */
    char rm_sequence[128];          /* an MRS Proxy message's WS-RM sequence ("" for none) */
    uint64_t rm_message;            /* and its message number */
    char local_ip[48], peer_ip[48]; /* s-ip and c-ip */
    unsigned peer_port;             /* c-port */
    char sni[128];                  /* the connection's SNI name; "" for none */
    char why[512];                  /* "stage: decision; ..." */
    size_t why_len;
    /* what a fault rule does to the answer (faults.h): its body cut after BODY_CUT bytes and
     * the connection closed (SIZE_MAX: not cut); LENGTH_LIE bytes more claimed in its
     * Content-Length than it sends (0: none) */
    size_t body_cut, length_lie; /* body_cut FLOW_CUT_HALF: after half the body */
    size_t drip_bytes;           /* not 0: the body goes out this many bytes at a time, */
    unsigned drip_ms;            /* one piece every drip_ms */
    struct flow_drip *drip;      /* the body being dripped (flow_answer.c) */
    /* the pipeline's: where the request is in its stage table, and what runs before each stage
     * (the fault rules; NULL: nothing), deciding as a stage does; FLOW_NEXT lets the stage run */
    const struct flow_stage *stages;
    size_t num_stages, stage;
    int (*before_stage)(struct flow *f);
    /* a request that ends without an answer: the application pool queue HTTP.sys had handed
     * it to (NULL: it never got that far), and why it ended (FLOW_END_*) */
    const char *queued;
    int ended;
    const char *hold_stage; /* flow_hold(): who holds it, and for how long at most */
    unsigned hold_max_s;
    int (*on_timer)(struct flow *f);
    struct flow_timer *timer;
};

/* The server whose application answers: the back end the front end proxies to, else the server
 * the request reached. */
static inline struct scn_server *flow_backend(const struct flow *f)
{
    return f->backend != NULL ? f->backend : f->server;
}

/* A finished request's consumer (a log format, the journal, metrics): called once for every
 * request when its pool is released, in the pipeline's order; one never answered has by
 * FLOW_BY_NONE and no logs. */
struct flow_logger {
    const char *name;
    void (*on_log)(struct flow *f, const struct timeval *now);
};

/* Makes the flow of REQ in its pool, on connection C (NULL: REQ's own), to run STAGES; the
 * LOGGERS (NUM_LOGGERS of them) see it when its pool is released. NULL when REQ came on no
 * connection of ours, or on one whose listener a switch removed. The tables must outlive the
 * request. */
struct flow *flow_new(h2o_req_t *req, struct conn *c, const struct flow_stage *stages,
                      size_t num_stages, const struct flow_logger *loggers, size_t num_loggers);
/* Runs the stages from the next one until one answers or waits. */
void flow_run(struct flow *f);

/* Arms a timer: after MS milliseconds ON_TIMER is called and its result taken as the waiting
 * stage's (FLOW_NEXT goes on with the next stage). A request whose client goes away meanwhile
 * is released without it. Returns FLOW_WAIT. */
int flow_wait(struct flow *f, uint64_t ms, int (*on_timer)(struct flow *f));

/* Answers the request as A says (flow.h, struct flow_answer), with the headers its sender
 * writes: Server (HTTP.sys's, or the server's IIS), for an answer of Exchange's applications
 * Cache-Control, request-id, X-CalculatedBETarget, X-AspNet-Version, X-FEServer and the route's
 * headers; X-Powered-By from IIS. Records who answered and which logs get a line. Returns
 * FLOW_DONE. */
int flow_answer(struct flow *f, const struct flow_answer *a);

/* Ends F without an answer: RESET sends a TCP reset (the client reads ECONNRESET), otherwise
 * the connection is closed with a FIN (the client reads an empty reply). Either way the request
 * is in no server's log. Returns FLOW_DONE. */
int flow_drop(struct flow *f, int reset);
/* Holds F unanswered until its client gives up or MAX_S seconds pass (then FLOW_DROP's reset),
 * looking every 100 ms whether the client left (h2o reads nothing meanwhile); STAGE names who
 * holds it in the why trail. Returns FLOW_WAIT. */
int flow_hold(struct flow *f, const char *stage, unsigned max_s);

/* Resets the HTTP/2 stream of F with HTTP_1_1_REQUIRED, as IIS does when Windows
 * authentication is asked for over HTTP/2: the client retries over HTTP/1.1. The request
 * leaves no log line (it was never answered). Only for HTTP/2 requests. Returns FLOW_DONE. */
int flow_require_http11(struct flow *f);

/* Appends "stage: text" to the why trail (cut when full; control bytes become '?'), unless the
 * trail is not kept (flow_keep_why()). */
void flow_why(struct flow *f, const char *stage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Whether flow_why() records anything (default: yes). Its readers are the journal and the debug
 * output; with neither (no admin API, no journal file, less than -vv) run turns it off, so that
 * no request pays for formatting a trail nobody reads. Set before the workers start. */
void flow_keep_why(int keep);

/* Adds a response header; NAME as it appears on HTTP/1.1; VALUE is copied into the pool. */
void flow_header(struct flow *f, const char *name, const char *value, size_t len);

/* A response header's name fixed when mrsmock is built: as IIS writes it, with h2o's token for
 * it, or else its lower-case form (h2o's key, and HTTP/2's name). Make one with FLOW_HNAME. */
struct flow_hname {
    const char *name;
    const h2o_token_t *token; /* NULL: not one of h2o's */
    const char *lc;           /* without a token: NAME in lower case */
    size_t lc_len;
};
#define FLOW_HNAME_TOKEN(name, token)                                                              \
    {                                                                                              \
        (name), (token), NULL, 0                                                                   \
    }
#define FLOW_HNAME(name, lc)                                                                       \
    {                                                                                              \
        (name), NULL, (lc), sizeof(lc) - 1                                                         \
    }
/* Adds a response header with nothing copied or looked up: H and VALUE must outlive the
 * response (literals, the scenario's text, the flow's own fields, the request's pool). */
void flow_header_ref(struct flow *f, const struct flow_hname *h, const char *value, size_t len);

/* The whole milliseconds from the request's first byte until NOW (wall clock), rounded down. */
uint64_t flow_taken_ms(const struct flow *f, const struct timeval *now);

/* The Host header (HTTP/1.1) or :authority (HTTP/2); empty if none. */
h2o_iovec_t flow_host(struct flow *f);

/* The value of request header NAME (lower case), or an empty string. */
h2o_iovec_t flow_req_header(struct flow *f, const char *name);

/* URL as the client must use it to reach this server: when the URL's host is one the listener
 * serves, its scheme and port become the listener's (no port for https on 443). From the pool. */
h2o_iovec_t flow_public_url(struct flow *f, const char *url);

/* The port listener I of the flow's scenario is bound to. */
unsigned flow_port(const struct flow *f, size_t i);

/* Whether the device in front of the flow's listener ends TLS and forwards plain HTTP: the
 * server sees the request on port 80, without SSL (<firewall ssl-offload>). */
static inline int flow_offloaded(const struct flow *f)
{
    return f->listener->firewall != NULL && f->listener->firewall->ssl_offload;
}

/* --- answers kept (flow_cache.c) -----------------------------------------------------------
 * An endpoint whose answer is a function of the generation, the route, the server, the
 * listener, the caller and the request's body alone (EWS's operations, POX's settings: stable
 * GUIDs, no clock) may keep it, so that a client asking the same again (a test suite's loop, a
 * migration tool's polling) is answered without parsing and rendering XML again. Each worker
 * thread keeps its last few, keyed by those and a word of the endpoint's own, the body compared
 * whole; a new generation (a reload) never meets an older one's. Bodies up to 16 KiB asked,
 * 64 KiB answered. */

/* If an answer is kept for F's request under WORD: its why under STAGE, then flow_answer() with
 * it; FLOW_DONE. -1 when none is kept. */
int flow_cache_answer(struct flow *f, const char *stage, uintptr_t word);
/* Keeps A (content_type a constant string; body copied) and WHY for F's request under WORD. */
void flow_cache_keep(struct flow *f, uintptr_t word, const struct flow_answer *a, const char *why);

/* The state the request's connection holds under KEY, or NULL (conn.h). */
void *flow_conn_data(struct flow *f, const struct conn_key *key);
/* Hangs DATA on the request's connection under KEY (conn_attach). */
void flow_conn_attach(struct flow *f, const struct conn_key *key, void *data);

#endif
