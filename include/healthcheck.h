/*
 * healthcheck — /<vdir>/healthcheck.htm, the page Managed Availability serves on Exchange 2013
 * and later for each protocol, which load balancers and administrators read: 200 while the
 * protocol is healthy on that server. An endpoint (flow.h).
 */
#ifndef MRSMOCK_HEALTHCHECK_H
#define MRSMOCK_HEALTHCHECK_H

#include "flow.h"

/* "200 OK<br/>" and the server's FQDN, anonymously, from the front end; 404 on Exchange 2010,
 * which has no Managed Availability. A stopped application pool never gets here: HTTP.sys
 * answers 503 first, which is what takes a member out of an HTTP-checking balancer. */
int hc_page(struct flow *f);

#endif
