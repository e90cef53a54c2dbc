"""HTTP.sys's own answers: a stopped application pool (the bundled app-pool-stopped, and a
rapid-fail stop of one's own) gets HTTP.sys's 503, a line in the server's HTTPERR log and none
in its IIS log, while a directory in another pool keeps working."""
import contextlib
import http.client
import json
import os
import socket
import subprocess
import ssl
import tempfile
import unittest

from harness import Server

ADMIN = "admin:P@ssw0rd!"
MRS = "/EWS/mrsproxy.svc"
FIELDS = ("#Fields: date time c-ip c-port s-ip s-port cs-version cs-method cs-uri sc-status "
          "s-siteid s-reason s-queuename")


class AppPoolStopped(unittest.TestCase):
    def test_http_sys_answers_and_logs(self):
        with Server("app-pool-stopped") as s:
            answers = [s.curl("mail.contoso.com", MRS, "--http1.1"),
                       s.curl("mail.contoso.com", MRS, "-u", ADMIN, "--http1.1"),
                       s.curl("mail.contoso.com", MRS + "?wsdl", "--http2")]
            for st, hdrs, body, rc, err in answers:
                self.assertEqual((st, rc), (503, 0), err)
                h = {k.lower(): v for k, v in hdrs}
                self.assertEqual(h["server"], "Microsoft-HTTPAPI/2.0")
                self.assertEqual(h["content-type"], "text/html; charset=us-ascii")
                self.assertNotIn("www-authenticate", h)  # IIS never saw it
                self.assertNotIn("x-powered-by", h)
                self.assertIn(b"<h2>Service Unavailable</h2>", body)
                self.assertIn(b"HTTP Error 503. The service is unavailable.", body)
            # Autodiscover runs in a pool of its own: it still answers
            st, _, _, _, _ = s.curl("autodiscover.contoso.com", "/autodiscover/autodiscover.xml",
                                    "-u", ADMIN, "--http1.1")
            self.assertNotEqual(st, 503)  # IIS answered it: its line is checked below
            heads, lines = s.httperr_wait(3)
            self.assertEqual(heads[:2], ["#Software: Microsoft HTTP API 2.0", "#Version: 1.0"])
            self.assertRegex(heads[2], r"^#Date: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
            self.assertEqual(heads[3], FIELDS)
            self.assertEqual(len(lines), 3)
            for f, version, uri in zip(lines, ("HTTP/1.1", "HTTP/1.1", "HTTP/2.0"),
                                       (MRS, MRS, MRS + "?wsdl")):
                self.assertEqual(len(f), 13, f)
                self.assertEqual(f[2], "127.0.0.1")
                self.assertTrue(f[3].isdigit())
                self.assertEqual(f[5], str(s.port))
                self.assertEqual(f[6:], [version, "GET", uri, "503", "1", "Disabled",
                                         "MSExchangeServicesAppPool"])
            # the IIS log has the Autodiscover request only: no /EWS line at all
            _, w3c = s.w3c_wait(1)
            self.assertEqual(len(w3c), 1)
            self.assertTrue(w3c[0][4].lower().startswith("/autodiscover/"), w3c)

    def test_healthcheck_follows_the_pool(self):
        # Managed Availability's page, as a balancer's HTTP check reads it: anonymous, 200 while
        # the protocol's pool runs, HTTP.sys's 503 once it is stopped
        with Server("healthy") as s:
            st, _, body, _, _ = s.curl("mail.contoso.com", "/EWS/healthcheck.htm")
            self.assertEqual((st, body), (200, b"200 OK<br/>ex1.contoso.com"))
        with Server("app-pool-stopped") as s:
            self.assertEqual(s.curl("mail.contoso.com", "/EWS/HealthCheck.htm")[0], 503)
            self.assertEqual(s.curl("autodiscover.contoso.com",
                                    "/Autodiscover/healthcheck.htm")[0], 200)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "lab.xml")
            with open(path, "w") as f:
                f.write('<scenario xmlns="urn:mrsmock:scenario:1" name="lab" extends="healthy">'
                        '<server name="EX1" version="2010"/></scenario>\n')
            with Server(path) as s:  # Exchange 2010 has no such page
                self.assertEqual(s.curl("mail.contoso.com", "/EWS/healthcheck.htm")[0], 404)

    def test_rapid_fail_is_app_offline(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "lab.xml")
            with open(path, "w") as f:
                f.write('<scenario xmlns="urn:mrsmock:scenario:1" name="lab" extends="healthy">'
                        '<server name="EX1"><autodiscover app-pool="rapid-fail"/></server>'
                        '</scenario>\n')
            with Server(path) as s:
                st, _, _, _, _ = s.curl("autodiscover.contoso.com",
                                        "/autodiscover/autodiscover.xml", "--http1.1")
                self.assertEqual(st, 503)
                self.assertEqual(s.curl("mail.contoso.com", MRS, "-u", ADMIN)[0], 200)
                _, lines = s.httperr_wait(1)
                self.assertEqual(lines[0][-4:],
                                 ["503", "1", "AppOffline", "MSExchangeAutodiscoverAppPool"])


