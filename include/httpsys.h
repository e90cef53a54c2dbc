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

/* HTTP.sys's connection timers, run by every worker's tick (lsn_on_tick) over its HTTP/1.1
 * connections, with the limits of the scenario in force:
 * - idle-timeout (IIS connectionTimeout) from the end of a connection's last request, or from
 *   its accept: the connection is closed, and one that carried a request leaves a
 *   Timer_ConnectionIdle line in its server's HTTPERR log (its addresses, nothing of a request);
 * - header-wait-timeout (headerWaitTimeout) from a request's first byte: closed unanswered,
 *   with a Timer_HeaderWait line, however steadily the bytes come;
 * - entity-body-timeout (EntityBody) while a request's body is coming, from its last byte:
 *   closed unanswered, with a Timer_EntityBody line that names the request and the queue
 *   ROUTE finds for its path on its server (NULL: none);
 * - min-bytes-per-second (minBytesPerSecond) while libh2o waits for the client to take an
 *   answer: reset once the client is more than the answer's size behind that rate, with a
 *   Timer_MinBytesPerSecond line of the connection, and 1236 in the request's IIS line; over
 *   HTTP/2 (this timer only) the connection is timed, and may fall behind by the write it
 *   waits on, at most 65535 bytes.
 * A connection the client closes first leaves no line. (HTTP/2's idle close is h2o's own
 * GOAWAY: not logged.) */
struct conn_worker;
typedef const struct scn_vdir *httpsys_route_fn(const struct scn_server *sv, h2o_iovec_t path);
void httpsys_tick(struct conn_worker *w, httpsys_route_fn *route);
/* The logger (struct flow_logger) that tells the timers a request of the connection ended, and
 * marks one whose answer the send timer cut (run before the lines are written). */
void httpsys_log(struct flow *f, const struct timeval *now);

#endif
