/*
 * autodiscover — the Autodiscover virtual directory of an Exchange server: POX
 * (/autodiscover/autodiscover.xml, MS-OXDSCLI), SOAP (/autodiscover/autodiscover.svc,
 * MS-OXWSADISC: GetUserSettings and GetDomainSettings), JSON (Autodiscover v2,
 * /autodiscover/autodiscover.json) and, on a plain-HTTP listener, the unauthenticated redirect
 * of Autodiscover's HTTP redirect method.
 *
 * What a server answers follows from the scenario. The mailbox's server gives the URLs (its EWS
 * virtual directory) and the Outlook Anywhere host name (POX EXPR Server, SOAP
 * ExternalMailboxServer: the host the migration service then looks for the MRS Proxy on); an
 * account whose mailbox moved is redirected (redirect-addr); the answering server's Autodiscover
 * directory may redirect every request (redirect-url). URLs handed out reach mrsmock again.
 *
 * The answers are computed without a socket, from the request's parts, the scenario and the
 * server answering, into a pool (ad_*_answer); the four endpoints only carry a flow to them and
 * the answer back. Files: autodiscover.c (POX, the HTTP redirect, naming shared by all),
 * autodiscover_soap.c, autodiscover_settings.c (GetUserSettings' settings), autodiscover_json.c;
 * private helpers in src/autodiscover_int.h.
 */
#ifndef MRSMOCK_AUTODISCOVER_H
#define MRSMOCK_AUTODISCOVER_H

#include <stdint.h>

#include "flow.h"
#include "scenario.h"

/* What an answer is computed from. */
struct ad_ctx {
    const struct scn *scn;
    const struct scn_server *server; /* the server answering (its Autodiscover directory) */
    h2o_mem_pool_t *pool;            /* everything the answer points to lives here */
    /* The URL as a client must use it to reach mrsmock again (flow_public_url, widened to every
     * listener), in POOL; NULL: URLs are handed out as the scenario writes them. */
    h2o_iovec_t (*public_url)(void *arg, const char *url);
    void *arg;
};

/* An answer, ready to send. Strings and the body belong to the context's pool. */
struct ad_answer {
    struct iis_status st;     /* the status and the IIS line's substatus and Win32 status */
    int iis_error;            /* 1: IIS's own error page for st (content_type, body unused) */
    const char *reason;       /* reason phrase other than IIS's usual one, or NULL */
    const char *content_type; /* NULL: no Content-Type */
    const char *location;     /* Location header, or NULL */
    h2o_iovec_t body;
    char why[200]; /* what was decided and because of which setting (the flow's trail) */
    int keep;      /* the same request gets the same answer in this generation (flow_cache) */
};

/* Endpoint of /autodiscover/autodiscover.xml (after authentication). FLOW_DONE. */
int ad_pox(struct flow *f);
/* Endpoint of /autodiscover/autodiscover.svc: SOAP GetUserSettings / GetDomainSettings. */
int ad_soap(struct flow *f);
/* Endpoint of /autodiscover/autodiscover.json/v1.0/{address} and ?Email=: anonymous. */
int ad_json(struct flow *f);
/* /autodiscover/autodiscover.xml over plain HTTP (a listener without TLS): the unauthenticated
 * redirect of Autodiscover's HTTP redirect method, to the HTTPS URL of a TLS listener. */
int ad_http_redirect(struct flow *f);

/* POX: METHOD and BODY of the request. Always 200 with XML, as Exchange answers. */
void ad_pox_answer(const struct ad_ctx *c, h2o_iovec_t method, h2o_iovec_t body,
                   struct ad_answer *a);
/* SOAP: CONTENT_TYPE and SOAP_ACTION are the request's headers, empty when absent. */
void ad_soap_answer(const struct ad_ctx *c, h2o_iovec_t method, h2o_iovec_t content_type,
                    h2o_iovec_t soap_action, h2o_iovec_t body, struct ad_answer *a);
/* JSON: TAIL is the raw request path after "/autodiscover/autodiscover.json", query included
 * ("/v1.0/user%40contoso.com?Protocol=EWS" or "?Email=...&Protocol=..."). */
void ad_json_answer(const struct ad_ctx *c, h2o_iovec_t tail, struct ad_answer *a);
/* The HTTP redirect: HOST is the Host header (its port is dropped; empty: the server's FQDN),
 * PORTS the port each listener of S is bound to. */
void ad_redirect_answer(const struct scn *s, const struct scn_server *server, const unsigned *ports,
                        h2o_iovec_t host, h2o_mem_pool_t *pool, struct ad_answer *a);

/* The 8-hex-digit ServerVersion of MS-OXDSCLI for BUILD (e.g. 15.1.2507 -> "73C189CB"). */
void ad_server_version_hex(const unsigned build[4], char out[9]);

#endif
