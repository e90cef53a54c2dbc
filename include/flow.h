/*
 * flow — one request on its way through the pipeline: the per-request context, the stage
 * table and the one h2o handler registered on "/".
 *
 * A flow lives in the request's pool and is released with it; when it is released the
 * response has been sent, and the flow writes the request's IIS line into the log of the
 * server that answered it and, for what went through an Exchange 2013+ front end's HttpProxy
 * module, its HttpProxy line. Stages (routing, authentication, the endpoint) run in order from
 * one table; each passes the request on (FLOW_NEXT) or answers it (FLOW_DONE), and leaves a
 * short line in the flow's "why" trail.
 */
#ifndef MRSMOCK_FLOW_H
#define MRSMOCK_FLOW_H

#include <stddef.h>
#include <stdint.h>

#define H2O_USE_LIBUV 0
#include <h2o.h>

#include "listener.h"
#include "scenario.h"

#define FLOW_NEXT 0
#define FLOW_DONE 1

struct flow;

/* Which IIS virtual directory a path belongs to (its authentication settings apply). */
enum flow_vdir {
    FLOW_VDIR_NONE,
    FLOW_VDIR_EWS,
    FLOW_VDIR_AUTODISCOVER,
};

/* A row of the routing table: a path (matched case-insensitively, as IIS does) and what
 * answers it once authentication has passed. */
struct flow_route {
    const char *path; /* lower case */
    int prefix;       /* 1: PATH is a folder prefix; 0: exact (a trailing "/" is ignored) */
    enum flow_vdir vdir;
    int (*endpoint)(struct flow *f); /* NULL: the folder exists but this file does not (404) */
    const char *const *headers;      /* name, value, ...; on every answer, 401s included */
    int anonymous;                   /* served without authentication (Autodiscover v2) */
};

struct flow {
    h2o_req_t *req;
    struct lsn_conn *conn; /* the connection; valid while stages run, not at dispose */
    struct lsn_gen *gen;   /* the connection's generation; one reference */
    size_t listener_index; /* in gen->scn->listeners and gen->ports */
    struct scn *scn;       /* the connection's scenario (gen->scn) */
    const struct scn_listener *listener;
    struct scn_server *server; /* the server that answers */
    size_t server_index;
    const struct flow_route *route;
    const struct scn_vdir *vdir; /* NULL outside a virtual directory */
    /* what authentication found */
    const struct scn_account *account; /* NULL: anonymous */
    h2o_iovec_t username;              /* cs-username as IIS logs it; empty = "-" */
    const char *auth_scheme;           /* the scheme that logged on: "Basic", "NTLM" or "Negotiate";
                                          NULL: anonymous */
    /* the front end's view of the answer (2013+: the HttpProxy log) */
    int backend;             /* an endpoint answered: the front end proxied the request to it */
    const char *proxy_error; /* the HttpProxy module refused the request itself with this
                                exception message (never proxied); NULL: it did not */
    /* the IIS log's view of the answer (sc-status is req->res.status) */
    unsigned substatus;
    uint32_t win32_status;
    const char *reason;  /* reason phrase overriding IIS's usual one (WCF's 415) */
    int native;          /* answered by IIS before Exchange's modules ran: no cafeReqId */
    char request_id[37]; /* request-id header and cafeReqId */
    char local_ip[48], peer_ip[48]; /* s-ip and c-ip */
    char why[512];                  /* "stage: decision; ..." */
    size_t why_len;
};

/* Registers the handler (and nothing else) on PATHCONF. */
void flow_register(h2o_pathconf_t *pathconf);

/* Appends "stage: text" to the why trail (cut when full). */
void flow_why(struct flow *f, const char *stage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds a response header; NAME as it appears on HTTP/1.1; VALUE is copied into the pool. */
void flow_header(struct flow *f, const char *name, const char *value, size_t len);

/*
 * Sends the response: STATUS with the reason phrase IIS uses, the headers every IIS/Exchange
 * response carries (Server of the server's Windows version, X-Powered-By, and for Exchange
 * answers request-id and the front-end headers), CONTENT_TYPE (NULL: none) and BODY (copied).
 * SUBSTATUS and WIN32 are what IIS logs for it. Returns FLOW_DONE.
 */
int flow_send(struct flow *f, int status, unsigned substatus, uint32_t win32,
              const char *content_type, h2o_iovec_t body);
/* An answer IIS gives before Exchange's application runs (its HTTP Redirect module, say): no
 * front-end headers, and no cafeReqId in the IIS line. Returns FLOW_DONE. */
int flow_send_native(struct flow *f, int status, unsigned substatus, uint32_t win32,
                     const char *content_type, h2o_iovec_t body);
/* IIS's own error page for STATUS (404, 403, 405, 413, 500, ...). Returns FLOW_DONE. */
int flow_send_iis_error(struct flow *f, int status, unsigned substatus, uint32_t win32);

/* URL as the client must use it to reach this server: when the URL's host is one the listener
 * serves, its scheme and port become the listener's (no port for https on 443). From the pool. */
h2o_iovec_t flow_public_url(struct flow *f, const char *url);

/* Resets the HTTP/2 stream of F with HTTP_1_1_REQUIRED, as IIS does when Windows
 * authentication is asked for over HTTP/2: the client retries over HTTP/1.1. The request
 * leaves no IIS line (it was never answered). Only for HTTP/2 requests. Returns FLOW_DONE. */
int flow_require_http11(struct flow *f);

/* The Host header (HTTP/1.1) or :authority (HTTP/2); empty if none. */
h2o_iovec_t flow_host(struct flow *f);

#endif
