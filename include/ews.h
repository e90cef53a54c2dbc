/*
 * ews — Exchange Web Services, /EWS/Exchange.asmx: the operations clients use to probe a server
 * and learn its version, answered with the ServerVersionInfo of the configured version and
 * build; anything else gets the error a real server gives.
 */
#ifndef MRSMOCK_EWS_H
#define MRSMOCK_EWS_H

#include "flow.h"

/* Endpoint of /EWS/Exchange.asmx (after authentication). FLOW_DONE. */
int ews_asmx(struct flow *f);

#endif
