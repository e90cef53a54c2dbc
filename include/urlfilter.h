/*
 * urlfilter — the request part of a listener's firewall (<url-filter>, firewall.h has the
 * device): its inbound TLS inspection holds the published server's certificate and key, so the
 * client sees the server's certificate and the firewall reads the decrypted request. A request
 * whose path a filter names (itself or below it, without case) is stopped before the balancer
 * and the server: no line in any server's logs, a DROP line in the firewall's; every other
 * request passes (the rest of /EWS reaches IIS).
 *
 * What the client sees of each action:
 *   block-page  403 Forbidden with the device's own page, modelled on a FortiGate's URL block
 *               replacement message ("The page you have requested has been blocked, because the
 *               URL is banned."), no Server header of IIS, no WWW-Authenticate: WCF reports "The
 *               HTTP request was forbidden with client authentication scheme '...'";
 *   reset       the TCP connection reset (no answer);
 *   hang        no answer: the request is held until the client gives up (after an hour, the
 *               firewall's session timeout, the connection is reset).
 */
#ifndef MRSMOCK_URLFILTER_H
#define MRSMOCK_URLFILTER_H

#include <stddef.h>

#include "flow.h"
#include "scenario.h"

/* The request stage. */
int urlfilter_stage(struct flow *f);

/* The first of M's URL filters that matches PATH (LEN bytes), or NULL. Exposed for tests. */
const struct scn_url_filter *urlfilter_match(const struct scn_firewall *m, const char *path,
                                             size_t len);

#endif
