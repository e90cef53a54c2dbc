"""The perimeter: a firewall in front of a listener. Its source-address rules decide per TCP
connection before the balancer and TLS (allow, drop, reset, hang), its URL filter per decrypted
request (block page, reset, hang); each decision leaves a line in the firewall's pfirewall.log
and nothing in the servers' logs. Real clients (curl --interface, Python sockets) come from
several loopback sources, as from several networks."""
import glob
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

import harness
from harness import Server, TIMEOUT
from test_hplog import hp_read

MRS = "/EWS/mrsproxy.svc"
FIELDS = ("#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags "
          "tcpsyn tcpack tcpwin icmptype icmpcode info path")
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (ALLOW|DROP) TCP (\S+) (\S+) (\d+) (\d+) 0 "
                  r"([S-]) 0 0 0 - - (\S+) RECEIVE$")


def fw_file(s, name="FW1"):
    return os.path.join(s.ready["logs"], name, "pfirewall.log")


def fw_lines(s, name="FW1"):
    """(header lines, data lines as LINE matches) of the firewall's log."""
    with open(fw_file(s, name), encoding="ascii", newline="") as f:
        text = f.read()
    assert text.endswith("\r\n"), repr(text[-40:])
    rows = text.split("\r\n")[:-1]
    heads = [r for r in rows if r.startswith("#")]
    data = []
    for r in rows:
        if r and not r.startswith("#"):
            m = LINE.match(r)
            assert m, r
            data.append(m)
    return heads, data


def read_all(pattern):
    """The bytes of the files PATTERN names; one renamed away meanwhile (a rollover between
    the listing and the reading) counts as empty."""
    out = b""
    for f in glob.glob(pattern):
        try:
            with open(f, "rb") as fh:
                out += fh.read()
        except FileNotFoundError:
            pass
    return out


def fw_lines_of(data):
    """The data lines of a pfirewall.log's bytes, as LINE matches."""
    out = []
    for r in data.decode("ascii").split("\r\n"):
        if r and not r.startswith("#"):
            m = LINE.match(r)
            assert m, r
            out.append(m)
    return out


def fw_wait(s, total, name="FW1"):
    deadline = time.monotonic() + TIMEOUT
    while True:
        lines = fw_lines(s, name)[1] if os.path.exists(fw_file(s, name)) else []
        if len(lines) >= total or time.monotonic() > deadline:
            return lines
        time.sleep(0.01)  # polling with a deadline, not a fixed wait


def own_scenario(body):
    """healthy with BODY inside its listener."""
    return harness.own_scenario('<listener name="edge">%s</listener>' % body, "perimeter-")


RULES = ('<firewall name="FW1" default="deny">'
         '<rule name="exchange-online" source="40.96.0.0/13 127.0.0.1"/>'
         '<rule name="lab-reset" source="127.0.0.3" action="reset"/>'
         '<rule name="lab-hang" source="127.0.0.4/32" action="hang"/>'
         '<rule name="lab-drop" source="127.0.0.5" action="drop"/>'
         '</firewall>')


def connect_from(src, port):
    """A TCP connection from SRC to the listener; the socket and its local port."""
    c = socket.socket()
    c.settimeout(TIMEOUT)
    c.bind((src, 0))
    c.connect(("127.0.0.1", port))
    return c, c.getsockname()[1]


