"""The MRS Proxy through the real client stack: WCF (System.ServiceModel 10.1.0 on .NET) with
the migration service's binding, a reliable session (WS-RM February 2005, ordered) over SOAP
1.2 / WS-Addressing 1.0 and HTTPS with Negotiate, NTLM or Basic (reference 4.3, 4.4), driven by
the C# program in tests/interop/wcf/.

Against `healthy` the session opens, ExchangeVersionInformation returns the configured server,
the session closes as WCF closes it, and the IIS lines are a healthy remote move's. Against each
bundled scenario whose description names a client text, the exception WCF raises must be the one
the description promises.

The program is built once per run under build/wcf (restore and build bounded in time). Without
`dotnet` on the PATH every test is skipped, with the reason; without gss-ntlmssp (the GSSAPI NTLM
mechanism .NET uses on Linux for NTLM and Negotiate) the Windows-authentication ones are.

Where WCF on .NET and the migration service (.NET Framework on Windows) word a text differently,
the comparison names the difference (`framework_form`) rather than loosening the match:
- .NET's HttpHeaderValueCollection joins the WWW-Authenticate values with ", ", .NET Framework's
  WebHeaderCollection with "," (reference 5.1): 'Negotiate,NTLM' there, 'Negotiate, NTLM' here;
- WCF quotes the URL's authority, so the listener's port (443 in the descriptions) is removed;
- timeouts: the test's own (seconds) is written as the migration service's 00:00:50.
The inner exceptions differ more (.NET's HttpClient is not HttpWebRequest): the tests check the
outer WCF text, and of the inner ones only what the descriptions name (a chain status).
"""
import glob
import json
import os
import re
import shutil
import subprocess
import unittest
import urllib.request
import xml.etree.ElementTree as ET

from harness import ROOT, Server

DOTNET = shutil.which("dotnet")
PROJECT = os.path.join(ROOT, "tests", "interop", "wcf", "MrsProxyClient.csproj")
CLIENT = os.path.join(ROOT, "build", "wcf", "bin", "MrsProxyClient", "release",
                      "mrsproxy-client.dll")
BUILD_TIMEOUT = 300  # a cold restore from the NuGet registry and a build: about 10 s here
RUN_TIMEOUT = 60
ADMIN = ("admin", "P@ssw0rd!")
SCN = "{urn:mrsmock:scenario:1}"


def gss_ntlmssp():
    """Whether GSSAPI has the NTLMSSP mechanism registered (Debian's gss-ntlmssp)."""
    for f in glob.glob("/etc/gss/mech.d/*") + glob.glob("/etc/gss/mech"):
        try:
            with open(f, encoding="utf-8", errors="replace") as fh:
                if "ntlmssp" in fh.read():
                    return True
        except OSError:
            pass
    return False


def setUpModule():
    if DOTNET is None:
        raise unittest.SkipTest("dotnet is not on the PATH: the WCF interop client cannot be built")
    env = dict(os.environ, DOTNET_CLI_TELEMETRY_OPTOUT="1", DOTNET_NOLOGO="1",
               DOTNET_SKIP_FIRST_TIME_EXPERIENCE="1")
    p = subprocess.run([DOTNET, "build", PROJECT, "-c", "Release", "-nologo", "-v", "q"],
                       capture_output=True, text=True, timeout=BUILD_TIMEOUT, env=env)
    assert p.returncode == 0 and os.path.exists(CLIENT), \
        "building %s failed:\n%s%s" % (PROJECT, p.stdout[-4000:], p.stderr[-2000:])


def windows_auth(test):
    """Skips TEST when .NET has no NTLM mechanism to use (Negotiate, NTLM)."""
    return unittest.skipUnless(gss_ntlmssp(), "gss-ntlmssp is not installed: .NET on Linux "
                               "does NTLM and Negotiate through it")(test)


def description(scenario):
    """The scenario's <description>, white space collapsed."""
    root = ET.parse(os.path.join(ROOT, "scenarios", scenario + ".xml")).getroot()
    return " ".join(root.findtext(SCN + "description").split())


