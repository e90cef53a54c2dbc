/*
 * frontend — an Exchange 2013+ front end's HttpProxy module: where it proxies a request that
 * reached it, and what it answers when the back end cannot take it. A stage (flow.h).
 *
 * Routing, in the module's order: the MRS Proxy's X-BackEndCookie (set by this front end on
 * its first answer, sent back by the migration service), the mailbox named by the URL
 * (Autodiscover v2) or by X-AnchorMailbox, the caller's own mailbox (its identity); otherwise
 * — the MRS Proxy's organisation-wide requests, anonymous ones, a caller without a mailbox — a
 * back end of the organisation "at random": the 2013+ servers in turn, in arrival order across
 * the worker threads, dead ones and passive ones included, as a server object left in Active
 * Directory still is. Before routing an MRS Proxy request, the caller's recipient is resolved:
 * an address of it in a domain the organisation does not accept fails that lookup. A back end whose
 * machine is gone does not answer; one whose Mailbox Replication service is stopped answers the MRS
 * Proxy's request with HTTP.sys's 503. The front end then answers 503 itself and its HttpProxy line
 * says why (TargetServer, BackEndStatus, GenericErrors).
 */
#ifndef MRSMOCK_FRONTEND_H
#define MRSMOCK_FRONTEND_H

#include "flow.h"

int frontend_stage(struct flow *f);
/* Starts the back end turn again (an admin reset). */
void frontend_reset(void);

#endif
