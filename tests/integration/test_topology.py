"""Several servers behind a load balancer: which member takes each connection (layer 4) or
request (layer 7), the member's own certificate, a member down on its schedule, the balancer's
health checks and its HAProxy log, and the 2013+ front end's routing to back ends that are dead,
passive or unreachable by the caller's addresses — each seen through curl and the WS-RM client,
and in the logs of the server (or device) that wrote them."""
import glob
import json
import os
import re
import time
import unittest
import urllib.request

import harness
import mrs_util as mrs
from harness import Server, TIMEOUT, mrsmock
from test_hplog import hp_read

ADMIN = "admin:P@ssw0rd!"
MRS = "/EWS/mrsproxy.svc"
TCPLOG = re.compile(r"^(\w{3}) +(\d+) (\d\d:\d\d:\d\d) (\S+) haproxy\[(\d+)\]: "
                    r"(\S+):(\d+) \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3})\] (\S+) (\S+)/(\S+) "
                    r"(-?\d+)/(-?\d+)/(-?\d+) (\d+) (\S\S) (\d+)/(\d+)/(\d+)/(\d+)/(\d+) 0/0$")
HTTPLOG = re.compile(r"^\w{3} +\d+ \d\d:\d\d:\d\d \S+ haproxy\[\d+\]: \S+:\d+ \[[^\]]+\] (\S+) "
                     r"(\S+)/(\S+) -?\d+/-?\d+/-?\d+/-?\d+/-?\d+ (\d+) \d+ \S+ \S+ (\S{4}) "
                     r"[\d/]+ 0/0 \"(\S+) (\S+) (\S+)\"$")
HEALTH = re.compile(r"haproxy\[\d+\]: Server (\S+)/(\S+) is (UP|DOWN), reason: ([^,]+(?:, code: "
                    r"\d+, info: \"[^\"]*\")?), check duration: 0ms\. (\d+) active")


def lb_lines(s, name="LB1"):
    """The balancer's log lines, in order."""
    out = []
    for f in sorted(glob.glob(os.path.join(s.ready["logs"], name, "haproxy-*.log"))):
        with open(f, encoding="ascii") as fh:
            out += [l.rstrip("\n") for l in fh]
    return out


def lb_wait(s, total, pattern=TCPLOG, name="LB1"):
    """The lines matching PATTERN once there are TOTAL of them (a tcplog line is written when
    its connection closes, after the client saw its answer)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        got = [pattern.match(l) for l in lb_lines(s, name)]
        got = [m for m in got if m]
        if len(got) >= total or time.monotonic() > deadline:
            return got
        time.sleep(0.01)  # polling with a deadline, not a fixed wait


def hp_rows(s, total, *servers):
    """The Ews HttpProxy rows of SERVERS, once there are TOTAL of them (written after the
    answer)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        rows = [r for sv in servers for r in hp_read(s, "Ews", sv)[2]]
        if len(rows) >= total or time.monotonic() > deadline:
            return rows
        time.sleep(0.01)  # polling with a deadline, not a fixed wait


def own_scenario(body):
    return harness.own_scenario(body, "topology-")


EX2 = ('<server name="EX2" version="2016"><ews internal-url="https://ex2.contoso.com/EWS/'
       'Exchange.asmx" external-url="https://mail.contoso.com/EWS/Exchange.asmx" mrsproxy="true"/>'
       '</server>')


