"""The last Autodiscover candidate of reference 1.5: the DNS SRV record
_autodiscover._tcp.<domain>, asked of a DNS server of the test's own (dns_util, on loopback,
given to the probe with --dns) once the https candidates and the HTTP redirect method found
nothing. What the server was asked, what it answered, and what the probe made of it: a record
that leads to mrsmock, no such record, no answer within --timeout, and the other ways DNS says
no."""
import time
import unittest

import dns.rcode
import dns.rdatatype

from dns_util import DnsServer, nxdomain, reply, silent
from harness import Server
from test_probe import PROBE_TIMEOUT, closed_port, probe

SRV_NAME = "_autodiscover._tcp.contoso.com"
ASKED = [(SRV_NAME + ".", "SRV", "IN")]  # exactly one query: the name, type SRV, class IN


def closed_candidates():
    """--connect-to for the candidates before SRV, each to a port that refuses."""
    return ["--connect-to", "contoso.com:443:127.0.0.1:%d" % closed_port(),
            "--connect-to", "autodiscover.contoso.com:443:127.0.0.1:%d" % closed_port(),
            "--connect-to", "autodiscover.contoso.com:80:127.0.0.1:%d" % closed_port()]


def run_ad(dns_addr, *args, timeout=PROBE_TIMEOUT, cacert=()):
    return probe("--autodiscover", "--email", "admin@contoso.com", "--user", "CONTOSO\\admin",
                 *cacert, "--timeout", timeout, "--json", "--dns", dns_addr,
                 *closed_candidates(), *args, password="P@ssw0rd!")


class SrvFound(unittest.TestCase):
    def test_srv_leads_to_mrsmock(self):
        with Server("healthy") as s:
            edge = s.port

            def answer(q):
                # only the record asked for exists; any other question is refused, so that a
                # wrong name or type fails here too
                rr = q.question[0]
                if (rr.name.to_text(), rr.rdtype) != (SRV_NAME + ".", dns.rdatatype.SRV):
                    return reply(q, dns.rcode.REFUSED)
                # RFC 2782: the lowest priority first, then the highest weight: mail.contoso.com
                return reply(q, records=["10 100 1 wrong.contoso.com.",
                                         "0 5 2 light.contoso.com.",
                                         "0 60 %d mail.contoso.com." % edge])

            with DnsServer(answer) as d:
                rc, out, err = run_ad(
                    d.addr, "--connect-to", "mail.contoso.com:%d:127.0.0.1:%d" % (edge, edge),
                    "--connect-to", "mail.contoso.com:443:127.0.0.1:%d" % edge,
                    cacert=["--cacert", s.ca])
            self.assertEqual(d.queries, ASKED)
        self.assertEqual((rc, out["result"]), (0, "Success"), out)
        self.assertEqual([(st["name"], st["status"]) for st in out["steps"]],
                         [("autodiscover", "pass"), ("autodiscover-soap", "pass"),
                          ("connect", "pass"), ("tls", "pass"), ("mrsproxy-anonymous", "pass"),
                          ("mrsproxy-auth", "pass"), ("mrsproxy-session", "pass")], out)
        detail = out["steps"][0]["detail"]
        url = "https://mail.contoso.com:%d/autodiscover/autodiscover.xml" % edge
        # the earlier candidates failed, in their order, then DNS answered and its URL was tried
        self.assertRegex(detail, r"^https://contoso.com/autodiscover/autodiscover.xml: the TCP "
                         r"connection .*; https://autodiscover.contoso.com/autodiscover/"
                         r"autodiscover.xml: the TCP connection .*; http://autodiscover."
                         r"contoso.com/autodiscover/autodiscover.xml: no answer")
        self.assertIn("; SRV %s: mail.contoso.com:%d (priority 0, weight 60; the lowest "
                      "priority, highest weight of 3 records), from %s; Outlook asks the user "
                      "before it follows an SRV redirect; port not 443: the EWS Managed API and "
                      "exchangelib take only records with port 443; tried next; %s: settings: "
                      "EXPR Server (ExternalMailboxServer) mail.contoso.com"
                      % (SRV_NAME, edge, d.addr, url), detail)
        self.assertEqual(out["steps"][1]["target"],
                         "https://mail.contoso.com:%d/autodiscover/autodiscover.svc" % edge)
        self.assertEqual(out["remote_server"], "mail.contoso.com")


