"""/EWS/Exchange.asmx of the `healthy` scenario (Exchange 2016, 15.1.2507.6) through real
clients: curl and requests posting the SOAP requests exchangelib and the EWS Managed API send,
then exchangelib 4.9 itself, autodiscovering admin@contoso.com and probing the version; and the
IIS log lines the requests leave."""
import unittest

import requests

import ews_util as eu
from ews_util import M, T, q
from harness import Server

ENDPOINT = "/EWS/Exchange.asmx"
TRUNCATED = "<s:Envelope xmlns:s='%s'><s:Body>" % eu.S11


def values(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


class EwsHealthy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server("healthy")

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def assert_version_info(self, a):
        self.assertEqual(a.version_info, {"MajorVersion": "15", "MinorVersion": "1",
                                          "MajorBuildNumber": "2507", "MinorBuildNumber": "6",
                                          "Version": "V2017_07_11"})

    def assert_fault(self, a, code):
        self.assertEqual(a.status, 500)
        self.assertIsNone(a.header, "a fault carries no SOAP header")
        self.assertEqual(values(a.headers, "Content-Type"), ["text/xml; charset=utf-8"])
        f = a.fault_info()
        self.assertEqual(f["faultcode"], "a:" + code)
        self.assertEqual(f["code"], code)
        return f

    def test_get_folder(self):
        a = eu.ews(self.s, eu.envelope(eu.get_folder("inbox", "msgfolderroot", "archiveroot")))
        self.assertEqual(a.status, 200)
        self.assertEqual(values(a.headers, "Content-Type"), ["text/xml; charset=utf-8"])
        self.assertEqual(values(a.headers, "X-FEServer"), ["EX1"])
        self.assert_version_info(a)
        msgs = a.messages("GetFolder")
        self.assertEqual([(c, code) for c, code, _ in msgs],
                         [("Success", "NoError"), ("Success", "NoError"),
                          ("Error", "ErrorFolderNotFound")])
        inbox = msgs[0][2].find("%s/%s" % (q(M, "Folders"), q(T, "Folder")))
        self.assertEqual(inbox.findtext(q(T, "DisplayName")), "Inbox")
        self.assertEqual(inbox.findtext(q(T, "TotalCount")), "0")
        self.assertEqual(inbox.findtext(q(T, "UnreadCount")), "0")
        self.assertTrue(inbox.find(q(T, "FolderId")).get("Id").startswith("AAMkA"))
        tois = msgs[1][2].find("%s/%s" % (q(M, "Folders"), q(T, "Folder")))
        self.assertEqual(tois.findtext(q(T, "DisplayName")), "Top of Information Store")
        self.assertEqual(tois.findtext(q(T, "ChildFolderCount")), "12")
        self.assertEqual(msgs[2][2].findtext(q(M, "MessageText")),
                         "The specified folder could not be found in the store.")
        # a mailbox nobody has; another's mailbox for a plain user
        a = eu.ews(self.s, eu.envelope(eu.get_folder("inbox", mailbox="nobody@contoso.com")))
        (cls, code, rm), = a.messages("GetFolder")
        self.assertEqual((cls, code), ("Error", "ErrorNonExistentMailbox"))
        self.assertEqual(rm.findtext(q(M, "MessageText")),
                         "The SMTP address has no mailbox associated with it.")
        a = eu.ews(self.s, eu.envelope(eu.get_folder("inbox", mailbox="admin@contoso.com")),
                   user=eu.USER1)
        self.assertEqual(a.messages("GetFolder")[0][1], "ErrorAccessDenied")

    def test_find_folder(self):
        a = eu.ews(self.s, eu.envelope(eu.find_folder()))
        (cls, code, rm), = a.messages("FindFolder")
        self.assertEqual((cls, code), ("Success", "NoError"))
        root = rm.find(q(M, "RootFolder"))
        self.assertEqual(root.get("TotalItemsInView"), "12")
        names = [f.findtext(q(T, "DisplayName")) for f in root.find(q(T, "Folders"))]
        self.assertIn("Inbox", names)
        self.assertIn("Sent Items", names)

    def test_resolve_names(self):
        a = eu.ews(self.s, eu.envelope(eu.resolve_names("user")))
        self.assertEqual(a.status, 200)
        self.assert_version_info(a)
        (cls, code, rm), = a.messages("ResolveNames")
        self.assertEqual((cls, code), ("Success", "NoError"))
        mbx = rm.find("%s/%s/%s" % (q(M, "ResolutionSet"), q(T, "Resolution"), q(T, "Mailbox")))
        self.assertEqual(mbx.findtext(q(T, "Name")), "User One")
        self.assertEqual(mbx.findtext(q(T, "EmailAddress")), "user1@contoso.com")
        a = eu.ews(self.s, eu.envelope(eu.resolve_names("nobody")))
        (cls, code, rm), = a.messages("ResolveNames")
        self.assertEqual((cls, code), ("Error", "ErrorNameResolutionNoResults"))
        self.assertEqual(rm.findtext(q(M, "MessageText")), "No results were found.")
        self.assertEqual(rm.findtext(q(M, "DescriptiveLinkKey")), "0")

    def test_convert_id_is_exchangelibs_version_probe(self):
        # exchangelib's first try: a value no schema has
        a = eu.ews(self.s, eu.envelope(eu.convert_id("DUMMY"), version="Exchange2019"))
        f = self.assert_fault(a, "ErrorInvalidRequest")
        self.assertEqual(f["faultstring"], "The request is invalid.")
        # its second: accepted; the body is an error, the header says what the server is
        a = eu.ews(self.s, eu.envelope(eu.convert_id("DUMMY"), version="Exchange2016"))
        self.assertEqual(a.status, 200)
        self.assert_version_info(a)
        (cls, code, rm), = a.messages("ConvertId")
        self.assertEqual((cls, code), ("Error", "ErrorInvalidIdMalformed"))
        self.assertEqual(rm.findtext(q(M, "MessageText")), "Id is malformed.")
        # a real id converts
        inbox = eu.ews(self.s, eu.envelope(eu.get_folder("inbox"))).messages("GetFolder")[0][2]
        ews_id = inbox.find(".//" + q(T, "FolderId")).get("Id")
        a = eu.ews(self.s, eu.envelope(eu.convert_id(ews_id, dest="HexEntryId",
                                                     mailbox="admin@contoso.com")))
        (cls, code, rm), = a.messages("ConvertId")
        self.assertEqual(cls, "Success")
        self.assertRegex(rm.find(q(M, "AlternateId")).get("Id"), r"^[0-9A-F]{92}$")

    def test_unknown_operation(self):
        body = eu.envelope("<m:FindItem Traversal=\"Shallow\"/>")
        a = eu.ews(self.s, body)
        f = self.assert_fault(a, "ErrorSchemaValidation")
        violation = ("Could not find schema information for the element "
                     "'http://schemas.microsoft.com/exchange/services/2006/messages:FindItem'.")
        self.assertEqual(f["violation"], violation)
        self.assertEqual(f["faultstring"], "The request failed schema validation: " + violation)
        self.assertEqual(f["message"], "The request failed schema validation.")
        line2 = body.split("\n")[1]
        self.assertEqual((f["line"], f["position"]),
                         ("2", str(line2.index("<m:FindItem") + 2)))

    def test_malformed_xml(self):
        for body, violation in (
                ("", "Root element is missing."),
                ("not xml", "Data at the root level is invalid. Line 1, position 1."),
                (TRUNCATED, "Unexpected end of file has occurred. The following elements are "
                 "not closed: Body, Envelope. Line 1, position %d." % (len(TRUNCATED) + 1)),
                ('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>',
                 "For security reasons DTD is prohibited in this XML document. To enable DTD "
                 "processing set the DtdProcessing property on XmlReaderSettings to Parse and "
                 "pass the settings to XmlReader.Create method. Line 1, position 24.")):
            a = eu.ews(self.s, body)
            f = self.assert_fault(a, "ErrorSchemaValidation")
            self.assertEqual(f["violation"], violation, body)
        # well-formed, but no SOAP
        a = eu.ews(self.s, "<Envelope/>")
        self.assert_fault(a, "ErrorInvalidRequest")

    def test_hostile_bodies_get_a_fault_and_the_server_lives_on(self):
        for body in ("<a>" * 500000,                                   # nesting
                     eu.envelope(eu.resolve_names("x" * 3000000)),      # a 3 MB value
                     "<!DOCTYPE a [" + '<!ENTITY a "aaaa">' * 1000 + "]><a>&a;</a>"):
            a = eu.ews(self.s, body)
            self.assertIn(a.status, (200, 500))
            if a.status == 500:
                self.assert_fault(a, "ErrorSchemaValidation")
        a = eu.ews(self.s, eu.envelope(eu.resolve_names("admin")))
        self.assertEqual(a.messages("ResolveNames")[0][:2], ("Success", "NoError"))

    def test_wrong_content_type_is_415(self):
        # requests (http.client) shows the reason phrase WCF writes
        r = self.post_requests(b"{}", "application/json")
        self.assertEqual(r.status_code, 415)
        self.assertEqual(r.reason, "Cannot process the message because the content type "
                                   "'application/json' was not the expected type 'text/xml; "
                                   "charset=utf-8'.")
        self.assertEqual(r.content, b"")

    def post_requests(self, body, content_type, user=eu.ADMIN):
        with eu.lab_connections(self.s):
            return requests.post(self.s.url("mail.contoso.com", ENDPOINT), data=body,
                                 headers={"Content-Type": content_type}, auth=user,
                                 verify=self.s.ca, timeout=20)

    def test_soap12(self):
        body = eu.envelope(eu.resolve_names("admin"), soap=eu.S12).encode()
        r = self.post_requests(body, "application/soap+xml; charset=utf-8")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.headers["Content-Type"], "application/soap+xml; charset=utf-8")
        root = eu.ET.fromstring(r.content)
        self.assertEqual(root.tag, q(eu.S12, "Envelope"))
        self.assertEqual(root.find(".//" + q(T, "EmailAddress")).text, "admin@contoso.com")

    def test_browser_get_reads_the_wsdl(self):
        st, h, body, rc, err = self.s.curl("mail.contoso.com", ENDPOINT, "-u", "%s:%s" % eu.ADMIN)
        self.assertEqual(st, 200, err)
        self.assertEqual(values(h, "Content-Type"), ["text/xml; charset=utf-8"])
        root = eu.ET.fromstring(body)
        wsdl = "http://schemas.xmlsoap.org/wsdl/"
        self.assertEqual(root.tag, q(wsdl, "definitions"))
        self.assertEqual(root.get("targetNamespace"), M)
        self.assertIsNone(root.find(q(wsdl, "service")))
        ops = {o.get("name") for o in root.iter(q(wsdl, "operation"))}
        self.assertTrue({"GetFolder", "ResolveNames", "ConvertId"} <= ops, ops)
        # without credentials: the EWS directory's challenge
        st, h, body, rc, err = self.s.curl("mail.contoso.com", ENDPOINT)
        self.assertEqual(st, 401)
        self.assertIn("NTLM", values(h, "WWW-Authenticate"))


