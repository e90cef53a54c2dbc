/*
 * autodiscover — the Autodiscover endpoints of an Exchange server's Autodiscover virtual
 * directory. This module answers POX (/autodiscover/autodiscover.xml, MS-OXDSCLI): a known
 * mailbox gets its User and Account blocks with the EXCH (internal) and EXPR (external)
 * protocols, whose URLs come from the mailbox server's EWS virtual directory and reach this
 * listener; anything else the Error response real servers give.
 */
#ifndef MRSMOCK_AUTODISCOVER_H
#define MRSMOCK_AUTODISCOVER_H

#include "flow.h"

/* Endpoint of /autodiscover/autodiscover.xml (after authentication). FLOW_DONE. */
int ad_pox(struct flow *f);
/* Endpoint of /autodiscover/autodiscover.svc: SOAP GetUserSettings / GetDomainSettings. */
int ad_soap(struct flow *f);
/* Endpoint of /autodiscover/autodiscover.json/v1.0/{address} and ?Email=: anonymous. */
int ad_json(struct flow *f);
/* /autodiscover/autodiscover.xml over plain HTTP (a listener without TLS): the unauthenticated
 * redirect of Autodiscover's HTTP redirect method, to the HTTPS URL of a TLS listener. */
int ad_http_redirect(struct flow *f);

/* The 8-hex-digit ServerVersion of MS-OXDSCLI for BUILD (e.g. 15.1.2507 -> "73C189CB"). */
void ad_server_version_hex(const unsigned build[4], char out[9]);

#endif