class SrvNotFound(unittest.TestCase):
    """Nothing listens for the domain's names, and DNS gives no record: the autodiscover step
    fails and says what DNS said, with the nslookup that shows it."""

    def check(self, answer, says, timeout=PROBE_TIMEOUT):
        with DnsServer(answer) as d:
            t0 = time.monotonic()
            rc, out, err = run_ad(d.addr, timeout=timeout)
            took = time.monotonic() - t0
        self.assertEqual(d.queries[:1], ASKED)
        self.assertEqual((rc, out["result"]), (3, "Failed"), out)
        ad = out["steps"][0]
        self.assertEqual((ad["name"], ad["status"]), ("autodiscover", "fail"), out)
        self.assertIn("; SRV %s: %s" % (SRV_NAME, says % {"dns": d.addr}), ad["detail"])
        self.assertTrue(ad["detail"].endswith(
            "; see it with nslookup -type=SRV -port=%d %s 127.0.0.1" % (d.port, SRV_NAME)),
            ad["detail"])
        self.assertEqual([st["status"] for st in out["steps"][1:]], ["skipped"] * 6, out)
        self.assertTrue(out["message"].startswith(
            "The ExchangeRemote endpoint settings could not be determined from the autodiscover "
            "response. --> There was no endpoint listening at "), out["message"])
        return d, took

    def test_nxdomain(self):
        d, _ = self.check(nxdomain, "no such record (%(dns)s answered NXDOMAIN: the name does "
                          "not exist)")
        self.assertEqual(d.queries, ASKED)

    def test_no_answer_is_bounded_by_timeout(self):
        # a DNS server that never answers: the wait is --timeout (1 s here), not glibc's 5 s
        # times 2 tries, and the test ends in a few seconds
        d, took = self.check(silent, "timed out: no answer from %(dns)s within 1 s (--timeout)",
                             timeout="1")
        self.assertLess(took, 4.5)
        self.assertEqual(d.queries, ASKED)  # one try: no time for a second

    def test_servfail(self):
        self.check(lambda q: reply(q, dns.rcode.SERVFAIL),
                   "server failure (%(dns)s answered SERVFAIL: it could not resolve the name")

    def test_refused(self):
        self.check(lambda q: reply(q, dns.rcode.REFUSED),
                   "refused (%(dns)s answered REFUSED: it does not resolve names for this "
                   "client)")

    def test_name_without_the_record(self):
        self.check(reply, "no answer (%(dns)s answered NOERROR without an SRV record: the name "
                   "exists, the record does not)")

    def test_target_dot(self):
        # RFC 2782: "." says the domain decidedly offers no such service
        self.check(lambda q: reply(q, records=["0 0 0 ."]),
                   'the record\'s target is "." (priority 0, weight 0): the domain says it '
                   "offers no Autodiscover service by SRV (RFC 2782), from %(dns)s")

    def test_nobody_listens(self):
        # --dns at a port nobody listens on: loopback says so at once (ICMP port unreachable)
        port = closed_port()
        rc, out, err = run_ad("127.0.0.1:%d" % port)
        self.assertEqual((rc, out["steps"][0]["status"]), (3, "fail"), out)
        self.assertIn("; SRV %s: no DNS server answered: the query to 127.0.0.1:%d was refused "
                      "(nothing listens on that address and port" % (SRV_NAME, port),
                      out["steps"][0]["detail"])


if __name__ == "__main__":
    unittest.main()
