/*
 * faults — the scenario's fault rules (<faults>, scenario.h: struct scn_fault) at the stages
 * of a request: what the model does not describe, injected where a rule says, for the requests
 * its <when> picks. Rules are tried in order before each stage runs; the first that picks the
 * request acts, and says so in the why trail:
 *   status      an answer of its own (status, headers, body), from whoever answers at that
 *               stage (a device before the route, IIS up to Require SSL, the front end up to
 *               the endpoint, the application there; <fault by> says otherwise), with the log
 *               lines that sender leaves;
 *   delay       the stage runs DELAY later;
 *   reset       a TCP reset, no answer, no server log line;
 *   close       a FIN without an answer ("empty reply"), no server log line;
 *   hang        no answer until the client gives up (at most DELAY, else an hour);
 *   truncate    the eventual answer's body cut after BYTES (default: half), then the
 *               connection closed;
 *   bad-length  the eventual answer claims BYTES (default 100) more in Content-Length than it
 *               sends, on a connection kept open: the client waits for bytes that never come.
 * A rule's request numbers count, from 1, the requests that reach its stage and meet its other
 * criteria; its chance (percent) is drawn from the seed, the rule and that number alone, so the
 * same seed and the same requests give the same choices, whatever the threads. A reload starts
 * the counts again.
 */
#ifndef MRSMOCK_FAULTS_H
#define MRSMOCK_FAULTS_H

#include <stdint.h>

#include "flow.h"
#include "scenario.h"

/* The pipeline's before-stage hook (struct flow's before_stage). */
int faults_before(struct flow *f);

/* Whether rule number INDEX of a scenario seeded SEED, with its static criteria met, picks its
 * K-th request (from 1) at MS milliseconds since the load. Exposed for tests. */
int faults_pick(const struct scn_fault *r, unsigned seed, size_t index, uint64_t k, uint64_t ms);

#endif
