"""The dashboard on the admin listener: its page and files, and the routes it reads (GET
/topology against bundled scenarios, GET /scenarios, GET /ca), with and without --admin-token,
through Python's http.client; then the page itself in headless Chromium (Debian's chromium driven
by playwright-core from tests/browser), skipped with the reason when either is missing."""
import datetime
import http.client
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import urllib.parse

from harness import ROOT, Server, TIMEOUT, mrsmock, today_log_name

ADMIN = "admin:P@ssw0rd!"
MRS = "/EWS/mrsproxy.svc"
BROWSER_DIR = os.path.join(ROOT, "tests", "browser")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def call(s, method, path, token=None, body=None, ctype="application/json"):
    """One request to the admin API of S: (status, headers dict in lower case, body bytes)."""
    u = urllib.parse.urlsplit(s.ready["admin"])
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=TIMEOUT)
    headers = {}
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    if body is not None:
        headers["Content-Type"] = ctype
        body = body.encode() if isinstance(body, str) else body
    try:
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def call_json(s, method, path, **kw):
    st, h, b = call(s, method, path, **kw)
    assert h.get("content-type") == "application/json", (st, h, b)
    return st, json.loads(b)


def switch(s, name, token=None):
    st, body = call_json(s, "PUT", "/scenario", body=json.dumps({"name": name}), token=token)
    assert st == 200, body
    return body


class DashboardApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server("healthy", "--admin", "127.0.0.1:0")

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def test_ready_line_names_the_dashboard(self):
        self.assertEqual(self.s.ready["dashboard"], self.s.ready["admin"] + "/")

    def test_page_and_its_files(self):
        st, h, b = call(self.s, "GET", "/")
        self.assertEqual(st, 200)
        self.assertEqual(h["content-type"], "text/html; charset=utf-8")
        self.assertIn(b'<script src="dashboard.js"', b)
        # nothing from elsewhere, nothing inline
        self.assertIn("default-src 'self'", h["content-security-policy"])
        self.assertNotIn(b"http://", b.replace(b"http://ADMIN", b""))
        self.assertNotIn(b"https://", b)
        for path, ctype, word in (("/dashboard.js", "text/javascript", b"/requests/wait"),
                                  ("/dashboard.css", "text/css", b".node")):
            st, h, b = call(self.s, "GET", path)
            self.assertEqual(st, 200, path)
            self.assertTrue(h["content-type"].startswith(ctype), h)
            self.assertEqual(h["x-content-type-options"], "nosniff")
            self.assertIn(word, b)
        with open(os.path.join(ROOT, "dashboard", "dashboard.js"), "rb") as f:
            self.assertEqual(call(self.s, "GET", "/dashboard.js")[2], f.read())

    def test_bad_calls_are_json_4xx(self):
        st, body = call_json(self.s, "POST", "/")
        self.assertEqual(st, 405)
        self.assertIn("not allowed", body["error"])
        st, body = call_json(self.s, "DELETE", "/topology")
        self.assertEqual(st, 405)
        st, body = call_json(self.s, "GET", "/dashboard.png")
        self.assertEqual(st, 404)
        self.assertIn("no such route", body["error"])

    def test_scenarios(self):
        switch(self.s, "healthy")
        st, body = call_json(self.s, "GET", "/scenarios")
        self.assertEqual(st, 200)
        self.assertEqual(body["current"], "healthy")
        names = [x["name"] for x in body["scenarios"]]
        listed = [l.split()[0] for l in mrsmock("list").stdout.splitlines()]
        self.assertEqual(names, sorted(listed))
        healthy = next(x for x in body["scenarios"] if x["name"] == "healthy")
        self.assertTrue(healthy["current"])
        self.assertTrue(healthy["summary"])
        self.assertEqual(sum(x["current"] for x in body["scenarios"]), 1)

    def test_ca(self):
        st, h, b = call(self.s, "GET", "/ca")
        self.assertEqual(st, 200)
        self.assertEqual(h["content-type"], "application/x-pem-file")
        self.assertIn('filename="mrsmock-lab-ca.crt"', h["content-disposition"])
        with open(self.s.ca, "rb") as f:
            self.assertEqual(b, f.read())
        self.assertTrue(b.startswith(b"-----BEGIN CERTIFICATE-----"))

    def topology(self, name):
        switch(self.s, name)
        st, t = call_json(self.s, "GET", "/topology")
        self.assertEqual(st, 200, t)
        self.assertEqual(t["scenario"]["name"], name)
        return t

    def test_topology_healthy(self):
        t = self.topology("healthy")
        l = t["listeners"][0]
        self.assertEqual(l["url"], self.s.ready["listeners"][0]["url"])  # the bound port
        self.assertEqual(l["hosts"], self.s.ready["listeners"][0]["hosts"])
        self.assertTrue(l["tls"])
        self.assertEqual(l["certificates"][0]["problems"], [])
        self.assertEqual(l["server"], "EX1")
        ex1 = t["servers"][0]
        self.assertEqual((ex1["name"], ex1["build"], ex1["state"]), ("EX1", "15.1.2507.6", "running"))
        self.assertTrue(ex1["mrsproxy_enabled"])
        self.assertEqual([v["name"] for v in ex1["vdirs"]], ["EWS", "Autodiscover"])
        self.assertEqual(ex1["problems"], [])
        self.assertTrue(t["scenario"]["description"])
        self.assertEqual(t["accepted_domains"][0]["name"], "contoso.com")

    def test_topology_secondary_wrong_certificate(self):
        t = self.topology("secondary-wrong-certificate")
        b = t["listeners"][0]["balancer"]
        self.assertEqual((b["name"], b["mode"], b["policy"], b["check"]),
                         ("LB1", "layer4", "round-robin", "tcp"))
        ex1, ex2 = b["members"]
        self.assertEqual(ex1["certificates"], [])
        codes = {(p["code"], p["text"].split(" ")[3]) for p in ex2["certificates"][0]["problems"]
                 if p["code"] == "name-mismatch"}
        self.assertIn(("name-mismatch", "mail.contoso.com"), codes)
        self.assertIn("self-signed", [p["code"] for p in ex2["certificates"][0]["problems"]])
        self.assertTrue(ex1["now"]["up"] and ex2["now"]["up"])

    def test_topology_dead_server(self):
        t = self.topology("dead-server")
        ex3 = next(x for x in t["servers"] if x["name"] == "EX3")
        self.assertEqual(ex3["state"], "dead")
        self.assertIn("dead", [p["code"] for p in ex3["problems"]])

    def test_topology_app_pool_stopped(self):
        t = self.topology("app-pool-stopped")
        ex1 = next(x for x in t["servers"] if x["name"] == "EX1")
        ews = ex1["vdirs"][0]
        self.assertEqual(ews["app_pool"], {"name": "MSExchangeServicesAppPool", "state": "stopped"})
        self.assertIn("app-pool", [p["code"] for p in ex1["problems"]])

    def test_topology_expired_certificate(self):
        t = self.topology("expired-certificate")
        c = t["listeners"][0]["certificates"][0]
        self.assertEqual([p["code"] for p in c["problems"]], ["expired"])
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.assertLess(c["not_after"], now)
        self.assertLess(c["not_before"], c["not_after"])

    def test_topology_firewall(self):
        t = self.topology("firewall-url-filter")
        f = t["listeners"][0]["firewall"]
        self.assertEqual([u["path"].lower() for u in f["url_filters"]], ["/ews/mrsproxy.svc"])
        self.assertIn("url-filter", [p["code"] for p in f["problems"]])
        t = self.topology("firewall-ip-filter")
        f = t["listeners"][0]["firewall"]
        self.assertEqual(f["default"], "drop")
        self.assertTrue(all("/" in src for r in f["rules"] for src in r["sources"]), f)
        self.assertIn("firewall-default", [p["code"] for p in f["problems"]])
        t = self.topology("port-blocked")
        self.assertEqual(t["listeners"][0]["port_state"], "filtered")
        self.assertEqual(self.topology("healthy")["listeners"][0]["firewall"], None)

    def test_topology_reverse_proxy(self):
        f = self.topology("pre-auth-proxy")["listeners"][0]["firewall"]
        self.assertEqual((f["name"], f["ssl_offload"]), ("TMG1", False))
        self.assertIn({"path": "/EWS", "pre_auth": "forms"}, f["publish"])
        self.assertIn("the MRS Proxy meets the device's logon",
                      " ".join(p["text"] for p in f["problems"] if p["code"] == "pre-auth"))
        f = self.topology("ssl-offload")["listeners"][0]["firewall"]
        self.assertEqual((f["publish"], f["sni_filters"], f["ssl_offload"]), ([], [], True))
        self.assertEqual([p["code"] for p in f["problems"]], ["ssl-offload"])

    def test_topology_balancer_live(self):
        t = self.topology("lb-flapping")
        self.assertEqual(call(self.s, "POST", "/reset")[0], 200)
        b = t["listeners"][0]["balancer"]
        ex2 = b["members"][1]
        self.assertEqual(ex2["down"], {"from": 3, "to": 4, "period": 6, "unit": "arrivals"})
        self.assertIn("flapping", [p["code"] for p in ex2["problems"]])
        before = b["arrivals"]
        for _ in range(2):
            self.s.curl("mail.contoso.com", MRS, "-u", ADMIN)
        st, t = call_json(self.s, "GET", "/topology")
        b = t["listeners"][0]["balancer"]
        self.assertGreaterEqual(b["arrivals"], before + 2)
        # the next arrival's verdict follows the schedule
        n = b["arrivals"] + 1
        self.assertEqual(b["members"][1]["now"]["offline"], 3 <= (n - 1) % 6 + 1 <= 4)


