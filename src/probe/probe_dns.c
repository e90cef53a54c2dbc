/*
 * probe_dns — the last step of Autodiscover's order (reference 1.5, step 4): the SRV record
 * _autodiscover._tcp.<domain>, asked of the system's resolver (/etc/resolv.conf) or of --dns,
 * through glibc's libresolv: res_nquery on a private res_state, the answer read with
 * ns_initparse / ns_parserr / dn_expand (never by hand). The wait is bounded by --timeout, so a
 * machine without a reachable DNS server does not hang. What DNS said, or why it said nothing,
 * goes into a note in the words a support engineer checks with nslookup.
 *
 * Ownership: the res_state and the answer buffer live for one call; nothing is kept.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "probe_int.h"

/* Who was asked, as people write it: "127.0.0.1:5353", "10.0.0.53" (port 53 left out). */
static void server_name(const struct sockaddr_in *sa, char *out, size_t len)
{
    char a[INET_ADDRSTRLEN] = "?";
    unsigned port = ntohs(sa->sin_port);

    if (sa->sin_family != AF_INET) {
        snprintf(out, len, "the first server of /etc/resolv.conf");
        return;
    }
    inet_ntop(AF_INET, &sa->sin_addr, a, sizeof(a));
    if (port == 53)
        snprintf(out, len, "%s", a);
    else
        snprintf(out, len, "%s:%u", a, port);
}

/* The nslookup command that asks what the probe asked, into OUT. */
static void nslookup_hint(const struct probe_ctx *c, const struct sockaddr_in *sa, const char *name,
                          char *out, size_t len)
{
    char a[INET_ADDRSTRLEN] = "?";
    unsigned port = ntohs(sa->sin_port);

    if (c->o->dns == NULL) {
        snprintf(out, len, "nslookup -type=SRV %s", name);
        return;
    }
    inet_ntop(AF_INET, &sa->sin_addr, a, sizeof(a));
    if (port == 53)
        snprintf(out, len, "nslookup -type=SRV %s %s", name, a);
    else /* nslookup takes its options before the name only */
        snprintf(out, len, "nslookup -type=SRV -port=%u %s %s", port, name, a);
}

/* The DNS names of the response codes res_nquery turns into NO_RECOVERY. */
static const char *rcode_name(unsigned rcode)
{
    static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                        "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                        "NXRRSET", "NOTAUTH", "NOTZONE"};
    return rcode < sizeof(names) / sizeof(names[0]) ? names[rcode] : "an unknown response code";
}

/* Reads the LEN-byte answer ANS: the SRV record clients follow into OUT. 0, or -1 with why
 * none in WHY. RFC 2782 picks at random, weighted, among the records of the lowest priority;
 * the probe takes the heaviest of them (the first in DNS order on a tie), so that a run can be
 * repeated and the record named is the one most clients reach most often. */
static int pick_srv(const unsigned char *ans, int len, struct probe_srv *out, char *why,
                    size_t wlen)
{
    ns_msg msg;
    ns_rr rr;
    int found = 0;

    if (ns_initparse(ans, len, &msg) != 0) {
        snprintf(why, wlen, "an answer that is not DNS (%d bytes that do not parse)", len);
        return -1;
    }
    for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
        const unsigned char *rd;
        char target[NS_MAXDNAME];
        unsigned prio, weight;

        if (ns_parserr(&msg, ns_s_an, i, &rr) != 0) {
            snprintf(why, wlen, "an answer whose record %d does not parse", i + 1);
            return -1;
        }
        /* priority, weight, port (16 bits each), then the target, a compressed name */
        if (ns_rr_type(rr) != ns_t_srv || ns_rr_class(rr) != ns_c_in || ns_rr_rdlen(rr) < 7)
            continue;
        rd = ns_rr_rdata(rr);
        if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd + 6, target, sizeof(target)) < 0)
            continue;
        out->count++;
        prio = ns_get16(rd);
        weight = ns_get16(rd + 2);
        if (found && (prio > out->priority || (prio == out->priority && weight <= out->weight)))
            continue;
        found = 1;
        out->priority = prio;
        out->weight = weight;
        out->port = ns_get16(rd + 4);
        PROBE_COPY(out->target, target);
    }
    if (!found) {
        snprintf(why, wlen, "no answer: an answer without an SRV record");
        return -1;
    }
    /* RFC 2782: a target of "." says the service is decidedly not offered at this domain */
    if (out->target[0] == '\0' || strcmp(out->target, ".") == 0) {
        snprintf(why, wlen,
                 "the record's target is \".\" (priority %u, weight %u): the domain says it "
                 "offers no Autodiscover service by SRV (RFC 2782)",
                 out->priority, out->weight);
        return -1;
    }
    return 0;
}