class Layer4(unittest.TestCase):
    def test_member_certificate_alternates(self):
        # round robin, one connection each: EX1 serves the lab certificate, EX2 its self-signed one
        with Server("secondary-wrong-certificate") as s:
            results = [s.curl("mail.contoso.com", MRS, "--http1.1") for _ in range(6)]
            self.assertEqual([r[3] for r in results], [0, 60] * 3, [r[4] for r in results])
            self.assertEqual([r[0] for r in results[::2]], [401] * 3)
            lines = lb_wait(s, 6)
            self.assertEqual(len(lines), 6)
            for m in lines:
                self.assertEqual((m.group(4), m.group(9), m.group(10)), ("lb1", "edge", "LB1"))
                self.assertEqual(m.group(16), "--")  # the member took it; the client left
                self.assertEqual(m.group(5), str(s.proc.pid))
            # which member took which connection is the order they arrived in; the client's port
            # ties a line to its connection
            members = sorted((m.group(7), m.group(11)) for m in lines)
            self.assertEqual(sorted(x[1] for x in members), ["EX1"] * 3 + ["EX2"] * 3)
            # EX1's IIS saw the three challenges; EX2's none (the client refused its certificate)
            _, ex1 = s.w3c_wait(3)
            self.assertEqual(len(ex1), 3)
            self.assertEqual([l[11] for l in ex1], ["401"] * 3)
            self.assertEqual(s.w3c_lines("EX2")[1], [])

    def test_flapping_member_schedule(self):
        # lb-flapping: EX2 is down for arrivals 3-4 of every 6; round robin gives it 2, 4, 6, ...
        with Server("lb-flapping") as s:
            got = [s.curl("mail.contoso.com", MRS, "--http1.1", "-u", ADMIN)[0]
                   for _ in range(12)]
            # arrival 4 (EX2, down) and 10 (EX2, down): HTTP.sys's 503; every other one 200
            self.assertEqual(got, [200, 200, 200, 503, 200, 200, 200, 200, 200, 503, 200, 200])
            _, errs = s.httperr_wait(2, server="EX2")
            self.assertEqual([l[9:] for l in errs],
                             [["503", "1", "AppOffline", "MSExchangeServicesAppPool"]] * 2)
            self.assertEqual(s.httperr_lines("EX1")[1], [])
            _, ex1 = s.w3c_wait(6)
            _, ex2 = s.w3c_wait(4, server="EX2")
            self.assertEqual((len(ex1), len(ex2)), (6, 4))  # no IIS line for the two 503s
            self.assertEqual({l[11] for l in ex1 + ex2}, {"200"})

    def test_http_check_takes_member_out_and_back(self):
        # the same schedule with an HTTP check of healthcheck.htm: the balancer sees EX2 down
        # at arrivals 3-4 and sends them to EX1; the client never meets the 503
        path = own_scenario(EX2 + '<listener name="edge"><balancer name="LB9" check="http">'
                            '<member server="EX1"/><member server="EX2" down="3-4/6"/>'
                            '</balancer></listener>')
        try:
            with Server(path) as s:
                got = [s.curl("mail.contoso.com", MRS, "--http1.1", "-u", ADMIN)[0]
                       for _ in range(6)]
                self.assertEqual(got, [200] * 6)
                health = [HEALTH.search(l) for l in lb_lines(s, "LB9")]
                health = [(m.group(2), m.group(3), m.group(4), m.group(5)) for m in health if m]
                self.assertEqual(health, [
                    ("EX2", "DOWN", 'Layer7 wrong status, code: 503, info: "Service Unavailable"',
                     "1"),
                    ("EX2", "UP", "Layer7 check passed", "2")])
                members = [m.group(11) for m in lb_wait(s, 6, name="LB9")]
                self.assertEqual(sorted(members), ["EX1"] * 4 + ["EX2"] * 2)
                self.assertEqual(s.httperr_lines("EX2")[1], [])
        finally:
            os.unlink(path)

    def test_source_affinity_and_other_networks(self):
        # source-address affinity: every connection of one client address goes to one member
        path = own_scenario(EX2 + '<listener name="edge" address="127.0.0.1:0">'
                            '<balancer name="LB9" policy="source"><member server="EX1"/>'
                            '<member server="EX2"/></balancer></listener>')
        try:
            with Server(path, listen="0.0.0.0:0") as s:
                for src in ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"):
                    for _ in range(3):
                        st = s.curl("mail.contoso.com", MRS, "--http1.1", "--interface", src)[0]
                        self.assertEqual(st, 401)
                lines = lb_wait(s, 12, name="LB9")
                by_source = {}
                for m in lines:
                    by_source.setdefault(m.group(6), set()).add(m.group(11))
                self.assertEqual(len(by_source), 4)
                for src, members in by_source.items():
                    self.assertEqual(len(members), 1, (src, members))
        finally:
            os.unlink(path)


    def test_dead_member_without_checks(self):
        # no health check: the balancer still sends every second connection to the dead EX3;
        # it gives up after its retries and closes the client's connection (termination SC)
        path = own_scenario('<server name="EX3" state="dead"/><listener name="edge">'
                            '<balancer name="LB9" check="none"><member server="EX1"/>'
                            '<member server="EX3"/></balancer></listener>')
        try:
            with Server(path) as s:
                got = [s.curl("mail.contoso.com", MRS, "--http1.1")[3] for _ in range(4)]
                self.assertEqual(got[0::2], [0, 0])
                self.assertNotIn(0, got[1::2])  # no TLS at all: curl reports the closed socket
                lines = lb_wait(s, 4, name="LB9")
                term = sorted((m.group(11), m.group(16)) for m in lines)
                self.assertEqual(term, [("EX1", "--")] * 2 + [("EX3", "SC")] * 2)
                self.assertEqual(len(s.w3c_wait(2)[1]), 2)
                self.assertEqual(s.w3c_lines("EX3")[1], [])
        finally:
            os.unlink(path)