if __name__ == "__main__":
    unittest.main()


class QueueFull(unittest.TestCase):
    def test_full_queue(self):
        with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
            f.write('<scenario xmlns="urn:mrsmock:scenario:1" name="q" extends="healthy">'
                    '<server name="EX1"><ews app-pool="queue-full"/></server></scenario>')
        try:
            with Server(f.name) as s:
                st, hdrs, body, _, _ = s.curl("mail.contoso.com", MRS, "-u", ADMIN, "--http1.1")
                self.assertEqual(st, 503)
                self.assertEqual(dict((k.lower(), v) for k, v in hdrs)["server"],
                                 "Microsoft-HTTPAPI/2.0")
                self.assertIn(b"HTTP Error 503. The service is unavailable.", body)
                _, lines = s.httperr_wait(1)
                self.assertEqual(lines[0][9:], ["503", "1", "QueueFull",
                                                "MSExchangeServicesAppPool"])
                self.assertEqual(s.w3c_lines()[1], [])
        finally:
            os.unlink(f.name)


class IdleTimer(unittest.TestCase):
    """HTTP.sys's idle timer: a keep-alive connection left idle past the scenario's idle-timeout
    is closed by the server and logged as Timer_ConnectionIdle; one the client closes first is
    not logged."""

    def test_idle_close_is_logged(self):
        with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
            f.write('<scenario xmlns="urn:mrsmock:scenario:1" name="idle" extends="healthy">'
                    '<limits idle-timeout="300ms"/></scenario>')
        try:
            with Server(f.name) as s:
                ctx = ssl.create_default_context(cafile=s.ca)
                # a client that closes its own connection: no line
                c = http.client.HTTPSConnection("mail.contoso.com", s.port, context=ctx,
                                                timeout=10)
                c._create_connection = lambda a, timeout=None, source=None: \
                    socket.create_connection(("127.0.0.1", s.port), timeout)
                c.request("GET", "/EWS/healthcheck.htm")
                self.assertEqual(c.getresponse().read(), b"200 OK<br/>ex1.contoso.com")
                c.close()
                # one left idle: the server closes it at the limit (the read returns EOF)
                raw = socket.create_connection(("127.0.0.1", s.port), 10)
                t = ctx.wrap_socket(raw, server_hostname="mail.contoso.com")
                t.sendall(b"GET /EWS/healthcheck.htm HTTP/1.1\r\nHost: mail.contoso.com\r\n\r\n")
                data = b""
                while not data.endswith(b"ex1.contoso.com"):
                    chunk = t.recv(4096)
                    self.assertTrue(chunk)
                    data += chunk
                port = t.getsockname()[1]
                t.settimeout(10)
                self.assertEqual(t.recv(4096), b"")  # closed by the server's idle timer
                t.close()
                _, lines = s.httperr_wait(1)
                self.assertEqual(len(lines), 1, lines)
                self.assertEqual(lines[0][2:], ["127.0.0.1", str(port), "127.0.0.1", str(s.port),
                                                "-", "-", "-", "-", "-",
                                                "Timer_ConnectionIdle", "-"])
                self.assertEqual(len(s.w3c_wait(2)[1]), 2)  # both requests in the IIS log
        finally:
            os.unlink(f.name)

    def test_a_reload_moves_the_timers(self):
        # started with half-second timers, reloaded with 20 s ones: a keep-alive connection
        # left idle for 3 s (past what libh2o's own timer was first set to) is still served
        import signal
        import time
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "lab.xml")

            def write(idle):
                with open(path, "w") as f:
                    f.write('<scenario xmlns="urn:mrsmock:scenario:1" name="lab" '
                            'extends="healthy"><limits idle-timeout="%s" '
                            'header-wait-timeout="%s"/></scenario>' % (idle, idle))
            write("500ms")
            with Server(path) as s:
                write("20s")
                s.proc.send_signal(signal.SIGHUP)
                s.wait_stderr(r'now serving scenario "lab"')
                ctx = ssl.create_default_context(cafile=s.ca)
                c = http.client.HTTPSConnection("mail.contoso.com", s.port, context=ctx,
                                                timeout=10)
                c._create_connection = lambda a, timeout=None, source=None: \
                    socket.create_connection(("127.0.0.1", s.port), timeout)
                for _ in range(2):
                    c.request("GET", "/EWS/healthcheck.htm")
                    self.assertEqual(c.getresponse().read(), b"200 OK<br/>ex1.contoso.com")
                    time.sleep(3)
                self.assertEqual(s.httperr_lines()[1], [])
                c.close()


