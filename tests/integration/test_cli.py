"""The command line contract: sub-commands, exit statuses, one-line errors, signals."""
import os
import signal
import socket
import re
import tempfile
import textwrap
import unittest

from harness import Server, mrsmock, ROOT

ADMIN = "admin:P@ssw0rd!"


def write(path, text):
    with open(path, "w") as f:
        f.write(textwrap.dedent(text).lstrip())


def overlay(body, name="lab"):
    return ('<scenario xmlns="urn:mrsmock:scenario:1" name="%s" extends="healthy">\n%s\n'
            '</scenario>\n' % (name, body))


class Commands(unittest.TestCase):
    def test_version_and_help(self):
        p = mrsmock("--version")
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"^mrsmock \d+\.\d+\.\d+\n$")
        p = mrsmock("run", "--help")
        self.assertEqual(p.returncode, 0)
        for opt in ("--listen ADDR:PORT", "--listen NAME=ADDR:PORT", "--state-dir", "--threads"):
            self.assertIn(opt, p.stdout)
        p = mrsmock("frobnicate")
        self.assertEqual(p.returncode, 1)

    def test_list(self):
        p = mrsmock("list")
        self.assertEqual(p.returncode, 0, p.stderr)
        names = [l.split()[0] for l in p.stdout.splitlines()]
        self.assertIn("healthy", names)
        line = [l for l in p.stdout.splitlines() if l.startswith("healthy ")][0]
        self.assertGreater(len(line.split(None, 1)[1]), 10)

    def test_check(self):
        p = mrsmock("check", os.path.join(ROOT, "scenarios", "healthy.xml"), "healthy")
        self.assertEqual(p.returncode, 0, p.stderr)
        with tempfile.TemporaryDirectory() as d:
            bad = os.path.join(d, "bad.xml")
            write(bad, overlay('  <server name="EX1">\n    <nonsense/>\n  </server>'))
            p = mrsmock("check", bad)
            self.assertEqual(p.returncode, 1)
            self.assertRegex(p.stderr, r"(?m)^%s:3: .*nonsense" % bad)
            p = mrsmock("check", os.path.join(d, "missing.xml"))
            self.assertEqual(p.returncode, 1)
            self.assertIn("missing.xml", p.stderr)

    def test_shell_shows_the_virtual_directories(self):
        """Troubleshooting step 1 against the lab: Get-WebServicesVirtualDirectory | fl."""
        p = mrsmock("shell", "mrsproxy-disabled", "Get-WebServicesVirtualDirectory")
        self.assertEqual(p.returncode, 0, p.stderr)
        fields = dict(l.split(" : ", 1) if " : " in l else (l.rstrip(" :"), "")
                      for l in p.stdout.splitlines() if l)
        fields = {k.strip(): v for k, v in fields.items()}
        self.assertEqual(fields["Server"], "EX1")
        self.assertEqual(fields["ExternalUrl"], "https://mail.contoso.com/EWS/Exchange.asmx")
        self.assertEqual(fields["ExternalAuthenticationMethods"],
                         "{Basic, Ntlm, WindowsIntegrated, WSSecurity}")
        self.assertEqual(fields["MRSProxyEnabled"], "False")
        p = mrsmock("shell", "basic-auth-missing", "--server", "ex1")
        self.assertIn("ExternalAuthenticationMethods : {Ntlm, WindowsIntegrated, WSSecurity}",
                      p.stdout)
        self.assertIn("BasicAuthentication           : False", p.stdout)
        p = mrsmock("shell", "autodiscover-no-mrsproxy", "Get-OutlookAnywhere", "--server", "EX1")
        self.assertIn("ExternalHostname                   : autodiscover.contoso.com", p.stdout)
        p = mrsmock("shell", "negotiate-forbidden")
        self.assertIn("Authorization Rules: Deny CONTOSO\\admin", p.stdout)
        p = mrsmock("shell", "healthy", "--server", "EX9")
        self.assertEqual(p.returncode, 1)
        self.assertIn("EX9", p.stderr)

    def test_shell_shows_the_organisation_and_mrs_health(self):
        """Troubleshooting step 2 against the lab: the servers, the accepted domains, an
        account's addresses, the Mailbox Replication service and Test-MRSHealth, from the
        model (each table parsed by its dashes, as PowerShell lays it out)."""
        def table(text):
            lines = [l for l in text.splitlines() if l]
            dashes = lines[1]
            cols, start = [], 0
            for m in re.finditer(r"-+", dashes):
                cols.append(m.start())
            rows = []
            for l in lines[2:]:
                rows.append([l[a:b].strip() for a, b in zip(cols, cols[1:] + [None])])
            return [c.strip() for c in re.split(r"\s{2,}|(?<=\S) (?=\S)", lines[0])], rows

        p = mrsmock("shell", "dead-server", "Get-ExchangeServer")
        self.assertEqual(p.returncode, 0, p.stderr)
        head, rows = table(p.stdout)
        self.assertEqual(head, ["Name", "Site", "ServerRole", "Edition", "AdminDisplayVersion"])
        self.assertEqual([r[0] for r in rows], ["EX1", "EX2", "EX3"])  # the dead one is listed
        self.assertEqual(rows[2][4], "Version 15.1 (Build 2507.6)")
        self.assertEqual(rows[0][1], "contoso.com/Confi...")
        p = mrsmock("shell", "lb-no-affinity", "Get-ExchangeServer", "--server", "EX2")
        self.assertEqual([r[4] for r in table(p.stdout)[1]], ["Version 14.3 (Build 123.4)"])

        p = mrsmock("shell", "service-unavailable", "Get-AcceptedDomain")
        self.assertEqual(table(p.stdout)[1], [["contoso.com", "contoso.com", "Authoritative",
                                               "True"]])
        p = mrsmock("shell", "service-unavailable", "Get-Mailbox", "admin")
        self.assertEqual(p.stdout.strip(),
                         "EmailAddresses : {SMTP:admin@contoso.com, smtp:admin@fabrikam-old.com}")
        p = mrsmock("shell", "healthy", "Get-Mailbox", "nobody")
        self.assertEqual(p.returncode, 1)
        self.assertIn("couldn't be found", p.stderr)

        p = mrsmock("shell", "passive-server", "Get-Service", "MSExchangeMailboxReplication",
                    "--server", "EX2")
        self.assertEqual(table(p.stdout)[1], [["Stopped", "MSExchangeMailb...",
                                               "Microsoft Exchange Mailbox Replication"]])
        p = mrsmock("shell", "passive-server", "Get-Service", "MSExchangeMailboxReplication")
        self.assertEqual(table(p.stdout)[1][0][0], "Running")  # the local server, EX1
        p = mrsmock("shell", "passive-server", "Test-MRSHealth", "--server", "ex2")
        checks = re.findall(r"Check    : (\w+)\nPassed   : (\w+)", p.stdout)
        self.assertEqual(checks, [("ServiceCheck", "False"), ("RPCPingCheck", "False"),
                                  ("QueueScanCheck", "False")])
        p = mrsmock("shell", "healthy", "Test-MRSHealth")
        self.assertIn("Passed   : True\nMessage  : The Mailbox Replication service is running.",
                      p.stdout)
        p = mrsmock("shell", "dead-server", "Test-MRSHealth", "--server", "EX3")
        self.assertEqual(p.returncode, 1)
        self.assertIn("The RPC server is unavailable", p.stderr)
        p = mrsmock("shell", "healthy", "Get-Service")
        self.assertEqual(p.returncode, 1)
        self.assertIn("needs a name", p.stderr)

    def test_run_errors_are_one_line(self):
        p = mrsmock("run", "no-such-scenario")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        p = mrsmock("run", "healthy", "--listen", "nonsense")
        self.assertEqual(p.returncode, 1)
        with tempfile.TemporaryDirectory() as d:
            p = mrsmock("run", "healthy", "--state-dir", d, "--listen", "nosuch=127.0.0.1:0")
            self.assertEqual(p.returncode, 1)
            self.assertIn("nosuch", p.stderr)
            # a port in use
            with socket.socket() as busy:
                busy.bind(("127.0.0.1", 0))
                busy.listen(1)
                port = busy.getsockname()[1]
                p = mrsmock("run", "healthy", "--state-dir", d,
                            "--listen", "127.0.0.1:%d" % port)
            self.assertEqual(p.returncode, 2)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
            self.assertIn("Address already in use", p.stderr)
            self.assertEqual(p.stdout, "")
            # a state folder that cannot be created
            blocker = os.path.join(d, "file")
            open(blocker, "w").close()
            p = mrsmock("run", "healthy", "--state-dir", os.path.join(blocker, "state"),
                        "--listen", "127.0.0.1:0")
            self.assertEqual(p.returncode, 2)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)