int probe_srv_lookup(struct probe_ctx *c, const char *domain, struct probe_srv *out, char *note,
                     size_t len)
{
    struct __res_state st;
    unsigned char *ans = NULL;
    char name[300], server[80], hint[400], why[400];
    unsigned secs = c->o->timeout_ms / 1000 != 0 ? c->o->timeout_ms / 1000 : 1;
    int n, rc = -1;

    memset(out, 0, sizeof(*out));
    memset(&st, 0, sizeof(st));
    snprintf(name, sizeof(name), "_autodiscover._tcp.%s", domain);
    if (res_ninit(&st) != 0) {
        snprintf(note, len,
                 "SRV %s: not looked up: the resolver could not start (/etc/resolv.conf); see it "
                 "with nslookup -type=SRV %s",
                 name, name);
        return -1;
    }
    if (c->o->dns != NULL) {
        st.nsaddr_list[0] = c->o->dns_addr;
        st.nscount = 1;
    }
    /* --timeout bounds the whole wait. In one try glibc waits RETRANS seconds for the first
     * server and about as long for each other one (retrans << i, divided by their count), and
     * makes RETRY tries: two when each still waits 2 s or more (UDP may lose a datagram), else
     * one. */
    unsigned per = secs / (unsigned)(st.nscount > 0 ? st.nscount : 1);
    st.retry = per >= 4 ? 2 : 1;
    st.retrans = (int)(per / (unsigned)st.retry) != 0 ? (int)(per / (unsigned)st.retry) : 1;
    server_name(&st.nsaddr_list[0], server, sizeof(server));
    if (c->o->dns == NULL && st.nscount > 1)
        snprintf(server + strlen(server), sizeof(server) - strlen(server), " (and %d more)",
                 st.nscount - 1);
    nslookup_hint(c, &st.nsaddr_list[0], name, hint, sizeof(hint));

    if ((ans = calloc(1, NS_MAXMSG)) == NULL)
        fatalx("out of memory");
    errno = 0;
    n = res_nquery(&st, name, ns_c_in, ns_t_srv, ans, NS_MAXMSG);
    if (n >= 0) {
        if (pick_srv(ans, n > NS_MAXMSG ? NS_MAXMSG : n, out, why, sizeof(why)) == 0) {
            char of[80] = "";
            if (out->count > 1)
                snprintf(of, sizeof(of), "; the lowest priority, highest weight of %u records",
                         out->count);
            snprintf(note, len, "SRV %s: %s:%u (priority %u, weight %u%s), from %s", name,
                     out->target, out->port, out->priority, out->weight, of, server);
            rc = 0;
        } else {
            snprintf(note, len, "SRV %s: %s, from %s; see it with %s", name, why, server, hint);
        }
        goto done;
    }
    /* res_nquery read the answer into ANS when one came: its header's code tells a server
     * failure or a refusal from a timeout, which glibc reports alike (TRY_AGAIN) */
    const HEADER *hp = (const HEADER *)ans;
    if (hp->qr && hp->rcode == ns_r_servfail)
        snprintf(why, sizeof(why),
                 "server failure (%s answered SERVFAIL: it could not resolve the name; a broken "
                 "delegation, or an authoritative server it cannot reach)",
                 server);
    else if (hp->qr && hp->rcode != ns_r_noerror && hp->rcode != ns_r_nxdomain)
        snprintf(why, sizeof(why), "%s (%s answered %s%s)",
                 hp->rcode == ns_r_refused ? "refused" : "an error", server, rcode_name(hp->rcode),
                 hp->rcode == ns_r_refused ? ": it does not resolve names for this client" : "");
    else if (st.res_h_errno == HOST_NOT_FOUND)
        snprintf(why, sizeof(why), "no such record (%s answered NXDOMAIN: the name does not exist)",
                 server);
    else if (st.res_h_errno == NO_DATA)
        snprintf(why, sizeof(why),
                 "no answer (%s answered NOERROR without an SRV record: the name exists, the "
                 "record does not)",
                 server);
    else if (hp->qr && st.res_h_errno == TRY_AGAIN)
        /* glibc skips an answer without records that is neither authoritative nor recursive:
         * a referral from a server that does not resolve for clients */
        snprintf(why, sizeof(why),
                 "no answer (%s answered with a referral, not authoritative and without "
                 "recursion: it does not resolve names for this client)",
                 server);
    else if (errno == ECONNREFUSED)
        snprintf(why, sizeof(why),
                 "no DNS server answered: the query to %s was refused (nothing listens on that "
                 "address and port, a firewall rejects it, or there is no route to it)",
                 server);
    else if (st.res_h_errno == TRY_AGAIN)
        snprintf(why, sizeof(why), "timed out: no answer from %s within %u s (--timeout)", server,
                 secs);
    else
        snprintf(why, sizeof(why), "no answer from %s (%s)", server, hstrerror(st.res_h_errno));
    snprintf(note, len, "SRV %s: %s; see it with %s", name, why, hint);
done:
    free(ans);
    res_nclose(&st);
    return rc;
}
