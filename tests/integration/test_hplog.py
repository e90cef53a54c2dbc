"""The Exchange HttpProxy log of 2013+ front ends (reference 7.3), through real clients: one CSV
line per request that went through the HttpProxy module of /EWS (mrsproxy.svc included) or
/Autodiscover, in hourly files under Program Files/.../Logging/HttpProxy/<Protocol>, read back
with a CSV parser after the server has stopped (lines are written after the response, as
Exchange does). Each line's RequestId is the cafeReqId of the request's IIS line."""
import csv
import os
import re
import shutil
import tempfile
import unittest

from harness import Server

FIELDS = (
    "DateTime,RequestId,MajorVersion,MinorVersion,BuildVersion,RevisionVersion,ClientRequestId,"
    "Protocol,UrlHost,UrlStem,ProtocolAction,AuthenticationType,IsAuthenticated,"
    "AuthenticatedUser,Organization,AnchorMailbox,UserAgent,ClientIpAddress,ServerHostName,"
    "HttpStatus,BackEndStatus,ErrorCode,Method,ProxyAction,TargetServer,TargetServerVersion,"
    "RoutingType,RoutingHint,BackEndCookie,ServerLocatorHost,ServerLocatorLatency,RequestBytes,"
    "ResponseBytes,TargetOutstandingRequests,AuthModulePerfContext,HttpPipelineLatency,"
    "CalculateTargetBackEndLatency,GlsLatencyBreakup,TotalGlsLatency,AccountForestLatencyBreakup,"
    "TotalAccountForestLatency,ResourceForestLatencyBreakup,TotalResourceForestLatency,ADLatency,"
    "SharedCacheLatencyBreakup,TotalSharedCacheLatency,ActivityContextLifeTime,"
    "ModuleToHandlerSwitchingLatency,ClientReqStreamLatency,BackendReqInitLatency,"
    "BackendReqStreamLatency,BackendProcessingLatency,BackendRespInitLatency,"
    "BackendRespStreamLatency,ClientRespStreamLatency,KerberosAuthHeaderLatency,"
    "HandlerCompletionLatency,RequestHandlerLatency,HandlerToModuleSwitchingLatency,ProxyTime,"
    "CoreLatency,RoutingLatency,HttpProxyOverhead,TotalRequestTime,RouteRefresherLatency,"
    "UrlQuery,BackEndGenericInfo,GenericInfo,GenericErrors,EdgeTraceId,DatabaseGuid,"
    "UserADObjectGuid,PartitionEndpointLookupLatency,RoutingStatus").split(",")
HPDIR = ("Program Files", "Microsoft", "Exchange Server", "V15", "Logging", "HttpProxy")
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
ADMIN = "admin:P@ssw0rd!"
MRS = "/EWS/mrsproxy.svc"
POX = ('<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/'
       'exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>'
       'user1@contoso.com</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/'
       'exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request>'
       '</Autodiscover>')


def hp_folder(s, protocol, server="EX1"):
    return os.path.join(s.ready["logs"], server, *HPDIR, protocol)


def hp_read(s, protocol, server="EX1"):
    """The HttpProxy log of SERVER for PROTOCOL: (file names, header lines, rows as dicts)."""
    d = hp_folder(s, protocol, server)
    names = sorted(os.listdir(d)) if os.path.isdir(d) else []
    heads, rows = [], []
    for name in names:
        with open(os.path.join(d, name), "rb") as f:
            data = f.read()
        # Exchange begins each file with a UTF-8 byte order mark; lines end in CRLF
        assert data.startswith(b"\xef\xbb\xbf"), data[:20]
        text = data[3:].decode("utf-8")
        assert text.endswith("\r\n"), text[-40:]
        for line in text[:-2].split("\r\n"):
            if line.startswith("#"):
                heads.append(line)
                continue
            rec = next(csv.reader([line], strict=True))
            assert len(rec) == len(FIELDS), (len(rec), line)
            rows.append(dict(zip(FIELDS, rec)))
    return names, heads, rows


def cafe_ids(s, server="EX1"):
    """The IIS lines of SERVER by the cafeReqId of their query, and the lines without one."""
    by_id, others = {}, []
    for f in s.w3c_lines(server)[1]:
        m = re.search(r"&cafeReqId=(%s);" % GUID, f[5])
        if m:
            by_id[m.group(1)] = f
        else:
            others.append(f)
    return by_id, others


def overlay(body, name):
    return ('<scenario xmlns="urn:mrsmock:scenario:1" name="%s" extends="healthy">\n%s\n'
            '</scenario>\n' % (name, body))


