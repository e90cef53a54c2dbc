"""Fault rules (<faults>): what the model does not describe, at a named stage, for the requests
a rule picks; through the real binary and real clients (curl, and the admin API's journal for
the why trail). Each action is seen as a client sees it and in the logs; the same seed gives
the same choices, and a reload starts the counts again.
"""
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from harness import Server, own_scenario

MRS = "/EWS/mrsproxy.svc"


def faults(body, seed=1):
    return own_scenario('<faults seed="%d">%s</faults>' % (seed, body), prefix="faults-")


def statuses(s, n, path=MRS, *args):
    out = []
    for _ in range(n):
        st, _, _, rc, err = s.curl("mail.contoso.com", path, "--http1.1", *args)
        out.append(st if rc == 0 else "curl%d" % rc)
    return out


def journal(s):
    p = subprocess.run(["curl", "-sS", s.ready["admin"] + "/requests?limit=100"],
                       capture_output=True, text=True, timeout=30, check=True)
    return json.loads(p.stdout)["requests"]


class StatusFault(unittest.TestCase):
    def test_every_second_mrs_request_answered_503_by_the_front_end(self):
        path = faults('<fault name="busy" stage="auth" action="status" status="503" '
                      'content-type="text/plain" body="Service busy">'
                      '<when path="/EWS/mrsproxy.svc" every="2"/>'
                      '<header name="Retry-After" value="5"/></fault>')
        try:
            with Server(path, "--admin", "127.0.0.1:0") as s:
                self.assertEqual(statuses(s, 4), [401, 503, 401, 503])
                st, headers, body, rc, _ = s.curl("mail.contoso.com", MRS, "--http1.1")
                self.assertEqual(st, 401)  # the fifth: odd
                st, headers, body, rc, _ = s.curl("mail.contoso.com", MRS, "--http1.1")
                self.assertEqual((st, body), (503, b"Service busy"))
                h = dict(headers)
                self.assertEqual(h["Retry-After"], "5")
                self.assertEqual(h["Server"], "Microsoft-IIS/10.0")  # the front end's answer
                # other paths are not counted and not touched
                self.assertEqual(statuses(s, 2, "/EWS/Exchange.asmx"), [401, 401])
                _, lines = s.w3c_wait(8)
                self.assertEqual([l[11] for l in lines[:6]],
                                 ["401", "503", "401", "503", "401", "503"])
                self.assertEqual(lines[1][11:14], ["503", "0", "0"])
                # the topology lists the rule, as the dashboard shows it
                p = subprocess.run(["curl", "-sS", s.ready["admin"] + "/topology"],
                                   capture_output=True, text=True, timeout=30, check=True)
                self.assertEqual(json.loads(p.stdout)["faults"], [{
                    "name": "busy", "stage": "auth", "action": "status", "status": 503,
                    "picks": "path /EWS/mrsproxy.svc, every 2"}])
                why = [e["why"] for e in journal(s) if e["status"] == 503]
                self.assertEqual(len(why), 3)
                self.assertTrue(any("fault: busy at auth: status (its request 2)" in w
                                    for w in why[-1] + why[0]), why)
        finally:
            os.unlink(path)


