#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets, tests/fuzz/corpus/<target>/: the requests the
integration tests send (their own helpers: ad_util, ews_util, mrs_util), the bundled scenarios,
and what real clients send to a running mrsmock, captured on loopback: curl's NTLM and
Negotiate (gss-ntlmssp) Authorization headers and the ClientHellos of openssl s_client.

usage: MRSMOCK_BIN=build/mrsmock tests/fuzz/seeds.py   (from the checkout; rewrites the corpora)
"""
import base64
import glob
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import ad_util  # noqa: E402
import ews_util  # noqa: E402
import mrs_util  # noqa: E402
from harness import Server  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")


def put(target, data, name=None):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name or hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def static_seeds():
    for f in sorted(glob.glob(os.path.join(ROOT, "scenarios", "*.xml"))):
        with open(f, "rb") as fh:
            put("scenario", fh.read(), os.path.basename(f))
    for f in ("overlay.xml", "overlay-errors.xml", "missing-base.xml"):
        p = os.path.join(ROOT, "tests", "data", "scenarios", f)
        if os.path.exists(p):
            with open(p, "rb") as fh:
                put("scenario", fh.read(), os.path.basename(f))

    # a Windows client's NEGOTIATE (tests/unit/test_ntlm.c)
    windows = "TlRMTVNTUAABAAAAt4II4gAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw=="
    put("ntlm", base64.b64decode(windows), "windows-type1")
    put("auth", "NTLM " + windows, "windows-type1")
    put("autodiscover_pox", ad_util.pox_request("admin@contoso.com"))
    put("autodiscover_pox", ad_util.pox_request("nobody@fabrikam.com"))
    xml_ct = "text/xml; charset=utf-8"
    for version in ("Exchange2010", "Exchange2013"):
        put("autodiscover_soap", "%s\n\n%sGetUserSettings\n\n%s" % (
            xml_ct, ad_util.ACTION, ad_util.gus_request(["admin@contoso.com", "user1@contoso.com"],
                                                        version=version)))
    put("autodiscover_soap", "%s\n\n%sGetUserSettings\n\n%s" % (
        xml_ct, ad_util.ACTION, ad_util.gus_request("admin@contoso.com", action=False)))
    for tail in ("/v1.0/admin@contoso.com?Protocol=EWS", "/v1.0/user1@contoso.com?Protocol=AutodiscoverV1",
                 "/v1.0/nobody@fabrikam.com?Protocol=ActiveSync", "/v1.0/admin%40contoso.com?protocol=ews&x=1"):
        put("autodiscover_json", tail)

    for soap in (0, 1):
        env = ews_util.S12 if soap else ews_util.S11
        for body in (ews_util.get_folder("inbox", "msgfolderroot"),
                     ews_util.get_folder("inbox", mailbox="user1@contoso.com"),
                     ews_util.resolve_names("admin", full=True), ews_util.convert_id("DUMMY"),
                     ews_util.find_folder(view='<m:IndexedPageFolderView MaxEntriesReturned="10" '
                                               'Offset="0" BasePoint="Beginning"/>'),
                     '<m:GetServerTimeZones ReturnFullTimeZoneData="false"/>'):
            put("ews", bytes([soap]) + ews_util.envelope(body, soap=env).encode())

    seq = "urn:uuid:6f1c8e0e-3f0c-4a63-9c1e-000000000001"
    for rm in (mrs_util.RM, mrs_util.RM11):
        put("wsrm", b"\x01" + mrs_util.create_sequence(mrs_util.urn(), rm=rm))
        put("wsrm", b"\x01" + mrs_util.terminate_sequence(seq, rm=rm, last=2))
    put("wsrm", b"\x01" + mrs_util.exchange_version_information(seq, 1, ack_offer=(seq, 1)))
    put("wsrm", b"\x01" + mrs_util.last_message(seq, 2))
    put("wsrm", b"\x01" + mrs_util.close_sequence(seq, 2))
    put("wsrm", b"\x00" + mrs_util.create_sequence(None))

    for body in ('{"name": "healthy"}', '{"file": "/tmp/lab.xml"}', '{"name": "healthy", "file": "x"}',
                 '{"name": 3}', "[]", '{"name": "a\\u0000b"}'):
        put("admin_json", body)
    for path in ("/EWS/Exchange.asmx", "/ews/mrsproxy.svc", "/EWS/MRSProxy.svc/", "/Autodiscover/Autodiscover.xml",
                 "/autodiscover/autodiscover.svc", "/autodiscover/autodiscover.json/v1.0/admin@contoso.com?Protocol=EWS",
                 "/ews/../EWS/./exchange.asmx?x=%41&y", "/%65ws/mrsproxy.svc", "/owa/", "/ews/healthcheck.htm",
                 "/journal?since=3&limit=10&q=a+b%20c", "//ews//mrsproxy.svc"):
        put("path", path)


def dict_file(target, words):
    """libFuzzer's dictionary for TARGET (tests/fuzz/TARGET.dict): one quoted token a line."""
    def quote(w):
        if isinstance(w, str):
            w = w.encode()
        return "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else "\\x%02x" % b for b in w)
    with open(os.path.join(HERE, target + ".dict"), "w") as f:
        f.write("# written by tests/fuzz/seeds.py\n")
        for w in sorted(set(words), key=lambda x: (len(x), x)):
            f.write('"%s"\n' % quote(w))