def limits_scenario(limits):
    """A scenario file of the healthy one's with LIMITS: its path, to unlink."""
    with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
        f.write('<scenario xmlns="urn:mrsmock:scenario:1" name="eb" extends="healthy">'
                '<limits %s/></scenario>' % limits)
    return f.name


@contextlib.contextmanager
def limits_server(limits, *args):
    """mrsmock running a scenario of the healthy one's with LIMITS (and ARGS): the Server."""
    path = limits_scenario(limits)
    try:
        with Server(path, *args) as s:
            yield s
    finally:
        os.unlink(path)


def newest_requests(s, n):
    """The journal's newest N entries or so (--admin): its ids run from 1, the newest is
    total + dropped."""
    def journal(query):
        got = subprocess.run(["curl", "-sS", s.ready["admin"] + "/requests" + query],
                             capture_output=True, text=True, timeout=30, check=True)
        return json.loads(got.stdout)
    head = journal("?limit=1")
    return journal("?since=%d" % (head["total"] + head["dropped"] - n))["requests"]


def tls_to(s, host="mail.contoso.com"):
    ctx = ssl.create_default_context(cafile=s.ca)
    return ctx.wrap_socket(socket.create_connection(("127.0.0.1", s.port), 10),
                           server_hostname=host)



def post_trickled(s, gap):
    """A POST to EWS whose headers come at once and whose 26-byte body a byte every GAP
    seconds: the first bytes of the answer, and how long the body took."""
    import time
    t = tls_to(s)
    t.sendall(b"POST /EWS/Exchange.asmx HTTP/1.1\r\nHost: mail.contoso.com\r\n"
              b"Content-Type: text/xml\r\nContent-Length: 26\r\n\r\n")
    start = time.monotonic()
    for ch in b"<x>" + b"a" * 19 + b"</x>":
        t.sendall(bytes([ch]))
        time.sleep(gap)
    took = time.monotonic() - start
    t.settimeout(10)
    answer = t.recv(4096)
    t.close()
    return answer, took