def framework_form(text, server):
    """TEXT as the migration service's WCF on .NET Framework writes it for a server on port 443
    (see the module's docstring), white space collapsed."""
    for l in server.ready["listeners"]:
        text = text.replace(":%s/" % l["url"].rsplit(":", 1)[1], "/")
        text = text.replace(":%s'" % l["url"].rsplit(":", 1)[1], "'")
    m = re.search(r"(The authentication header received from the server was ')(.*)('\.)$", text)
    if m:
        text = text[:m.start(2)] + m.group(2).replace(", ", ",") + text[m.end(2):]
    text = re.sub(r"\b\d\d:\d\d:\d\d(\.\d+)?\b", "00:00:50", text)
    return " ".join(text.split())


def wcf(server, auth, host="mail.contoso.com", account=ADMIN, listener=0, timeout=10,
        keep_alive=True):
    """Runs the WCF client against HOST's /EWS/mrsproxy.svc on the listener; its JSON line."""
    l = server.ready["listeners"][listener]
    port = l["url"].rsplit(":", 1)[1]
    p = subprocess.run([DOTNET, CLIENT, "--url", "https://%s:%s/EWS/mrsproxy.svc" % (host, port),
                        "--connect", "127.0.0.1:" + port, "--ca", server.ca, "--auth", auth,
                        "--user", account[0], "--password", account[1], "--domain", "CONTOSO",
                        "--timeout", str(timeout), "--keep-alive", "true" if keep_alive else "false"],
                       capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert p.returncode == 0, "exit %d: %s" % (p.returncode, p.stderr)
    lines = p.stdout.splitlines()
    assert len(lines) == 1, p.stdout + p.stderr
    return json.loads(lines[0])


def admin(server, path):
    with urllib.request.urlopen(server.ready["admin"] + path, timeout=10) as r:
        return json.load(r)


def iis_triples(server, count, name="EX1"):
    """(sc-status, sc-substatus, sc-win32-status, cs-username) of SERVER's mrsproxy.svc lines,
    once COUNT are there."""
    _, lines = server.w3c_wait(count, name)
    return [(f[11], f[12], f[13], f[7]) for f in lines if f[4] == "/EWS/mrsproxy.svc"]


class Healthy(unittest.TestCase):
    """`healthy`, with each scheme: the whole session, the configured version, a clean close
    and the IIS lines of a healthy remote move (reference 10)."""

    def session(self, auth, expected_iis):
        with Server("healthy", "--admin", "127.0.0.1:0") as s:
            ex1 = [v for v in admin(s, "/scenario")["servers"] if v["name"] == "EX1"][0]
            r = wcf(s, auth)
            self.assertEqual(r["outcome"], "ok", r)
            self.assertEqual(r["state"], "Closed")
            v = r["serverVersion"]
            self.assertEqual("%d.%d.%d.%d" % (v["ProductMajor"], v["ProductMinor"],
                                              v["BuildMajor"], v["BuildMinor"]), ex1["build"])
            self.assertEqual(v["ComputerName"], ex1["fqdn"])
            self.assertTrue(v["SupportedCapabilities"])
            # what the server made of each message: the session opened, one call, then WCF's
            # close for February 2005, LastMessage and TerminateSequence, leaving no session
            j = admin(s, "/requests/wait?count=%d&path=/EWS/mrsproxy.svc" % len(expected_iis))
            last = [e["why"][-1] for e in j["requests"] if e["status"] == 200]
            self.assertEqual(len(last), 4, last)
            self.assertRegex(last[0], r"CreateSequence: urn:uuid:\S+ on EX1 \(1 of 100\)")
            self.assertRegex(last[1], r"ExchangeVersionInformation, message 1 of urn:uuid:")
            self.assertRegex(last[2], r"LastMessage 2 of urn:uuid:")
            self.assertRegex(last[3], r"TerminateSequence urn:uuid:\S+ \(0 left on EX1\)")
            self.assertEqual(iis_triples(s, len(expected_iis)), expected_iis)

    @windows_auth
    def test_negotiate(self):
        # Negotiate (SPNEGO around NTLM): the anonymous challenge, NTLM's middle leg, then the
        # four messages of the session on the logged-on connection
        self.session("negotiate", [("401", "2", "5", "-"), ("401", "1", "2148074254", "-")] +
                     [("200", "0", "0", "CONTOSO\\admin")] * 4)

    @windows_auth
    def test_ntlm(self):
        self.session("ntlm", [("401", "2", "5", "-"), ("401", "1", "2148074254", "-")] +
                     [("200", "0", "0", "CONTOSO\\admin")] * 4)

    def test_basic(self):
        # Basic: challenged once, then pre-authenticated on every message (cs-username as typed)
        self.session("basic", [("401", "2", "5", "-")] + [("200", "0", "0", "CONTOSO\\admin")] * 4)


class ClientTexts(unittest.TestCase):
    """Each scenario's promised client text is the exception WCF raises."""

    def promised(self, scenario, r, server, stage="open"):
        """R failed at STAGE, and its exception's message is in SCENARIO's description."""
        self.assertEqual(r["outcome"], "error", r)
        self.assertEqual(r["stage"], stage, r)
        text = framework_form(r["exception"]["message"], server)
        self.assertIn(text, description(scenario), r)
        return r["exception"]

    @windows_auth
    def test_wrong_credentials(self):
        with Server("wrong-credentials") as s:
            e = self.promised("wrong-credentials", wcf(s, "negotiate"), s)
            self.assertEqual(e["type"], "System.ServiceModel.Security.MessageSecurityException")
            self.assertEqual(iis_triples(s, 3)[-1], ("401", "1", "2148074252", "-"))

    def test_wrong_credentials_basic(self):
        # the description promises the Negotiate text; with Basic WCF names Basic, and the
        # IIS line is Basic's logon failure
        with Server("wrong-credentials") as s:
            r = wcf(s, "basic")
            self.assertEqual(framework_form(r["exception"]["message"], s),
                             "The HTTP request is unauthorized with client authentication scheme "
                             "'Basic'. The authentication header received from the server was "
                             "'Negotiate,NTLM,Basic realm=\"mail.contoso.com\"'.")
            self.assertIn("Basic leaves 401 1 1326", description("wrong-credentials"))
            self.assertEqual(iis_triples(s, 2)[-1], ("401", "1", "1326", "-"))

    def test_basic_auth_missing(self):
        with Server("basic-auth-missing") as s:
            e = self.promised("basic-auth-missing", wcf(s, "basic"), s)
            self.assertEqual(e["type"], "System.ServiceModel.Security.MessageSecurityException")
            self.assertEqual(iis_triples(s, 1), [("401", "2", "5", "-")])

    @windows_auth
    def test_negotiate_forbidden(self):
        with Server("negotiate-forbidden") as s:
            self.promised("negotiate-forbidden", wcf(s, "negotiate"), s)
            self.assertEqual(iis_triples(s, 3)[-1], ("403", "0", "5", "CONTOSO\\admin"))

    @windows_auth
    def test_mrsproxy_disabled(self):
        with Server("mrsproxy-disabled") as s:
            self.promised("mrsproxy-disabled", wcf(s, "negotiate"), s)
            self.assertEqual(iis_triples(s, 3)[-1], ("403", "0", "0", "CONTOSO\\admin"))

    @windows_auth
    def test_not_an_admin(self):
        # the session opens, the first operation is refused: SecurityAccessDeniedException,
        # which the migration service wraps as "... Error details: Access is denied.."
        with Server("not-an-admin", "--admin", "127.0.0.1:0") as s:
            r = wcf(s, "negotiate", account=("migration", "Migr@tion2026"))
            e = self.promised("not-an-admin", r, s, stage="call")
            self.assertEqual(e["type"], "System.ServiceModel.Security.SecurityAccessDeniedException")
            self.assertIn("Error details: %s." % e["message"], description("not-an-admin"))
            # WCF then aborts the session with a SequenceTerminated fault, which ends it
            j = admin(s, "/requests/wait?count=5&path=/EWS/mrsproxy.svc")
            self.assertEqual([e["status"] for e in j["requests"]], [401, 401, 200, 500, 202])
            self.assertIn("SequenceTerminated fault from the client", j["requests"][4]["why"][-1])
            self.assertEqual(iis_triples(s, 5)[2:4], [("200", "0", "0", "CONTOSO\\migration"),
                                                      ("500", "0", "0", "CONTOSO\\migration")])

    def test_app_pool_stopped(self):
        with Server("app-pool-stopped") as s:
            e = self.promised("app-pool-stopped", wcf(s, "negotiate"), s)
            self.assertEqual(e["type"], "System.ServiceModel.ServerTooBusyException")
            self.assertEqual(s.httperr_wait(1)[1][0][9], "503")
            self.assertEqual(s.w3c_lines()[1], [])

    @windows_auth
    def test_autodiscover_no_mrsproxy(self):
        # the host Autodiscover names (the second listener, EX2) refuses; mail.contoso.com works
        with Server("autodiscover-no-mrsproxy") as s:
            self.promised("autodiscover-no-mrsproxy",
                          wcf(s, "negotiate", host="autodiscover.contoso.com", listener=1), s)
            self.assertEqual(iis_triples(s, 3, "EX2")[-1], ("403", "0", "0", "CONTOSO\\admin"))
            self.assertEqual(wcf(s, "negotiate")["outcome"], "ok")


class Topology(unittest.TestCase):
    """The topology scenarios, each WCF session a migration service's connectivity test: which
    sessions fail, in the order the balancer and the front ends decide, with the text the
    description promises."""

    promised = ClientTexts.promised

    def test_service_unavailable(self):
        with Server("service-unavailable") as s:
            e = self.promised("service-unavailable", wcf(s, "basic"), s)
            self.assertEqual(e["type"], "System.ServiceModel.ServerTooBusyException")
            # the front end refused the authenticated request itself
            self.assertEqual(iis_triples(s, 2)[-1], ("503", "0", "0", "CONTOSO\\admin"))

    def test_dead_server_every_third_session(self):
        # each session's CreateSequence is routed organisation-wide in turn (EX1, EX2, EX3); the
        # X-BackEndCookie keeps the rest of it there; EX3 is dead
        with Server("dead-server") as s:
            runs = [wcf(s, "basic") for _ in range(3)]
            self.assertEqual([r["outcome"] for r in runs[:2]], ["ok", "ok"], runs)
            e = self.promised("dead-server", runs[2], s)
            self.assertEqual(e["type"], "System.ServiceModel.ServerTooBusyException")

    def test_passive_server_every_second_session(self):
        with Server("passive-server") as s:
            runs = [wcf(s, "basic") for _ in range(2)]
            self.assertEqual(runs[0]["outcome"], "ok", runs[0])
            self.promised("passive-server", runs[1], s)

    def test_flapping_member(self):
        # the balancer's connections, in arrival order: the fourth session's lands on EX2 while
        # its pools are offline (connections 3-4 of every 6 of EX2's schedule)
        with Server("lb-flapping") as s:
            runs = [wcf(s, "basic") for _ in range(4)]
            self.assertEqual([r["outcome"] for r in runs[:3]], ["ok"] * 3, runs)
            e = self.promised("lb-flapping", runs[3], s)
            self.assertEqual(e["type"], "System.ServiceModel.ServerTooBusyException")
            self.assertEqual(s.httperr_wait(1, server="EX2")[1][0][11], "AppOffline")

    def test_no_affinity_session_faulted(self):
        # a connection per message: the balancer gives the second to the other CAS, which does
        # not know the sequence, and WCF faults the session with the text moves fail with
        with Server("lb-no-affinity") as s:
            e = self.promised("lb-no-affinity", wcf(s, "basic", keep_alive=False), s,
                              stage="call")
            self.assertEqual(e["type"], "System.ServiceModel.CommunicationException")
            # the fault is the other CAS's: a 500 line in its IIS log, the sequence's 200s in
            # the first one's
            lines = s.w3c_wait(1)[1] + s.w3c_wait(1, server="EX2")[1]
            self.assertIn("500", [f[11] for f in lines if f[4] == "/EWS/mrsproxy.svc"])

    @windows_auth
    def test_no_affinity_connectivity_test_passes(self):
        # one session on one keep-alive connection stays on one CAS: the connectivity test
        # passes, as the description says (the break needs a second connection: test_topology)
        with Server("lb-no-affinity") as s:
            r = wcf(s, "negotiate")
            self.assertEqual(r["outcome"], "ok", r)
            v = r["serverVersion"]
            self.assertEqual((v["ProductMajor"], v["ProductMinor"]), (14, 3), r)

    def test_secondary_certificate_every_second_connection(self):
        with Server("secondary-wrong-certificate") as s:
            runs = [wcf(s, "basic") for _ in range(2)]
            self.assertEqual(runs[0]["outcome"], "ok", runs[0])
            e = self.promised("secondary-wrong-certificate", runs[1], s)
            self.assertEqual(e["type"], "System.ServiceModel.Security.SecurityNegotiationException")


class Perimeter(unittest.TestCase):
    """A firewall in front of EX1: what WCF raises is in the scenario's description, and nothing
    reaches IIS."""

    def fw_lines(self, s, name="FW1"):
        path = os.path.join(s.ready["logs"], name, "pfirewall.log")
        with open(path, encoding="ascii", newline="") as f:
            return [l.split() for l in f.read().split("\r\n") if l and not l.startswith("#")]

    @windows_auth
    def test_url_filter_negotiate(self):
        with Server("firewall-url-filter") as s:
            e = ClientTexts.promised(self, "firewall-url-filter", wcf(s, "negotiate"), s)
            self.assertEqual(e["type"], "System.ServiceModel.Security.MessageSecurityException")
            self.assertEqual(s.w3c_lines()[1], [])
            self.assertIn(("DROP", "url-filter:/ews/mrsproxy.svc"),
                          [(l[2], l[15]) for l in self.fw_lines(s)])

    def test_url_filter_basic(self):
        with Server("firewall-url-filter") as s:
            r = wcf(s, "basic")
            self.assertEqual(framework_form(r["exception"]["message"], s),
                             "The HTTP request was forbidden with client authentication scheme "
                             "'Basic'.")
            self.assertIn("(WCF with Basic: \"... scheme 'Basic'.\")",
                          description("firewall-url-filter"))
            self.assertEqual(s.w3c_lines()[1], [])

    def test_ip_filter(self):
        # the client's own timeout (3 s here, 50 s in the migration service) ends it
        with Server("firewall-ip-filter") as s:
            r = wcf(s, "basic", timeout=3)
            self.assertEqual(r["outcome"], "error", r)
            e = r["exception"]
            self.assertEqual(e["type"], "System.TimeoutException")
            self.assertIn(framework_form(e["message"], s), description("firewall-ip-filter"))
            self.assertIn(framework_form(e["inner"][-1]["message"], s),
                          description("firewall-ip-filter"))
            self.assertEqual(s.w3c_lines()[1], [])
            self.assertEqual({(l[2], l[15]) for l in self.fw_lines(s)}, {("DROP", "default")})

    def test_port_blocked(self):
        # on Linux the connect outlasts the call's timeout (on Windows it gives up first: the
        # migration service's "There was no endpoint listening ...", which the probe prints)
        with Server("port-blocked") as s:
            r = wcf(s, "basic", timeout=3)
            self.assertEqual(r["outcome"], "error", r)
            e = r["exception"]
            self.assertEqual(e["type"], "System.TimeoutException")
            self.assertIn(framework_form(e["message"], s), description("port-blocked"))
            self.assertIn(framework_form(e["inner"][-1]["message"], s),
                          description("port-blocked"))
            self.assertEqual(s.w3c_lines()[1], [])


    def test_pre_auth_proxy(self):
        # the device redirects to its logon form whatever the scheme; WCF follows no redirect
        with Server("pre-auth-proxy") as s:
            for auth in ("basic",) + (("negotiate",) if gss_ntlmssp() else ()):
                r = wcf(s, auth)
                self.assertEqual((r["outcome"], r["stage"]), ("error", "open"), r)
                e = r["exception"]
                self.assertEqual(e["type"], "System.ServiceModel.ProtocolException", e)
                # it followed the redirect (a POST answered 302 goes on as a GET) and met the
                # logon form; the bytes it quotes after this differ between .NET versions
                text = framework_form(e["message"], s).split(" The first ")[0]
                self.assertIn(text, description("pre-auth-proxy"))
                self.assertIn("Forefront TMG", e["message"])
            self.assertEqual(s.w3c_lines()[1], [])
            self.assertIn(("DROP", "pre-auth:forms:/EWS"),
                          [(l[2], l[15]) for l in self.fw_lines(s, "TMG1")])

    @windows_auth
    def test_ssl_offload_negotiate(self):
        with Server("ssl-offload") as s:
            e = ClientTexts.promised(self, "ssl-offload", wcf(s, "negotiate"), s)
            self.assertEqual(e["type"], "System.ServiceModel.Security.MessageSecurityException")
            # IIS saw it on its HTTP binding, and refused it before authentication
            self.assertEqual({tuple(l[6:7] + l[11:14]) for l in s.w3c_lines()[1]},
                             {("80", "403", "4", "5")})

    def test_ssl_offload_basic(self):
        with Server("ssl-offload") as s:
            r = wcf(s, "basic")
            self.assertEqual(framework_form(r["exception"]["message"], s),
                             "The HTTP request was forbidden with client authentication scheme "
                             "'Basic'.")
            self.assertIn("(WCF with Basic: \"... scheme 'Basic'.\")", description("ssl-offload"))


class Certificates(unittest.TestCase):
    """The certificate scenarios: WCF's trust failure, with the chain status the description
    names; the inner text is .NET's ("invalid because of errors in the certificate chain: X"),
    where .NET Framework says "invalid according to the validation procedure."."""

    def trust(self, scenario, status, host="mail.contoso.com"):
        with Server(scenario) as s:
            r = wcf(s, "basic", host=host)
            self.assertEqual(r["outcome"], "error", r)
            e = r["exception"]
            self.assertEqual(e["type"], "System.ServiceModel.Security.SecurityNegotiationException")
            text = framework_form(e["message"], s)
            self.assertEqual(text, "Could not establish trust relationship for the SSL/TLS secure "
                                   "channel with authority '%s'." % host)
            self.assertIn(text, description(scenario))
            self.assertEqual(e["inner"][-1]["type"],
                             "System.Security.Authentication.AuthenticationException")
            self.assertTrue(e["inner"][-1]["message"].endswith(": " + status), e)
            self.assertIn(status, description(scenario))
            self.assertIn("The remote certificate is invalid according to the validation "
                          "procedure.", description(scenario))
            self.assertEqual(s.w3c_lines()[1], [])  # nothing reached IIS

    def test_expired(self):
        self.trust("expired-certificate", "NotTimeValid")

    def test_untrusted(self):
        # the issuing CA is sent, its root is nowhere: .NET reports the chain partial
        self.trust("untrusted-certificate", "PartialChain")

    def test_missing_intermediate(self):
        self.trust("missing-intermediate", "PartialChain")

    def test_self_signed(self):
        self.trust("self-signed", "UntrustedRoot")

    def test_name_mismatch(self):
        self.trust("name-mismatch", "RemoteCertificateNameMismatch",
                   host="autodiscover.contoso.com")
        with Server("name-mismatch") as s:
            self.assertEqual(wcf(s, "basic")["outcome"], "ok")  # mail.contoso.com still works

    def test_weak_signature(self):
        # .NET on Linux builds the chain without a weak-signature check: the SHA-1 certificate
        # is accepted and the session completes. The description says so; the refusal it
        # promises is Windows' (and OpenSSL's at security level 1).
        with Server("weak-signature") as s:
            self.assertEqual(wcf(s, "basic")["outcome"], "ok")
        self.assertIn("WCF on .NET on Linux accepts it", description("weak-signature"))

    def test_tls10_only(self):
        with Server("tls10-only") as s:
            r = wcf(s, "basic")
            self.assertEqual(r["outcome"], "error", r)
            e = r["exception"]
            self.assertEqual(e["type"], "System.ServiceModel.CommunicationException")
            self.assertIn(framework_form(e["message"], s), description("tls10-only"))
            self.assertIn(e["inner"][-1]["message"], description("tls10-only"))

    def test_handshake_hang(self):
        # the client's own timeout (3 s here, 50 s in the migration service) ends it
        with Server("handshake-hang") as s:
            r = wcf(s, "basic", timeout=3)
            self.assertEqual(r["outcome"], "error", r)
            e = r["exception"]
            self.assertEqual(e["type"], "System.TimeoutException")
            self.assertIn(framework_form(e["message"], s), description("handshake-hang"))
            self.assertIn(framework_form(e["inner"][-1]["message"], s),
                          description("handshake-hang"))


if __name__ == "__main__":
    unittest.main()
