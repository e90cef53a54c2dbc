"""`mrsmock probe` in a closed loop: each bundled scenario is served on port 0 and probed with
--json through --connect-to, and the verdict must be the one the scenario's description
promises: the failing step, the client's error text (quoted from the description, and found in
the probe's message) and the troubleshooting step that finds it (quoted from the description,
found in next_step). One row per bundled scenario: a new scenario without a row fails.
Then what is not mrsmock: a refused port, a server that answers garbage, and bad input."""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import unittest
import xml.etree.ElementTree as ET

from dns_util import shared_nxdomain
from harness import BIN, ROOT, Server, mrsmock, own_scenario, sanitizer_env, SANITIZER_MARKS

SCN = "{urn:mrsmock:scenario:1}"
SCENARIOS = os.path.join(ROOT, "scenarios")
# seconds, for each connection and request of the probe: more under the sanitizer, whose build
# is several times slower on a shared machine (a 3 s step once timed out there)
PROBE_TIMEOUT = "6" if "/build/san/" in BIN else "3"

# scenario: how the endpoint is tested, and what its description promises.
#   args     the endpoint's inputs (the address for --autodiscover comes from the description)
#   user     the account used; its password is the one documented in the first scenario file
#            (healthy, then the scenario itself) that defines the account
#   step     the first step that fails (None: every step passes)
#   says     texts of the description's "Client sees" that the probe's message must hold
#   evidence texts of the description the failing step's detail must hold
#   found    texts of the description's "Found by" that next_step must hold
UNAVAILABLE = ["The HTTP service located at https://mail.contoso.com/EWS/mrsproxy.svc is "
               "unavailable.", "The remote server returned an error: (503) Server Unavailable."]
