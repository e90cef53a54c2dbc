/*
 * httpsys — what HTTP.sys answers itself, before IIS sees a request: today a virtual
 * directory whose application pool is stopped (by an administrator, or by rapid-fail
 * protection). A stage (flow.h).
 */
#ifndef MRSMOCK_HTTPSYS_H
#define MRSMOCK_HTTPSYS_H

#include "flow.h"

/* The request queue of the route's application pool: a stopped pool's is disabled, and
 * HTTP.sys answers 503 itself (Server: Microsoft-HTTPAPI/2.0, its own page), leaving a line in
 * the server's HTTPERR log (Disabled, or AppOffline after rapid-fail protection, with the
 * queue's name) and none in IIS's. */
int httpsys_stage(struct flow *f);

#endif