class DashboardLogs(unittest.TestCase):
    """GET /logs and /logs/tail: the log files of the lab, and pieces of one."""

    def test_list_and_tail(self):
        with Server("app-pool-stopped", "--admin", "127.0.0.1:0") as s:
            st, _, _, _, _ = s.curl("mail.contoso.com", MRS, "-u", ADMIN)
            self.assertEqual(st, 503)
            s.httperr_wait(1)
            st, body = call_json(s, "GET", "/logs")
            self.assertEqual(st, 200)
            files = {f["path"]: f for f in body["files"]}
            httperr = "EX1/Windows/System32/LogFiles/HTTPERR/httperr1.log"
            self.assertEqual(files[httperr]["kind"], "httperr")
            self.assertEqual(files[httperr]["source"], "EX1")
            self.assertIn("iis", {f["kind"] for f in body["files"]})
            q = "/logs/tail?file=" + urllib.parse.quote(httperr)
            st, t = call_json(s, "GET", q)
            self.assertEqual(st, 200, t)
            self.assertIn("#Fields: date time c-ip c-port", t["text"])
            self.assertIn("503 1 Disabled MSExchangeServicesAppPool", t["text"])
            self.assertEqual((t["from"], t["next"]), (0, t["size"]))
            # from the end: nothing new, until the next request
            st, t2 = call_json(s, "GET", q + "&from=%d" % t["next"])
            self.assertEqual(t2["text"], "")
            s.curl("mail.contoso.com", MRS, "-u", ADMIN)
            s.httperr_wait(2)
            st, t3 = call_json(s, "GET", q + "&from=%d" % t["next"])
            self.assertEqual(t3["text"].count("\r\n"), 1)
            self.assertIn("/EWS/mrsproxy.svc 503 1 Disabled", t3["text"])
            # the last bytes only, from a line's start
            st, t4 = call_json(s, "GET", q + "&max=150")
            self.assertTrue(t4["text"].startswith("20"), t4)
            self.assertLessEqual(len(t4["text"]), 150)
            self.assertEqual(t4["next"], t4["size"])

    def test_bad_tails(self):
        with Server("healthy", "--admin", "127.0.0.1:0") as s:
            for q, status in (("", 400), ("?file=../pki/ca.key", 400), ("?file=/etc/passwd", 400),
                              ("?file=EX1/./x", 400), ("?file=EX1/none.log", 404),
                              ("?file=EX1&max=0", 400), ("?file=x&max=99999999", 400),
                              ("?file=x&from=-1", 400), ("?what=1", 400)):
                st, body = call_json(s, "GET", "/logs/tail" + q)
                self.assertEqual(st, status, q)
                self.assertIn("error", body)


class DashboardToken(unittest.TestCase):
    def test_files_open_api_behind_the_token(self):
        with Server("healthy", "--admin", "127.0.0.1:0", "--admin-token", "s3cret-dash") as s:
            for path in ("/", "/dashboard.js", "/dashboard.css"):
                self.assertEqual(call(s, "GET", path)[0], 200, path)
            for path in ("/topology", "/scenarios", "/ca", "/requests", "/logs"):
                st, h, b = call(s, "GET", path)
                self.assertEqual(st, 401, path)
                self.assertIn("error", json.loads(b))
                self.assertEqual(call(s, "GET", path, token="wrong")[0], 401, path)
                self.assertEqual(call(s, "GET", path, token="s3cret-dash")[0], 200, path)
            # an open file is open to GET only; anything else still needs the token
            self.assertEqual(call(s, "POST", "/")[0], 401)


def browser_missing():
    if not os.path.exists(CHROMIUM):
        return "no %s (Debian's chromium: apt install chromium)" % CHROMIUM
    if shutil.which("node") is None:
        return "no node (Debian's nodejs)"
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
        return "no playwright-core (cd tests/browser && npm ci)"
    return None