class HealthyHttpProxyLog(unittest.TestCase):
    """healthy (Exchange 2016): challenges, Basic and NTLM logons on mrsproxy.svc, an
    Autodiscover POST; each leaves a line in its protocol's folder."""

    @classmethod
    def setUpClass(cls):
        with Server("healthy") as s:
            cls.codes = [
                s.curl("mail.contoso.com", MRS)[0],
                s.curl("mail.contoso.com", MRS + "?x=1", "-u", ADMIN,
                       "-A", 'Agent, "quoted"/1.0')[0],
                s.curl("mail.contoso.com", MRS, "-u", "admin:wrong",
                       "-H", "X-Forwarded-For: 203.0.113.9")[0],
                s.curl("mail.contoso.com", MRS, "--ntlm", "-u", "CONTOSO\\" + ADMIN)[0],
                s.curl("autodiscover.contoso.com", "/autodiscover/autodiscover.xml", "-u", ADMIN,
                       "-H", "Content-Type: text/xml; charset=utf-8", "--data-binary", POX)[0],
                s.curl("mail.contoso.com", "/nothing/here")[0],
            ]
            assert s.stop() == 0
            cls.s = s
            cls.ews_names, cls.heads, cls.ews = hp_read(s, "Ews")
            cls.ad_names, cls.ad_heads, cls.ad = hp_read(s, "Autodiscover")
            cls.iis, cls.iis_others = cafe_ids(s)

    def test_answers(self):
        self.assertEqual(self.codes, [401, 200, 401, 200, 200, 404])

    def test_files_and_headers(self):
        self.assertTrue(self.ews_names)
        for name in self.ews_names + self.ad_names:
            self.assertRegex(name, r"^HttpProxy_\d{10}-1\.LOG$")
        # a file per UTC hour: its name is the hour of the lines in it
        first = self.ews[0]["DateTime"]
        self.assertIn("HttpProxy_%s%s%s%s-1.LOG" % (first[0:4], first[5:7], first[8:10],
                                                      first[11:13]), self.ews_names)
        for heads in (self.heads, self.ad_heads):
            self.assertEqual(heads[0], "#Software: Microsoft Exchange Server")
            self.assertEqual(heads[1], "#Version: 15.01.2507.006")
            self.assertEqual(heads[2], "#Log-type: HttpProxy Logs")
            self.assertRegex(heads[3], r"^#Date: %s$" % ISO)
            self.assertEqual(heads[4], "#Fields: " + ",".join(FIELDS))

    def test_one_line_per_request_with_the_iis_request_id(self):
        # six requests on virtual directories (the NTLM handshake is two), one elsewhere
        self.assertEqual(len(self.ews), 5)
        self.assertEqual(len(self.ad), 1)
        self.assertEqual(len(self.iis), 6)
        self.assertEqual([f[4] for f in self.iis_others], ["/nothing/here"])
        for row in self.ews + self.ad:
            self.assertRegex(row["RequestId"], "^%s$" % GUID)
            iis = self.iis[row["RequestId"]]
            self.assertEqual(row["HttpStatus"], iis[11])
            self.assertEqual(row["UrlStem"], iis[4])
            self.assertEqual(row["Method"], iis[3])
            self.assertRegex(row["DateTime"], "^%s$" % ISO)
            self.assertEqual((row["MajorVersion"], row["MinorVersion"], row["BuildVersion"],
                              row["RevisionVersion"]), ("15", "1", "2507", "6"))
            self.assertEqual(row["ServerHostName"], "EX1")
            self.assertIn(row["ClientIpAddress"], ("127.0.0.1", "203.0.113.9"))
            self.assertRegex(row["TotalRequestTime"], r"^\d+$")
            self.assertRegex(row["GenericInfo"],
                             r"^BeginRequest=%s;CorrelationID=<empty>;.*EndRequest=%s;$"
                             % (ISO, ISO))

    def assert_not_proxied(self, row):
        for name in ("BackEndStatus", "ProxyAction", "TargetServer", "TargetServerVersion",
                     "RoutingType", "RoutingHint", "AnchorMailbox", "RoutingStatus"):
            self.assertEqual(row[name], "", name)

    def assert_proxied(self, row):
        self.assertEqual(row["BackEndStatus"], row["HttpStatus"])
        self.assertEqual(row["ProxyAction"], "Proxy")
        self.assertEqual(row["TargetServer"], "ex1.contoso.com")
        self.assertEqual(row["TargetServerVersion"], "15.01.2507.000")
        self.assertEqual(row["RoutingType"], "IntraForest")
        self.assertEqual(row["RoutingStatus"], "CafeV1")
        self.assertIn(";FEAuth=BEVersion-1942063563;", row["GenericInfo"])

    def test_anonymous_challenge(self):
        row = self.ews[0]
        self.assertEqual((row["Protocol"], row["UrlHost"], row["UrlStem"], row["Method"]),
                         ("Ews", "mail.contoso.com", MRS, "GET"))
        self.assertEqual(row["HttpStatus"], "401")
        self.assertEqual(row["IsAuthenticated"], "false")
        self.assertEqual(row["AuthenticationType"], "")
        self.assertEqual(row["AuthenticatedUser"], "")
        self.assertEqual(row["UserAgent"][:5], "curl/")
        self.assert_not_proxied(row)

    def test_basic_logon_proxied(self):
        row = self.ews[1]
        self.assertEqual(row["HttpStatus"], "200")
        self.assertEqual(row["IsAuthenticated"], "true")
        self.assertEqual(row["AuthenticationType"], "Basic")
        # the logon's Windows identity, not the name as typed (the IIS line has "admin")
        self.assertEqual(row["AuthenticatedUser"], "CONTOSO\\admin")
        self.assertEqual(self.iis[row["RequestId"]][7], "admin")
        self.assertEqual(row["UrlQuery"], "?x=1")
        self.assertEqual(row["UserAgent"], 'Agent, "quoted"/1.0')
        self.assertEqual(row["RoutingHint"], "ForestWideOrganization")
        self.assert_proxied(row)

    def test_wrong_password(self):
        row = self.ews[2]
        self.assertEqual(row["HttpStatus"], "401")
        self.assertEqual(row["IsAuthenticated"], "false")
        # the scheme of the credentials sent, though they failed
        self.assertEqual(row["AuthenticationType"], "Basic")
        self.assertEqual(row["AuthenticatedUser"], "")
        self.assertEqual(row["ClientIpAddress"], "203.0.113.9")
        self.assert_not_proxied(row)

    def test_ntlm_handshake(self):
        challenge, logon = self.ews[3], self.ews[4]
        self.assertEqual((challenge["HttpStatus"], challenge["AuthenticationType"],
                          challenge["IsAuthenticated"], challenge["AuthenticatedUser"]),
                         ("401", "NTLM", "false", ""))
        self.assert_not_proxied(challenge)
        self.assertEqual((logon["HttpStatus"], logon["AuthenticationType"],
                          logon["IsAuthenticated"], logon["AuthenticatedUser"]),
                         ("200", "NTLM", "true", "CONTOSO\\admin"))
        self.assert_proxied(logon)

    def test_autodiscover_post(self):
        row = self.ad[0]
        self.assertEqual((row["Protocol"], row["UrlHost"], row["UrlStem"], row["Method"]),
                         ("Autodiscover", "autodiscover.contoso.com",
                          "/autodiscover/autodiscover.xml", "POST"))
        self.assertEqual((row["HttpStatus"], row["IsAuthenticated"], row["AuthenticatedUser"],
                          row["AuthenticationType"]), ("200", "true", "CONTOSO\\admin", "Basic"))
        self.assert_proxied(row)
        # routed on the caller's identity, whatever address the body asks about
        self.assertEqual(row["RoutingHint"], "WindowsIdentity")
        self.assertRegex(row["AnchorMailbox"], r"^Sid~S-1-5-21-\d+-\d+-\d+-1100$")
        self.assertEqual(row["RequestBytes"], str(len(POX)))
        self.assertNotEqual(row["ResponseBytes"], "0")


