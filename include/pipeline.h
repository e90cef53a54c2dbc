/*
 * pipeline — the request stages of every emulated server, in order, and the routing table:
 * the one h2o handler registered on "/" (DESIGN.md, "One request, end to end").
 *
 * This module alone includes the stages' and endpoints' headers; they include only the request
 * API (flow.h). A new stage is its module plus one row of the stage table in pipeline.c; a new
 * endpoint, one row of the routing table; a new consumer of finished requests (a log, the
 * journal, metrics), one row of the logger table.
 */
#ifndef MRSMOCK_PIPELINE_H
#define MRSMOCK_PIPELINE_H

#define H2O_USE_LIBUV 0
#include <h2o.h>

/* Brings the stages' own state back to its start: NTLM handshakes and logons held by
 * connections, WS-RM sessions. Any thread. */
void pipeline_reset(void);
struct conn_worker;
/* What the stages do on every worker's tick (lsn_on_tick), on its thread: HTTP.sys's
 * connection timers. */
void pipeline_tick(struct conn_worker *w);
/* The name of request stage I, in order; NULL past the last (tests hold it to the model's
 * scn_stage_name(), the names fault rules use). */
const char *pipeline_stage_name(size_t i);
/* Registers the pipeline's handler (and nothing else) on PATHCONF. */
void pipeline_register(h2o_pathconf_t *pathconf);

struct flow_route;
/* The row of the routing table a normalised PATH (h2o's path_normalized) reaches, or NULL (IIS's
 * 404): what the route stage matches, for the fuzz target of paths. */
const struct flow_route *pipeline_route(h2o_iovec_t path);

#endif
