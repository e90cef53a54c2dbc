"""Autodiscover end to end against the real binary: SOAP (autodiscover.svc), JSON
(autodiscover.json), POX redirections, the HTTP redirect method of a plain listener, the two
Autodiscover scenarios, and the IIS lines all of it leaves."""
import json
import shutil
import unittest
import xml.etree.ElementTree as ET

from harness import Server
from ad_util import (ACTION, ADMIN, GUID, NS, XML_CT, curl, exchangelib_get_user_settings,
                     gus_request, port_of, pox_request, temp_scenario, user_responses, values)

CRED = "%s:%s" % ADMIN


def soap(s, lname, body, *args, host="autodiscover.contoso.com"):
    return curl(s, lname, host, "/autodiscover/autodiscover.svc", "-u", CRED, "-H", XML_CT,
                "--data-binary", body, *args)


def pox(s, lname, addr, host="autodiscover.contoso.com"):
    return curl(s, lname, host, "/autodiscover/autodiscover.xml", "-u", CRED, "-H", XML_CT,
                "--data-binary", pox_request(addr))


class Healthy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server("healthy")
        cls.port = port_of(cls.s, "edge")

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def test_get_user_settings(self):
        st, h, body, rc, err = soap(self.s, "edge", gus_request("admin@contoso.com"))
        self.assertEqual(st, 200, err)
        self.assertEqual(values(h, "Content-Type"), ["text/xml; charset=utf-8"])
        root = ET.fromstring(body)
        self.assertEqual(root.findtext("s:Header/wsa:Action", namespaces=NS),
                         ACTION + "GetUserSettingsResponse")
        svi = root.find("s:Header/ad:ServerVersionInfo", NS)
        self.assertEqual([c.tag.split("}")[1] for c in svi],
                         ["MajorVersion", "MinorVersion", "MajorBuildNumber", "MinorBuildNumber",
                          "Version"])
        self.assertEqual(svi.findtext("ad:MajorBuildNumber", namespaces=NS), "2507")
        [(code, msg, target, settings, errors)] = user_responses(body)
        self.assertEqual((code, msg, target, errors), ("NoError", "No error.", None, []))
        self.assertEqual(settings["ExternalMailboxServer"], "mail.contoso.com")
        self.assertEqual(settings["ExternalEwsUrl"],
                         "https://mail.contoso.com:%d/EWS/Exchange.asmx" % self.port)
        self.assertEqual(settings["InternalMailboxServer"], "ex1.contoso.com")
        self.assertRegex(settings["InternalRpcClientServer"], "^%s@contoso.com$" % GUID)
        self.assertEqual(settings["ExternalMailboxServerAuthenticationMethods"], "Ntlm")
        self.assertEqual(settings["CasVersion"], "15.01.2507.006")

    def test_invalid_user_and_unknown_setting(self):
        body = gus_request(["nobody@contoso.com", "user1@contoso.com"],
                           ("UserDisplayName", "NoSuchSetting"))
        st, _, body, _, err = soap(self.s, "edge", body)
        self.assertEqual(st, 200, err)
        [nobody, user1] = user_responses(body)
        self.assertEqual(nobody[0], "InvalidUser")
        self.assertIn("Invalid user 'nobody@contoso.com'", nobody[1])
        self.assertEqual(nobody[3], {})
        self.assertEqual(user1[0], "NoError")
        self.assertEqual(user1[3], {"UserDisplayName": "User One"})
        self.assertEqual(user1[4], [("InvalidSetting", "NoSuchSetting")])

    def test_user_without_mailbox(self):
        # a <User> with no <Mailbox> (found by fuzz_autodiscover_soap: the server crashed on
        # it): answered like a user no one has, the next user still served
        body = gus_request(["nobody@contoso.com", "user1@contoso.com"], ("UserDisplayName",))
        body = body.replace("<a:Mailbox>nobody@contoso.com</a:Mailbox>", "", 1)
        self.assertNotIn("nobody@contoso.com", body)
        st, _, out, _, err = soap(self.s, "edge", body)
        self.assertEqual(st, 200, err)
        [empty, user1] = user_responses(out)
        self.assertEqual(empty[0], "InvalidUser")
        self.assertEqual(user1[3], {"UserDisplayName": "User One"})
        self.assertIsNone(self.s.proc.poll())

    def test_action_in_soapaction_header_only(self):
        # the migration service's ASMX client: no wsa:Action, a quoted SOAPAction header
        st, _, body, _, err = soap(self.s, "edge", gus_request("user1@contoso.com",
                                                               version="Exchange2010",
                                                               action=False),
                                   "-H", 'SOAPAction: "%sGetUserSettings"' % ACTION)
        self.assertEqual(st, 200, err)
        self.assertEqual(user_responses(body)[0][0], "NoError")

    def test_unknown_action_is_a_wcf_fault(self):
        body = gus_request("user1@contoso.com").replace("/GetUserSettings<", "/GetUserSetting<")
        st, h, body, _, _ = soap(self.s, "edge", body)
        self.assertEqual(st, 500)
        fault = ET.fromstring(body).find("s:Body/s:Fault", NS)
        self.assertEqual(fault.findtext("faultcode"), "a:ActionNotSupported")
        self.assertIn("ContractFilter mismatch at the EndpointDispatcher", fault.findtext("faultstring"))
        st, _, body, _, _ = soap(self.s, "edge", "<not xml")
        self.assertEqual((st, body), (400, b""))

    def test_anonymous_soap_is_challenged(self):
        st, h, _, _, _ = curl(self.s, "edge", "autodiscover.contoso.com",
                              "/autodiscover/autodiscover.svc", "-H", XML_CT, "--data-binary",
                              gus_request("user1@contoso.com"))
        self.assertEqual(st, 401)
        self.assertIn("NTLM", values(h, "WWW-Authenticate"))

    def test_exchangelib_soap_client(self):
        r = exchangelib_get_user_settings(self.s, "edge", "user1@contoso.com")
        self.assertEqual(r["error_code"], None)
        self.assertEqual(r["ews_url"], "https://mail.contoso.com:%d/EWS/Exchange.asmx" % self.port)
        self.assertEqual(r["smtp"], "user1@contoso.com")
        self.assertEqual(r["version"], "Exchange2016")
        r = exchangelib_get_user_settings(self.s, "edge", "nobody@contoso.com")
        self.assertEqual(r["error_code"], "InvalidUser")
        self.assertIn("Invalid user 'nobody@contoso.com'", r["error_message"])

    def json(self, path):
        st, h, body, rc, err = curl(self.s, "edge", "autodiscover.contoso.com",
                                    "/autodiscover/autodiscover.json" + path)
        self.assertEqual(rc, 0, err)
        return st, h, json.loads(body) if body else None

    def test_json_forms(self):
        ews = "https://mail.contoso.com:%d/EWS/Exchange.asmx" % self.port
        st, h, j = self.json("/v1.0/user1%40contoso.com?Protocol=EWS")
        self.assertEqual(st, 200)
        self.assertEqual(values(h, "Content-Type"), ["application/json; charset=utf-8"])
        self.assertEqual(j, {"Protocol": "EWS", "Url": ews})
        st, _, j = self.json("?Email=user1%40contoso.com&Protocol=EWS&RedirectCount=1")
        self.assertEqual((st, j), (200, {"Protocol": "EWS", "Url": ews}))
        st, _, j = self.json("/v1.0/user1@contoso.com?Protocol=ActiveSync")
        self.assertEqual(j["Url"],
                         "https://mail.contoso.com:%d/Microsoft-Server-ActiveSync" % self.port)
        st, _, j = self.json("/v1.0/user1@contoso.com?Protocol=AutodiscoverV1")
        self.assertEqual(j["Url"], "https://autodiscover.contoso.com:%d/Autodiscover/"
                         "Autodiscover.xml" % self.port)
        # an address without a mailbox: the answering server's own URL
        st, _, j = self.json("/v1.0/nobody@contoso.com?Protocol=EWS")
        self.assertEqual((st, j["Url"]), (200, ews))

    def test_json_bad_protocol(self):
        st, _, j = self.json("/v1.0/user1@contoso.com?Protocol=Pop3")
        self.assertEqual(st, 400)
        self.assertEqual(j["ErrorCode"], "InvalidProtocol")
        self.assertEqual(j["ErrorMessage"], "The given protocol value 'Pop3' is invalid. "
                         "Supported values are 'Rest,ActiveSync,Ews,AutodiscoverV1'")