class Signals(unittest.TestCase):
    def test_sigint_exits_zero_and_stdout_has_only_the_ready_line(self):
        s = Server("healthy")
        st, _, _, _, _ = s.curl("mail.contoso.com", "/EWS/mrsproxy.svc")
        self.assertEqual(st, 401)
        self.assertEqual(s.stop(signal.SIGINT), 0)
        self.assertEqual(s.stdout, b"")
        s.__exit__(None, None, None)

    def test_sighup_reload_and_failed_reload(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "lab.xml")
            write(path, overlay(""))
            with Server(path) as s:
                st, _, _, _, _ = s.curl("mail.contoso.com", "/EWS/mrsproxy.svc", "-u", ADMIN)
                self.assertEqual(st, 200)
                write(path, overlay('<server name="EX1"><ews mrsproxy="false"/></server>'))
                s.proc.send_signal(signal.SIGHUP)
                s.wait_stderr(r'now serving scenario "lab"')
                st, _, body, _, _ = s.curl("mail.contoso.com", "/EWS/mrsproxy.svc", "-u", ADMIN)
                self.assertEqual(st, 403)
                self.assertIn(b"MRS proxy service is disabled", body)
                # a broken file: reported, and the running scenario kept
                write(path, overlay("<server name=\"EX1\"><bogus/></server>"))
                s.proc.send_signal(signal.SIGHUP)
                s.wait_stderr(r"reload failed")
                self.assertRegex(s.stderr.decode(), r"lab\.xml:\d+: .*bogus")
                st, _, _, _, _ = s.curl("mail.contoso.com", "/EWS/mrsproxy.svc", "-u", ADMIN)
                self.assertEqual(st, 403)