ROWS = {
    "healthy": dict(args=["--server", "mail.contoso.com"], user="admin", step=None),
    "wrong-credentials": dict(
        args=["--server", "mail.contoso.com"], user="admin", step="mrsproxy-auth",
        says=["The HTTP request is unauthorized with client authentication scheme 'Negotiate'. "
              "The authentication header received from the server was "
              "'Negotiate,NTLM,Basic realm=\"mail.contoso.com\"'."],
        found=["401 1 2148074252"]),
    "basic-auth-missing": dict(
        args=["--server", "mail.contoso.com", "--auth", "basic"], user="admin",
        step="mrsproxy-anonymous",
        says=["The HTTP request is unauthorized with client authentication scheme 'Basic'. The "
              "authentication header received from the server was 'Negotiate,NTLM'."],
        found=["401 2 5", "ExternalAuthenticationMethods"]),
    "negotiate-forbidden": dict(
        args=["--server", "mail.contoso.com"], user="admin", step="mrsproxy-auth",
        says=["The HTTP request was forbidden with client authentication scheme 'Negotiate'.",
              "The remote server returned an error: (403) Forbidden."],
        found=["403 0 5"]),
    "mrsproxy-disabled": dict(
        args=["--server", "mail.contoso.com"], user="admin", step="mrsproxy-auth",
        says=["The HTTP request was forbidden with client authentication scheme 'Negotiate'.",
              "The remote server returned an error: (403) Forbidden."],
        evidence=["MRS proxy service is disabled"],
        found=["MRSProxyEnabled", "403 0 0"]),
    "not-an-admin": dict(
        args=["--server", "mail.contoso.com"], user="migration", step="mrsproxy-session",
        says=["The call to 'https://mail.contoso.com/EWS/mrsproxy.svc' failed. Error details: "
              "Access is denied.."],
        found=["500 0 0"]),
    "expired-certificate": dict(
        args=["--server", "mail.contoso.com"], user="admin", step="tls",
        says=["Could not establish trust relationship for the SSL/TLS secure channel with "
              "authority 'mail.contoso.com'.",
              "The remote certificate is invalid according to the validation procedure."],
        evidence=["NotTimeValid"],
        found=["Get-ExchangeCertificate | fl Subject,NotAfter,Status"]),
    "untrusted-certificate": dict(
        args=["--server", "mail.contoso.com"], user="admin", step="tls",
        says=["Could not establish trust relationship for the SSL/TLS secure channel with "
              "authority 'mail.contoso.com'."],
        evidence=["UntrustedRoot", "Contoso Issuing CA 1"],
        found=["Get-ExchangeCertificate | fl Issuer"]),
    "self-signed": dict(
        args=["--server", "mail.contoso.com"], user="admin", step="tls",
        says=["Could not establish trust relationship for the SSL/TLS secure channel with "
              "authority 'mail.contoso.com'."],
        evidence=["UntrustedRoot"],
        found=["IsSelfSigned"]),
    "missing-intermediate": dict(
        args=["--server", "mail.contoso.com"], user="admin", step="tls",
        says=["Could not establish trust relationship for the SSL/TLS secure channel with "
              "authority 'mail.contoso.com'."],
        evidence=["PartialChain"],
        found=["openssl s_client -showcerts"]),
    "weak-signature": dict(
        args=["--server", "mail.contoso.com"], user="admin", step="tls",
        says=["Could not establish trust relationship for the SSL/TLS secure channel with "
              "authority 'mail.contoso.com'."],
        evidence=["ecdsa-with-SHA1"],
        found=["Signature hash algorithm"]),
    "name-mismatch": dict(
        args=["--autodiscover"], user="admin", step="autodiscover",
        says=["Could not establish trust relationship for the SSL/TLS secure channel with "
              "authority 'autodiscover.contoso.com'.",
              "The ExchangeRemote endpoint settings could not be determined from the "
              "autodiscover response."],
        evidence=["RemoteCertificateNameMismatch"],
        found=["CertificateDomains"]),
    "tls10-only": dict(
        args=["--server", "mail.contoso.com"], user="admin", step="tls",
        says=["An unexpected error occurred on a send"],
        evidence=["TLS 1.0"],
        found=["testssl.sh --protocols"]),
    "handshake-hang": dict(
        args=["--server", "mail.contoso.com"], user="admin", step="tls",
        says=["The HTTP request to 'https://mail.contoso.com/EWS/mrsproxy.svc' has exceeded "
              "the allotted timeout of"],
        found=["Test-NetConnection -Port 443"]),
    "app-pool-stopped": dict(
        args=["--server", "mail.contoso.com"], user="admin", step="mrsproxy-anonymous",
        says=["The HTTP service located at https://mail.contoso.com/EWS/mrsproxy.svc is "
              "unavailable.", "The remote server returned an error: (503) Server Unavailable."],
        evidence=["Microsoft-HTTPAPI/2.0"],
        found=["HTTPERR", "MSExchangeServicesAppPool"]),
    # the topology: what is intermittent needs --repeat (the balancer and the front ends take
    # connections and requests in turn), and the round that fails is the last one run
    "service-unavailable": dict(
        args=["--server", "mail.contoso.com"], user="admin", step="mrsproxy-auth",
        says=UNAVAILABLE, found=["HttpProxy"]),
    "dead-server": dict(
        args=["--server", "mail.contoso.com", "--repeat", "3"], user="admin", step="repeat-3",
        says=UNAVAILABLE, found=["HttpProxy", "BackEndStatus"]),
    "passive-server": dict(
        args=["--server", "mail.contoso.com", "--repeat", "2"], user="admin", step="repeat-2",
        says=UNAVAILABLE, found=["HttpProxy", "BackEndStatus"]),
    "lb-flapping": dict(
        args=["--server", "mail.contoso.com", "--repeat", "2"], user="admin", step="repeat-2",
        says=UNAVAILABLE, found=["HTTPERR", "AppOffline", "MSExchangeServicesAppPool"]),
    # one session on one connection stays on one CAS: the connectivity test passes
    "lb-no-affinity": dict(args=["--server", "mail.contoso.com"], user="admin", step=None),
    "secondary-wrong-certificate": dict(
        args=["--server", "mail.contoso.com"], user="admin", step="tls",
        says=["Could not establish trust relationship for the SSL/TLS secure channel with "
              "authority 'mail.contoso.com'."],
        evidence=["ex2.contoso.com"], found=["Get-ExchangeCertificate"]),
    # the perimeter: a firewall's source-address rules and its URL filter
    "firewall-ip-filter": dict(
        args=["--server", "mail.contoso.com"], user="admin", step="tls",
        says=["The HTTP request to 'https://mail.contoso.com/EWS/mrsproxy.svc' has exceeded "
              "the allotted timeout of"],
        found=["Test-NetConnection -Port 443"]),
    "firewall-url-filter": dict(
        args=["--server", "mail.contoso.com"], user="admin", step="mrsproxy-anonymous",
        says=["The remote server returned an unexpected response: (403) Forbidden."],
        evidence=["text/html"],
        found=["check the firewall configuration and its logs (step 4)"]),
    "pre-auth-proxy": dict(
        args=["--server", "mail.contoso.com"], user="admin", step="mrsproxy-anonymous",
        says=["The remote server returned an unexpected response: (302) Moved Temporarily."],
        evidence=["/CookieAuth.dll?GetLogon?curl=Z2FEWSZ2Fmrsproxy.svc&reason=0&formdir=3"],
        found=["without pre-authentication", "step 4"]),
    "ssl-offload": dict(
        args=["--server", "mail.contoso.com"], user="admin", step="mrsproxy-anonymous",
        says=["The remote server returned an unexpected response: (403) Forbidden."],
        evidence=["403.4"],
        found=["403 4 5", "s-port 80", "SSL bridging"]),
    "port-blocked": dict(
        args=["--server", "mail.contoso.com"], user="admin", step="connect",
        says=["There was no endpoint listening at https://mail.contoso.com/EWS/mrsproxy.svc "
              "that could accept the message.",
              "A connection attempt failed because the connected party did not properly respond "
              "after a period of time"],
        found=["check the firewall logs"]),
    "autodiscover-unknown-user": dict(
        args=["--autodiscover"], user="admin", step="autodiscover",
        says=["The ExchangeRemote endpoint settings could not be determined from the "
              "autodiscover response.", "The email address can't be found."],
        found=["Get-Recipient admin@contoso.com on-premises"]),
    "autodiscover-no-mrsproxy": dict(
        args=["--autodiscover"], user="admin", step="mrsproxy-auth",
        says=["The ExchangeRemote endpoint settings could not be determined from the "
              "autodiscover response. No MRSProxy was found running at "
              "'autodiscover.contoso.com'.",
              "The HTTP request was forbidden with client authentication scheme 'Negotiate'."],
        found=["403 0 0"]),
}


