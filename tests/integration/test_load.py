"""Load and fault tests: the real binary on loopback, many real sockets, bounded in count and
time. Nothing here asserts a speed: answers, log lines, descriptors and CPU time spent idle.
Counts are scaled down under the sanitizer build (MRSMOCK_LOAD_SCALE: 0.25 there, set by the
Makefile; 1 otherwise), and resident memory is not checked there (ASan's quarantine).
"""
import json
import os
import re
import resource
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from harness import BIN, Server, own_scenario

SCALE = float(os.environ.get("MRSMOCK_LOAD_SCALE", "1"))
# ASan keeps freed memory in its quarantine and ignores malloc_trim: RSS says nothing there
SANITIZED = "/build/san/" in BIN


def scaled(n):
    return max(10, int(n * SCALE))


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def wait_fds_above(pid, at_least, limit=20.0):
    """Waits (at most LIMIT seconds) for PID's descriptors to reach AT_LEAST; returns the last
    count."""
    end = time.monotonic() + limit
    while True:
        n = fd_count(pid)
        if n >= at_least or time.monotonic() > end:
            return n
        time.sleep(0.05)


def client_hello(name="mail.contoso.com"):
    """A real ClientHello (Python's OpenSSL), as bytes on the wire."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=name)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def wait_fds(pid, at_most, limit=20.0):
    """Waits (at most LIMIT seconds) for PID's descriptors to fall to AT_MOST; returns the
    last count."""
    end = time.monotonic() + limit
    while True:
        n = fd_count(pid)
        if n <= at_most or time.monotonic() > end:
            return n
        time.sleep(0.05)


# A handshake fault that must peek at the whole first record (sni="unknown"), with a handshake
# timeout long enough that nothing here is ended by it.
HS_FAULT = ('<limits handshake-timeout="60s"/>'
            '<listener name="alert" address="127.0.0.1:0" certificate="mail" server="EX1">'
            '<handshake-fault action="alert" alert="unrecognized_name" sni="unknown"/>'
            '</listener>')


def listener_port(s, name):
    for l in s.ready["listeners"]:
        if l.get("name") == name:
            return int(l["url"].rsplit(":", 1)[1])
    raise AssertionError("no listener %s in %r" % (name, s.ready["listeners"]))


class PartialClientHello(unittest.TestCase):
    """A handshake-fault listener waits for the rest of a ClientHello cut short without
    polling, and notices at once a client that sent part of one and closed."""

    @classmethod
    def setUpClass(cls):
        raise_nofile(8192)
        cls.path = own_scenario(HS_FAULT, prefix="load-")

    @classmethod
    def tearDownClass(cls):
        os.unlink(cls.path)

    def test_partial_hellos_held_cost_no_cpu(self):
        n = scaled(1000)
        with Server(self.path) as s:
            port = listener_port(s, "alert")
            hello = client_hello("nobody.example")  # a name the listener does not know
            base = fd_count(s.proc.pid)
            socks = []
            try:
                for i in range(n):
                    c = socket.create_connection(("127.0.0.1", port))
                    # a ClientHello cut short: its record header and 3 (or 4) bytes of it
                    c.sendall(hello[:8 + i % 2])
                    socks.append(c)
                self.assertGreaterEqual(wait_fds_above(s.proc.pid, base + n), base + n)
                time.sleep(0.3)  # every one of them read and waiting
                before = cpu_ticks(s.proc.pid)
                time.sleep(2.0)
                spent = cpu_ticks(s.proc.pid) - before
                # polling 1,000 sockets every 5 ms costs most of a core; waiting costs nothing
                hz = os.sysconf("SC_CLK_TCK")
                self.assertLess(spent, hz * 0.25, "%d ticks in 2 s while idle" % spent)
                # they are still held, and still served when the rest comes
                c = socks[0]
                c.settimeout(10)
                c.sendall(hello[8:])
                # the fault's answer: a fatal alert record, unrecognized_name (112)
                alert = c.recv(7)
                self.assertEqual((alert[0], alert[-1]), (21, 112), alert)
            finally:
                for c in socks:
                    c.close()

    def test_short_hello_then_close_noticed_at_once(self):
        n = scaled(500)
        with Server(self.path) as s:
            port = listener_port(s, "alert")
            base = fd_count(s.proc.pid)
            socks = []
            for i in range(n):
                c = socket.create_connection(("127.0.0.1", port))
                c.sendall(b"\x16\x03\x01"[:1 + i % 3])  # under 5 bytes: not even a header
                socks.append(c)
            self.assertGreaterEqual(wait_fds_above(s.proc.pid, base + n), base + n)
            for c in socks:
                c.close()
            # well before the 60 s handshake timeout, every one of them is closed
            self.assertLessEqual(wait_fds(s.proc.pid, base + 2, 20.0), base + 2)
            # and a whole ClientHello still gets the listener's fault
            c = socket.create_connection(("127.0.0.1", port))
            c.settimeout(10)
            c.sendall(client_hello("nobody.example"))
            alert = c.recv(7)
            self.assertEqual((alert[0], alert[-1]), (21, 112), alert)
            c.close()


MRS = "/EWS/mrsproxy.svc"
HOST = "mail.contoso.com"


def h2load(s, n, conns, background=False):
    """h2load (nghttp2-client) over HTTP/1.1 keep-alive: N anonymous requests to the MRS
    endpoint (each a 401 challenge) over CONNS TLS connections."""
    cmd = ["h2load", "--h1", "-n", str(n), "-c", str(conns), "-t", "2",
           "-H", ":authority: " + HOST, "https://127.0.0.1:%d%s" % (s.port, MRS)]
    if background:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    return h2load_counts(p.stdout)


def h2load_counts(out):
    """h2load's own summary: done, errored, timeout and the 2xx..5xx counts."""
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", out)
    c = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    assert m and c, out
    return {"done": int(m.group(3)), "errored": int(m.group(6)), "timeout": int(m.group(7)),
            "2xx": int(c.group(1)), "3xx": int(c.group(2)), "4xx": int(c.group(3)),
            "5xx": int(c.group(4))}