def dicts():
    with open(os.path.join(ROOT, "scenarios", "scenario.rng")) as f:
        rng = f.read()
    names = set(re.findall(r'<element name="([^"]+)"', rng))
    attrs = set(re.findall(r'<attribute name="([^"]+)"', rng))
    values = set(re.findall(r"<value>([^<]+)</value>", rng))
    dict_file("scenario", ["<%s" % n for n in names] + ["</%s>" % n for n in names] +
              ['%s="' % a for a in attrs] + list(values) +
              ['xmlns="urn:mrsmock:scenario:1"', 'extends="healthy"', "<?xml version=\"1.0\"?>",
               "<!--", "-->", "&#10;", "&amp;", "<![CDATA["])
    soap = [ews_util.S11, ews_util.S12, ews_util.M, ews_util.T, "xmlns:", "<s:Envelope",
            "<s:Header>", "<s:Body>", "</s:Body>", "mustUnderstand", "&#", "<?xml version=\"1.0\"?>"]
    dict_file("ews", soap + ["<m:GetFolder", "<m:FindFolder", "<m:ResolveNames", "<m:ConvertId",
                             "<m:GetServerTimeZones", "<t:RequestServerVersion", "Version=",
                             "Exchange2016", "Exchange2010_SP1", "<t:DistinguishedFolderId", "Id=",
                             "<t:ExchangeImpersonation", "<t:ConnectingSID", "<t:PrimarySmtpAddress",
                             "<t:BaseShape>", "IdOnly", "AllProperties", "Traversal=", "Deep",
                             "MaxEntriesReturned=", "Offset=", "<t:AlternateId", "Format=", "Mailbox="])
    dict_file("wsrm", soap + [mrs_util.RM, mrs_util.RM11, mrs_util.NETRM, mrs_util.A, mrs_util.ANON,
                              mrs_util.CONTRACT, "/CreateSequence", "/TerminateSequence", "/CloseSequence",
                              "/LastMessage", "/AckRequested", "<r:Identifier>", "<r:MessageNumber>",
                              "<r:LastMessage/>", "<r:AckRequested>", "<r:SequenceAcknowledgement>",
                              "<r:AcknowledgementRange", "Lower=", "Upper=", "<r:Offer>", "<r:AcksTo>",
                              "<a:Action", "<a:MessageID>", "<a:ReplyTo>", "<a:To", "<a:Address>",
                              "urn:uuid:", "ExchangeVersionInformation"])
    ad = [ad_util.ACTION, "<a:Mailbox>", "<a:Setting>", "GetUserSettings", "GetDomainSettings",
          "<a:RequestedServerVersion>", "Exchange2013", "<wsa:Action>", "<wsa:To>", "admin@contoso.com"]
    dict_file("autodiscover_soap", soap + ad + list(ad_util.MIGRATION_SETTINGS) +
              ["text/xml", "application/soap+xml", "charset=", "action="])
    dict_file("autodiscover_pox", ["<Autodiscover", "<Request>", "<EMailAddress>", "<LegacyDN>",
                                   "<AcceptableResponseSchema>", "xmlns=", "admin@contoso.com",
                                   "http://schemas.microsoft.com/exchange/autodiscover/outlook/"
                                   "requestschema/2006",
                                   "http://schemas.microsoft.com/exchange/autodiscover/outlook/"
                                   "responseschema/2006a",
                                   "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/"
                                   "responseschema/2006"])
    dict_file("autodiscover_json", ["/v1.0/", "/v2.0/", "?Protocol=", "&", "%40", "@contoso.com",
                                    "EWS", "AutodiscoverV1", "ActiveSync", "RestApi", "Rest", "%"])
    ntlm = [b"NTLMSSP\0", b"\x01\x00\x00\x00", b"\x02\x00\x00\x00", b"\x03\x00\x00\x00",
            b"\x05\x82\x88\xa2", b"\xb7\x82\x08\xe2", b"\x35\x82\x89\xe2", b"\x01\x01\x00\x00",
            "CONTOSO".encode("utf-16-le"), "admin".encode("utf-16-le")]
    dict_file("ntlm", ntlm)
    dict_file("spnego", ntlm + [b"\x06\x06\x2b\x06\x01\x05\x05\x02", b"\x06\x0a\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a",
                                b"\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02",
                                b"\x06\x09\x2a\x86\x48\x82\xf7\x12\x01\x02\x02", b"\x60", b"\xa0",
                                b"\xa1", b"\xa2", b"\xa3", b"\x30", b"\x04", b"\x0a\x01"])
    dict_file("auth", ["Basic ", "NTLM ", "Negotiate ", "TlRMTVNTUA", "YII", "oY", "\n\n", "=",
                       base64.b64encode(b"admin:P@ssw0rd!").decode(), "CONTOSO\\admin"])
    dict_file("clienthello", [b"\x16\x03\x01", b"\x16\x03\x03", b"\x01\x00", b"\x00\x00",
                              b"\x00\x00\x00", b"\x00\x2b", b"\x00\x10", "mail.contoso.com"])