def flat(text):
    return re.sub(r"\s+", " ", text or "").strip()


def scenario_file(name):
    return os.path.join(SCENARIOS, name + ".xml")


def description(name):
    return flat(ET.parse(scenario_file(name)).getroot().findtext(SCN + "description"))


def documented_password(name, sam):
    """The password of account SAM as the lab documents it: healthy's, else the scenario's."""
    for f in ("healthy", name):
        for a in ET.parse(scenario_file(f)).getroot().iter(SCN + "account"):
            if a.get("sam") == sam and a.get("password"):
                return a.get("password")
    raise AssertionError("no documented password for %s in %s" % (sam, name))


def autodiscover_address(desc):
    m = re.search(r"-EmailAddress (\S+@[A-Za-z0-9.-]*[A-Za-z0-9])", desc)
    return m.group(1) if m else "admin@contoso.com"


def closed_port():
    """A port nobody listens on: bound, then closed."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def probe_env():
    """The sanitizers' environment, with full stacks for allocations: OpenSSL has no frame
    pointers, so only a slow unwind reaches the library that leaked (ci/lsan.supp names
    gss-ntlmssp's frames, never ours)."""
    env = sanitizer_env()
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":fast_unwind_on_malloc=0"
    return env


def probe(*args, password="", timeout=60):
    """Runs `mrsmock probe ARGS --json` with PASSWORD on standard input: (exit status, the JSON
    object or None, stderr). With --autodiscover and no --dns, the SRV look-up goes to the run's
    NXDOMAIN server on loopback, never to the system's resolver."""
    if "--autodiscover" in args and "--dns" not in args:
        args = (*args, "--dns", shared_nxdomain())
    p = subprocess.run([BIN, "probe", *args], input=password + "\n", capture_output=True,
                       text=True, timeout=timeout, env=probe_env())
    for mark in SANITIZER_MARKS:
        assert mark not in p.stderr, p.stderr
    out = None
    if p.stdout.strip().startswith("{"):
        out = json.loads(p.stdout)
    return p.returncode, out, p.stderr


def connect_to(server, apex):
    """--connect-to for every host of every TLS listener, and the organisation's bare domain
    (clients try https://<domain>/autodiscover first) to a port that refuses; so is
    http://autodiscover.<domain> (the HTTP redirect method) unless a plain listener serves it:
    nothing is ever looked up in DNS."""
    args, plain = [], []
    for lsn in server.ready["listeners"]:
        port = int(lsn["url"].rsplit(":", 1)[1])
        tls = lsn["url"].startswith("https:")
        for h in lsn["hosts"]:
            if tls:
                args += ["--connect-to", "%s:443:127.0.0.1:%d" % (h, port)]
            else:
                plain += ["--connect-to", "%s:80:127.0.0.1:%d" % (h, port)]
    args += plain
    args += ["--connect-to", "%s:443:127.0.0.1:%d" % (apex, closed_port()),
             "--connect-to", "autodiscover.%s:80:127.0.0.1:%d" % (apex, closed_port())]
    return args


class ClosedLoop(unittest.TestCase):
    def test_every_bundled_scenario_has_a_row(self):
        bundled = {f[:-4] for f in os.listdir(SCENARIOS) if f.endswith(".xml")}
        self.assertEqual(sorted(bundled - set(ROWS)), [], "scenarios without a probe row")
        self.assertEqual(sorted(set(ROWS) - bundled), [])

    def test_rows_quote_the_descriptions(self):
        # the table says only what each scenario's description promises
        for name, row in ROWS.items():
            desc = description(name)
            for text in row.get("says", []) + row.get("evidence", []) + row.get("found", []):
                self.assertIn(flat(text), desc, name)

    def check(self, name):
        row = ROWS[name]
        desc = description(name)
        with Server(name) as s:
            args = list(row["args"])
            email = autodiscover_address(desc)
            if "--autodiscover" in args:
                args += ["--email", email]
            args += ["--user", "CONTOSO\\" + row["user"], "--cacert", s.ca, "--timeout",
                     PROBE_TIMEOUT, "--json", *connect_to(s, email.split("@")[1])]
            rc, out, err = probe(*args, password=documented_password(name, row["user"]))
        self.assertIsNotNone(out, err)
        steps = out["steps"]
        self.assertTrue(all(set(st) >= {"name", "status", "detail"} for st in steps))
        failing = [st for st in steps if st["status"] == "fail"]
        if row["step"] is None:
            self.assertEqual((rc, out["result"]), (0, "Success"), out)
            self.assertEqual([st["status"] for st in steps], ["pass"] * len(steps), out)
            self.assertEqual([st["name"] for st in steps],
                             ["connect", "tls", "mrsproxy-anonymous", "mrsproxy-auth",
                              "mrsproxy-session"])
            return
        self.assertEqual((rc, out["result"]), (3, "Failed"), out)
        self.assertTrue(failing, out)
        self.assertEqual(failing[0]["name"], row["step"], out)
        # nothing after the failing step ran
        after = steps[steps.index(failing[0]) + 1:]
        self.assertTrue(all(st["status"] == "skipped" for st in after), out)
        for text in row.get("says", []):
            self.assertIn(flat(text), flat(out["message"]), out["message"])
        for text in row.get("evidence", []):
            self.assertIn(text, failing[0]["detail"], failing[0])
        for text in row.get("found", []):
            self.assertIn(text, out["next_step"], out["next_step"])


def _make_test(name):
    return lambda self: self.check(name)


for _name in ROWS:
    setattr(ClosedLoop, "test_" + _name.replace("-", "_"), _make_test(_name))


class NotMrsmock(unittest.TestCase):
    """What a real network offers besides Exchange: nothing listening, a server that is not
    one."""

    def test_refused_port(self):
        port = closed_port()
        rc, out, err = probe("--server", "mail.contoso.com", "--user", "CONTOSO\\admin",
                             "--connect-to", "mail.contoso.com:443:127.0.0.1:%d" % port,
                             "--timeout", PROBE_TIMEOUT, "--json", password="x")
        self.assertEqual(rc, 3, err)
        self.assertEqual(out["result"], "Failed")
        self.assertEqual(out["steps"][0]["name"], "connect")
        self.assertEqual(out["steps"][0]["status"], "fail")
        self.assertIn("There was no endpoint listening at https://mail.contoso.com/EWS/"
                      "mrsproxy.svc that could accept the message.", out["message"])
        self.assertIn("actively refused it 127.0.0.1:%d" % port, out["message"])
        self.assertIn("firewall", out["next_step"])
        self.assertEqual([st["status"] for st in out["steps"][1:]], ["skipped"] * 4)

    def test_unreachable_host(self):
        # a host whose SYNs are never answered, as behind a firewall that drops: a listener
        # with a full accept queue (backlog 0 and one connection waiting) drops every new SYN
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(0)
        port = srv.getsockname()[1]
        filler = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            rc, out, err = probe("--server", "mail.contoso.com", "--user", "CONTOSO\\admin",
                                 "--connect-to", "mail.contoso.com:443:127.0.0.1:%d" % port,
                                 "--timeout", "1", "--json", password="x")
        finally:
            filler.close()
            srv.close()
        self.assertEqual(rc, 3, err)
        self.assertEqual((out["steps"][0]["name"], out["steps"][0]["status"]),
                         ("connect", "fail"), out)
        self.assertIn("no answer to the TCP connection to 127.0.0.1:%d within 1000 ms" % port,
                      out["steps"][0]["detail"])
        self.assertIn("A connection attempt failed because the connected party did not properly "
                      "respond after a period of time", out["message"])
        self.assertIn("firewall logs", out["next_step"])
        self.assertEqual([st["status"] for st in out["steps"][1:]], ["skipped"] * 4)

    def test_garbage_server(self):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        port = srv.getsockname()[1]
        stop = threading.Event()

        def serve():
            srv.settimeout(0.2)
            while not stop.is_set():
                try:
                    c, _ = srv.accept()
                except OSError:
                    continue
                try:
                    c.sendall(b"\x00\xffgarbage, not TLS\r\n" * 50)
                except OSError:
                    pass
                c.close()
        t = threading.Thread(target=serve, daemon=True)
        t.start()
        try:
            rc, out, err = probe("--server", "mail.contoso.com", "--user", "CONTOSO\\admin",
                                 "--connect-to", "mail.contoso.com:443:127.0.0.1:%d" % port,
                                 "--timeout", PROBE_TIMEOUT, "--json", password="x")
        finally:
            stop.set()
            t.join()
            srv.close()
        self.assertEqual(rc, 3, err)
        self.assertEqual([(st["name"], st["status"]) for st in out["steps"][:2]],
                         [("connect", "pass"), ("tls", "fail")])
        self.assertIn("An unexpected error occurred on a send", out["message"])


class Autodiscover(unittest.TestCase):
    """The candidates of reference 1.5 in their order, what each answered, and SOAP
    GetUserSettings as the migration service sends it."""

    def run_ad(self, server, *connect):
        return probe("--autodiscover", "--email", "admin@contoso.com", "--user", "CONTOSO\\admin",
                     "--cacert", server.ca, "--timeout", PROBE_TIMEOUT, "--json", *connect,
                     password="P@ssw0rd!")

    def test_pox_then_soap(self):
        with Server("healthy") as s:
            rc, out, err = self.run_ad(s, *connect_to(s, "contoso.com"))
        self.assertEqual((rc, out["result"]), (0, "Success"), out)
        self.assertEqual([st["name"] for st in out["steps"]],
                         ["autodiscover", "autodiscover-soap", "connect", "tls",
                          "mrsproxy-anonymous", "mrsproxy-auth", "mrsproxy-session"])
        ad, soap = out["steps"][0], out["steps"][1]
        # https://<domain> first (refused here), then https://autodiscover.<domain>, which
        # answered: the later candidates are not tried
        self.assertRegex(ad["detail"], r"^https://contoso.com/autodiscover/autodiscover.xml: the "
                         r"TCP connection to 127.0.0.1:\d+ was refused.*; https://autodiscover."
                         r"contoso.com/autodiscover/autodiscover.xml: settings: EXPR Server "
                         r"\(ExternalMailboxServer\) mail.contoso.com")
        self.assertNotIn("http://", ad["detail"])
        self.assertEqual(soap["target"],
                         "https://autodiscover.contoso.com/autodiscover/autodiscover.svc")
        self.assertIn("NoError: ExternalMailboxServer mail.contoso.com (RequiresSSL On",
                      soap["detail"])
        self.assertEqual(out["remote_server"], "mail.contoso.com")

    def test_http_redirect_method(self):
        # https://autodiscover.contoso.com refuses; a plain listener for the name answers the
        # anonymous GET with IIS's 302 to the TLS listener, whose port the Location names
        path = own_scenario('<listener name="plain" address="127.0.0.1:0" tls="false" '
                            'server="EX1" hosts="autodiscover.contoso.com"/>')
        try:
            with Server(path) as s:
                ports = {l["name"]: int(l["url"].rsplit(":", 1)[1]) for l in s.ready["listeners"]}
                edge = ports["edge"]
                rc, out, err = self.run_ad(
                    s, "--connect-to", "contoso.com:443:127.0.0.1:%d" % closed_port(),
                    "--connect-to", "autodiscover.contoso.com:443:127.0.0.1:%d" % closed_port(),
                    "--connect-to", "autodiscover.contoso.com:80:127.0.0.1:%d" % ports["plain"],
                    "--connect-to", "autodiscover.contoso.com:%d:127.0.0.1:%d" % (edge, edge),
                    "--connect-to", "mail.contoso.com:443:127.0.0.1:%d" % edge)
        finally:
            os.unlink(path)
        self.assertEqual((rc, out["result"]), (0, "Success"), out)
        ad = out["steps"][0]
        self.assertEqual(ad["status"], "pass", out)
        location = "https://autodiscover.contoso.com:%d/Autodiscover/Autodiscover.xml" % edge
        self.assertIn("; http://autodiscover.contoso.com/autodiscover/autodiscover.xml: (302) "
                      "Found to %s, tried next; %s: settings: EXPR Server (ExternalMailboxServer) "
                      "mail.contoso.com" % (location, location), ad["detail"])
        self.assertEqual(out["steps"][1]["target"],
                         "https://autodiscover.contoso.com:%d/autodiscover/autodiscover.svc" % edge)
        self.assertEqual(out["steps"][1]["status"], "pass", out)

    def test_no_candidate_answers(self):
        closed = ["--connect-to", "contoso.com:443:127.0.0.1:%d" % closed_port(),
                  "--connect-to", "autodiscover.contoso.com:443:127.0.0.1:%d" % closed_port(),
                  "--connect-to", "autodiscover.contoso.com:80:127.0.0.1:%d" % closed_port()]
        with Server("healthy") as s:
            rc, out, err = self.run_ad(s, *closed)
        self.assertEqual((rc, out["result"]), (3, "Failed"), out)
        ad = out["steps"][0]
        self.assertEqual((ad["name"], ad["status"]), ("autodiscover", "fail"))
        for text in ("https://contoso.com/autodiscover/autodiscover.xml: the TCP connection",
                     "https://autodiscover.contoso.com/autodiscover/autodiscover.xml: the TCP "
                     "connection", "http://autodiscover.contoso.com/autodiscover/autodiscover.xml:"
                     " no answer", "SRV _autodiscover._tcp.contoso.com: no such record"):
            self.assertIn(text, ad["detail"])
        self.assertEqual([st["status"] for st in out["steps"][1:]], ["skipped"] * 6, out)
        self.assertTrue(out["message"].startswith(
            "The ExchangeRemote endpoint settings could not be determined from the autodiscover "
            "response. --> There was no endpoint listening at "), out["message"])


class Repeat(unittest.TestCase):
    def test_repeat_rounds_on_fresh_connections(self):
        with Server("healthy") as s:
            rc, out, err = probe("--server", "mail.contoso.com", "--user", "CONTOSO\\admin",
                                 "--auth", "ntlm", "--cacert", s.ca, "--repeat", "2",
                                 "--timeout", PROBE_TIMEOUT, "--json",
                                 *connect_to(s, "contoso.com"), password="P@ssw0rd!")
        self.assertEqual(rc, 0, out)
        self.assertEqual(out["steps"][-1]["name"], "repeat-2")
        self.assertEqual(out["steps"][-1]["status"], "pass")
        self.assertIn("Ntlm as CONTOSO\\admin", out["steps"][3]["detail"])

    def test_human_text(self):
        with Server("wrong-credentials") as s:
            p = subprocess.run([BIN, "probe", "--server", "mail.contoso.com", "--user",
                                "CONTOSO\\admin", "--auth", "basic", "--cacert", s.ca,
                                "--timeout", PROBE_TIMEOUT, *connect_to(s, "contoso.com")],
                               input="P@ssw0rd!\n", capture_output=True, text=True, timeout=60,
                               env=probe_env())
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("Result       : Failed", p.stdout)
        self.assertIn("401 1 1326", p.stdout)  # Basic's logon failure in the IIS log


class BadInput(unittest.TestCase):
    """Exit 1 with a one-line cause, never a crash."""

    def bad(self, *args, stdin="x\n", expect):
        p = subprocess.run([BIN, "probe", *args], input=stdin, capture_output=True, text=True,
                           timeout=30, env=probe_env())
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, p.stderr)
        self.assertEqual(p.returncode, 1, (args, p.stdout, p.stderr))
        self.assertIn(expect, p.stderr)
        self.assertEqual(p.stdout, "")

    def test_bad_input(self):
        u = ["--user", "CONTOSO\\admin"]
        self.bad(*u, expect="--server HOST")
        self.bad("--server", "mail.contoso.com", expect="--user")
        self.bad("--server", "https://mail.contoso.com/EWS", *u, expect="not a host name")
        self.bad("--server", "a", "--autodiscover", "--email", "a@b.c", *u,
                 expect="--server HOST")
        self.bad("--autodiscover", "--email", "nobody", *u, expect="user@domain")
        self.bad("--server", "a", *u, "--auth", "kerberos", expect="negotiate, ntlm or basic")
        self.bad("--server", "a", *u, "--connect-to", "a:443:b", expect="HOST:PORT:ADDR:PORT")
        self.bad("--server", "a", *u, "--connect-to", "a:99999:b:1", expect="HOST:PORT:ADDR")
        self.bad("--server", "a", *u, "--repeat", "0", expect="--repeat")
        self.bad("--server", "a", *u, "--timeout", "-1", expect="--timeout")
        self.bad("--server", "a", *u, "--cacert", "/nonexistent/ca.pem", expect="--cacert")
        self.bad("--server", "a", *u, "--dns", "dns.contoso.com",
                 expect='--dns: "dns.contoso.com" is not a DNS server\'s IPv4 address')
        self.bad("--server", "a", *u, "--dns", "127.0.0.1:99999", expect="ADDR[:PORT]")
        self.bad("--server", "a", *u, "--password-file", "/nonexistent/pw",
                 expect="--password-file: cannot read")
        self.bad("--server", "a", *u, stdin="", expect="no password")
        with tempfile.TemporaryDirectory() as d:
            # a folder opens but does not read; a file without read permission (unless we are
            # root, who reads it anyway); an empty file
            self.bad("--server", "a", *u, "--password-file", d,
                     expect="--password-file: cannot read %s: Is a directory" % d)
            locked = os.path.join(d, "locked")
            with open(locked, "w") as f:
                f.write("P@ssw0rd!\n")
            os.chmod(locked, 0)
            if os.geteuid() != 0:
                self.bad("--server", "a", *u, "--password-file", locked,
                         expect="--password-file: cannot read %s: Permission denied" % locked)
            empty = os.path.join(d, "empty")
            open(empty, "w").close()
            self.bad("--server", "a", *u, "--password-file", empty,
                     expect="no password in the password file")
        self.bad("--server", "a", *u, "extra", expect="unexpected argument")
        self.bad("--server", "a", *u, "--bogus", expect="unknown option")

    def test_help(self):
        p = mrsmock("probe", "--help")
        self.assertEqual(p.returncode, 0)
        for opt in ("--server", "--autodiscover", "--email", "--user", "--password-file",
                    "--auth", "--cacert", "--connect-to", "--dns", "--repeat", "--timeout",
                    "--json"):
            self.assertIn(opt, p.stdout)

    def test_without_its_program(self):
        # a mrsmock copied somewhere alone: the probe's program is not beside it, nor in
        # ../lib/mrsmock: a clear error, exit 2 (the probe could not run)
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "bin"))
            alone = os.path.join(d, "bin", "mrsmock")
            shutil.copy(BIN, alone)
            p = subprocess.run([alone, "probe", "--help"], capture_output=True, text=True,
                               timeout=30, env=sanitizer_env())
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("mrsmock-probe is neither in %s/bin nor in %s/bin/../lib/mrsmock"
                          % (d, d), p.stderr)
            # where an installation puts it
            os.makedirs(os.path.join(d, "lib", "mrsmock"))
            shutil.copy(os.path.join(os.path.dirname(BIN), "mrsmock-probe"),
                        os.path.join(d, "lib", "mrsmock", "mrsmock-probe"))
            p = subprocess.run([alone, "probe", "--help"], capture_output=True, text=True,
                               timeout=30, env=sanitizer_env())
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("usage: mrsmock probe", p.stdout)

    def test_password_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".pw") as f:
            f.write("P@ssw0rd!\n")
            f.flush()
            with Server("healthy") as s:
                rc, out, err = probe("--server", "mail.contoso.com", "--user", "CONTOSO\\admin",
                                     "--auth", "basic", "--password-file", f.name, "--cacert",
                                     s.ca, "--timeout", PROBE_TIMEOUT, "--json",
                                     *connect_to(s, "contoso.com"), password="")
        self.assertEqual(rc, 0, out)


if __name__ == "__main__":
    unittest.main()