class HeaderWait(unittest.TestCase):
    """HTTP.sys's header wait timer, apart from its idle timer: a request whose headers keep
    coming, a byte at a time, outlives idle-timeout and is closed unanswered at
    header-wait-timeout, counted from its first byte, with a Timer_HeaderWait line."""

    def test_slow_headers_cut_at_header_wait(self):
        import time
        with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
            f.write('<scenario xmlns="urn:mrsmock:scenario:1" name="hw" extends="healthy">'
                    '<limits idle-timeout="1s" header-wait-timeout="3s"/></scenario>')
        try:
            with Server(f.name, "--admin", "127.0.0.1:0") as s:
                ctx = ssl.create_default_context(cafile=s.ca)
                raw = socket.create_connection(("127.0.0.1", s.port), 10)
                t = ctx.wrap_socket(raw, server_hostname="mail.contoso.com")
                port = t.getsockname()[1]
                t.settimeout(0.1)
                head = b"GET /EWS/Exchange.asmx HTTP/1.1\r\nHost: mail.contoso.com\r\nX-Slow: "
                start, k, got = time.monotonic(), 0, None
                while got is None and time.monotonic() - start < 10:
                    try:
                        t.sendall(head[k:k + 1] if k < len(head) else b"a")
                    except OSError:
                        got = b""
                        break
                    k += 1
                    try:
                        got = t.recv(4096)
                    except (socket.timeout, ssl.SSLWantReadError):
                        pass
                    except OSError:
                        got = b""
                cut = time.monotonic() - start
                t.close()
                self.assertEqual(got, b"", "answered: %r" % got)  # closed, nothing said
                # not by the idle timer (1 s): by the header wait, from the first byte
                self.assertGreaterEqual(cut, 2.9)
                self.assertLess(cut, 6.0)
                _, lines = s.httperr_wait(1)
                self.assertEqual(len(lines), 1, lines)
                self.assertEqual(lines[0][2:], ["127.0.0.1", str(port), "127.0.0.1", str(s.port),
                                                "-", "-", "-", "-", "-",
                                                "Timer_HeaderWait", "-"])
                self.assertEqual(s.w3c_lines()[1], [])  # IIS never saw a request
                # the journal says why the connection ended
                p = subprocess.run(["curl", "-sS", s.ready["admin"] + "/requests/wait?count=1"
                                    "&timeout=5000"], capture_output=True, text=True, timeout=30,
                                   check=True)
                e = json.loads(p.stdout)["requests"][0]
                self.assertEqual((e["client"]["port"], e["method"]), (port, ""))
                self.assertEqual(e["why"], ["httpsys: the request's headers took longer than "
                                            "header-wait-timeout (3000 ms): closed, a "
                                            "connection line in HTTPERR"])
        finally:
            os.unlink(f.name)

    def test_slow_body_is_not_a_header_wait(self):
        # the headers are in at once; the body takes longer than header-wait-timeout: that is
        # not a header wait, and it is answered
        with limits_server('idle-timeout="5s" header-wait-timeout="1s"') as s:
            answer, took = post_trickled(s, 0.1)
            self.assertGreater(took, 2.0)
            self.assertTrue(answer.startswith(b"HTTP/1.1 401 "), answer[:60])
            self.assertEqual(len(s.w3c_wait(1)[1]), 1)
            self.assertEqual(s.httperr_lines()[1], [])

