/*
 * vdir — the rules of an IIS virtual directory that are not authentication: Require SSL, and
 * the size of the message the service behind it accepts. Stages (flow.h).
 */
#ifndef MRSMOCK_VDIR_H
#define MRSMOCK_VDIR_H

#include "flow.h"

/* IIS's "Require SSL" on Exchange's virtual directories: over plain HTTP a route answers with
 * its plain_http endpoint (Autodiscover's HTTP redirect method) or IIS's 403.4. */
int vdir_require_ssl(struct flow *f);
/* A body over the scenario's max-request-body: 413, as WCF refuses a message over its
 * maxReceivedMessageSize, after authentication. */
int vdir_body_limit(struct flow *f);

#endif