class HealthyLogs(unittest.TestCase):
    def test_iis_lines(self):
        with Server("healthy") as s:
            soap(s, "edge", gus_request("user1@contoso.com"))
            curl(s, "edge", "autodiscover.contoso.com",
                 "/autodiscover/autodiscover.json/v1.0/user1@contoso.com?Protocol=EWS")
            soap(s, "edge", "<broken")
            self.assertEqual(s.stop(), 0)
            _, lines = s.w3c_lines("EX1")
        self.assertEqual([(l[3], l[4], l[7], tuple(l[11:14])) for l in lines], [
            ("POST", "/autodiscover/autodiscover.svc", "admin", ("200", "0", "0")),
            ("GET", "/autodiscover/autodiscover.json/v1.0/user1@contoso.com", "-",
             ("200", "0", "0")),
            ("POST", "/autodiscover/autodiscover.svc", "admin", ("400", "0", "0")),
        ])
        self.assertRegex(lines[0][5], r"^&CorrelationID=<empty>;&cafeReqId=%s;$" % GUID)
        self.assertRegex(lines[1][5], r"^Protocol=EWS&CorrelationID=<empty>;&cafeReqId=%s;$" % GUID)


REDIRECTS = """<scenario xmlns="urn:mrsmock:scenario:1" name="ad-redirects" extends="healthy">
  <organization domain="contoso.com">
    <account sam="moved" password="Moved1!" mailbox="moved@contoso.com" server="EX1"
             redirect-addr="moved@contoso.mail.onmicrosoft.com"/>
  </organization>
  <listener name="plain" address="127.0.0.1:0" tls="false" server="EX1"
            hosts="autodiscover.contoso.com"/>
</scenario>
"""