class EwsLogs(unittest.TestCase):
    """Each EWS request leaves one IIS line with the status IIS logs for it."""

    def test_w3c_lines(self):
        with Server("healthy") as s:
            sent = [
                (eu.envelope(eu.get_folder("inbox")), "text/xml", "200"),
                (eu.envelope(eu.convert_id("DUMMY"), version="Exchange2019"), "text/xml", "500"),
                (eu.envelope("<m:FindItem/>"), "text/xml", "500"),
                ("<broken", "text/xml; charset=utf-8", "500"),
                ("{}", "application/json", "415"),
            ]
            for body, ct, status in sent:
                st, _, _, rc, err = eu.post(s, body, content_type=ct)
                self.assertEqual((rc, str(st)), (0, status), err)
            self.assertEqual(s.stop(), 0)
            _, lines = s.w3c_lines()
        self.assertEqual(len(lines), len(sent))
        for (_, _, status), f in zip(sent, lines):
            self.assertEqual((f[3], f[4]), ("POST", ENDPOINT))
            self.assertEqual(tuple(f[11:14]), (status, "0", "0"), f)
            self.assertEqual(f[7], "admin")
            self.assertRegex(f[5], r"^&CorrelationID=<empty>;&cafeReqId=[0-9a-f-]{36};$")