def keepalive(s):
    """One keep-alive TLS connection to S as the admin: (the connection, a function that GETs
    the MRS Proxy on it and returns the status)."""
    import base64
    import http.client
    import ssl
    ctx = ssl.create_default_context(cafile=s.ca)
    conn = http.client.HTTPSConnection("mail.contoso.com", s.port, context=ctx)
    conn.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", s.port), 10),
                                server_hostname="mail.contoso.com")
    auth = {"Authorization": "Basic " + base64.b64encode(ADMIN.encode()).decode()}

    def get():
        conn.request("GET", "/EWS/mrsproxy.svc", headers=auth)
        r = conn.getresponse()
        r.read()
        return r.status
    return conn, get


class ReloadKeepAlive(unittest.TestCase):
    """A reload applies to the requests that follow, on connections opened before it too."""

    def test_open_connection_sees_the_new_scenario(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "lab.xml")
            write(path, overlay(""))
            with Server(path) as s:
                conn, get = keepalive(s)
                self.assertEqual(get(), 200)
                write(path, overlay('<server name="EX1"><ews mrsproxy="false"/></server>'))
                s.proc.send_signal(signal.SIGHUP)
                s.wait_stderr(r'now serving scenario "lab"')
                self.assertEqual(get(), 403)  # the same connection
                conn.close()


    def test_old_generation_goes_with_its_last_request(self):
        # A connection opened before a reload does not keep the old generation (its TLS
        # contexts, its server's log files) alive: once its last request is logged, the
        # HttpProxy files of the old build are closed, though the connection stays open.
        def hplog_fds(pid):
            d = "/proc/%d/fd" % pid
            names = []
            for fd in os.listdir(d):
                try:
                    names.append(os.readlink(os.path.join(d, fd)))
                except OSError:
                    pass
            return sorted(n for n in names if "HttpProxy" in n)

        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "lab.xml")
            write(path, overlay('<server name="EX1" build="15.1.2507.6"/>'))
            with Server(path) as s:
                conn, get = keepalive(s)
                self.assertEqual(get(), 200)
                before = hplog_fds(s.proc.pid)
                self.assertEqual(len(before), 2)  # Ews and Autodiscover of 15.1.2507.6
                write(path, overlay('<server name="EX1" build="15.1.2507.9"/>'))
                s.proc.send_signal(signal.SIGHUP)
                s.wait_stderr(r'now serving scenario "lab"')
                self.assertEqual(get(), 200)
                s.w3c_wait(2)  # the second request is logged: its pool was released
                after = hplog_fds(s.proc.pid)
                # the old build's two descriptors are closed (else four); the new ones append
                # to the hour's files under a header block naming the new build
                self.assertEqual(len(after), 2, after)
                with open(after[0], encoding="utf-8-sig") as f:
                    self.assertIn("#Version: 15.01.2507.009", f.read())
                conn.close()