class Criteria(unittest.TestCase):
    def test_each_criterion_picks_its_requests(self):
        fd, page = tempfile.mkstemp(suffix=".html", prefix="faults-")
        os.write(fd, b"<p>from a file</p>")
        os.close(fd)
        path = faults(
            '<fault name="host" stage="route" action="status" status="501">'
            '<when host="autodiscover.contoso.com"/></fault>'
            '<fault name="method" stage="route" action="status" status="502">'
            '<when method="PUT"/></fault>'
            '<fault name="header-text" stage="route" action="status" status="504">'
            '<when header="X-Lab: blue"/></fault>'
            '<fault name="header" stage="route" action="status" status="505">'
            '<when header="X-Other"/></fault>'
            '<fault name="server" stage="route" action="status" status="507" '
            'content-type="text/html" body-file="%s"><when server="EX1" path="/owa"/></fault>'
            '<fault name="listener" stage="publish" action="status" status="508">'
            '<when listener="edge" path="/ecp"/></fault>' % page)
        try:
            with Server(path) as s:
                def status(host, p, *args):
                    return s.curl(host, p, "--http1.1", *args)
                self.assertEqual(status("autodiscover.contoso.com", "/EWS/Exchange.asmx")[0], 501)
                self.assertEqual(status("mail.contoso.com", "/EWS/Exchange.asmx")[0], 401)
                self.assertEqual(status("mail.contoso.com", "/x", "-X", "PUT")[0], 502)
                self.assertEqual(status("mail.contoso.com", "/x", "-H", "X-Lab: dark blue")[0], 504)
                self.assertEqual(status("mail.contoso.com", "/x", "-H", "X-Lab: red")[0], 404)
                self.assertEqual(status("mail.contoso.com", "/x", "-H", "X-Other: 1")[0], 505)
                st, h, body, _, _ = status("mail.contoso.com", "/owa/")
                self.assertEqual((st, body, dict(h)["Content-Type"]),
                                 (507, b"<p>from a file</p>", "text/html"))
                # a rule at a device's stage answers as the device: no Server of IIS
                st, h, _, _, _ = status("mail.contoso.com", "/ecp/")
                self.assertEqual(st, 508)
                self.assertNotIn("Server", dict(h))
                _, iis = s.w3c_wait(6)
                self.assertEqual(sorted(l[11] for l in iis),
                                 ["401", "404", "501", "502", "504", "505", "507"])
        finally:
            os.unlink(path)
            os.unlink(page)


class SeededChance(unittest.TestCase):
    def sequence(self, seed):
        path = faults('<fault name="coin" stage="auth" action="status" status="500">'
                      '<when percent="50"/></fault>', seed=seed)
        try:
            with Server(path) as s:
                return statuses(s, 16)
        finally:
            os.unlink(path)

    def test_same_seed_same_choices(self):
        a, b, c = self.sequence(11), self.sequence(11), self.sequence(12)
        self.assertEqual(a, b)
        self.assertNotEqual(a, c)
        self.assertEqual(set(a), {401, 500})


class DroppedAndHeld(unittest.TestCase):
    def test_reset_close_and_hang_leave_no_server_line(self):
        path = faults('<fault name="rst" stage="urlfilter" action="reset">'
                      '<when source="127.0.0.2"/></fault>'
                      '<fault name="fin" stage="urlfilter" action="close">'
                      '<when source="127.0.0.3"/></fault>'
                      '<fault name="stuck" stage="auth" action="hang">'
                      '<when source="127.0.0.4"/></fault>'
                      '<fault name="app-rst" stage="auth" action="reset">'
                      '<when source="127.0.0.5"/></fault>')
        try:
            with Server(path, "--admin", "127.0.0.1:0") as s:
                # RST: "Connection reset by peer" (curl 56); FIN: "Empty reply from server" (52)
                self.assertEqual(statuses(s, 1, MRS, "--interface", "127.0.0.2"), ["curl56"])
                self.assertEqual(statuses(s, 1, MRS, "--interface", "127.0.0.3"), ["curl52"])
                # held until the client gives up (curl 28: its timeout)
                self.assertEqual(statuses(s, 1, MRS, "--interface", "127.0.0.4",
                                          "--max-time", "1"), ["curl28"])
                # reset by the application, behind HTTP.sys
                self.assertEqual(statuses(s, 1, MRS, "--interface", "127.0.0.5"), ["curl56"])
                # others pass
                self.assertEqual(statuses(s, 1, MRS, "--interface", "127.0.0.1"), [401])
                _, lines = s.w3c_wait(1)
                self.assertEqual(len(lines), 1)
                self.assertEqual(lines[0][8], "127.0.0.1")
                # HTTP.sys had queued the held and the reset ones for the EWS pool: its lines;
                # the device's reset and close never reached it
                _, errs = s.httperr_wait(2)
                self.assertEqual(sorted((l[2], l[9], l[11], l[12]) for l in errs), [
                    ("127.0.0.4", "-", "Connection_Dropped", "MSExchangeServicesAppPool"),
                    ("127.0.0.5", "-", "Connection_Abandoned_By_AppPool",
                     "MSExchangeServicesAppPool")])
                whys = [" ".join(e["why"]) for e in journal(s)]
                self.assertTrue(any("fault: stuck at auth: hang" in w and "gave up" in w
                                    for w in whys), whys)
        finally:
            os.unlink(path)


