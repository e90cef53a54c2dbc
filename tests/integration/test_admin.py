"""The admin API, driven with curl as a test suite would: every route and its errors, the
journal with the why of each answer, the long poll, scenario switches (by name, file and
uploaded document) atomic under load, reset, the token, --ready-file."""
import json
import os
import subprocess
import tempfile
import threading
import time
import unittest

from harness import Server, TIMEOUT
from test_auth import HERE, LEGACY_CNF

ADMIN = "admin:P@ssw0rd!"
MRS = "/EWS/mrsproxy.svc"


def api(s, method, path, *args, token=None, body=None, ctype=None):
    """curl against the admin API of S: (status, parsed JSON body, headers text)."""
    cmd = ["curl", "-sS", "-X", method, "-D", "-", "-o", "-", "--max-time", str(TIMEOUT)]
    if token is not None:
        cmd += ["-H", "Authorization: Bearer " + token]
    if body is not None:  # from standard input: a body may be larger than a command line
        cmd += ["--data-binary", "@-", "-H", "Content-Type: " + (ctype or "application/json")]
    cmd += list(args) + [s.ready["admin"] + path]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT + 5, input=body)
    assert p.returncode == 0, p.stderr
    head, _, text = p.stdout.partition("\n\n")  # text mode: CRLF is read as LF
    while head.split()[1] == "100":  # curl's Expect: 100-continue for a large body
        head, _, text = text.partition("\n\n")
    status = int(head.split()[1])
    return status, json.loads(text) if text.strip() else None, head


class AdminApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server("healthy", "--admin", "127.0.0.1:0")

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def setUp(self):
        st, body, _ = api(self.s, "PUT", "/scenario", body='{"name": "healthy"}')
        self.assertEqual(st, 200, body)
        self.assertEqual(api(self.s, "POST", "/reset")[0], 200)

    def test_ready_line_names_the_admin_url(self):
        self.assertRegex(self.s.ready["admin"], r"^http://127\.0\.0\.1:\d+$")

    def test_health(self):
        st, body, head = api(self.s, "GET", "/health")
        self.assertEqual(st, 200)
        self.assertIn("Content-Type: application/json", head)
        self.assertEqual(body["status"], "ok")
        self.assertEqual(body["scenario"], "healthy")
        self.assertGreaterEqual(body["uptime_seconds"], 0)

    def test_scenario_get(self):
        st, body, _ = api(self.s, "GET", "/scenario")
        self.assertEqual(st, 200)
        self.assertEqual(body["name"], "healthy")
        self.assertTrue(body["file"].endswith("healthy.xml"))
        self.assertEqual(body["servers"][0]["name"], "EX1")
        self.assertEqual(body["servers"][0]["build"], "15.1.2507.6")
        self.assertEqual(body["listeners"], self.s.ready["listeners"])

    def test_requests_with_the_why_of_each_answer(self):
        self.s.curl("mail.contoso.com", MRS, "-u", "admin:wrong")
        self.s.curl("mail.contoso.com", MRS, "-u", ADMIN)
        st, body, _ = api(self.s, "GET", "/requests/wait?count=2&timeout=5000&path=/EWS/mrsproxy.svc")
        self.assertEqual(st, 200, body)
        self.assertFalse(body["timed_out"])
        bad, good = body["requests"]
        self.assertEqual((bad["status"], bad["substatus"], bad["win32_status"]), (401, 1, 1326))
        self.assertEqual(bad["answered_by"], "frontend")
        self.assertIn('auth: Basic logon of "admin" failed', bad["why"])
        self.assertEqual(bad["logs"], ["w3c", "httpproxy"])
        self.assertEqual((good["status"], good["user"], good["auth_scheme"]), (200, "admin", "Basic"))
        self.assertEqual(good["server"], "EX1")
        self.assertEqual(good["tls"]["version"][:4], "TLSv")
        self.assertEqual(good["tls"]["sni"], "mail.contoso.com")
        self.assertGreater(good["id"], bad["id"])
        # filters
        st, body, _ = api(self.s, "GET", "/requests?status=200")
        self.assertEqual([r["status"] for r in body["requests"]], [200])
        st, body, _ = api(self.s, "GET", "/requests?since=%d" % bad["id"])
        self.assertEqual([r["id"] for r in body["requests"]], [good["id"]])
        st, body, _ = api(self.s, "GET", "/requests?user=admin&method=GET&server=EX1&listener=edge")
        self.assertEqual(len(body["requests"]), 1)
        st, body, _ = api(self.s, "GET", "/requests?host=autodiscover.contoso.com")
        self.assertEqual(body["requests"], [])
        # paging: a limit cuts the list, next_since continues it
        st, page, _ = api(self.s, "GET", "/requests?limit=1")
        self.assertEqual(([r["id"] for r in page["requests"]], page["total"]), ([bad["id"]], 2))
        st, rest, _ = api(self.s, "GET", "/requests?since=%d" % page["next_since"])
        self.assertEqual([r["id"] for r in rest["requests"]], [good["id"]])
        self.assertEqual(rest["next_since"], good["id"])

    def test_an_mrs_message_names_its_wsrm_sequence(self):
        import mrs_util as m
        c = m.Client(self.s)
        st, env = c.soap(m.create_sequence(m.urn(), to=c.url))
        self.assertEqual(st, 200)
        seq = m.body(env).find(m.q(m.RM, "CreateSequenceResponse")).findtext(
            m.q(m.RM, "Identifier"))
        self.assertEqual(c.post(m.exchange_version_information(seq, 1))[0], 200)
        st, body, _ = api(self.s, "GET", "/requests/wait?count=2&timeout=5000&status=200")
        create, call = body["requests"]
        self.assertNotIn("wsrm", create)
        self.assertEqual(call["wsrm"], {"sequence": seq, "message": 1})

    def test_wait_returns_at_the_nth_request_and_not_before(self):
        result = {}

        def wait():
            t0 = time.monotonic()
            result["r"] = api(self.s, "GET", "/requests/wait?count=3&timeout=20000")
            result["t"] = time.monotonic() - t0

        th = threading.Thread(target=wait)
        th.start()
        for i in range(2):
            self.s.curl("mail.contoso.com", MRS, "--http1.1")
        # two requests are not three: a wait of its own for three runs out with two, and
        # meanwhile the first one, which looked every few milliseconds, still waits
        st, body, _ = api(self.s, "GET", "/requests/wait?count=3&timeout=300")
        self.assertEqual((body["timed_out"], len(body["requests"])), (True, 2))
        self.assertTrue(th.is_alive(), "the wait returned before its third request")
        sent = time.monotonic()
        self.s.curl("mail.contoso.com", MRS, "--http1.1")
        th.join(TIMEOUT)
        st, body, _ = result["r"]
        self.assertEqual(st, 200)
        self.assertFalse(body["timed_out"])
        self.assertEqual(len(body["requests"]), 3)
        self.assertLess(time.monotonic() - sent, 1.0)

    def test_wait_times_out_with_what_there_is(self):
        self.s.curl("mail.contoso.com", MRS, "--http1.1")
        st, body, _ = api(self.s, "GET", "/requests/wait?count=5&timeout=200")
        self.assertEqual(st, 200)
        self.assertTrue(body["timed_out"])
        self.assertEqual(len(body["requests"]), 1)

    def test_switch_by_file_and_by_document(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "lab.xml")
            with open(path, "w") as f:
                f.write('<scenario xmlns="urn:mrsmock:scenario:1" name="lab" extends="healthy">'
                        '<server name="EX1"><ews mrsproxy="false"/></server></scenario>\n')
            st, body, _ = api(self.s, "PUT", "/scenario", body=json.dumps({"file": path}))
            self.assertEqual(st, 200, body)
            self.assertEqual(body["name"], "lab")
            self.assertEqual(body["listeners"], self.s.ready["listeners"])  # same ports
            self.assertEqual(self.s.curl("mail.contoso.com", MRS, "-u", ADMIN)[0], 403)
        doc = ('<scenario xmlns="urn:mrsmock:scenario:1" name="uploaded" '
               'extends="basic-auth-missing"/>')
        st, body, _ = api(self.s, "PUT", "/scenario", body=doc, ctype="application/xml")
        self.assertEqual(st, 200, body)
        self.assertEqual(api(self.s, "GET", "/health")[1]["scenario"], "uploaded")
        st, again, _ = api(self.s, "PUT", "/scenario", body=doc, ctype="application/xml")
        self.assertEqual(st, 200, again)
        # only the document served is kept (a reload reads it again)
        uploads = os.listdir(os.path.join(self.s.state_dir, "admin"))
        self.assertEqual([os.path.join(self.s.state_dir, "admin", u) for u in uploads],
                         [again["file"]])
        st, hdrs, _, _, _ = self.s.curl("mail.contoso.com", MRS, "--http1.1")
        self.assertNotIn(("WWW-Authenticate", 'Basic realm="mail.contoso.com"'), hdrs)

    def test_every_bundled_scenario_in_turn(self):
        p = subprocess.run([os.environ["MRSMOCK_BIN"], "list"], capture_output=True, text=True,
                           timeout=TIMEOUT)
        names = [line.split()[0] for line in p.stdout.splitlines()]
        self.assertIn("autodiscover-no-mrsproxy", names)
        ports = {}
        for name in names + names:  # twice: a listener added and dropped keeps its port
            st, body, _ = api(self.s, "PUT", "/scenario", body=json.dumps({"name": name}))
            self.assertEqual(st, 200, (name, body))
            self.assertEqual(body["name"], name)
            for l in body["listeners"]:
                self.assertEqual(ports.setdefault(l["name"], l["url"]), l["url"], name)
        # a listener a switch adds answers at once (autodiscover-no-mrsproxy has two)
        st, body, _ = api(self.s, "PUT", "/scenario",
                          body='{"name": "autodiscover-no-mrsproxy"}')
        extra = [l for l in body["listeners"] if l["name"] != "edge"][0]
        port = int(extra["url"].rsplit(":", 1)[1])
        host = extra["hosts"][0]
        p = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                            "--cacert", self.s.ca, "--resolve", "%s:%d:127.0.0.1" % (host, port),
                            "https://%s:%d/EWS/mrsproxy.svc" % (host, port)],
                           capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(p.stdout, "401", p.stderr)

    def test_invalid_scenario_is_400_with_file_line_errors_and_the_old_one_stays(self):
        doc = '<scenario xmlns="urn:mrsmock:scenario:1" name="x" extends="healthy"><bogus/></scenario>'
        st, body, _ = api(self.s, "PUT", "/scenario", body=doc, ctype="application/xml")
        self.assertEqual(st, 400)
        self.assertRegex(body["errors"][0], r"^uploaded\.xml:1: .*bogus")
        # checked in memory: a document that does not load is never written
        admin = os.path.join(self.s.state_dir, "admin")
        self.assertEqual(os.listdir(admin) if os.path.isdir(admin) else [], [])
        self.assertEqual(api(self.s, "GET", "/health")[1]["scenario"], "healthy")
        self.assertEqual(self.s.curl("mail.contoso.com", MRS, "-u", ADMIN)[0], 200)

    def test_bad_calls_get_a_json_4xx(self):
        cases = [
            ("PUT", "/scenario", '{"name": "no-such-scenario"}', None, 404),
            ("PUT", "/scenario", '{"name": "../etc/passwd"}', None, 404),
            ("PUT", "/scenario", '{"file": "/nonexistent/x.xml"}', None, 404),
            ("PUT", "/scenario", '{"name": 3}', None, 400),
            ("PUT", "/scenario", '{"name": "healthy", "extra": 1}', None, 400),
            ("PUT", "/scenario", '{"name": "healthy", "file": "/x"}', None, 400),
            ("PUT", "/scenario", '{not json', None, 400),
            ("PUT", "/scenario", '[]', None, 400),
            ("PUT", "/scenario", 'x', "text/plain", 415),
            ("GET", "/requests?status=abc", None, None, 400),
            ("GET", "/requests?bogus=1", None, None, 400),
            ("GET", "/requests?path=%zz", None, None, 400),
            ("GET", "/requests/wait?count=0", None, None, 400),
            ("GET", "/requests/wait?timeout=-1", None, None, 400),
            ("DELETE", "/scenario", None, None, 405),
            ("GET", "/reset", None, None, 405),
            ("GET", "/nowhere", None, None, 404),
            ("PUT", "/scenario", "<x/>" * 400000, "application/xml", 413),
        ]
        for method, path, body, ctype, want in cases:
            with self.subTest(method=method, path=path, body=(body or "")[:60]):
                st, out, head = api(self.s, method, path, body=body, ctype=ctype)
                self.assertEqual(st, want, out)
                self.assertIsInstance(out.get("error"), str)
                if want == 405:
                    self.assertRegex(head, r"(?i)\nAllow: ")
        self.assertEqual(api(self.s, "GET", "/health")[1]["scenario"], "healthy")

    def test_metrics(self):
        for i in range(3):
            self.s.curl("mail.contoso.com", MRS, "--http1.1")
        self.s.curl("mail.contoso.com", MRS, "-u", ADMIN)
        api(self.s, "GET", "/requests/wait?count=4&timeout=5000")
        p = subprocess.run(["curl", "-sS", "-i", self.s.ready["admin"] + "/metrics"],
                           capture_output=True, text=True, timeout=TIMEOUT)
        head, _, text = p.stdout.partition("\n\n")
        self.assertIn("Content-Type: text/plain; version=0.0.4", head)
        series = {}
        for line in text.splitlines():
            if line.startswith("#"):
                self.assertRegex(line, r"^# (HELP|TYPE) mrsmock_\w+ ")
                continue
            name, value = line.rsplit(" ", 1)
            series[name] = int(value)
        self.assertEqual(series['mrsmock_requests_total{server="EX1",endpoint="/ews/mrsproxy.svc",'
                                'answered_by="frontend",status="401",substatus="2",'
                                'win32_status="5"}'], 3)
        self.assertEqual(series['mrsmock_requests_total{server="EX1",endpoint="/ews/mrsproxy.svc",'
                                'answered_by="backend",status="200",substatus="0",'
                                'win32_status="0"}'], 1)
        self.assertGreaterEqual(series['mrsmock_tls_handshakes_total{version="TLSv1.3"}'], 4)
        self.assertGreaterEqual(series["mrsmock_connections_total"], 4)
        self.assertGreaterEqual(series["mrsmock_journal_entries_total"], 4)
        self.assertEqual(series["mrsmock_journal_dropped_total"], 0)

    def test_a_connection_without_a_request_leaves_an_entry(self):
        import socket
        import ssl
        ctx = ssl.create_default_context()  # the system's trust store: not the lab CA
        with socket.create_connection(("127.0.0.1", self.s.port), TIMEOUT) as raw:
            with self.assertRaises(ssl.SSLCertVerificationError):
                ctx.wrap_socket(raw, server_hostname="mail.contoso.com")
        st, body, _ = api(self.s, "GET", "/requests/wait?count=1&timeout=5000")
        e = body["requests"][0]
        self.assertEqual((e["listener"], e["client"]["ip"], e["method"], e["answered_by"]),
                         ("edge", "127.0.0.1", "", ""))
        self.assertEqual(e["why"], ["conn: closed without a request (TLS handshake refused or "
                                    "no request sent)"])
        # the client's alert is counted by its name
        p = subprocess.run(["curl", "-sS", self.s.ready["admin"] + "/metrics"],
                           capture_output=True, text=True, timeout=TIMEOUT)
        self.assertRegex(p.stdout, r'\nmrsmock_tls_alerts_received_total\{alert="unknown_ca"\} [1-9]')

    def test_hostile_bytes_stay_valid_json(self):
        import base64
        import socket
        import ssl
        ctx = ssl.create_default_context(cafile=self.s.ca)
        cred = base64.b64encode(b"\xff\xfeadmin:x").decode()
        with socket.create_connection(("127.0.0.1", self.s.port), TIMEOUT) as raw:
            with ctx.wrap_socket(raw, server_hostname="mail.contoso.com") as t:
                t.sendall(b"GET /EWS/\xc3\x28\xff?q=\xfe HTTP/1.1\r\nHost: mail.contoso.com\r\n"
                          b"Authorization: Basic " + cred.encode() + b"\r\n"
                          b"Connection: close\r\n\r\n")
                self.assertIn(b" 401 ", t.recv(65536))
        st, body, _ = api(self.s, "GET", "/requests/wait?count=1&timeout=5000")
        self.assertEqual(st, 200)
        e = body["requests"][0]
        self.assertEqual(e["path"], "/EWS/?(??q=?")
        self.assertIn('auth: Basic logon of "??admin" failed', e["why"])
        st, body, _ = api(self.s, "GET", "/requests?path=%FF")
        self.assertEqual(st, 200)  # a filter of any bytes is no error either

    def test_http2_fallback_leaves_an_unanswered_entry(self):
        # anonymous over HTTP/2: the stream is reset (HTTP_1_1_REQUIRED), curl retries on 1.1
        self.s.curl("mail.contoso.com", MRS, "--http2")
        st, body, _ = api(self.s, "GET", "/requests/wait?count=2&timeout=5000")
        reset, retry = body["requests"]
        self.assertEqual((reset["http_version"], reset["answered_by"], reset["logs"]),
                         ("HTTP/2", "", []))
        self.assertIn("auth: Windows authentication over HTTP/2: HTTP_1_1_REQUIRED",
                      reset["why"])
        self.assertEqual((retry["http_version"], retry["status"]), ("HTTP/1.1", 401))

    def test_reset_forgets_the_journal_and_ntlm_handshakes(self):
        with tempfile.TemporaryDirectory() as d:
            cnf = os.path.join(d, "legacy.cnf")
            with open(cnf, "w") as f:
                f.write(LEGACY_CNF)
            # an NTLM handshake in progress: NEGOTIATE answered, AUTHENTICATE not sent yet
            p = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "ntlm_client.py"),
                                  "pause-handshake", "https://mail.contoso.com" + MRS,
                                  str(self.s.port), self.s.ca, "CONTOSO\\admin", "P@ssw0rd!"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True,
                                 env=dict(os.environ, OPENSSL_CONF=cnf))
            self.assertEqual(json.loads(p.stdout.readline())["statuses"], [401])
            self.assertEqual(len(api(self.s, "GET", "/requests")[1]["requests"]), 1)
            st, body, _ = api(self.s, "POST", "/reset")
            self.assertEqual((st, body), (200, {"status": "reset"}))
            self.assertEqual(api(self.s, "GET", "/requests")[1]["requests"], [])
            out, err = p.communicate("go\n", timeout=TIMEOUT)
            # the connection's handshake is forgotten: its AUTHENTICATE is refused
            self.assertEqual(json.loads(out.splitlines()[-1])["statuses"], [401, 401], err)
            st, body, _ = api(self.s, "GET", "/requests/wait?count=1&timeout=5000")
            self.assertEqual(body["requests"][0]["win32_status"], 2148074248)

    def test_switch_under_load_drops_nothing(self):
        stop = threading.Event()
        failures, done = [], [0]

        def client():
            while not stop.is_set():
                st = self.s.curl("mail.contoso.com", MRS, "-u", ADMIN)[0]
                done[0] += 1
                if st not in (200, 401):  # healthy: 200; wrong-credentials: 401
                    failures.append(st)

        th = threading.Thread(target=client)
        th.start()
        try:
            for i in range(100):
                name = "wrong-credentials" if i % 2 else "healthy"
                st, body, _ = api(self.s, "PUT", "/scenario", body=json.dumps({"name": name}))
                self.assertEqual(st, 200, body)
        finally:
            stop.set()
            th.join(TIMEOUT)
        self.assertEqual(failures, [])
        self.assertGreater(done[0], 0)
        st, body, _ = api(self.s, "GET", "/requests/wait?count=%d&timeout=5000" % done[0])
        self.assertEqual(body["total"], done[0])  # every request is in the journal


