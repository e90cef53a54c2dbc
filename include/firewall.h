/*
 * firewall — a firewall in front of a listener (<firewall>), in one generation: its source-
 * address rules, run as a connection stage before the balancer and the TLS handshake, and its
 * log (fwlog.h), which the URL filter (urlfilter.h) writes to as well.
 *
 * What a client sees of each action, on loopback and without privileges: the kernel completes
 * the TCP handshake of every connection once listen() runs, so no SYN can be left unanswered
 * for some sources only. "drop" and "hang" therefore both accept the connection and never answer
 * it (the client's TLS handshake times out, where behind a real firewall that drops it its
 * connect would); "reset" closes it with a TCP RST (SO_LINGER 0) before any byte. A connection
 * the firewall stops reaches neither the balancer nor a server: no line in their logs, one DROP
 * line (hang: ALLOW, the rules let it through) in the firewall's.
 *
 * Ownership: a struct fw belongs to the generation that made it; a connection it holds does not
 * need it any more (its line is written at accept).
 */
#ifndef MRSMOCK_FIREWALL_H
#define MRSMOCK_FIREWALL_H

#include <stddef.h>

#include "scenario.h"

struct fw;

/* Builds the firewall of listener L (which has one), logging under LOGS_DIR/<name>/. NULL with
 * a cause in ERR. */
struct fw *fw_new(const struct scn_listener *l, const char *logs_dir, char *err, size_t errlen);
void fw_free(struct fw *f);

/* The firewall's model. */
const struct scn_firewall *fw_model(const struct fw *f);

/* The rule that decides for source address IP (numeric), or NULL when none matches (the
 * firewall's default applies). */
const struct scn_fw_rule *fw_rule_for(const struct scn_firewall *m, const char *ip);
/* The first SNI filter of M that covers host NAME, or NULL (NAME NULL: a hello without SNI,
 * which none covers). */
const struct scn_sni_filter *fw_sni_filter_for(const struct scn_firewall *m, const char *name);

/* Writes one line of F's log: ALLOW or DROP of the connection from SRC to DST, decided by INFO
 * (no spaces); SYN: the line stands for the connection's SYN. */
void fw_log(struct fw *f, int allow, const char *src_ip, unsigned src_port, const char *dst_ip,
            unsigned dst_port, int syn, const char *info);

#endif