class Limits(unittest.TestCase):
    def test_body_limit_is_413(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "small.xml")
            write(path, overlay('<limits max-request-body="1000"/>'))
            with Server(path) as s:
                for proto in ("--http1.1", "--http2"):
                    st, _, body, _, err = s.curl("mail.contoso.com", "/EWS/mrsproxy.svc",
                                                 "-u", ADMIN, "--data-binary", "x" * 1500, proto)
                    self.assertEqual(st, 413, err)
                    self.assertIn(b"413 - Request Entity Too Large.", body)
                # an anonymous client is challenged first, as the service is behind IIS auth
                st, _, _, _, _ = s.curl("mail.contoso.com", "/EWS/mrsproxy.svc",
                                        "--data-binary", "x" * 1500)
                self.assertEqual(st, 401)
                # far over the limit: libh2o answers before any stage (HTTP/1.1 only)
                st, _, _, _, _ = s.curl("mail.contoso.com", "/EWS/mrsproxy.svc", "-u", ADMIN,
                                        "--data-binary", "x" * 5000, "--http1.1")
                self.assertEqual(st, 413)
                st, _, _, _, _ = s.curl("mail.contoso.com", "/EWS/mrsproxy.svc", "-u", ADMIN,
                                        "--data-binary", "x" * 500,
                                        "-H", "Content-Type: text/plain")
                self.assertEqual(st, 415)
                s.stop()
                _, lines = s.w3c_lines()
                self.assertEqual([tuple(f[11:14]) for f in lines],
                                 [("413", "0", "0"), ("413", "0", "0"), ("401", "2", "5"),
                                  ("415", "0", "0")])

    def test_listen_moves_one_listener(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        with Server("healthy", "--listen", "edge=127.0.0.1:%d" % port, listen=None) as s:
            self.assertEqual(s.port, port)


if __name__ == "__main__":
    unittest.main()


class Timeouts(unittest.TestCase):
    """IIS closes an idle keep-alive connection (connectionTimeout) and drops a handshake that
    never finishes; both bounded by the scenario's <limits>. Waits are for the server's close,
    with a deadline, never a fixed sleep."""

    def test_idle_and_handshake_timeouts(self):
        import http.client
        import ssl
        import time
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "quick.xml")
            write(path, overlay('<limits idle-timeout="300ms" handshake-timeout="300ms"/>'))
            with Server(path) as s:
                ctx = ssl.create_default_context(cafile=s.ca)
                raw = socket.create_connection(("127.0.0.1", s.port), timeout=10)
                tls = ctx.wrap_socket(raw, server_hostname="mail.contoso.com")
                conn = http.client.HTTPSConnection("mail.contoso.com", s.port, context=ctx)
                conn.sock = tls
                conn.request("GET", "/EWS/mrsproxy.svc")
                self.assertEqual(conn.getresponse().read(), b"")
                start = time.monotonic()
                self.assertEqual(tls.recv(1), b"")  # the server closed the idle connection
                self.assertLess(time.monotonic() - start, 10)
                tls.close()
                # a client that connects and never starts TLS is dropped
                with socket.create_connection(("127.0.0.1", s.port), timeout=10) as mute:
                    self.assertEqual(mute.recv(1), b"")