class Browser:
    """tests/browser/driver.mjs: one JSON command, one JSON answer."""

    def __init__(self):
        self.p = subprocess.Popen(["node", os.path.join(BROWSER_DIR, "driver.mjs")],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, cwd=BROWSER_DIR)

    def __call__(self, op, **kw):
        kw["op"] = op
        self.p.stdin.write(json.dumps(kw) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise AssertionError("the driver ended: " + self.p.stderr.read())
        out = json.loads(line)
        if out.get("errors"):
            raise AssertionError("the page: %s" % out["errors"])
        if "error" in out:
            raise AssertionError("%s: %s" % (op, out["error"]))
        return out

    def close(self):
        try:
            self("close")
        finally:
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
            for f in (self.p.stdin, self.p.stdout, self.p.stderr):
                f.close()


@unittest.skipIf(browser_missing(), browser_missing())
class DashboardInChromium(unittest.TestCase):
    """The page in a real browser: the topology drawn, a request made with curl appears within
    a second with its server and status, its detail shows its why, a switch changes the
    picture. Screenshots go to $MRSMOCK_TEST_OUTPUT (default: a temporary folder)."""

    def setUp(self):
        self.out = os.environ.get("MRSMOCK_TEST_OUTPUT") or tempfile.mkdtemp(prefix="mrsmock-dash-")
        os.makedirs(self.out, exist_ok=True)

    def test_page_in_chromium(self):
        with Server("secondary-wrong-certificate", "--admin", "127.0.0.1:0",
                    "--admin-token", "tok-in-fragment") as s:
            b = Browser()
            try:
                page = b("open", url=s.ready["dashboard"] + "#token=tok-in-fragment",
                         timeout_ms=15000)
                self.assertEqual(page["scenario"], "secondary-wrong-certificate")
                for node in ("listener:edge", "balancer:edge", "server:EX1", "server:EX2"):
                    self.assertIn(node, page["nodes"])
                st, _, _, rc, err = s.curl("mail.contoso.com", MRS, "-u", ADMIN)
                self.assertEqual((st, rc), (200, 0), err)
                row = b("wait_row", server="EX1", status=200, timeout_ms=1000)
                self.assertIn("200.0.0", row["text"])
                d = b("detail", server="EX1")
                detail = json.loads(d["text"])
                self.assertEqual(detail["server"], "EX1")
                self.assertTrue(detail["why"])
                # its IIS line, in the W3C format, with its status triple
                iis = [x["text"] for x in d["logs"] if x["kind"] == "iis"]
                self.assertTrue(iis, d["logs"])
                self.assertIn("/EWS/mrsproxy.svc", iis[0])
                self.assertIn(" 200 0 0 ", iis[0])
                # the log view, filtered as the troubleshooting article says
                w3c = "EX1/inetpub/logs/LogFiles/W3SVC1/" + today_log_name()
                text = b("log", file=w3c, filter="mrsproxy.svc", want="/EWS/mrsproxy.svc")["text"]
                self.assertIn("#Fields:", text)
                b("screenshot", path=os.path.join(self.out, "dashboard-secondary.png"))
                page = b("switch", name="dead-server")
                self.assertIn("server:EX3", page["nodes"])
                # the MRS Proxy's requests go organisation-wide, every third to the dead EX3:
                # the front end's proxying to it is drawn, lit as a failure
                seen = None
                for _ in range(3):
                    st, _, _, rc, err = s.curl("mail.contoso.com", MRS, "-u", ADMIN)
                    if st == 503:
                        seen = b("proxy", backend="EX3")
                        break
                self.assertIsNotNone(seen, "no request went to EX3")
                self.assertRegex(seen["proxy"], r"^EX[12]>EX3$")
                self.assertIn("fail", seen["cls"])
                b("screenshot", path=os.path.join(self.out, "dashboard-dead-server.png"))
            finally:
                b.close()
            # the token came in the fragment: it is in no log of the server
            self.assertNotIn(b"tok-in-fragment", s.stderr)

    def test_token_by_prompt(self):
        with Server("healthy", "--admin", "127.0.0.1:0", "--admin-token", "tok-by-prompt") as s:
            b = Browser()
            try:
                page = b("open", url=s.ready["dashboard"], prompt_answer="tok-by-prompt",
                         timeout_ms=15000)
                self.assertEqual(len(page["dialogs"]), 1, page)
                self.assertIn("token", page["dialogs"][0])
                self.assertIn("server:EX1", page["nodes"])
                s.curl("mail.contoso.com", MRS, "-u", "admin:wrong")
                self.assertIn("401.1.1326", b("wait_row", server="EX1", status=401)["text"])
            finally:
                b.close()
            self.assertNotIn(b"tok-by-prompt", s.stderr)


if __name__ == "__main__":
    unittest.main()