class SourceRules(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.path = own_scenario(RULES)

    @classmethod
    def tearDownClass(cls):
        os.unlink(cls.path)

    def test_each_source_meets_its_rule(self):
        with Server(self.path, "--admin", "127.0.0.1:0", listen="0.0.0.0:0") as s:
            # allowed: the server's challenge, and its IIS line
            st = s.curl("mail.contoso.com", MRS, "--http1.1", "--interface", "127.0.0.1")
            self.assertEqual(st[0], 401, st[4])
            # the default (deny = drop) and drop: the connection opens, nothing ever answers
            for src in ("127.0.0.2", "127.0.0.5"):
                r = s.curl("mail.contoso.com", MRS, "--http1.1", "--interface", src,
                           "--max-time", "1")
                self.assertEqual((r[0], r[3]), (0, 28), r[4])
            # reset: an RST before any byte
            r = s.curl("mail.contoso.com", MRS, "--http1.1", "--interface", "127.0.0.3")
            self.assertEqual(r[0], 0)
            self.assertIn(r[3], (7, 35, 56), r[4])
            # hang: let through by the rules (ALLOW), never answered
            r = s.curl("mail.contoso.com", MRS, "--http1.1", "--interface", "127.0.0.4",
                       "--max-time", "1")
            self.assertEqual((r[0], r[3]), (0, 28), r[4])

            lines = fw_wait(s, 5)
            got = [(m.group(1), m.group(2), m.group(6), m.group(7)) for m in lines]
            self.assertEqual(got, [("ALLOW", "127.0.0.1", "-", "exchange-online"),
                                   ("DROP", "127.0.0.2", "S", "default"),
                                   ("DROP", "127.0.0.5", "S", "lab-drop"),
                                   ("DROP", "127.0.0.3", "S", "lab-reset"),
                                   ("ALLOW", "127.0.0.4", "-", "lab-hang")])
            for m in lines:
                self.assertEqual((m.group(3), m.group(5)), ("127.0.0.1", str(s.port)))
            # only the allowed connection reached EX1
            _, iis = s.w3c_wait(1)
            self.assertEqual([(l[8], l[11]) for l in iis], [("127.0.0.1", "401")])
            self.assertEqual(s.httperr_lines()[1], [])
            # the journal says why the others ended
            with urllib.request.urlopen(s.ready["admin"] + "/requests/wait?count=5",
                                        timeout=10) as resp:
                why = [" ".join(e["why"]) for e in json.load(resp)["requests"]]
            self.assertTrue(any("FW1 dropped the connection from 127.0.0.2 (rule default)" in w
                                for w in why), why)
            self.assertTrue(any("FW1 reset the connection from 127.0.0.3 (rule lab-reset)" in w
                                for w in why), why)

    def test_sockets_see_reset_and_silence(self):
        with Server(self.path, listen="0.0.0.0:0") as s:
            # the RST may come before connect() returns, or meet the first send or read
            c = socket.socket()
            c.settimeout(TIMEOUT)
            c.bind(("127.0.0.3", 0))
            reset_port = c.getsockname()[1]
            with self.assertRaises(ConnectionResetError):
                c.connect(("127.0.0.1", s.port))
                c.sendall(b"\x16\x03\x01\x00\x05hello")
                c.recv(100)
            c.close()
            c, drop_port = connect_from("127.0.0.2", s.port)
            c.sendall(b"GET / HTTP/1.1\r\nHost: mail.contoso.com\r\n\r\n")
            c.settimeout(0.5)
            with self.assertRaises(socket.timeout):  # read, never answered
                c.recv(100)
            c.close()
            lines = fw_wait(s, 2)
            self.assertEqual([(m.group(1), m.group(4), m.group(7)) for m in lines],
                             [("DROP", str(reset_port), "lab-reset"),
                              ("DROP", str(drop_port), "default")])
            self.assertEqual(s.w3c_lines()[1], [])

    def test_header_and_folder(self):
        with Server(self.path) as s:
            s.curl("mail.contoso.com", MRS, "--http1.1")
            fw_wait(s, 1)
            heads, _ = fw_lines(s)
            self.assertEqual(heads, ["#Version: 1.5", "#Software: Microsoft Windows Firewall",
                                     "#Time Format: Local", FIELDS])
            with open(fw_file(s), "rb") as f:
                self.assertIn(FIELDS.encode() + b"\r\n\r\n", f.read())


    def test_full_log_renamed_to_old(self):
        # a 1 KB limit: the file is renamed to pfirewall.log.old when the next line would not
        # fit, the one there replaced, and a new one begun with its header; a start-up with a
        # full file renames it first
        path = own_scenario('<firewall name="FW1" log-size="1"/>')
        state = tempfile.mkdtemp(prefix="mrsmock-it-")
        try:
            with Server(path, state_dir=state) as s:
                ports = []
                for _ in range(30):
                    c, port = connect_from("127.0.0.1", s.port)
                    ports.append(port)
                    c.close()
                    # each line is in before the next connection, so the order is known
                    deadline = time.monotonic() + TIMEOUT
                    while str(port).encode() not in read_all(fw_file(s) + "*"):
                        self.assertLess(time.monotonic(), deadline)
                        time.sleep(0.01)
                files = [fw_file(s) + ".old", fw_file(s)]
                got = []
                for f in files:
                    with open(f, "rb") as fh:
                        data = fh.read()
                    self.assertLessEqual(len(data), 1024, f)
                    self.assertTrue(data.startswith(b"#Version: 1.5\r\n"), f)
                    self.assertTrue(data.endswith(b"\r\n"), f)
                    got.append([int(m.group(4)) for m in fw_lines_of(data)])
                # the last lines, in order, none torn, none twice; the .old ones just before
                self.assertEqual(got[0] + got[1], ports[-len(got[0]) - len(got[1]):])
                self.assertGreater(len(got[0]), 3)
            with Server(path, state_dir=state) as s2:
                c, port = connect_from("127.0.0.1", s2.port)
                c.close()
                deadline = time.monotonic() + TIMEOUT
                while str(port).encode() not in open(fw_file(s2), "rb").read():
                    self.assertLess(time.monotonic(), deadline)
                    time.sleep(0.01)
                # the lines go on below the first run's (or in a new file, had they not fit),
                # and the header is not written again into a file that has it
                with open(fw_file(s2), "rb") as fh:
                    data = fh.read()
                self.assertEqual(data.count(b"#Version: 1.5"), 1)
                lines = [int(m.group(4)) for m in fw_lines_of(data)]
                self.assertEqual(lines[-1], port)
                self.assertIn(lines[:-1], ([], got[1]))
        finally:
            os.unlink(path)
            shutil.rmtree(state)

    def test_in_front_of_a_balancer_and_over_a_reload(self):
        # the firewall stands before the balancer: what it drops never reaches the balancer's
        # log; a reload (a new generation) writes below the same header
        ex2 = ('<server name="EX2" version="2016"><ews internal-url="https://ex2.contoso.com/'
               'EWS/Exchange.asmx" external-url="https://mail.contoso.com/EWS/Exchange.asmx" '
               'mrsproxy="true"/></server>')
        path = own_scenario(RULES + '<balancer name="LB1"><member server="EX1"/>'
                            '<member server="EX2"/></balancer>')
        with open(path) as f:
            text = f.read().replace('<listener name="edge">', ex2 + '<listener name="edge">')
        with open(path, "w") as f:
            f.write(text)
        try:
            with Server(path, listen="0.0.0.0:0") as s:
                r = s.curl("mail.contoso.com", MRS, "--http1.1", "--interface", "127.0.0.2",
                           "--max-time", "1")
                self.assertEqual(r[3], 28, r[4])
                self.assertEqual(s.curl("mail.contoso.com", MRS, "--http1.1", "--interface",
                                        "127.0.0.1")[0], 401)
                s.proc.send_signal(signal.SIGHUP)
                s.wait_stderr(r'now serving scenario "own"')
                self.assertEqual(s.curl("mail.contoso.com", MRS, "--http1.1", "--interface",
                                        "127.0.0.1")[0], 401)
                lines = fw_wait(s, 3)
                self.assertEqual([(m.group(1), m.group(2)) for m in lines],
                                 [("DROP", "127.0.0.2"), ("ALLOW", "127.0.0.1"),
                                  ("ALLOW", "127.0.0.1")])
                heads, _ = fw_lines(s)
                self.assertEqual(heads.count(FIELDS), 1)
                deadline = time.monotonic() + TIMEOUT
                while True:  # a tcplog line is written when its connection closes
                    lb = open(glob.glob(os.path.join(s.ready["logs"], "LB1", "haproxy-*.log"))[0],
                              encoding="ascii").read().splitlines()
                    if len(lb) >= 2 or time.monotonic() > deadline:
                        break
                    time.sleep(0.01)  # polling with a deadline, not a fixed wait
                self.assertEqual(len(lb), 2, lb)
                self.assertFalse(any("127.0.0.2:" in l for l in lb), lb)
        finally:
            os.unlink(path)


class UrlFilter(unittest.TestCase):
    def test_mrsproxy_blocked_rest_of_ews_passes(self):
        with Server("firewall-url-filter") as s:
            st, headers, body, rc, err = s.curl("mail.contoso.com", MRS, "--http1.1", "-u",
                                                "admin:P@ssw0rd!")
            self.assertEqual(st, 403, err)
            names = {k.lower() for k, _ in headers}
            self.assertNotIn("server", names)  # not IIS's answer
            self.assertNotIn("www-authenticate", names)
            self.assertIn(b"The page you have requested has been blocked, because the URL is "
                          b"banned.", body)
            self.assertIn(b"mail.contoso.com", body)
            # case-insensitive, as IIS routes: another spelling meets the same filter
            self.assertEqual(s.curl("mail.contoso.com", "/ews/MRSPROXY.svc", "--http1.1")[0],
                             403)
            # the rest of EWS reaches IIS
            st = s.curl("mail.contoso.com", "/EWS/Exchange.asmx", "--http1.1")
            self.assertEqual(st[0], 401, st[4])
            lines = fw_wait(s, 5)
            drops = [(m.group(1), m.group(7)) for m in lines if m.group(1) == "DROP"]
            self.assertEqual(drops, [("DROP", "url-filter:/ews/mrsproxy.svc")] * 2)
            self.assertEqual([m.group(7) for m in lines if m.group(1) == "ALLOW"],
                             ["default"] * 3)
            _, iis = s.w3c_wait(1)
            self.assertEqual([(l[4], l[11]) for l in iis], [("/EWS/Exchange.asmx", "401")])
            self.assertEqual(s.httperr_lines()[1], [])

    def test_reset_and_hang(self):
        path = own_scenario('<firewall name="FW2"><url-filter path="/ews/mrsproxy.svc" '
                            'action="reset"/><url-filter path="/autodiscover/" action="hang"/>'
                            '</firewall>')
        try:
            with Server(path, "--admin", "127.0.0.1:0") as s:
                r = s.curl("mail.contoso.com", MRS, "--http1.1")
                self.assertEqual((r[0], r[3]), (0, 56), r[4])
                r = s.curl("autodiscover.contoso.com", "/Autodiscover/Autodiscover.xml",
                           "--http1.1", "--max-time", "1")
                self.assertEqual((r[0], r[3]), (0, 28), r[4])
                self.assertEqual(s.curl("mail.contoso.com", "/EWS/Exchange.asmx",
                                        "--http1.1")[0], 401)
                lines = fw_wait(s, 5, "FW2")
                self.assertEqual([m.group(7) for m in lines if m.group(1) == "DROP"],
                                 ["url-filter:/ews/mrsproxy.svc", "url-filter:/autodiscover/"])
                _, iis = s.w3c_wait(1)
                self.assertEqual([l[4] for l in iis], ["/EWS/Exchange.asmx"])
                # the held request ends once its client gave up: unanswered, in the journal only
                with urllib.request.urlopen(s.ready["admin"] + "/requests/wait?count=1&path="
                                            "/Autodiscover/&timeout=5000", timeout=10) as resp:
                    e = json.load(resp)["requests"][0]
                self.assertEqual(e["answered_by"], "", e)
                self.assertEqual(e["why"][-1], "urlfilter: the client gave up", e)
                self.assertEqual(e["logs"], [], e)
        finally:
            os.unlink(path)


class SniFilter(unittest.TestCase):
    """A firewall without TLS inspection reads only the ClientHello's server name: a host it
    filters is reset or held before TLS, every path of it alike; other names, and a hello
    without SNI, pass."""

    def test_reset_hold_and_pass(self):
        path = own_scenario('<firewall name="FW3"><sni-filter host="autodiscover.contoso.com"/>'
                            '<sni-filter host="*.contoso.net" action="hang"/></firewall>')
        try:
            with Server(path, "--admin", "127.0.0.1:0") as s:
                with urllib.request.urlopen(s.ready["admin"] + "/topology", timeout=10) as r:
                    fw = json.load(r)["listeners"][0]["firewall"]
                self.assertEqual(fw["sni_filters"],
                                 [{"host": "autodiscover.contoso.com", "action": "reset"},
                                  {"host": "*.contoso.net", "action": "hang"}])
                self.assertEqual([p["code"] for p in fw["problems"]], ["sni-filter"] * 2)
                self.assertEqual(s.curl("mail.contoso.com", MRS, "--http1.1")[0], 401)
                # reset in the handshake: curl's "SSL connect error" family, no HTTP at all
                st, _, _, rc, err = s.curl("autodiscover.contoso.com",
                                           "/Autodiscover/Autodiscover.xml", "--http1.1")
                self.assertEqual(st, 0)
                self.assertIn(rc, (35, 56), err)
                # held: the handshake never completes
                ctx = ssl.create_default_context(cafile=s.ca)
                raw = socket.create_connection(("127.0.0.1", s.port), timeout=1)
                with self.assertRaises((socket.timeout, TimeoutError)):
                    ctx.wrap_socket(raw, server_hostname="ex9.contoso.net")
                raw.close()
                # no SNI at all (an address): nothing to filter on
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                with ctx.wrap_socket(socket.create_connection(("127.0.0.1", s.port)),
                                     server_hostname=None) as c:
                    c.sendall(b"GET /EWS/Exchange.asmx HTTP/1.1\r\nHost: mail.contoso.com\r\n"
                              b"Connection: close\r\n\r\n")
                    self.assertTrue(c.recv(100).startswith(b"HTTP/1.1 401 "))
                lines = fw_wait(s, 6, "FW3")
                self.assertEqual([m.group(7) for m in lines if m.group(1) == "DROP"],
                                 ["sni-filter:autodiscover.contoso.com", "sni-filter:*.contoso.net"])
                _, iis = s.w3c_wait(2)
                self.assertEqual([l[4] for l in iis], [MRS, "/EWS/Exchange.asmx"])
        finally:
            os.unlink(path)


def https(s, host, method, path, headers=None, body=None):
    """One request over HTTP/1.1 with Python's client: (status, reason phrase, headers, body)."""
    ctx = ssl.create_default_context(cafile=s.ca)
    c = http.client.HTTPSConnection("127.0.0.1", s.port, context=ctx, timeout=TIMEOUT)
    c.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", s.port), timeout=TIMEOUT),
                             server_hostname=host)
    try:
        c.putrequest(method, path, skip_host=True)
        c.putheader("Host", "%s:%d" % (host, s.port))
        for k, v in (headers or {}).items():
            c.putheader(k, v)
        c.endheaders(body)
        r = c.getresponse()
        return r.status, r.reason, r.getheaders(), r.read()
    finally:
        c.close()


