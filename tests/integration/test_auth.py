"""Authentication as IIS does it, through real clients: curl (--basic, --ntlm, --negotiate over
gss-ntlmssp), requests-ntlm, HTTP/2 fallback, connection binding, account states and an
authorization rule; each case checks the status, the headers and the IIS log triple."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import unittest

from harness import Server, TIMEOUT

HERE = os.path.dirname(os.path.abspath(__file__))
ADMIN, PASSWORD = "admin", "P@ssw0rd!"
MRS = "/EWS/mrsproxy.svc"

LEGACY_CNF = textwrap.dedent("""\
    openssl_conf = openssl_init
    [openssl_init]
    providers = provider_sect
    [provider_sect]
    default = default_sect
    legacy = legacy_sect
    [default_sect]
    activate = 1
    [legacy_sect]
    activate = 1
    """)


def python_client(cnf, s, mode, user, password, *extra):
    """Runs ntlm_client.py in its own process with the legacy provider enabled."""
    env = dict(os.environ, OPENSSL_CONF=cnf)
    p = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "ntlm_client.py"), mode,
                        "https://mail.contoso.com" + MRS, str(s.port), s.ca, user, password,
                        *extra],
                       capture_output=True, text=True, timeout=TIMEOUT, env=env)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def overlay(body, name="lab"):
    return ('<scenario xmlns="urn:mrsmock:scenario:1" name="%s" extends="healthy">\n%s\n'
            '</scenario>\n' % (name, body))


class Auth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.cnf = os.path.join(cls.tmp.name, "openssl-legacy.cnf")
        with open(cls.cnf, "w") as f:
            f.write(LEGACY_CNF)
        cls.ntlm_user_file = os.path.join(cls.tmp.name, "ntlm-users")
        with open(cls.ntlm_user_file, "w") as f:
            f.write("CONTOSO:admin:%s\n" % PASSWORD)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        # a server per test: each test knows how many lines its requests leave
        self.s = Server("healthy")

    def tearDown(self):
        self.s.__exit__(None, None, None)

    def last_lines(self, n, total):
        """The last N of the first TOTAL lines (TOTAL: the requests made so far)."""
        lines = self.s.w3c_wait(total)[1]
        return [tuple(f[11:14]) + (f[7],) for f in lines[total - n:total]]

    def code(self, *args, host="mail.contoso.com", path=MRS, env=None):
        p = subprocess.run(["curl", "-sS", "--cacert", self.s.ca, *self.s.resolve_args(),
                            "-o", "/dev/null", "-w", "%{http_version} %{http_code}", *args,
                            self.s.url(host, path)], capture_output=True, text=True,
                           timeout=TIMEOUT, env=env)
        return p.stdout

    def test_basic_right_and_wrong(self):
        self.assertEqual(self.code("--http1.1", "--basic", "-u", "%s:%s" % (ADMIN, PASSWORD)),
                         "1.1 200")
        self.assertEqual(self.last_lines(1, 1), [("200", "0", "0", "admin")])
        self.assertEqual(self.code("--http1.1", "--basic", "-u", "%s:nope" % ADMIN), "1.1 401")
        self.assertEqual(self.last_lines(1, 2), [("401", "1", "1326", "-")])

    def test_ntlm_right_and_wrong(self):
        self.assertEqual(self.code("--ntlm", "-u", "CONTOSO\\%s:%s" % (ADMIN, PASSWORD)),
                         "1.1 200")
        self.assertEqual(self.last_lines(2, 2), [("401", "1", "2148074254", "-"),
                                                 ("200", "0", "0", "CONTOSO\\admin")])
        self.assertEqual(self.code("--ntlm", "-u", "CONTOSO\\%s:wrong" % ADMIN), "1.1 401")
        self.assertEqual(self.last_lines(2, 4), [("401", "1", "2148074254", "-"),
                                                 ("401", "1", "2148074252", "-")])
        # a UPN with no domain is resolved by UPN, as Windows does
        self.assertEqual(self.code("--ntlm", "-u", "admin@contoso.com:%s" % PASSWORD), "1.1 200")

    def test_legacy_provider_loaded_at_the_first_ntlm_logon(self):
        def mapped():
            with open("/proc/%d/maps" % self.s.proc.pid) as f:
                return "ossl-modules/legacy.so" in f.read()
        self.assertEqual(self.code("--http1.1", "--basic", "-u", "%s:%s" % (ADMIN, PASSWORD)),
                         "1.1 200")
        self.assertFalse(mapped())  # Basic never needs it: not loaded at start
        self.assertEqual(self.code("--ntlm", "-u", "CONTOSO\\%s:%s" % (ADMIN, PASSWORD)),
                         "1.1 200")
        self.assertTrue(mapped())

    def test_ntlm_without_the_legacy_provider(self):
        # MD4 is loaded at the first NTLM logon, not at start: where OpenSSL cannot find its
        # legacy provider, the server still starts and serves Basic, and NTLM logons fail as
        # with a wrong password, standard error saying why once
        self.s.__exit__(None, None, None)
        with tempfile.TemporaryDirectory() as empty:
            self.s = Server("healthy", env={"OPENSSL_MODULES": empty})
            self.assertEqual(self.code("--http1.1", "--basic", "-u", "%s:%s" % (ADMIN, PASSWORD)),
                             "1.1 200")
            for total in (3, 5):
                self.assertEqual(self.code("--ntlm", "-u", "CONTOSO\\%s:%s" % (ADMIN, PASSWORD)),
                                 "1.1 401")
                self.assertEqual(self.last_lines(2, total), [("401", "1", "2148074254", "-"),
                                                             ("401", "1", "2148074252", "-")])
            self.s.wait_stderr(r"ntlm: loading OpenSSL's legacy provider")
            self.assertEqual(self.s.stderr.decode().count("ntlm: loading"), 1, self.s.stderr)

    def test_negotiate_spnego_wrapped_ntlm(self):
        env = dict(os.environ, NTLM_USER_FILE=self.ntlm_user_file)
        self.assertEqual(self.code("--negotiate", "-u", ":", env=env), "1.1 200")
        self.assertEqual(self.last_lines(2, 2), [("401", "1", "2148074254", "-"),
                                              ("200", "0", "0", "CONTOSO\\admin")])

    def test_negotiate_wrong_password(self):
        users = os.path.join(self.tmp.name, "wrong-users")
        with open(users, "w") as f:
            f.write("CONTOSO:admin:not-the-password\n")
        env = dict(os.environ, NTLM_USER_FILE=users)
        self.assertEqual(self.code("--negotiate", "-u", ":", env=env), "1.1 401")
        self.assertEqual(self.last_lines(2, 2), [("401", "1", "2148074254", "-"),
                                                 ("401", "1", "2148074252", "-")])

    def test_challenge_headers_for_the_middle_leg(self):
        st, h, _, _, _ = self.s.curl("mail.contoso.com", MRS, "--http1.1", "-H",
                                     "Authorization: NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==")
        self.assertEqual(st, 401)
        wa = [v for k, v in h if k.lower() == "www-authenticate"]
        self.assertEqual(len(wa), 1)
        self.assertTrue(wa[0].startswith("NTLM TlRMTVNTUAAC"), wa)

    def test_garbled_tokens(self):
        tokens = ("NTLM !!!!", "NTLM TlRMTVNTUAAD", "Negotiate YII=", "NTLM " + "A" * 9000,
                  "Negotiate TlRMTVNTUAADAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                  "AAAAAAA")
        for i, tok in enumerate(tokens):
            self.assertEqual(self.code("--http1.1", "-H", "Authorization: " + tok), "1.1 401", tok)
            self.assertEqual(self.last_lines(1, i + 1)[0][:3], ("401", "1", "2148074248"), tok)

    def python_client(self, mode, user, password, server=None):
        return python_client(self.cnf, server or self.s, mode, user, password)

    def test_requests_ntlm(self):
        self.assertEqual(self.python_client("requests", "CONTOSO\\admin", PASSWORD)["status"],
                         200)
        self.assertEqual(self.python_client("requests", "CONTOSO\\admin", "bad")["status"], 401)

    def test_ntlm_is_bound_to_the_connection(self):
        r = self.python_client("split", "CONTOSO\\admin", PASSWORD)
        self.assertEqual(r["statuses"], [401, 401])
        self.assertEqual(self.last_lines(2, 2), [("401", "1", "2148074254", "-"),
                                                 ("401", "1", "2148074248", "-")])

    def paused_client(self, mode):
        """ntlm_client.py in MODE, stopped after its first step; returns the process and the
        statuses of that step."""
        env = dict(os.environ, OPENSSL_CONF=self.cnf)
        p = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "ntlm_client.py"), mode,
                              "https://mail.contoso.com" + MRS, str(self.s.port), self.s.ca,
                              "CONTOSO\\admin", PASSWORD], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        return p, json.loads(p.stdout.readline() or "{}").get("statuses")

    def reload_twice(self):
        # Two reloads: the scenario the connection learnt its state under is no longer any
        # worker's, and a new one may be allocated where it was. What the connection holds must
        # not be taken for the new scenario's (the sanitizer build checks no freed memory is read).
        for n in (1, 2):
            self.s.proc.send_signal(signal.SIGHUP)
            self.s.wait_stderr(r'(?s)(now serving scenario "healthy".*){%d}' % n)

    def resume(self, p):
        out, err = p.communicate("go\n", timeout=TIMEOUT)
        self.assertEqual(p.returncode, 0, err)
        return json.loads(out.strip().splitlines()[-1])["statuses"]

    def test_handshake_in_progress_across_two_reloads(self):
        p, first = self.paused_client("pause-handshake")
        self.assertEqual(first, [401], p.stderr.read() if first is None else "")
        self.reload_twice()
        # a reload forgets the connection's handshake, as an application pool recycle does
        self.assertEqual(self.resume(p), [401, 401])
        self.assertEqual(self.last_lines(2, 2), [("401", "1", "2148074254", "-"),
                                                 ("401", "1", "2148074248", "-")])

    def test_logon_across_two_reloads(self):
        p, first = self.paused_client("pause-logon")
        self.assertEqual(first, [401, 200], p.stderr.read() if first is None else "")
        self.reload_twice()
        # the connection's logon is forgotten too: the next request is challenged anew
        self.assertEqual(self.resume(p), [401, 200, 401])
        self.assertEqual(self.last_lines(1, 3), [("401", "2", "5", "-")])

    def test_ntlmv1_refused_unless_the_domain_accepts_it(self):
        r = self.python_client("v1", "CONTOSO\\admin", PASSWORD)
        self.assertEqual(r["statuses"], [401, 401])
        self.assertEqual(self.last_lines(1, 2)[0][:3], ("401", "1", "2148074252"))
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "v1.xml")
            with open(path, "w") as f:
                f.write(overlay('<organization ntlmv1="true"/>'))
            with Server(path) as s:
                r = self.python_client("v1", "CONTOSO\\admin", PASSWORD, server=s)
                self.assertEqual(r["statuses"], [401, 200])
                r = self.python_client("v1", "CONTOSO\\admin", "wrong", server=s)
                self.assertEqual(r["statuses"], [401, 401])

    def test_windows_logon_kept_only_where_windows_auth_is_on(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "basic-ad.xml")
            with open(path, "w") as f:
                f.write(overlay('<server name="EX1"><autodiscover auth="basic"/></server>'))
            with Server(path) as s:
                # the logon carries to the next request of the connection on EWS...
                r = python_client(self.cnf, s, "then", "CONTOSO\\admin", PASSWORD, MRS)
                self.assertEqual(r["statuses"][:2], [401, 200])
                self.assertNotEqual(r["statuses"][2], 401)
                # ...but not to Autodiscover, where only Basic is on
                r = python_client(self.cnf, s, "then", "CONTOSO\\admin", PASSWORD,
                                  "/autodiscover/autodiscover.xml")
                self.assertEqual(r["statuses"], [401, 200, 401])

    def test_large_kerberos_ticket_refused_as_such(self):
        def der(tag, body):
            n = len(body)
            if n < 0x80:
                return bytes([tag, n]) + body
            ln = n.to_bytes((n.bit_length() + 7) // 8, "big")
            return bytes([tag, 0x80 | len(ln)]) + ln + body
        krb5 = bytes.fromhex("06092a864886f712010202")
        ticket = der(0x60, b"\x06\x09" + bytes.fromhex("2a864886f712010202") + b"\x01\x00" +
                     b"\x6e" * 6000)
        init = der(0xa0, der(0x30, der(0xa0, der(0x30, krb5)) + der(0xa2, der(0x04, ticket))))
        token = der(0x60, bytes.fromhex("06062b0601050502") + init)
        import base64
        hdr = "Authorization: Negotiate " + base64.b64encode(token).decode()
        self.assertGreater(len(hdr), 8000)
        self.assertEqual(self.code("--http1.1", "-H", hdr), "1.1 401")
        self.assertEqual(self.last_lines(1, 1)[0][:3], ("401", "1", "2148074274"))

    def test_http2_falls_back_to_http11_for_windows_auth(self):
        # anonymous: IIS resets the HTTP/2 stream; curl retries over HTTP/1.1
        self.assertEqual(self.code("--http2"), "1.1 401")
        # Basic over HTTP/2 is served over HTTP/2
        self.assertEqual(self.code("--http2", "-u", "%s:%s" % (ADMIN, PASSWORD)), "2 200")
        self.assertEqual(self.code("--http2", "--ntlm", "-u", "CONTOSO\\%s:%s" %
                                   (ADMIN, PASSWORD)), "1.1 200")


class AuthScenarios(unittest.TestCase):
    """Account states and an authorization rule, from a user's own scenario file."""

    def test_states_and_deny(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "states.xml")
            with open(path, "w") as f:
                f.write(overlay(textwrap.dedent("""\
                    <organization>
                      <account sam="off" password="Passw0rd!" state="disabled"/>
                      <account sam="locked" password="Passw0rd!" state="locked"/>
                      <account sam="old" password="Passw0rd!" state="password-expired"/>
                    </organization>
                    <server name="EX1"><ews deny="user1"/></server>""")))
            with Server(path) as s:
                def basic(user, pw="Passw0rd!"):
                    st, _, _, _, _ = s.curl("mail.contoso.com", MRS, "--http1.1",
                                            "-u", "%s:%s" % (user, pw))
                    return st
                self.assertEqual(basic("off"), 401)
                self.assertEqual(basic("locked"), 401)
                self.assertEqual(basic("old"), 401)
                self.assertEqual(basic("user1", "Passw0rd1"), 403)
                self.assertEqual(basic(ADMIN, PASSWORD), 200)
                p = subprocess.run(["curl", "-sS", "--cacert", s.ca, *s.resolve_args(), "-o",
                                    "/dev/null", "-w", "%{http_code}", "--ntlm", "-u",
                                    "CONTOSO\\off:Passw0rd!", s.url("mail.contoso.com", MRS)],
                                   capture_output=True, text=True, timeout=TIMEOUT)
                self.assertEqual(p.stdout, "401")
                s.stop()
                lines = [tuple(f[11:14]) for f in s.w3c_lines()[1]]
        self.assertEqual(lines, [("401", "1", "1331"), ("401", "1", "1909"),
                                 ("401", "1", "1330"), ("403", "0", "5"), ("200", "0", "0"),
                                 ("401", "1", "2148074254"), ("401", "1", "2148074252")])