class Layer7(unittest.TestCase):
    def scenario(self, policy, extra=""):
        return own_scenario(EX2 + '<listener name="edge"><balancer name="LB7" mode="layer7" '
                            'policy="%s"%s><member server="EX1"/><member server="EX2"/>'
                            '</balancer></listener>' % (policy, extra))

    def test_per_request_choice_and_cookie(self):
        path = self.scenario("cookie")
        try:
            with Server(path) as s:
                first = s.curl("mail.contoso.com", MRS, "--http1.1", "-u", ADMIN)
                cookies = [v for k, v in first[1] if k.lower() == "set-cookie"]
                # the balancer's SERVERID first, then the front end's X-BackEndCookie
                served = re.match(r"SERVERID=(EX\d); path=/$", cookies[0])
                self.assertIsNotNone(served, first[1])
                member = served.group(1)
                for _ in range(4):  # the cookie keeps every request on its member
                    st = s.curl("mail.contoso.com", MRS, "--http1.1", "-u", ADMIN,
                                "-b", "SERVERID=" + member)[0]
                    self.assertEqual(st, 200)
                lines = lb_wait(s, 5, HTTPLOG, name="LB7")
                self.assertEqual([m.group(3) for m in lines], [member] * 5)
                self.assertEqual([m.group(4) for m in lines], ["200"] * 5)
                self.assertEqual(lines[0].group(5), "--NI")  # a cookie inserted
                self.assertEqual({m.group(5) for m in lines[1:]}, {"----"})
                self.assertEqual({(m.group(6), m.group(7)) for m in lines}, {("GET", MRS)})
                other = "EX2" if member == "EX1" else "EX1"
                self.assertEqual(len(s.w3c_wait(5, server=member)[1]), 5)
                self.assertEqual(s.w3c_lines(other)[1], [])
        finally:
            os.unlink(path)

    def test_no_member_up(self):
        # every member dead: the balancer answers its own 503, and no server logs anything
        path = own_scenario('<server name="EX1" state="dead"/><listener name="edge">'
                            '<balancer name="LB7" mode="layer7"><member server="EX1"/>'
                            '</balancer></listener>')
        try:
            with Server(path) as s:
                st, hdrs, body, _, _ = s.curl("mail.contoso.com", MRS, "--http1.1")
                self.assertEqual(st, 503)
                self.assertIn(b"No server is available to handle this request.", body)
                self.assertNotIn("microsoft", dict((k.lower(), v) for k, v in hdrs)
                                 .get("server", "").lower())
                m = lb_wait(s, 1, HTTPLOG, name="LB7")[0]
                self.assertEqual((m.group(3), m.group(4), m.group(5)), ("<NOSRV>", "503", "SC--"))
                self.assertEqual(s.w3c_lines()[1], [])
        finally:
            os.unlink(path)

    def test_ntlm_breaks_across_members(self):
        # round robin per request: the NTLM challenge comes from one member and the answer goes
        # to the other, which never issued it, so the logon never completes
        path = self.scenario("round-robin")
        try:
            with Server(path) as s:
                st, _, _, rc, err = s.curl("mail.contoso.com", MRS, "--http1.1", "--ntlm", "-u",
                                           ADMIN)
                self.assertEqual((st, rc), (401, 0), err)
                _, ex1 = s.w3c_wait(1)
                _, ex2 = s.w3c_wait(1, server="EX2")
                self.assertEqual(len(ex1) + len(ex2), 2)
                # the challenge on one, SEC_E_INVALID_TOKEN on the other (no context for it)
                self.assertEqual(sorted(" ".join(l[11:14]) for l in ex1 + ex2),
                                 ["401 1 2148074248", "401 1 2148074254"])
        finally:
            os.unlink(path)
        # kept on one member by source affinity, or by keeping the connection's member
        self.ntlm_completes("source")
        self.ntlm_completes("round-robin", ' keep-connection="true"')

    def ntlm_completes(self, policy, extra=""):
        path = self.scenario(policy, extra)
        try:
            with Server(path) as s:  # affinity keeps the handshake on one member
                st, _, _, rc, err = s.curl("mail.contoso.com", MRS, "--http1.1", "--ntlm", "-u",
                                           ADMIN)
                self.assertEqual(st, 200, err)
        finally:
            os.unlink(path)