class RoutingHints(unittest.TestCase):
    def test_explicit_address_and_anchor_header(self):
        with Server("healthy") as s:
            # Autodiscover v2, anonymous: the address in the URL anchors the request
            self.assertEqual(s.curl("autodiscover.contoso.com",
                                    "/autodiscover/autodiscover.json/v1.0/user1@contoso.com"
                                    "?Protocol=EWS")[0], 200)
            # an X-AnchorMailbox address wins over the caller's identity
            self.assertEqual(s.curl("autodiscover.contoso.com", "/autodiscover/autodiscover.xml",
                                    "-u", ADMIN, "-H", "Content-Type: text/xml",
                                    "-H", "X-AnchorMailbox: user1@contoso.com",
                                    "--data-binary", POX)[0], 200)
            # one that is not an address is ignored
            self.assertEqual(s.curl("autodiscover.contoso.com", "/autodiscover/autodiscover.xml",
                                    "-u", ADMIN, "-H", "Content-Type: text/xml",
                                    "-H", "X-AnchorMailbox: not an, address",
                                    "--data-binary", POX)[0], 200)
            self.assertEqual(s.stop(), 0)
            _, _, rows = hp_read(s, "Autodiscover")
        self.assertEqual([(r["IsAuthenticated"], r["BackEndStatus"], r["RoutingHint"])
                          for r in rows],
                         [("false", "200", "ExplicitLogon-SMTP"),
                          ("true", "200", "AnchorMailboxHeader-SMTP"),
                          ("true", "200", "WindowsIdentity")])
        self.assertEqual(rows[0]["AnchorMailbox"], "Smtp~user1@contoso.com")
        self.assertEqual(rows[1]["AnchorMailbox"], "Smtp~user1@contoso.com")
        self.assertRegex(rows[2]["AnchorMailbox"], r"^Sid~S-1-5-21-\d+-\d+-\d+-1100$")