class EntityBody(unittest.TestCase):
    """HTTP.sys's EntityBody timer: a request body that stops coming is cut
    entity-body-timeout after its last byte, unanswered, with a Timer_EntityBody line that
    names the request and its application pool's queue; one that keeps coming, however long
    it takes, is answered."""

    def test_body_that_stops_is_cut(self):
        import time
        path = limits_scenario('idle-timeout="30s" header-wait-timeout="30s" '
                               'entity-body-timeout="2s"')
        try:
            with Server(path, "--admin", "127.0.0.1:0") as s:
                conns = []
                for host, uri in (("mail.contoso.com", MRS),
                                  ("autodiscover.contoso.com",
                                   "/autodiscover/autodiscover.xml?Email=a@contoso.com")):
                    t = tls_to(s, host)
                    t.sendall(b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/xml\r\n"
                              b"Content-Length: 100\r\n\r\n<x>aaaaaaa"
                              % (uri.encode(), host.encode()))
                    conns.append((t, t.getsockname()[1], uri))
                start = time.monotonic()
                for t, _, _ in conns:
                    t.settimeout(10)
                    self.assertEqual(t.recv(4096), b"")  # closed, nothing said
                cut = time.monotonic() - start
                self.assertGreaterEqual(cut, 1.9)
                self.assertLess(cut, 6.0)
                _, lines = s.httperr_wait(2)
                got = sorted(l[2:] for l in lines)
                want = sorted(["127.0.0.1", str(port), "127.0.0.1", str(s.port), "HTTP/1.1",
                               "POST", uri, "-", "1", "Timer_EntityBody", pool]
                              for (_, port, uri), pool in zip(
                                  conns, ("MSExchangeServicesAppPool",
                                          "MSExchangeAutodiscoverAppPool")))
                self.assertEqual(got, want)
                self.assertEqual(s.w3c_lines()[1], [])  # IIS never answered
                p = subprocess.run(["curl", "-sS", s.ready["admin"] + "/requests/wait?count=2"
                                    "&timeout=5000"], capture_output=True, text=True, timeout=30,
                                   check=True)
                whys = [e["why"] for e in json.loads(p.stdout)["requests"]]
                self.assertEqual(whys, [["httpsys: the request's body stopped coming for "
                                         "entity-body-timeout (2000 ms): closed, the request's "
                                         "line in HTTPERR"]] * 2)
                for t, _, _ in conns:
                    t.close()
        finally:
            os.unlink(path)

    def test_body_that_keeps_coming_is_answered(self):
        # every timer at 1 s; the body takes over 5 s, a byte every 0.2 s: each byte restarts
        # the EntityBody timer, and no other timer (nor libh2o's own) cuts it
        path = limits_scenario('idle-timeout="1s" header-wait-timeout="1s" '
                               'entity-body-timeout="1s"')
        try:
            with Server(path) as s:
                answer, took = post_trickled(s, 0.2)
                self.assertGreater(took, 5.0)
                self.assertTrue(answer.startswith(b"HTTP/1.1 401 "), answer[:60])
                self.assertEqual(len(s.w3c_wait(1)[1]), 1)
                self.assertEqual(s.httperr_lines()[1], [])
        finally:
            os.unlink(path)

    def test_every_byte_restarts_the_timer(self):
        # bytes libh2o cannot use yet still count, as they do for HTTP.sys: one TLS record of
        # the body sent 4 bytes at a time (nothing decodes until the record is whole), and a
        # chunked body whose bytes for a while are only a chunk's size line and extension
        # (decoded in place, they add nothing to the body); each takes over 2 s with
        # entity-body-timeout at 1 s, and is answered
        import time
        path = limits_scenario('idle-timeout="30s" header-wait-timeout="30s" '
                               'entity-body-timeout="1s"')
        head = (b"POST /EWS/Exchange.asmx HTTP/1.1\r\nHost: mail.contoso.com\r\n"
                b"Content-Type: text/xml\r\n")
        try:
            with Server(path) as s:
                ctx = ssl.create_default_context(cafile=s.ca)
                raw = socket.create_connection(("127.0.0.1", s.port), 10)
                inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
                tls = ctx.wrap_bio(inc, out, server_hostname="mail.contoso.com")
                while True:
                    try:
                        tls.do_handshake()
                        break
                    except ssl.SSLWantReadError:
                        raw.sendall(out.read())
                        inc.write(raw.recv(65536))
                raw.sendall(out.read())
                body = b"<x>" + b"a" * 40 + b"</x>"
                tls.write(head + b"Content-Length: %d\r\n\r\n" % len(body))
                raw.sendall(out.read())
                tls.write(body)
                record, start = out.read(), time.monotonic()
                for i in range(0, len(record), 4):
                    raw.sendall(record[i:i + 4])
                    time.sleep(0.2)
                self.assertGreater(time.monotonic() - start, 2.0)
                raw.settimeout(10)
                while True:
                    try:
                        answer = tls.read(4096)
                        break
                    except ssl.SSLWantReadError:
                        data = raw.recv(65536)
                        self.assertTrue(data, "closed unanswered")
                        inc.write(data)
                self.assertTrue(answer.startswith(b"HTTP/1.1 401 "), answer[:60])
                raw.close()

                t = tls_to(s)
                t.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
                start = time.monotonic()
                for ch in b"8;ext=slow-slow\r\n":
                    t.sendall(bytes([ch]))
                    time.sleep(0.15)
                t.sendall(b"<x>a</x>\r\n0\r\n\r\n")
                self.assertGreater(time.monotonic() - start, 2.0)
                t.settimeout(10)
                answer = t.recv(4096)
                t.close()
                self.assertTrue(answer.startswith(b"HTTP/1.1 401 "), answer[:60])
                self.assertEqual(len(s.w3c_wait(2)[1]), 2)
                self.assertEqual(s.httperr_lines()[1], [])
        finally:
            os.unlink(path)