class Redirects(unittest.TestCase):
    """A mailbox moved to the cloud (redirect-addr) and a plain-HTTP listener in front of
    autodiscover.contoso.com (the HTTP redirect method)."""

    @classmethod
    def setUpClass(cls):
        cls.dir, cls.path = temp_scenario(REDIRECTS)
        cls.s = Server(cls.path)

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_redirect_addr(self):
        st, _, body, _, err = pox(self.s, "edge", "moved@contoso.com")
        self.assertEqual(st, 200, err)
        acc = ET.fromstring(body).find("o:Response/o:Account", NS)
        self.assertEqual(acc.findtext("o:Action", namespaces=NS), "redirectAddr")
        self.assertEqual(acc.findtext("o:RedirectAddr", namespaces=NS),
                         "moved@contoso.mail.onmicrosoft.com")
        st, _, body, _, _ = soap(self.s, "edge", gus_request("moved@contoso.com"))
        [(code, msg, target, settings, _)] = user_responses(body)
        self.assertEqual((code, msg, target, settings), ("RedirectAddress", "Redirection address.",
                                                         "moved@contoso.mail.onmicrosoft.com", {}))

    def test_plain_listener_redirects_to_https(self):
        edge = port_of(self.s, "edge")
        for args in ((), ("-X", "POST", "-H", XML_CT, "--data-binary", pox_request("x@y"))):
            st, h, body, rc, err = curl(self.s, "plain", "autodiscover.contoso.com",
                                        "/autodiscover/autodiscover.xml", *args)
            self.assertEqual(st, 302, err)
            self.assertEqual(values(h, "Location"),
                             ["https://autodiscover.contoso.com:%d/Autodiscover/Autodiscover.xml"
                              % edge])
            self.assertIn(b"<h1>Object Moved</h1>", body)
            self.assertEqual(values(h, "X-FEServer"), [])
            self.assertEqual(values(h, "WWW-Authenticate"), [])
        # the Location reaches mrsmock: following it gets Autodiscover's answer to a GET
        st, _, body, _, err = curl(self.s, "plain", "autodiscover.contoso.com",
                                   "/Autodiscover/Autodiscover.xml", "--location-trusted", "-u",
                                   CRED)
        self.assertEqual(st, 200, err)
        self.assertEqual(ET.fromstring(body).findtext(".//r:ErrorCode", namespaces=NS), "600")
        # other paths of a plain listener need SSL
        st, _, _, _, _ = curl(self.s, "plain", "autodiscover.contoso.com", "/EWS/mrsproxy.svc")
        self.assertEqual(st, 403)

    def test_redirect_iis_line(self):
        with Server(self.path) as s:
            st, _, _, _, _ = curl(s, "plain", "autodiscover.contoso.com",
                                  "/autodiscover/autodiscover.xml?x=1")
            self.assertEqual(st, 302)
            s.stop()
            _, lines = s.w3c_lines("EX1")
        # IIS's redirect module answers before Exchange's HttpProxy: no cafeReqId in the query
        self.assertEqual([(l[3], l[4], l[5], l[6], l[7], tuple(l[11:14])) for l in lines],
                         [("GET", "/autodiscover/autodiscover.xml", "x=1",
                           str(port_of(s, "plain")), "-", ("302", "0", "0"))])


