/*
 * mrsproxy — the MRS Proxy endpoint, /EWS/mrsproxy.svc: a WCF service inside the EWS virtual
 * directory (Exchange 2010) or behind the front end's HttpProxy module (2013+).
 *
 * Here: what a browser or a probe meets after authentication — the WCF service page with
 * metadata publishing disabled when MRSProxyEnabled is true, the front end's 403 when it is
 * false — and WCF's own answers to requests it cannot take. The SOAP operations and WS-RM
 * sessions (mrs_, wsrm_) come with the endpoints issue.
 */
#ifndef MRSMOCK_MRSPROXY_H
#define MRSMOCK_MRSPROXY_H

#include "flow.h"

/* Endpoint of /EWS/mrsproxy.svc (after authentication). FLOW_DONE. */
int mrs_svc(struct flow *f);

#endif