class EwsExchangelib(unittest.TestCase):
    """exchangelib 4.9 against `healthy`: POX Autodiscover for admin@contoso.com, its version
    probe, then the folders it reads first."""

    def test_autodiscover_version_and_folders(self):
        from exchangelib import Account, Build, Configuration, Credentials, DELEGATE, BASIC

        with Server("healthy") as s:
            with eu.exchangelib_lab(s):
                creds = Credentials(*eu.ADMIN)
                account = Account("admin@contoso.com", credentials=creds, autodiscover=True,
                                  config=Configuration(credentials=creds, auth_type=BASIC),
                                  access_type=DELEGATE)
                self.assertEqual(account.protocol.service_endpoint,
                                 "https://mail.contoso.com:%d/EWS/Exchange.asmx" % s.port)
                version = account.protocol.version
                self.assertEqual(version.build, Build(15, 1, 2507, 6))
                self.assertEqual(version.api_version, "Exchange2016")
                self.assertEqual(account.version.build, Build(15, 1, 2507, 6))
                self.assertEqual(account.root.child_folder_count, 3)
                self.assertEqual(account.msg_folder_root.name, "Top of Information Store")
                self.assertEqual(account.msg_folder_root.child_folder_count, 12)
                self.assertEqual(account.inbox.name, "Inbox")
                self.assertTrue(account.inbox.id.startswith("AAMkA"))
                self.assertIn("Sent Items", [f.name for f in account.msg_folder_root.children])
                (mailbox, _), = account.protocol.resolve_names(["user1"],
                                                               return_full_contact_data=True)
                self.assertEqual(mailbox.email_address, "user1@contoso.com")
            self.assertEqual(s.stop(), 0)
            _, lines = s.w3c_lines()
        ews = [tuple(f[11:14]) for f in lines if f[4] == ENDPOINT]
        # the probe: Exchange2019 refused (500), Exchange2016 answered (200), then folders
        self.assertEqual(ews[:2], [("500", "0", "0"), ("200", "0", "0")])
        self.assertTrue(all(t == ("200", "0", "0") for t in ews[1:]), ews)
        ad = [tuple(f[11:14]) for f in lines if f[4] == "/Autodiscover/Autodiscover.xml"]
        self.assertIn(("200", "0", "0"), ad)


if __name__ == "__main__":
    unittest.main()