class BrokenBodies(unittest.TestCase):
    def test_truncated_and_lying_content_length(self):
        path = faults('<fault name="cut" stage="route" action="truncate" bytes="20">'
                      '<when path="/cut"/></fault>'
                      '<fault name="lie" stage="route" action="bad-length" bytes="10">'
                      '<when path="/lie"/></fault>')
        try:
            with Server(path) as s:
                # IIS's 404 page, cut after 20 bytes: "transfer closed with ... remaining" (18)
                st, _, body, rc, err = s.curl("mail.contoso.com", "/cut", "--http1.1")
                self.assertEqual((st, rc, len(body)), (404, 18, 20), err)
                # 10 bytes promised that never come, on a kept connection: the client waits
                st, headers, body, rc, err = s.curl("mail.contoso.com", "/lie", "--http1.1",
                                                    "--max-time", "2")
                self.assertEqual((st, rc), (404, 28), err)
                self.assertEqual(int(dict(headers)["Content-Length"]), len(body) + 10)
        finally:
            os.unlink(path)


    def test_drip(self):
        # IIS's 404 page, 300 bytes every 200 ms: the headers and a first piece at once, the
        # rest in pieces, and the whole page in the end; a client that leaves stops it
        path = faults('<fault name="slow" stage="route" action="drip" bytes="300" delay="200ms">'
                      '<when path="/slow"/></fault>')
        try:
            with Server(path) as s:
                ctx = ssl.create_default_context(cafile=s.ca)
                with ctx.wrap_socket(socket.create_connection(("127.0.0.1", s.port)),
                                     server_hostname="mail.contoso.com") as c:
                    c.sendall(b"GET /slow HTTP/1.1\r\nHost: mail.contoso.com\r\n\r\n")
                    c.settimeout(10)
                    got, arrivals = b"", []
                    while b"\r\n\r\n" not in got or len(got) < got.index(b"\r\n\r\n") + 4 + \
                            int(re.search(rb"Content-Length: (\d+)", got).group(1)):
                        chunk = c.recv(65536)
                        self.assertTrue(chunk, got)
                        got += chunk
                        arrivals.append((time.monotonic(), len(got)))
                head, body = got.split(b"\r\n\r\n", 1)
                self.assertTrue(head.startswith(b"HTTP/1.1 404 Not Found\r\n"), head)
                self.assertIn(b"<title>404 - File or directory not found.</title>", body)
                pieces = -(-len(body) // 300)
                self.assertGreaterEqual(pieces, 3)
                # never more than a piece ahead of the schedule: the last byte came at least
                # (pieces - 1) waits after the first
                self.assertGreaterEqual(arrivals[-1][0] - arrivals[0][0], (pieces - 1) * 0.2 * 0.9)
                self.assertGreater(len(arrivals), 1)
                # one that leaves after the first piece: the server goes on serving others
                c = ctx.wrap_socket(socket.create_connection(("127.0.0.1", s.port)),
                                    server_hostname="mail.contoso.com")
                c.sendall(b"GET /slow HTTP/1.1\r\nHost: mail.contoso.com\r\n\r\n")
                c.recv(100)
                c.close()
                self.assertEqual(statuses(s, 1, "/EWS/Exchange.asmx"), [401])
                _, iis = s.w3c_wait(3)
                self.assertEqual([(l[4], l[11]) for l in iis][0], ("/slow", "404"))
        finally:
            os.unlink(path)


class DelayAndReload(unittest.TestCase):
    def test_delay_is_in_time_taken_and_a_reload_starts_the_count_again(self):
        path = faults('<fault name="slow" stage="auth" action="delay" delay="300ms">'
                      '<when nth="1"/></fault>')
        try:
            with Server(path) as s:
                self.assertEqual(statuses(s, 2), [401, 401])
                _, lines = s.w3c_wait(2)
                taken = [int(l[14]) for l in lines]
                # the first waited (h2o's timers run on its loop's clock, read a moment before
                # the request's own start: a few ms of slack, not more)
                self.assertGreaterEqual(taken[0], 280)
                self.assertLess(taken[1], 280)  # the second did not
                s.proc.send_signal(signal.SIGHUP)
                s.wait_stderr("now serving scenario")
                self.assertEqual(statuses(s, 1), [401])
                _, lines = s.w3c_wait(3)
                self.assertGreaterEqual(int(lines[2][14]), 280)  # the first again
        finally:
            os.unlink(path)


if __name__ == "__main__":
    unittest.main()
