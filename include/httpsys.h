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

/* The logger (struct flow_logger) behind HTTP.sys's idle timer: a keep-alive HTTP/1.1
 * connection that carried a request and is then closed by the idle timer (the scenario's
 * idle-timeout, IIS's connectionTimeout) leaves a Timer_ConnectionIdle line in its server's
 * HTTPERR log, with its addresses and nothing of a request; one the client closes first
 * leaves none. (HTTP/2's idle close is h2o's own GOAWAY: not logged.) */
void httpsys_log(struct flow *f, const struct timeval *now);

#endif