class AdminHandshakeFault(unittest.TestCase):
    def test_a_fault_that_acts_is_counted_and_journaled(self):
        import socket
        import ssl
        with Server("handshake-hang", "--admin", "127.0.0.1:0") as s:
            ctx = ssl.create_default_context(cafile=s.ca)
            with socket.create_connection(("127.0.0.1", s.port), TIMEOUT) as raw:
                raw.settimeout(0.5)  # the device swallows the handshake: the client gives up
                with self.assertRaises((socket.timeout, TimeoutError)):
                    ctx.wrap_socket(raw, server_hostname="mail.contoso.com")
            st, body, _ = api(s, "GET", "/requests/wait?count=1&timeout=5000")
            self.assertEqual(body["requests"][0]["why"],
                             ["conn: closed during the connection stages (handshake fault)"])
            p = subprocess.run(["curl", "-sS", s.ready["admin"] + "/metrics"],
                               capture_output=True, text=True, timeout=TIMEOUT)
            self.assertIn('\nmrsmock_handshake_faults_total{action="hang"} 1\n', p.stdout)


class AdminAccess(unittest.TestCase):
    def test_non_loopback_needs_a_token(self):
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.run([os.environ["MRSMOCK_BIN"], "run", "healthy", "--state-dir", d,
                                "--listen", "127.0.0.1:0", "--admin", "0.0.0.0:0"],
                               capture_output=True, text=True, timeout=TIMEOUT)
            self.assertEqual(p.returncode, 1)
            self.assertIn("not a loopback address", p.stderr)
            p = subprocess.run([os.environ["MRSMOCK_BIN"], "run", "healthy", "--state-dir", d,
                                "--admin-token", "x"], capture_output=True, text=True,
                               timeout=TIMEOUT)
            self.assertEqual(p.returncode, 1)
            self.assertIn("--admin-token needs --admin", p.stderr)

    def test_token(self):
        with Server("healthy", "--admin", "127.0.0.1:0", "--admin-token", "s3cret") as s:
            st, body, head = api(s, "GET", "/health")
            self.assertEqual(st, 401)
            self.assertIn('WWW-Authenticate: Bearer realm="mrsmock"', head)
            self.assertEqual(api(s, "GET", "/health", token="wrong")[0], 401)
            self.assertEqual(api(s, "GET", "/health", token="s3cret")[0], 200)

    def test_loopback_only_without_a_token(self):
        # 127.0.0.2 is loopback too; a bind on it is allowed and answered
        with Server("healthy", "--admin", "127.0.0.2:0") as s:
            self.assertTrue(s.ready["admin"].startswith("http://127.0.0.2:"))
            self.assertEqual(api(s, "GET", "/health")[0], 200)

    def test_journal_jsonl(self):
        with tempfile.TemporaryDirectory() as d:
            with Server("healthy", "--admin", "127.0.0.1:0", "--journal-jsonl",
                        state_dir=d) as s:
                s.curl("mail.contoso.com", MRS, "--http1.1")
                s.curl("mail.contoso.com", MRS, "-u", ADMIN)
                api(s, "GET", "/requests/wait?count=2&timeout=5000")
                s.stop()  # the file is complete once mrsmock has stopped
            with open(os.path.join(d, "journal.jsonl")) as f:
                entries = [json.loads(line) for line in f]
            self.assertEqual([(e["id"], e["status"]) for e in entries], [(1, 401), (2, 200)])
            self.assertIn("auth: anonymous: challenged", entries[0]["why"])

    def test_ready_file(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "ready.json")
            with Server("healthy", "--admin", "127.0.0.1:0", "--ready-file", path) as s:
                with open(path) as f:
                    self.assertEqual(json.loads(f.read()), s.ready)
                self.assertFalse(os.path.exists(path + ".tmp"))


if __name__ == "__main__":
    unittest.main()