def w3c_count(s):
    return len(s.w3c_lines()[1])


class Load(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise_nofile(8192)

    def test_200000_requests_over_1000_connections(self):
        n, conns = scaled(200000), min(1000, scaled(1000) * 2)
        with Server("healthy") as s:
            got = h2load(s, n, conns)
            self.assertEqual((got["errored"], got["timeout"]), (0, 0), got)
            self.assertEqual((got["4xx"], got["2xx"] + got["3xx"] + got["5xx"]), (n, 0), got)
            _, lines = s.w3c_wait(n, timeout=60)
            time.sleep(0.2)  # none more comes after
            _, lines = s.w3c_lines()
            self.assertEqual(len(lines), n)  # exactly one line per request
            self.assertEqual({l[11] for l in lines}, {"401"})
            self.assertEqual(len({l[5] for l in lines}), n)  # each its own cafeReqId

    def test_sighup_reloads_under_load_fail_nothing(self):
        n = scaled(60000)
        with Server("healthy") as s:
            p = h2load(s, n, 200, background=True)
            reloads = 0
            while p.poll() is None and reloads < 5:
                time.sleep(0.5)
                s.proc.send_signal(signal.SIGHUP)
                reloads += 1
            out, err = p.communicate(timeout=300)
            got = h2load_counts(out)
            self.assertGreaterEqual(reloads, 2, "the load ended before two reloads: %r" % got)
            self.assertEqual((got["errored"], got["timeout"], got["4xx"]), (0, 0, n), got)
            self.assertEqual(len(s.w3c_wait(n, timeout=60)[1]), n)
            self.assertEqual(s.proc.poll(), None)

    def test_sigterm_under_load_logs_every_answer(self):
        n = scaled(400000)  # more than it can answer before the signal
        with Server("healthy") as s:
            p = h2load(s, n, 200, background=True)
            deadline = time.monotonic() + 30
            while w3c_count(s) < scaled(2000) and time.monotonic() < deadline:
                time.sleep(0.05)
            s.proc.send_signal(signal.SIGTERM)
            rc = s.proc.wait(timeout=60)
            out, err = p.communicate(timeout=120)
            got = h2load_counts(out)
            self.assertEqual(rc, 0)
            self.assertLess(got["4xx"], n, got)  # the signal came under load
            # every answer a client got has its IIS line, and no line lacks an answer
            self.assertEqual(w3c_count(s), got["4xx"], got)


    def test_journal_file_keeps_every_entry_under_load(self):
        # a ring of 64 entries under a load that fills it in a few milliseconds: the workers
        # wait for the file's thread rather than overwrite what it has not written
        n = scaled(30000)
        with tempfile.TemporaryDirectory() as d:
            with Server("healthy", "--admin", "127.0.0.1:0", "--journal-jsonl",
                        "--journal-size", "64", state_dir=d) as s:
                got = h2load(s, n, 64)
                self.assertEqual((got["errored"], got["timeout"], got["4xx"]), (0, 0, n), got)
                s.stop()
                self.assertNotIn(b"overwritten", s.stderr)
            with open(os.path.join(d, "journal.jsonl")) as f:
                ids = [json.loads(line)["id"] for line in f]
        self.assertEqual(ids, list(range(1, n + 1)))


class Slowloris(unittest.TestCase):
    def test_slow_headers_are_cut_and_others_served(self):
        # 200 clients each dribbling a request's headers a byte at a time: the header wait
        # (IIS headerWaitTimeout, 2 s here) bounds the whole header phase, not the gap between
        # bytes, so none holds its connection past it; meanwhile others are served at once
        path = own_scenario('<limits header-wait-timeout="2s"/>', prefix="load-")
        try:
            with Server(path) as s:
                ctx = ssl.create_default_context(cafile=s.ca)
                slow = []
                for _ in range(scaled(200)):
                    c = ctx.wrap_socket(socket.create_connection(("127.0.0.1", s.port),
                                                                 timeout=10),
                                        server_hostname=HOST)
                    c.setblocking(False)
                    slow.append(c)
                start = time.monotonic()
                line = b"GET /EWS/Exchange.asmx HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\nX: "
                open_ = set(range(len(slow)))
                served = None
                k = 0
                while open_ and time.monotonic() - start < 8:
                    for i in list(open_):
                        try:
                            slow[i].send(line[k % len(line):k % len(line) + 1])
                            if slow[i].recv(1) == b"":
                                open_.discard(i)
                        except (ssl.SSLWantReadError, BlockingIOError):
                            pass
                        except (OSError, ssl.SSLError):
                            open_.discard(i)
                    k += 1
                    if served is None:
                        t = time.monotonic()
                        st = s.curl(HOST, MRS, "--http1.1", "--max-time", "5")[0]
                        served = (st, time.monotonic() - t)
                    time.sleep(0.2)
                cut = time.monotonic() - start
                for c in slow:
                    c.close()
                self.assertEqual(open_, set(), "still open after %.1f s" % cut)
                self.assertLess(cut, 6.0)
                self.assertEqual(served[0], 401)
                self.assertLess(served[1], 2.0, served)
                # none of them was a request: nothing in the IIS log, each a line in HTTPERR
                self.assertEqual(s.w3c_wait(1)[1][0][4], MRS)
                self.assertEqual(len(s.w3c_lines()[1]), 1)
                lines = s.httperr_wait(len(slow))[1]
                self.assertEqual([l[-2] for l in lines], ["Timer_HeaderWait"] * len(slow))
        finally:
            os.unlink(path)


class DroppedHandshakes(unittest.TestCase):
    def test_10000_dropped_mid_handshake_leave_nothing_behind(self):
        raise_nofile(8192)
        n, batch = scaled(10000), 500
        hello = client_hello(HOST)
        with Server("healthy") as s:
            pid = s.proc.pid

            def drop(count):
                for start in range(0, count, batch):
                    socks = []
                    for i in range(min(batch, count - start)):
                        c = socket.create_connection(("127.0.0.1", s.port))
                        if i % 3:  # some say nothing, some send half a ClientHello
                            c.sendall(hello[:len(hello) // (i % 3 + 1)])
                        socks.append(c)
                    for c in socks:
                        c.close()

            drop(batch)  # warm up: the worker's first allocations
            base_fd = wait_fds(pid, fd_count(pid))
            time.sleep(0.5)
            base_fd, base_rss = fd_count(pid), rss(pid)
            drop(n)
            self.assertLessEqual(wait_fds(pid, base_fd, 30.0), base_fd)
            if SANITIZED:
                base_rss = float("inf")  # the descriptors are still checked
            end = time.monotonic() + 10
            while rss(pid) > base_rss + 16 * 1024 * 1024 and time.monotonic() < end:
                time.sleep(0.1)
            self.assertLessEqual(rss(pid), base_rss + 16 * 1024 * 1024, (base_rss, rss(pid)))
            # and it still answers
            st, _, _, rc, _ = s.curl(HOST, MRS, "--http1.1")
            self.assertEqual((rc, st), (0, 401))


class IdleConnections(unittest.TestCase):
    @unittest.skipIf(SANITIZED, "ASan's quarantine keeps freed memory: RSS says nothing")
    def test_memory_of_closed_idle_connections_goes_back(self):
        # what thousands of idle keep-alive TLS connections took is returned once they are
        # closed (h2o 2.2.5 and nginx keep it: glibc does not give freed memory back alone)
        n = 2000
        raise_nofile(n + 512)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        request = ("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (MRS, HOST)).encode()

        def open_idle(count):
            conns = []
            for _ in range(count):
                c = ctx.wrap_socket(socket.create_connection(("127.0.0.1", s.port), 10),
                                    server_hostname=HOST)
                c.sendall(request)
                answer = b""
                while b"\r\n\r\n" not in answer:  # a 401 without a body
                    chunk = c.recv(4096)
                    self.assertTrue(chunk, "closed before its answer")
                    answer += chunk
                self.assertTrue(answer.startswith(b"HTTP/1.1 401 "), answer[:40])
                conns.append(c)
            return conns

        with Server("healthy") as s:
            pid = s.proc.pid
            for c in open_idle(200):  # warm up: the workers' first allocations
                c.close()
            time.sleep(1)
            base = rss(pid)
            conns = open_idle(n)
            time.sleep(0.5)
            held = rss(pid)
            self.assertGreater(held - base, n * 8 * 1024, (base, held))  # they are held
            for c in conns:
                c.close()
            end = time.monotonic() + 10
            while rss(pid) > base + (held - base) // 4 and time.monotonic() < end:
                time.sleep(0.1)
            self.assertLessEqual(rss(pid), base + (held - base) // 4, (base, held, rss(pid)))
            st, _, _, rc, _ = s.curl(HOST, MRS, "--http1.1")
            self.assertEqual((rc, st), (0, 401))


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


if __name__ == "__main__":
    unittest.main()