def capture_clienthello(args, name):
    """The first record openssl s_client sends (its ClientHello), read by a listener of ours."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    ls.settimeout(10)
    port = ls.getsockname()[1]
    p = subprocess.Popen(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port] + args,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    c, _ = ls.accept()
    c.settimeout(10)
    data = b""
    while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    c.close()
    ls.close()
    p.kill()
    p.wait()
    put("clienthello", data, name)


def authorization_headers(trace):
    return re.findall(r"^> Authorization: (.*?)\r?$", trace, re.M | re.I)


def live_seeds():
    capture_clienthello(["-servername", "mail.contoso.com"], "s_client-tls13-sni")
    capture_clienthello(["-servername", "autodiscover.contoso.com", "-tls1_2"], "s_client-tls12-sni")
    capture_clienthello(["-noservername"], "s_client-no-sni")
    with tempfile.TemporaryDirectory() as tmp, Server("healthy") as s:
        users = os.path.join(tmp, "ntlm-users")
        with open(users, "w") as f:
            f.write("CONTOSO:admin:P@ssw0rd!\n")
        url = s.url("mail.contoso.com", "/EWS/Exchange.asmx")
        runs = [("ntlm", ["--ntlm", "-u", "CONTOSO\\admin:P@ssw0rd!"], {}),
                ("negotiate", ["--negotiate", "-u", ":"], {"NTLM_USER_FILE": users}),
                ("basic", ["--basic", "-u", "admin:P@ssw0rd!"], {})]
        for name, args, env in runs:
            p = subprocess.run(["curl", "-sv", "-o", "/dev/null", "--cacert", s.ca] + s.resolve_args()
                               + args + [url], capture_output=True, text=True, timeout=30,
                               env=dict(os.environ, **env))
            headers = authorization_headers(p.stderr)
            if not headers:
                raise SystemExit("no Authorization header from curl %s:\n%s" % (name, p.stderr))
            put("auth", "\n\n".join(headers), "curl-" + name)
            for i, h in enumerate(headers):
                scheme, _, b64 = h.partition(" ")
                if scheme == "Basic":
                    continue
                raw = base64.b64decode(b64)
                put("spnego", raw, "curl-%s-%d" % (name, i + 1))
                if raw.startswith(b"NTLMSSP\0"):
                    put("ntlm", raw, "curl-%s-type%d" % (name, raw[8]))


if __name__ == "__main__":
    shutil.rmtree(CORPUS, ignore_errors=True)
    static_seeds()
    live_seeds()
    dicts()
    for d in sorted(os.listdir(CORPUS)):
        print("%-20s %d" % (d, len(os.listdir(os.path.join(CORPUS, d)))))