class Pipelined:
    """One TLS connection to EWS that pipelines N anonymous GETs (each answered with a 401 of
    about 420 bytes) and reads the answers at most BPS bytes a second (0: never), its receive
    buffer small: enough answers fill the kernel's buffers both ways, and libh2o then waits
    for the client to take them. (test_httpsys_h2's client is one over HTTP/2: it negotiates
    ALPN, and overrides what is sent and what is done with what is read.)"""

    REQ = b"GET /EWS/Exchange.asmx HTTP/1.1\r\nHost: mail.contoso.com\r\n\r\n"

    def __init__(self, s, n, bps, alpn=None):
        import time
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        raw.settimeout(10)
        raw.connect(("127.0.0.1", s.port))
        ctx = ssl.create_default_context(cafile=s.ca)
        if alpn is not None:
            ctx.set_alpn_protocols(alpn)
        self.t = ctx.wrap_socket(raw, server_hostname="mail.contoso.com")
        self.port = self.t.getsockname()[1]
        self.t.setblocking(False)
        self.out, self.sent, self.got, self.bps = self.REQ * n, 0, 0, bps
        self.ended, self.start, self.time = None, time.monotonic(), time.monotonic

    def pending(self):
        """What is to be sent next (b"": nothing)."""
        return self.out[self.sent:self.sent + 16384]

    def sent_some(self, n):
        self.sent += n

    def received(self, data):
        pass

    def run(self, until, limit):
        """Sends and reads until UNTIL() holds, the connection ends (self.ended: "EOF" or the
        error) or LIMIT seconds have passed since it began."""
        import time
        while not until() and self.ended is None and self.time() - self.start < limit:
            busy = False
            chunk = self.pending()
            if chunk:
                try:
                    self.sent_some(self.t.send(chunk))
                    busy = True
                except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                    pass
                except OSError as e:
                    self.ended = repr(e)
            if self.ended is None and self.got < self.bps * (self.time() - self.start):
                try:
                    data = self.t.recv(65536)
                    self.got += len(data)
                    self.ended = None if data else "EOF"
                    self.received(data)
                    busy = True
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    pass
                except OSError as e:  # ssl.SSLError included
                    self.ended = repr(e)
            if not busy:
                time.sleep(0.005)
        return self

    def drain(self):
        """Reads what is left until the connection ends or 10 s pass."""
        self.bps = float("inf")
        return self.run(lambda: False, self.time() - self.start + 10)


def run_until_stalled(s, client, limit=30):
    """Runs CLIENT until S has written no IIS line for 3 s (libh2o waits on the client), or
    LIMIT seconds pass: the lines written by then."""
    last = [0, client.time()]

    def stalled():
        n = len(s.w3c_lines()[1])
        if n != last[0]:
            last[:] = [n, client.time()]
        return client.time() - last[1] > 3
    client.run(stalled, limit)
    return last[0]


