/*
 * publish — the reverse-proxy part of a listener's firewall (<publish>, firewall.h has the
 * device): TMG, UAG or the Web Application Proxy publishing the organisation's paths. With
 * publishing rules, a path none of them covers is refused by the device; a rule that
 * pre-authenticates answers with the device's own logon instead of passing the request on, so
 * the MRS client meets no Negotiate, NTLM or Basic challenge and no SOAP (the article: "If your
 * firewall requires pre-authentication ... these configurations are not supported in remote
 * moves scenarios"). Neither leaves a line in a server's logs; both leave a DROP line in the
 * device's.
 *
 * What the client sees:
 *   a path not published   403 with TMG's error page and its reason phrase, "Forefront TMG
 *                          denied the specified Uniform Resource Locator (URL). (12202)";
 *   pre-auth="forms"       302 to the device's /CookieAuth.dll?GetLogon?curl=... form (TMG and
 *                          UAG's forms-based authentication), which the device serves;
 *   pre-auth="adfs"        307 to the AD FS server's /adfs/ls/ sign-in (the Web Application
 *                          Proxy's pre-authentication), which is not in the lab.
 */
#ifndef MRSMOCK_PUBLISH_H
#define MRSMOCK_PUBLISH_H

#include "flow.h"

/* The request stage. */
int publish_stage(struct flow *f);

#endif
