/*
 * metrics — counters for the admin API's GET /metrics (Prometheus text exposition): requests by
 * server, endpoint, who answered and IIS status triple; connections accepted and open.
 *
 * Workers count without a lock: a request's series is found in a fixed open-addressing table
 * of atomic counters (a new series claims its slot with one compare-and-swap); series past the
 * table's size are counted together as overflow. The admin thread reads the table as it is.
 */
#ifndef MRSMOCK_METRICS_H
#define MRSMOCK_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct flow;
struct timeval;

/* The pipeline's logger row: counts F. */
void metrics_log(struct flow *f, const struct timeval *now);
/* What counts connections (conn_observe). */
extern const struct conn_observer metrics_conn_observer;
/* Appends the exposition text of every series to BUF (malloc'ed, *LEN bytes; the caller frees
 * it). JOURNAL_*: the journal's counts, UPTIME in seconds. */
char *metrics_render(size_t *len, uint64_t journal_written, uint64_t journal_dropped,
                     uint64_t uptime);
/* Forgets every request series (POST /reset); connection counts stay. */
void metrics_reset(void);

#endif