REDIRECT_URL = """<scenario xmlns="urn:mrsmock:scenario:1" name="ad-redirect-url" extends="healthy">
  <server name="EX1">
    <autodiscover redirect-url="https://autodiscover.contoso.com/autodiscover/autodiscover.xml"/>
  </server>
</scenario>
"""


class RedirectUrl(unittest.TestCase):
    def test_every_answer_is_a_redirect_url(self):
        d, path = temp_scenario(REDIRECT_URL)
        try:
            with Server(path) as s:
                port = port_of(s, "edge")
                st, _, body, _, err = pox(s, "edge", "user1@contoso.com")
                self.assertEqual(st, 200, err)
                acc = ET.fromstring(body).find("o:Response/o:Account", NS)
                self.assertEqual(acc.findtext("o:Action", namespaces=NS), "redirectUrl")
                self.assertEqual(acc.findtext("o:RedirectUrl", namespaces=NS),
                                 "https://autodiscover.contoso.com:%d/autodiscover/"
                                 "autodiscover.xml" % port)
                _, _, body, _, _ = soap(s, "edge", gus_request("nobody@contoso.com"))
                self.assertEqual(user_responses(body)[0][:2], ("RedirectUrl", "Redirection URL."))
        finally:
            shutil.rmtree(d, ignore_errors=True)