if __name__ == "__main__":
    unittest.main()


class BundledAuthScenarios(unittest.TestCase):
    """wrong-credentials, basic-auth-missing, negotiate-forbidden: what the client sees and
    the IIS lines that tell the causes apart."""

    def run_curl(self, s, *args):
        p = subprocess.run(["curl", "-sS", "--cacert", s.ca, *s.resolve_args(), "-D", "-",
                            "-o", "/dev/null", *args, s.url("mail.contoso.com", MRS)],
                           capture_output=True, text=True, timeout=TIMEOUT)
        status = [int(l.split()[1]) for l in p.stdout.splitlines() if l.startswith("HTTP/")]
        auth = [l.split(":", 1)[1].strip() for l in p.stdout.splitlines()
                if l.lower().startswith("www-authenticate:")]
        return status, auth

    def triples(self, s):
        return [tuple(f[11:14]) + (f[7],) for f in s.w3c_lines()[1]]

    def test_wrong_credentials(self):
        with Server("wrong-credentials") as s:
            st, _ = self.run_curl(s, "--ntlm", "-u", "CONTOSO\\admin:" + PASSWORD)
            self.assertEqual(st[-1], 401)
            st, auth = self.run_curl(s, "--http1.1", "-u", "admin:" + PASSWORD)
            self.assertEqual(st, [401])
            # what a WCF client prints: the headers joined with ","
            self.assertEqual(",".join(auth), 'Negotiate,NTLM,Basic realm="mail.contoso.com"')
            st, _ = self.run_curl(s, "--ntlm", "-u", "CONTOSO\\admin:N3w-P@ssw0rd!2026")
            self.assertEqual(st[-1], 200)
            s.stop()
            self.assertEqual(self.triples(s), [
                ("401", "1", "2148074254", "-"), ("401", "1", "2148074252", "-"),
                ("401", "1", "1326", "-"),
                ("401", "1", "2148074254", "-"), ("200", "0", "0", "CONTOSO\\admin")])

    def test_basic_auth_missing(self):
        with Server("basic-auth-missing") as s:
            st, auth = self.run_curl(s, "--http1.1", "--basic", "-u", "admin:" + PASSWORD)
            self.assertEqual(st, [401])
            self.assertEqual(",".join(auth), "Negotiate,NTLM")
            st, _ = self.run_curl(s, "--ntlm", "-u", "CONTOSO\\admin:" + PASSWORD)
            self.assertEqual(st[-1], 200)
            s.stop()
            self.assertEqual(self.triples(s)[0], ("401", "2", "5", "-"))

    def test_negotiate_forbidden(self):
        env = dict(os.environ)
        with tempfile.TemporaryDirectory() as d:
            users = os.path.join(d, "users")
            with open(users, "w") as f:
                f.write("CONTOSO:admin:%s\n" % PASSWORD)
            env["NTLM_USER_FILE"] = users
            with Server("negotiate-forbidden") as s:
                p = subprocess.run(["curl", "-sS", "--cacert", s.ca, *s.resolve_args(), "-o",
                                    "/dev/null", "-w", "%{http_code}", "--negotiate", "-u", ":",
                                    s.url("mail.contoso.com", MRS)], capture_output=True,
                                   text=True, timeout=TIMEOUT, env=env)
                self.assertEqual(p.stdout, "403")
                # another account is not denied
                st, _ = self.run_curl(s, "--http1.1", "-u", "user1:Passw0rd1")
                self.assertEqual(st, [200])
                s.stop()
                self.assertEqual(self.triples(s), [
                    ("401", "1", "2148074254", "-"), ("403", "0", "5", "CONTOSO\\admin"),
                    ("200", "0", "0", "user1")])