class ReverseProxy(unittest.TestCase):
    """A firewall that publishes paths (TMG, the Web Application Proxy) and pre-authenticates
    some, or that offloads TLS: the client meets the device's logon or IIS's 403.4."""

    def test_forms_pre_auth(self):
        with Server("pre-auth-proxy") as s:
            # with credentials or without, the device wants its own logon
            for hdrs in ({}, {"Authorization": "Basic YWRtaW46UEBzc3cwcmQh"}):
                st, reason, h, body = https(s, "mail.contoso.com", "POST", MRS,
                                            dict(hdrs, **{"Content-Type": "application/soap+xml"}),
                                            b"<x/>")
                self.assertEqual((st, reason), (302, "Moved Temporarily"))
                names = {k.lower(): v for k, v in h}
                self.assertNotIn("www-authenticate", names)
                self.assertNotIn("server", names)
                loc = names["location"]
                self.assertEqual(loc, "https://mail.contoso.com:%d/CookieAuth.dll?GetLogon?"
                                 "curl=Z2FEWSZ2Fmrsproxy.svc&reason=0&formdir=3" % s.port)
                self.assertIn(b'HREF="' + loc.replace("&", "&amp;").encode() + b'"', body)
            # the form the redirect leads to, served by the device
            st, _, h, body = https(s, "mail.contoso.com", "GET", loc.split(str(s.port), 1)[1])
            self.assertEqual((st, dict(h)["Content-Type"]), (200, "text/html"))
            self.assertIn(b"Forefront TMG", body)
            self.assertIn(b'action="/CookieAuth.dll?Logon"', body)
            # a path the device does not publish: TMG's own 403, with its text in the reason
            st, reason, _, body = https(s, "mail.contoso.com", "GET", "/mapi/nspi/")
            self.assertEqual((st, reason), (403, "Forbidden ( Forefront TMG denied the specified "
                                                 "Uniform Resource Locator (URL). )"))
            self.assertIn(b"Error Code: 403 Forbidden. Forefront TMG denied the specified Uniform "
                          b"Resource Locator (URL). (12202)", body)
            lines = fw_wait(s, 7, "TMG1")
            self.assertEqual([m.group(7) for m in lines if m.group(1) == "DROP"],
                             ["pre-auth:forms:/EWS"] * 2 + ["publish:none"])
            self.assertEqual([m.group(7) for m in lines if m.group(1) == "ALLOW"], ["default"] * 4)
            # nothing reached a server
            self.assertEqual(s.w3c_lines()[1], [])
            self.assertEqual(s.httperr_lines()[1], [])

    def test_adfs_and_unauthenticated_rules(self):
        path = own_scenario('<firewall name="WAP1" adfs="sts.fabrikam.net">'
                            '<publish path="/owa/" pre-auth="adfs"/><publish path="/ews"/>'
                            '</firewall>')
        try:
            with Server(path) as s:
                st, reason, h, _ = https(s, "mail.contoso.com", "GET", "/owa/?a=1")
                self.assertEqual((st, reason), (307, "Temporary Redirect"))
                loc = dict(h)["Location"]
                self.assertTrue(loc.startswith("https://sts.fabrikam.net/adfs/ls/?version=1.0&"
                                               "action=signin&realm=urn%3AAppProxy%3Acom&"
                                               "appRealm="), loc)
                q = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)
                self.assertEqual(q["returnUrl"],
                                 ["https://mail.contoso.com:%d/owa/?a=1" % s.port])
                self.assertEqual(len(q["client-request-id"][0]), 36)
                # the same application, the same realm
                loc2 = dict(https(s, "mail.contoso.com", "GET", "/owa/x")[2])["Location"]
                self.assertEqual(urllib.parse.parse_qs(urllib.parse.urlsplit(loc2).query)
                                 ["appRealm"], q["appRealm"])
                # /EWS is published without pre-authentication: IIS challenges, as it should
                st, _, h, _ = https(s, "mail.contoso.com", "POST", MRS,
                                    {"Content-Type": "application/soap+xml"}, b"<x/>")
                self.assertEqual(st, 401)
                self.assertIn(("WWW-Authenticate", "NTLM"), h)
                _, iis = s.w3c_wait(1)
                self.assertEqual([(l[4], l[11]) for l in iis], [(MRS, "401")])
                self.assertEqual([m.group(7) for m in fw_wait(s, 5, "WAP1")
                                  if m.group(1) == "DROP"], ["pre-auth:adfs:/owa/"] * 2)
        finally:
            os.unlink(path)

    def test_ssl_offload(self):
        with Server("ssl-offload") as s:
            for host, path in (("mail.contoso.com", MRS),
                               ("autodiscover.contoso.com", "/Autodiscover/Autodiscover.xml")):
                st, reason, h, body = https(s, host, "POST", path,
                                            {"Content-Type": "text/xml"}, b"<x/>")
                self.assertEqual((st, reason), (403, "Forbidden"))
                self.assertEqual(dict(h)["Server"], "Microsoft-IIS/10.0")
                self.assertNotIn("WWW-Authenticate", dict(h))
                self.assertIn(b"<title>403.4 - Forbidden: SSL is required to view this "
                              b"resource.</title>", body)
            _, iis = s.w3c_wait(2)
            # IIS saw them on its HTTP binding, and no HttpProxy line: IIS refused them itself
            self.assertEqual([(l[4], l[6], l[11], l[12], l[13]) for l in iis],
                             [(MRS, "80", "403", "4", "5"),
                              ("/Autodiscover/Autodiscover.xml", "80", "403", "4", "5")])
            self.assertEqual(hp_read(s, "Ews")[2], [])
            self.assertEqual([m.group(1) for m in fw_wait(s, 2, "LB1")], ["ALLOW"] * 2)

    def test_scenario_errors(self):
        for attrs, body, message in (
                (' tls="false"', '<firewall name="F" ssl-offload="true"/>',
                 'firewall "F": ssl-offload needs a TLS listener'),
                ("", '<firewall name="F"><publish path="/owa" pre-auth="adfs"/></firewall>',
                 'firewall "F": publish "/owa" pre-authenticates with AD FS, and the firewall '
                 'names no AD FS server (adfs="sts.example.com")'),
                ("", '<firewall name="F"><publish path="owa"/></firewall>',
                 'firewall "F": publish path "owa" must be a path starting with "/"'),
                ("", '<firewall name="F"><publish path="/owa" pre-auth="kerberos"/></firewall>',
                 "none, forms or adfs"),
                ("", '<firewall name="F"><sni-filter host="mail.contoso.com/ews"/></firewall>',
                 'firewall "F": sni-filter host "mail.contoso.com/ews" must be a host name'),
                (' tls="false"', '<firewall name="F"><sni-filter host="a.b"/></firewall>',
                 'firewall "F": sni-filter needs a TLS listener')):
            path = harness.own_scenario('<listener name="edge"%s>%s</listener>' % (attrs, body),
                                        "perimeter-")
            try:
                p = harness.mrsmock("check", path)
                self.assertNotEqual(p.returncode, 0, p.stdout)
                self.assertRegex(p.stderr, re.escape(path) + r":\d+: ")
                self.assertIn(message, p.stderr)
            finally:
                os.unlink(path)