class MrsProxyDisabledHttpProxyLog(unittest.TestCase):
    def test_front_end_refusal_is_not_proxied(self):
        with Server("mrsproxy-disabled") as s:
            self.assertEqual(s.curl("mail.contoso.com", MRS)[0], 401)
            self.assertEqual(s.curl("mail.contoso.com", MRS, "-u", ADMIN)[0], 403)
            self.assertEqual(s.stop(), 0)
            _, _, rows = hp_read(s, "Ews")
            iis, _ = cafe_ids(s)
        self.assertEqual([r["HttpStatus"] for r in rows], ["401", "403"])
        row = rows[1]
        self.assertEqual(tuple(iis[row["RequestId"]][11:14]), ("403", "0", "0"))
        self.assertEqual((row["IsAuthenticated"], row["AuthenticatedUser"],
                          row["AuthenticationType"]), ("true", "CONTOSO\\admin", "Basic"))
        # raised by the front end's HttpProxy module: never reached a back end
        for name in ("BackEndStatus", "ProxyAction", "TargetServer", "RoutingHint"):
            self.assertEqual(row[name], "", name)
        self.assertIn("MRS proxy service is disabled", row["GenericErrors"])
        self.assertEqual(rows[0]["GenericErrors"], "")


class VersionsHttpProxyLog(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mrsmock-hp-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def scenario(self, version):
        path = os.path.join(self.tmp, "ex%s.xml" % version)
        with open(path, "w") as f:
            f.write(overlay('<server name="EX1" version="%s"/>' % version, "ex" + version))
        return path

    def test_exchange_2010_writes_none(self):
        with Server(self.scenario("2010")) as s:
            self.assertEqual(s.curl("mail.contoso.com", MRS)[0], 401)
            self.assertEqual(s.curl("mail.contoso.com", MRS, "-u", ADMIN)[0], 200)
            self.assertEqual(s.curl("autodiscover.contoso.com", "/autodiscover/autodiscover.xml",
                                    "-u", ADMIN, "-H", "Content-Type: text/xml",
                                    "--data-binary", POX)[0], 200)
            self.assertEqual(s.stop(), 0)
            # no front end: no HttpProxy folder at all, and IIS lines without a cafeReqId
            self.assertFalse(os.path.exists(os.path.join(s.ready["logs"], "EX1",
                                                         "Program Files")))
            iis, others = cafe_ids(s)
        self.assertEqual(iis, {})
        self.assertEqual(len(others), 3)

    def test_exchange_2013_build(self):
        with Server(self.scenario("2013")) as s:
            self.assertEqual(s.curl("mail.contoso.com", MRS, "-u", ADMIN)[0], 200)
            self.assertEqual(s.stop(), 0)
            _, heads, rows = hp_read(s, "Ews")
            # both protocols' logs exist from the start
            self.assertTrue(os.path.isdir(hp_folder(s, "Autodiscover")))
        self.assertEqual(heads[1], "#Version: 15.00.1497.002")
        self.assertEqual(len(rows), 1)
        self.assertEqual((rows[0]["MajorVersion"], rows[0]["MinorVersion"],
                          rows[0]["BuildVersion"], rows[0]["RevisionVersion"]),
                         ("15", "0", "1497", "2"))
        self.assertEqual(rows[0]["TargetServerVersion"], "15.00.1497.000")


if __name__ == "__main__":
    unittest.main()
