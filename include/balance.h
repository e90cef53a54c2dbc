/*
 * balance — a layer 7 balancer's request stage and its log (balancer.h has the balancer): TLS
 * ended on the balancer with the listener's certificate, each request goes to the member its
 * policy chooses (the persistence cookie SERVERID with policy="cookie"), and each request
 * leaves an httplog line. Connection-bound NTLM breaks when two requests of one handshake land
 * on different members, as it does behind such a balancer. With no member up the balancer
 * answers 503 itself, as HAProxy does.
 */
#ifndef MRSMOCK_BALANCE_H
#define MRSMOCK_BALANCE_H

#include "flow.h"

int balance_stage(struct flow *f);
/* The logger (struct flow_logger): the request's httplog line. */
void balance_log(struct flow *f, const struct timeval *now);

#endif