def attempt(port, timeout=1.0):
    """What a TCP connect to PORT meets: "open", "refused" or "timeout"."""
    c = socket.socket()
    c.settimeout(timeout)
    try:
        c.connect(("127.0.0.1", port))
        return "open"
    except ConnectionRefusedError:
        return "refused"
    except socket.timeout:
        return "timeout"
    finally:
        c.close()


class PortState(unittest.TestCase):
    def test_closed_filtered_and_back(self):
        path = own_scenario("")
        with open(path, "w") as f:
            f.write('<scenario xmlns="urn:mrsmock:scenario:1" name="ports" extends="healthy">'
                    '<listener name="edge" port-state="filtered"/>'
                    '<listener name="shut" address="127.0.0.1:0" certificate="mail" server="EX1" '
                    'port-state="closed"/><listener name="plain" address="127.0.0.1:0" '
                    'tls="false" server="EX1" port-state="open"/></scenario>')
        try:
            with Server(path, "--admin", "127.0.0.1:0") as s:
                ports = [int(l["url"].rsplit(":", 1)[1]) for l in s.ready["listeners"]]
                self.assertEqual([attempt(p) for p in ports], ["timeout", "refused", "open"])
                # a switch opens them, on the ports they had; another closes them again
                self.assertEqual(switch(s, {"name": "healthy"}), 200)
                self.assertEqual(s.curl("mail.contoso.com", MRS, "--http1.1")[0], 401)
                self.assertEqual(attempt(ports[0]), "open")
                self.assertEqual(switch(s, {"file": path}), 200)
                self.assertEqual([attempt(p) for p in ports], ["timeout", "refused", "open"])
                # nothing of it reached a server
                _, iis = s.w3c_wait(1)
                self.assertEqual(len(iis), 1)
        finally:
            os.unlink(path)