class MinBytesPerSecond(unittest.TestCase):
    """HTTP.sys's MinSendRate (IIS minBytesPerSecond): a client that has not taken an answer by
    the time streaming it at min-bytes-per-second would take (about 0.2 s for these 420-byte
    401s at 2000 bytes/s) is reset, with a connection line Timer_MinBytesPerSecond, and the
    request's IIS line ends in 1236; one that keeps up is served to the end; 0 turns the timer
    off."""

    WHY = ("httpsys: the client took the answer slower than min-bytes-per-second (2000 "
           "bytes/s): reset, a connection line in HTTPERR")

    def cut(self, bps):
        """A client reading BPS bytes a second, cut: checks its lines and journal entry."""
        with limits_server('min-bytes-per-second="2000"', "--admin", "127.0.0.1:0") as s:
            p = Pipelined(s, 30000, bps)
            try:
                p.run(lambda: s.httperr_lines()[1], 30)
                _, lines = s.httperr_wait(1)
                self.assertEqual(lines[0][2:], ["127.0.0.1", str(p.port), "127.0.0.1",
                                                str(s.port), "-", "-", "-", "-", "-",
                                                "Timer_MinBytesPerSecond", "-"])
                # another client meanwhile is served at once
                st, _, _, rc, err = s.curl("mail.contoso.com", "/EWS/Exchange.asmx")
                self.assertEqual((st, rc), (401, 0), err)
                p.drain()
                self.assertIsNotNone(p.ended)  # what the kernel held, then the end
                self.assertLess(p.got, 30000 * 400)
            finally:
                p.t.close()
            # every answer the client was given logged as usual, the one cut with 1236
            # (the other client's line is before or after them)
            _, w3c = s.w3c_wait(2)
            ews = [l[11:14] for l in w3c if l[8] == "127.0.0.1" and l[6] == str(s.port)]
            self.assertEqual([e for e in ews if e[2] == "1236"], [["401", "2", "1236"]])
            self.assertIn(ews.index(["401", "2", "1236"]), (len(ews) - 1, len(ews) - 2))
            self.assertGreater(len(ews), 100)  # the answers the kernel's buffers took

            last = [e for e in newest_requests(s, 20) if e["client"]["port"] == p.port]
            self.assertEqual([e["why"][-1] for e in last[-2:]],
                             ["auth: anonymous: challenged", self.WHY])
            self.assertEqual(last[-1]["win32_status"], 1236)

    def test_client_that_takes_nothing_is_cut(self):
        self.cut(0)

    def test_client_slower_than_the_rate_is_cut(self):
        self.cut(1000)

    def test_client_that_keeps_up_is_served(self):
        # 16,000 answers, about 6.7 MB: more than the kernel's buffers hold, taken at 1 MB/s
        with limits_server('min-bytes-per-second="2000"') as s:
            n = 16000
            p = Pipelined(s, n, 1000000)
            try:
                p.run(lambda: p.got >= n * 400 and len(s.w3c_lines()[1]) >= n, 60)
                self.assertIsNone(p.ended)
                self.assertGreaterEqual(p.got, n * 400)
            finally:
                p.t.close()
            self.assertEqual(s.httperr_lines()[1], [])
            self.assertEqual({l[13] for l in s.w3c_wait(n)[1]}, {"5"})

    def test_zero_turns_it_off(self):
        with limits_server('min-bytes-per-second="0"') as s:
            p = Pipelined(s, 30000, 0)
            try:
                lines = run_until_stalled(s, p)
                self.assertIsNone(p.ended)
                self.assertGreater(lines, 100)
                self.assertLess(lines, 30000)
                self.assertEqual(s.httperr_lines()[1], [])
                # still served: the client takes more than the kernel's buffers held then,
                # and more answers are written
                p.bps = 10000000
                p.run(lambda: p.got >= 8000000, p.time() - p.start + 30)
                self.assertIsNone(p.ended)
                self.assertGreaterEqual(p.got, 8000000)
                self.assertGreater(len(s.w3c_lines()[1]), lines + 1000)
            finally:
                p.t.close()
