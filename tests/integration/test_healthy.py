"""The `healthy` scenario end to end, through real clients: TLS, routing, Basic, the 401
challenge, Autodiscover POX and the IIS log lines the requests leave."""
import base64
import os
import re
import subprocess
import unittest
import xml.etree.ElementTree as ET

from harness import Server, TIMEOUT

NS_R = "{http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006}"
NS_A = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"
ADMIN = ("admin", "P@ssw0rd!")
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def pox_request(addr, schema=NS_A[1:-1]):
    return ('<?xml version="1.0" encoding="utf-8"?>'
            '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/'
            'requestschema/2006"><Request><EMailAddress>%s</EMailAddress>'
            '<AcceptableResponseSchema>%s</AcceptableResponseSchema></Request></Autodiscover>'
            % (addr, schema))


def values(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


class Healthy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server("healthy")

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def test_ready_line(self):
        r = self.s.ready
        self.assertEqual(r["event"], "ready")
        self.assertEqual(r["scenario"], "healthy")
        self.assertIsNone(r["admin"])
        self.assertEqual(len(r["listeners"]), 1)
        l = r["listeners"][0]
        self.assertEqual(l["name"], "edge")
        self.assertRegex(l["url"], r"^https://127\.0\.0\.1:\d+$")
        self.assertNotEqual(self.s.port, 0)
        self.assertEqual(l["hosts"], ["mail.contoso.com", "ex1.contoso.com",
                                      "autodiscover.contoso.com"])
        self.assertTrue(os.path.isfile(r["ca"]))
        self.assertEqual(r["logs"], os.path.join(self.s.state_dir, "logs"))
        self.assertEqual(os.stat(os.path.join(self.s.state_dir, "pki", "ca.key")).st_mode & 0o777,
                         0o600)

    def s_client(self, name, *args):
        p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.s.port,
                            "-servername", name, "-CAfile", self.s.ca, "-verify_return_error",
                            "-verify_hostname", name, *args], input="", capture_output=True,
                           text=True, timeout=TIMEOUT)
        return p.returncode, p.stdout + p.stderr

    def test_tls_chain_and_names_verify(self):
        for name in ("mail.contoso.com", "autodiscover.contoso.com"):
            rc, out = self.s_client(name)
            self.assertEqual(rc, 0, out)
            self.assertIn("Verify return code: 0 (ok)", out)

    def test_tls_versions(self):
        rc, out = self.s_client("mail.contoso.com", "-tls1_2")
        self.assertEqual(rc, 0, out)
        self.assertIn("Protocol  : TLSv1.2", out)
        rc, out = self.s_client("mail.contoso.com", "-tls1_3")
        self.assertEqual(rc, 0, out)
        self.assertIn("TLSv1.3", out)
        rc, out = self.s_client("mail.contoso.com", "-tls1_1")
        self.assertNotEqual(rc, 0, out)

    def test_name_not_covered_fails_verification(self):
        rc, out = self.s_client("www.contoso.com")
        self.assertNotEqual(rc, 0)
        self.assertIn("hostname mismatch", out)

    def test_anonymous_challenge(self):
        st, h, body, rc, err = self.s.curl("mail.contoso.com", "/EWS/mrsproxy.svc")
        self.assertEqual(rc, 0, err)
        self.assertEqual(st, 401)
        self.assertEqual(values(h, "WWW-Authenticate"),
                         ["Negotiate", "NTLM", 'Basic realm="mail.contoso.com"'])
        self.assertEqual(values(h, "Content-Length"), ["0"])
        self.assertEqual(values(h, "Server"), ["Microsoft-IIS/10.0"])
        self.assertEqual(values(h, "X-FEServer"), ["EX1"])
        self.assertRegex(values(h, "request-id")[0], "^%s$" % GUID)
        self.assertEqual(body, b"")

    def test_routing_is_case_insensitive(self):
        for path in ("/ews/MRSPROXY.SVC", "/EWS/mrsproxy.svc/", "/Ews/MrsProxy.svc"):
            st, h, _, _, _ = self.s.curl("mail.contoso.com", path)
            self.assertEqual(st, 401, path)

    def test_basic_admin_gets_service_page(self):
        st, h, body, rc, err = self.s.curl("mail.contoso.com", "/EWS/mrsproxy.svc",
                                           "-u", "%s:%s" % ADMIN)
        self.assertEqual(st, 200, err)
        self.assertIn(b"Metadata publishing for this service is currently disabled.", body)
        self.assertIn(b"MailboxReplicationProxyService Service", body)
        for user in ("CONTOSO\\admin", "admin@contoso.com", "ADMIN", "contoso\\Admin"):
            st, _, _, _, _ = self.s.curl("mail.contoso.com", "/EWS/mrsproxy.svc",
                                         "-u", "%s:%s" % (user, ADMIN[1]))
            self.assertEqual(st, 200, user)

    def test_basic_wrong_password(self):
        st, h, body, _, _ = self.s.curl("mail.contoso.com", "/EWS/mrsproxy.svc",
                                        "-u", "admin:wrong")
        self.assertEqual(st, 401)
        self.assertIn('Basic realm="mail.contoso.com"', values(h, "WWW-Authenticate"))
        st, _, _, _, _ = self.s.curl("mail.contoso.com", "/EWS/mrsproxy.svc",
                                     "-u", "nobody:%s" % ADMIN[1])
        self.assertEqual(st, 401)

    def test_malformed_basic_is_401(self):
        for bad in ("Basic", "Basic !!!!", "Basic " + base64.b64encode(b"nocolon").decode(),
                    "Basic " + "A" * 5000, "Basic YWRtaW4=x"):
            st, _, _, rc, err = self.s.curl("mail.contoso.com", "/EWS/mrsproxy.svc",
                                            "-H", "Authorization: " + bad)
            self.assertEqual(st, 401, bad)

    def test_unknown_path_is_iis_404(self):
        st, h, body, _, _ = self.s.curl("mail.contoso.com", "/nothing/here.aspx")
        self.assertEqual(st, 404)
        self.assertIn(b"404 - File or directory not found.", body)
        self.assertEqual(values(h, "X-FEServer"), [])

    def test_http2_by_alpn(self):
        p = subprocess.run(["curl", "-sS", "--http2", "--cacert", self.s.ca, "-o", "/dev/null",
                            "-u", "%s:%s" % ADMIN, "-w", "%{http_version} %{http_code}",
                            *self.s.resolve_args(),
                            self.s.url("mail.contoso.com", "/EWS/mrsproxy.svc")],
                           capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(p.stdout, "2 200", p.stderr)

    def autodiscover(self, body, *args):
        return self.s.curl("autodiscover.contoso.com", "/autodiscover/autodiscover.xml",
                           "-u", "%s:%s" % ADMIN, "-H", "Content-Type: text/xml; charset=utf-8",
                           "--data-binary", body, *args)

    def test_autodiscover_known_mailbox(self):
        st, h, body, rc, err = self.autodiscover(pox_request("user1@contoso.com"))
        self.assertEqual(st, 200, err)
        self.assertTrue(values(h, "Content-Type")[0].startswith("text/xml"))
        self.assertEqual(values(h, "X-SOAP-Enabled"), ["True"])
        root = ET.fromstring(body)
        self.assertEqual(root.tag, NS_R + "Autodiscover")
        resp = root.find(NS_A + "Response")
        self.assertEqual(resp.findtext(NS_A + "User/" + NS_A + "DisplayName"), "User One")
        self.assertEqual(resp.findtext(NS_A + "User/" + NS_A + "AutoDiscoverSMTPAddress"),
                         "user1@contoso.com")
        self.assertEqual(resp.findtext(NS_A + "Account/" + NS_A + "Action"), "settings")
        protos = {p.findtext(NS_A + "Type"): p for p in resp.iter(NS_A + "Protocol")}
        self.assertEqual(sorted(protos), ["EXCH", "EXPR"])
        expr = protos["EXPR"]
        self.assertEqual(expr.findtext(NS_A + "EwsUrl"),
                         "https://mail.contoso.com:%d/EWS/Exchange.asmx" % self.s.port)
        self.assertEqual(expr.findtext(NS_A + "Server"), "mail.contoso.com")
        self.assertEqual(expr.findtext(NS_A + "SSL"), "On")
        self.assertEqual(protos["EXCH"].findtext(NS_A + "ServerVersion"), "73C189CB")
        self.assertEqual(protos["EXCH"].findtext(NS_A + "EwsUrl"),
                         "https://ex1.contoso.com:%d/EWS/Exchange.asmx" % self.s.port)

    def error_code(self, body):
        root = ET.fromstring(body)
        err = root.find(NS_R + "Response/" + NS_R + "Error")
        self.assertIsNotNone(err, body)
        self.assertRegex(err.get("Time"), r"^\d\d:\d\d:\d\d\.\d{7}$")
        return err.findtext(NS_R + "ErrorCode"), err.findtext(NS_R + "Message")

    def test_autodiscover_errors(self):
        st, _, body, _, _ = self.autodiscover(pox_request("nobody@contoso.com"))
        self.assertEqual(st, 200)
        self.assertEqual(self.error_code(body), ("500", "The email address can't be found."))
        for bad in ("<not-xml", "<a/>", "", '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x '
                    '"y">]><Autodiscover/>'):
            st, _, body, _, _ = self.autodiscover(bad)
            self.assertEqual(st, 200, bad)
            self.assertEqual(self.error_code(body), ("600", "Invalid Request"), bad)
        st, _, body, _, _ = self.autodiscover(pox_request("admin@contoso.com", "urn:other"))
        self.assertEqual(self.error_code(body)[0], "601")
        st, _, body, _, _ = self.s.curl("autodiscover.contoso.com",
                                        "/Autodiscover/Autodiscover.xml", "-u", "%s:%s" % ADMIN)
        self.assertEqual(st, 200)
        self.assertEqual(self.error_code(body), ("600", "Invalid Request"))

    def test_autodiscover_challenge_carries_discovery_headers(self):
        st, h, _, _, _ = self.s.curl("autodiscover.contoso.com", "/autodiscover/autodiscover.xml")
        self.assertEqual(st, 401)
        self.assertEqual(values(h, "X-SOAP-Enabled"), ["True"])


class HealthyLogs(unittest.TestCase):
    """Every request answered leaves exactly one IIS line, with the fields IIS writes."""

    def test_w3c_lines(self):
        with Server("healthy") as s:
            sent = [
                (("/EWS/mrsproxy.svc",), ("401", "2", "5"), "-"),
                (("/EWS/mrsproxy.svc", "-u", "admin:wrong"), ("401", "1", "1326"), "-"),
                (("/EWS/mrsproxy.svc?x=1", "-u", "CONTOSO\\admin:P@ssw0rd!"), ("200", "0", "0"),
                 "CONTOSO\\admin"),
                (("/nothing", "-A", "Test Agent/1.0\r\nX: y"), ("404", "0", "2"), "-"),
            ]
            for args, _, _ in sent:
                s.curl("mail.contoso.com", *args)
            # keep-alive: two URLs in one curl run go over one HTTP/1.1 connection: two lines
            st, _, _, _, err = s.curl("mail.contoso.com", "/EWS/mrsproxy.svc", "--http1.1",
                                      s.url("mail.contoso.com", "/ews/mrsproxy.svc"))
            self.assertIn("Re-using existing connection", s.curl("mail.contoso.com",
                          "/EWS/mrsproxy.svc", "--http1.1", "-v",
                          s.url("mail.contoso.com", "/ews/mrsproxy.svc"))[4])
            self.assertEqual(s.stop(), 0)
            heads, lines = s.w3c_lines()
        self.assertEqual(heads[0], "#Software: Microsoft Internet Information Services 10.0")
        self.assertEqual(heads[1], "#Version: 1.0")
        self.assertRegex(heads[2], r"^#Date: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
        self.assertEqual(heads[3], "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query "
                         "s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status "
                         "sc-substatus sc-win32-status time-taken")
        self.assertEqual(len(lines), len(sent) + 4)
        for f in lines:
            self.assertEqual(len(f), 15, f)
            self.assertRegex(f[0], r"^\d{4}-\d\d-\d\d$")
            self.assertRegex(f[1], r"^\d\d:\d\d:\d\d$")
            self.assertEqual(f[2], "127.0.0.1")
            self.assertEqual(f[8], "127.0.0.1")
            self.assertEqual(int(f[6]), s.port)
            self.assertRegex(f[14], r"^\d+$")
        for (args, triple, user), f in zip(sent, lines):
            self.assertEqual(f[3], "GET")
            self.assertEqual(f[4], args[0].split("?")[0])
            self.assertEqual(tuple(f[11:14]), triple, f)
            self.assertEqual(f[7], user)
        # EWS requests pass the 2013+ front end's HttpProxy module: decorated query
        self.assertRegex(lines[0][5], r"^&CorrelationID=<empty>;&cafeReqId=%s;$" % GUID)
        self.assertRegex(lines[2][5], r"^x=1&CorrelationID=<empty>;&cafeReqId=%s;$" % GUID)
        self.assertEqual(lines[3][5], "-")
        self.assertTrue(lines[3][9].startswith("Test+Agent/1.0"), lines[3][9])
        self.assertEqual([f[4] for f in lines[4:]], ["/ews/mrsproxy.svc", "/EWS/mrsproxy.svc"] * 2)


if __name__ == "__main__":
    unittest.main()