def switch(s, body):
    req = urllib.request.Request(s.ready["admin"] + "/scenario", data=json.dumps(body).encode(),
                                 method="PUT", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


class Scenarios(unittest.TestCase):
    def test_port_blocked(self):
        with Server("port-blocked") as s:
            r = s.curl("mail.contoso.com", MRS, "--http1.1", "--max-time", "1")
            self.assertEqual((r[0], r[3]), (0, 28), r[4])
            self.assertIn("Connection timed out", r[4])  # in the connect, not the handshake
            self.assertEqual(s.w3c_lines()[1], [])

    def test_ip_filter_drops_the_lab(self):
        # Exchange Online's ranges only: a lab client, from any loopback address, is dropped
        with Server("firewall-ip-filter", listen="0.0.0.0:0") as s:
            for src in ("127.0.0.1", "127.0.0.2"):
                r = s.curl("mail.contoso.com", MRS, "--http1.1", "--interface", src,
                           "--max-time", "1")
                self.assertEqual((r[0], r[3]), (0, 28), r[4])
            lines = fw_wait(s, 2)
            self.assertEqual([(m.group(1), m.group(2), m.group(7)) for m in lines],
                             [("DROP", "127.0.0.1", "default"), ("DROP", "127.0.0.2", "default")])
            self.assertEqual(s.w3c_lines()[1], [])


if __name__ == "__main__":
    unittest.main()