class FrontEnd(unittest.TestCase):
    def test_dead_server_in_turn(self):
        # dead-server: MRS requests go organisation-wide to EX1, EX2, EX3 in turn; EX3 is dead
        with Server("dead-server") as s:
            got = [s.curl("mail.contoso.com", MRS, "--http1.1", "-u", ADMIN)[0]
                   for _ in range(6)]
            self.assertEqual(got, [200, 200, 503, 200, 200, 503])
            rows = hp_rows(s, 6, "EX1", "EX2")
            failed = [r for r in rows if r["HttpStatus"] == "503"]
            self.assertEqual(len(failed), 2)
            for r in failed:
                self.assertEqual(r["TargetServer"], "ex3.contoso.com")
                self.assertEqual(r["BackEndStatus"], "")
                self.assertIn("WebExceptionStatus=ConnectFailure", r["GenericErrors"])
                self.assertIn("10.0.0.23:443", r["GenericErrors"])
                # it answered once its connect attempts gave up (backend-connect-timeout 2s)
                self.assertGreaterEqual(int(r["TotalRequestTime"]), 2000)
            ok = [r for r in rows if r["HttpStatus"] == "200"]
            self.assertEqual(sorted(r["TargetServer"] for r in ok),
                             ["ex1.contoso.com"] * 2 + ["ex2.contoso.com"] * 2)
            # the IIS line of the front end that answered says 503 0 0
            _, ex1 = s.w3c_wait(3)
            _, ex2 = s.w3c_wait(3, server="EX2")
            self.assertEqual(sorted(" ".join(l[11:14]) for l in ex1 + ex2 if l[11] == "503"),
                             ["503 0 0"] * 2)
            self.assertTrue(all(int(l[14]) >= 2000 for l in ex1 + ex2 if l[11] == "503"))

    def test_passive_back_end_and_cookie(self):
        with Server("passive-server", "--admin", "127.0.0.1:0") as s:
            first = s.curl("mail.contoso.com", MRS, "--http1.1", "-u", ADMIN)
            second = s.curl("mail.contoso.com", MRS, "--http1.1", "-u", ADMIN)
            self.assertEqual((first[0], second[0]), (200, 503))
            cookie = [v for k, v in first[1] if k.lower() == "set-cookie"][0]
            self.assertRegex(cookie, r"^X-BackEndCookie=Server~ex1\.contoso\.com~Exchange2016~"
                                     r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d; path=/EWS; secure; HttpOnly$")
            # the migration service sends the cookie back: the session stays on EX1's back end
            value = cookie.split(";")[0]
            for _ in range(3):
                self.assertEqual(s.curl("mail.contoso.com", MRS, "--http1.1", "-u", ADMIN,
                                        "-b", value)[0], 200)
            rows = hp_rows(s, 5, "EX1", "EX2")
            bad = [r for r in rows if r["HttpStatus"] == "503"]
            self.assertEqual(len(bad), 1)
            self.assertEqual((bad[0]["TargetServer"], bad[0]["BackEndStatus"]),
                             ("ex2.contoso.com", "503"))
            self.assertIn("(503) Server Unavailable", bad[0]["GenericErrors"])
            # the journal says which server the balancer chose and where its front end proxied
            url = s.ready["admin"] + "/requests?path=/EWS/mrsproxy.svc"
            with urllib.request.urlopen(url, timeout=10) as r:
                reqs = json.load(r)["requests"]
            self.assertEqual([(e["balancer"], e["server"], e["backend"], e["status"])
                              for e in reqs[:2]],
                             [("LB1", "EX1", "EX1", 200), ("LB1", "EX2", "EX2", 503)])

    def test_unaccepted_proxy_address(self):
        with Server("service-unavailable") as s:
            st, hdrs, body, _, _ = s.curl("mail.contoso.com", MRS, "--http1.1", "-u", ADMIN)
            self.assertEqual(st, 503)
            self.assertEqual(dict((k.lower(), v) for k, v in hdrs)["server"],
                             "Microsoft-IIS/10.0")
            # user1 has no such address: the same request as user1 is proxied (and refused by
            # the MRS Proxy for want of rights, a SOAP fault, not a 503)
            self.assertEqual(s.curl("mail.contoso.com", MRS, "--http1.1", "-u",
                                    "user1:Passw0rd1")[0], 200)
            _, lines = s.w3c_wait(2)
            self.assertEqual(" ".join(lines[0][11:14]), "503 0 0")
            self.assertEqual(lines[0][7], "admin")  # as the client typed it (Basic)
            rows = hp_rows(s, 2, "EX1")
            self.assertEqual(rows[0]["HttpStatus"], "503")
            self.assertEqual(rows[0]["TargetServer"], "")
            self.assertIn("admin@fabrikam-old.com", rows[0]["GenericErrors"])


def backend_site_lines(s, server):
    """SERVER's W3SVC2 (Exchange Back End) lines, split into fields."""
    out = []
    d = os.path.join(s.ready["logs"], server, "inetpub", "logs", "LogFiles", "W3SVC2")
    for f in sorted(glob.glob(os.path.join(d, "u_ex*.log"))):
        with open(f, encoding="utf-8") as fh:
            out += [l.rstrip("\r\n").split(" ") for l in fh if not l.startswith("#")]
    return out


class BackEndSite(unittest.TestCase):
    def test_both_servers_log_a_proxied_request(self):
        # two front ends behind the balancer, the caller's mailbox on EX1: each EWS request is
        # in the IIS log of the front end that took it (W3SVC1, port 443) and in EX1's Exchange
        # Back End site (W3SVC2, port 444, from the front end's address); the MRS Proxy's back
        # end is not in IIS
        path = own_scenario('<server name="EX1" ip="10.0.0.5"/>' +
                            EX2.replace('version="2016"', 'version="2016" ip="10.0.0.6"') +
                            '<listener name="edge"><balancer name="LB9"><member server="EX1"/>'
                            '<member server="EX2"/></balancer></listener>')
        try:
            with Server(path) as s:
                for _ in range(2):
                    st = s.curl("mail.contoso.com", "/EWS/Exchange.asmx?wsdl", "--http1.1", "-u",
                                ADMIN)[0]
                    self.assertNotIn(st, (401, 503))
                self.assertEqual(s.curl("mail.contoso.com", MRS, "--http1.1", "-u", ADMIN)[0],
                                 200)
                _, fe1 = s.w3c_wait(2)
                _, fe2 = s.w3c_wait(1, server="EX2")
                deadline = time.monotonic() + TIMEOUT
                while len(backend_site_lines(s, "EX1")) < 2 and time.monotonic() < deadline:
                    time.sleep(0.01)
                be = backend_site_lines(s, "EX1")
                self.assertEqual(len(be), 2, be)
                self.assertEqual(sorted(l[8] for l in be), ["10.0.0.5", "10.0.0.6"])  # c-ip
                for l in be:
                    self.assertEqual((l[2], l[4], l[5], l[6], l[7]),
                                     ("10.0.0.5", "/EWS/Exchange.asmx", "wsdl", "444", "admin"))
                self.assertEqual(backend_site_lines(s, "EX2"), [])
                # the front ends' lines carry their own address and port
                self.assertEqual(sorted(l[2] for l in fe1 + fe2 if l[4] == "/EWS/Exchange.asmx"),
                                 ["10.0.0.5", "10.0.0.6"])
        finally:
            os.unlink(path)


class Databases(unittest.TestCase):
    def test_target_database_routes_and_sticks(self):
        # DB02 is mounted on EX2; the MRS client names it in X-TargetDatabase (by name, or by
        # GUID): EX1's front end proxies to EX2, says so in its HttpProxy line, and its cookie
        # names the database, which keeps the session there
        guid = "5c3b2a1d-0e9f-4a8b-9c7d-6e5f4a3b2c1d"
        path = own_scenario('<organization><database name="DB01" server="EX1"/>'
                            '<database name="DB02" server="EX2" guid="%s"/>'
                            '<account sam="user9" password="P@ssw0rd!" mailbox="user9@contoso.com" '
                            'database="DB02"/></organization>' % guid.upper() + EX2)
        try:
            with Server(path) as s:
                def mrs_post(*args):
                    return s.curl("mail.contoso.com", MRS, "--http1.1", "-u", ADMIN, *args)
                r = mrs_post("-H", "X-TargetDatabase: DB02")
                self.assertEqual(r[0], 200, r[4])
                h = dict(r[1])
                self.assertEqual(h["X-CalculatedBETarget"], "ex2.contoso.com")
                cookie = h["Set-Cookie"].split(";")[0]
                self.assertRegex(cookie, r"^X-BackEndCookie=Database~%s~~\d{4}-" % guid)
                # the cookie alone routes the next one; the GUID routes as the name does
                self.assertEqual(dict(mrs_post("-b", cookie)[1])["X-CalculatedBETarget"],
                                 "ex2.contoso.com")
                self.assertEqual(dict(mrs_post("-H", "X-TargetDatabase: " + guid.upper())[1])
                                 ["X-CalculatedBETarget"], "ex2.contoso.com")
                # a database the organisation does not have: organisation-wide, as without one
                self.assertEqual(mrs_post("-H", "X-TargetDatabase: DB99")[0], 200)
                rows = hp_rows(s, 4, "EX1")
                self.assertEqual([(r["TargetServer"], r["RoutingHint"], r["DatabaseGuid"])
                                  for r in rows[:3]],
                                 [("ex2.contoso.com", "TargetDatabase-Name", guid),
                                  ("ex2.contoso.com", "ForestWideOrganization", guid),
                                  ("ex2.contoso.com", "TargetDatabase-GUID", guid)])
                self.assertTrue(rows[0]["BackEndCookie"].startswith("Database~" + guid + "~~"))
                self.assertEqual(rows[3]["DatabaseGuid"], "")
                self.assertTrue(rows[3]["BackEndCookie"].startswith("Server~"), rows[3])
                # a mailbox on DB02 lives on EX2: Autodiscover sends its owner there
                st, _, body, _, _ = s.curl(
                    "autodiscover.contoso.com", "/autodiscover/autodiscover.xml", "--http1.1",
                    "-u", "user9:P@ssw0rd!", "-H", "Content-Type: text/xml", "--data",
                    '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/'
                    'outlook/requestschema/2006"><Request><EMailAddress>user9@contoso.com'
                    '</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/'
                    'exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>'
                    '</Request></Autodiscover>')
                self.assertEqual(st, 200)
                self.assertIn(b"ex2.contoso.com", body.lower())
        finally:
            os.unlink(path)

    def test_errors(self):
        for body, message in (
                ('<database name="DB01" server="EX7"/>', 'database "DB01": server "EX7" does not exist'),
                ('<database name="DB01"/>', 'database "DB01": missing required attribute "server"'),
                ('<database name="DB01" server="EX1" guid="nope"/>', 'guid "nope" is not a GUID'),
                ('<account sam="u" password="p" mailbox="u@contoso.com" database="DB05"/>',
                 'account "u": database "DB05" does not exist'),
                ('<database name="DB01" server="EX1"/><account sam="u" password="p" '
                 'mailbox="u@contoso.com" server="EX1" database="DB01"/>',
                 'account "u": server and database: give one')):
            path = own_scenario("<organization>%s</organization>" % body)
            try:
                p = mrsmock("check", path)
                self.assertNotEqual(p.returncode, 0)
                self.assertRegex(p.stderr, re.escape(path) + r":\d+: ")
                self.assertIn(message, p.stderr)
            finally:
                os.unlink(path)


class SplitRoles2013(unittest.TestCase):
    def test_cas_proxies_to_the_mailbox_server(self):
        # the article's 2013 set-up: a Client Access server in front, the MRS on a Mailbox
        # server; the CAS's front end proxies the MRS Proxy's requests there
        path = own_scenario(
            '<organization><account sam="admin" server="MBX1"/><account sam="user1" '
            'server="MBX1"/></organization><server name="EX1" version="2013" '
            'roles="client-access"/><server name="MBX1" version="2013" roles="mailbox"/>')
        try:
            with Server(path) as s:
                st, hdrs, _, _, _ = s.curl("mail.contoso.com", MRS, "--http1.1", "-u", ADMIN)
                self.assertEqual(st, 200)
                h = dict((k.lower(), v) for k, v in hdrs)
                self.assertEqual(h["x-calculatedbetarget"], "mbx1.contoso.com")
                self.assertEqual(h["x-feserver"], "EX1")
                rows = hp_rows(s, 1, "EX1")
                self.assertEqual((rows[0]["TargetServer"], rows[0]["BackEndStatus"]),
                                 ("mbx1.contoso.com", "200"))
            p = mrsmock("shell", path, "Get-ExchangeServer")
            self.assertRegex(p.stdout, r"\nEX1 .* ClientAccess +Enterprise +Version 15\.0 ")
            self.assertRegex(p.stdout, r"\nMBX1 .* Mailbox +Enterprise +Version 15\.0 ")
            p = mrsmock("shell", path, "Test-MRSHealth")  # the local server, the CAS
            self.assertEqual(p.returncode, 1)
            self.assertIn("isn't installed on server ex1.contoso.com", p.stderr)
        finally:
            os.unlink(path)


class NoAffinity2010(unittest.TestCase):
    def test_session_breaks_on_the_other_cas(self):
        # each message on a connection of its own, as WCF opens more under load: the second
        # lands on the other CAS, which does not know the sequence
        with Server("lb-no-affinity") as s:
            offer = mrs.urn()
            c1 = mrs.Client(s)
            st, env = c1.soap(mrs.create_sequence(offer))
            c1.close()
            self.assertEqual(st, 200)
            seq = mrs.body(env).findtext("%s/%s" % (mrs.q(mrs.RM, "CreateSequenceResponse"),
                                                    mrs.q(mrs.RM, "Identifier")))
            c2 = mrs.Client(s)
            st, env = c2.soap(mrs.exchange_version_information(seq, 1))
            c2.close()
            self.assertEqual(st, 500)
            code, sub, text, _, _ = mrs.fault(env)
            self.assertTrue(sub.endswith(":UnknownSequence"), sub)
            self.assertEqual(text, "The value of wsrm:Identifier is not a known Sequence "
                                   "identifier.")
            _, ex1 = s.w3c_wait(1)
            _, ex2 = s.w3c_wait(1, server="EX2")
            self.assertEqual([l[11] for l in ex1], ["200"])
            self.assertEqual([l[11] for l in ex2], ["500"])
            self.assertEqual([m.group(11) for m in lb_wait(s, 2)], ["EX1", "EX2"])
            # one connection, as the connectivity test keeps: the session works
            c = mrs.Client(s)
            offer = mrs.urn()
            st, env = c.soap(mrs.create_sequence(offer))
            seq = mrs.body(env).findtext("%s/%s" % (mrs.q(mrs.RM, "CreateSequenceResponse"),
                                                    mrs.q(mrs.RM, "Identifier")))
            st, env = c.soap(mrs.exchange_version_information(seq, 1))
            c.close()
            self.assertEqual(st, 200)


if __name__ == "__main__":
    unittest.main()