class UnknownUser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server("autodiscover-unknown-user")

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def test_pox_500(self):
        st, _, body, _, err = pox(self.s, "edge", "admin@contoso.com")
        self.assertEqual(st, 200, err)
        err_el = ET.fromstring(body).find("r:Response/r:Error", NS)
        self.assertEqual(err_el.findtext("r:ErrorCode", namespaces=NS), "500")
        self.assertEqual(err_el.findtext("r:Message", namespaces=NS),
                         "The email address can't be found.")

    def test_soap_invalid_user_with_good_credentials(self):
        st, _, body, _, err = soap(self.s, "edge", gus_request(["admin@contoso.com",
                                                                "user1@contoso.com"]))
        self.assertEqual(st, 200, err)
        [admin, user1] = user_responses(body)
        self.assertEqual(admin[0], "InvalidUser")
        self.assertIn("Invalid user 'admin@contoso.com'", admin[1])
        self.assertEqual(user1[0], "NoError")
        self.assertEqual(user1[3]["ExternalMailboxServer"], "mail.contoso.com")

    def test_iis_line_says_200(self):
        with Server("autodiscover-unknown-user") as s:
            pox(s, "edge", "admin@contoso.com")
            s.stop()
            _, lines = s.w3c_lines("EX1")
        self.assertEqual([(l[3], l[4], l[7], tuple(l[11:14])) for l in lines],
                         [("POST", "/autodiscover/autodiscover.xml", "admin", ("200", "0", "0"))])


class NoMrsProxy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server("autodiscover-no-mrsproxy")

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def test_ready_line(self):
        self.assertEqual([(l["name"], l["hosts"]) for l in self.s.ready["listeners"]],
                         [("edge", ["mail.contoso.com", "ex1.contoso.com"]),
                          ("autodiscover", ["autodiscover.contoso.com"])])

    def test_autodiscover_names_the_wrong_host(self):
        st, _, body, _, err = soap(self.s, "autodiscover", gus_request("admin@contoso.com"))
        self.assertEqual(st, 200, err)
        [(code, _, _, settings, _)] = user_responses(body)
        self.assertEqual(code, "NoError")
        self.assertEqual(settings["ExternalMailboxServer"], "autodiscover.contoso.com")
        # EWS itself is handed out right, on the listener that serves mail.contoso.com
        self.assertEqual(settings["ExternalEwsUrl"], "https://mail.contoso.com:%d/EWS/Exchange."
                         "asmx" % port_of(self.s, "edge"))
        st, _, body, _, _ = pox(self.s, "autodiscover", "user1@contoso.com")
        expr = [p for p in ET.fromstring(body).iterfind(".//o:Protocol", NS)
                if p.findtext("o:Type", namespaces=NS) == "EXPR"]
        self.assertEqual(expr[0].findtext("o:Server", namespaces=NS), "autodiscover.contoso.com")

    def test_mrs_proxy_of_each_host(self):
        st, h, _, _, _ = curl(self.s, "autodiscover", "autodiscover.contoso.com",
                              "/EWS/mrsproxy.svc")
        self.assertEqual(st, 401)  # the credential prompt of step 3
        st, _, body, _, _ = curl(self.s, "autodiscover", "autodiscover.contoso.com",
                                 "/EWS/mrsproxy.svc", "-u", CRED)
        self.assertEqual(st, 403)
        st, _, _, _, _ = curl(self.s, "edge", "mail.contoso.com", "/EWS/mrsproxy.svc", "-u", CRED)
        self.assertEqual(st, 200)

    def test_iis_logs_of_each_server(self):
        with Server("autodiscover-no-mrsproxy") as s:
            soap(s, "autodiscover", gus_request("admin@contoso.com"))
            curl(s, "autodiscover", "autodiscover.contoso.com", "/EWS/mrsproxy.svc", "-u", CRED,
                 "-X", "POST", "-H", "Content-Type: application/soap+xml; charset=utf-8",
                 "--data-binary", "<x/>")
            s.stop()
            _, ex2 = s.w3c_lines("EX2")
            _, ex1 = s.w3c_lines("EX1")
        self.assertEqual([(l[3], l[4], tuple(l[11:14])) for l in ex2], [
            ("POST", "/autodiscover/autodiscover.svc", ("200", "0", "0")),
            ("POST", "/EWS/mrsproxy.svc", ("403", "0", "0")),
        ])
        self.assertEqual([l for l in ex1 if "mrsproxy" in l[4].lower()], [])


if __name__ == "__main__":
    unittest.main()
