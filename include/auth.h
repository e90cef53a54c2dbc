/*
 * auth — IIS authentication on a virtual directory: the challenges its settings offer, and
 * the credentials a client sends: Basic, NTLM, and Negotiate carrying NTLM raw or wrapped in
 * SPNEGO (token formats in ntlm_ and spnego_), then the directory's authorization rules.
 *
 * A request without credentials gets the anonymous challenge (401.2, Win32 5) with one
 * WWW-Authenticate header per enabled method, in IIS's order: Negotiate, NTLM, then
 * Basic realm="<host>". The IIS log triples: Basic failure 401 1 1326; NTLM middle leg
 * 401 1 2148074254; NTLM failure 401 1 2148074252; garbled or out-of-context token
 * 401 1 2148074248; success 200 0 0 with cs-username DOMAIN\user (Basic: as typed). Over
 * HTTP/2, Windows authentication sends the client back to HTTP/1.1 (HTTP_1_1_REQUIRED).
 */
#ifndef MRSMOCK_AUTH_H
#define MRSMOCK_AUTH_H

#include "flow.h"
#include "scenario.h"

/* Makes every connection forget its handshake and logon (the admin API's reset): each is
 * challenged anew. Any thread. */
void auth_reset(void);

/* The stage: the route's virtual directory authenticates the request, unless the route is
 * anonymous (FLOW_ROUTE_ANONYMOUS). */
int auth_stage(struct flow *f);

/* Authenticates F against virtual directory V. FLOW_NEXT with f->account and f->username set,
 * or FLOW_DONE when the request was answered with a 401. */
int auth_check(struct flow *f, const struct scn_vdir *v);

/* Checks USER (as typed: DOMAIN\user, user@upn-suffix or user) and PASSWORD against the
 * scenario's accounts, comparing passwords in constant time. The account, or NULL. */
const struct scn_account *auth_logon(const struct scn *s, const char *user, size_t ulen,
                                     const char *password, size_t plen);

#endif
