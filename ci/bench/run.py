#!/usr/bin/python3
"""make bench: mrsmock beside h2o 2.2.5 and nginx 1.22 on loopback (issue 13's table).

Each server answers the same 401 challenge over TLS with the same certificate (the one
mrsmock's lab CA issues to the healthy scenario: EC P-256), two worker threads or processes
each, one access-log line per request; wrk, h2load and `openssl s_time` load them on the same
cores. Every load figure is the median of RUNS runs, each after a warm-up, the servers taken in
turn (the order rotating from one round to the next), each started on a free port and stopped
by its PID. Prints the table and writes it to bench/results.md with the machine described.
A benchmark that reports: it exits 0 whatever the figures; 1 only when it cannot run at all.

Environment: BENCH_QUICK=1 one run of short loads (to try the script, ~2 minutes);
BENCH_DURATION seconds per load (default 8; quick 2); BENCH_OUT the results file
(default bench/results.md; quick: build/bench/results.md, so that a trial does not replace
the committed figures); MRSMOCK_BIN the binary (default build/mrsmock).
The 10,000-connection row raises RLIMIT_NOFILE (root may raise the hard limit; otherwise
the row holds as many connections as the limit allows and says so).
Python 3 standard library only (the NTLM client uses python3-ntlm-auth in its own process).
"""
import base64
import datetime
import json
import os
import platform
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
QUICK = os.environ.get("BENCH_QUICK") == "1"
RUNS = 1 if QUICK else 3
DUR = float(os.environ.get("BENCH_DURATION") or (2 if QUICK else 8))
WARM = 1.0 if QUICK else 2.0
START_REPS = 1 if QUICK else 3
IDLE_CONNS = 2000 if QUICK else 10000
LOG_LINES = 600_000 if QUICK else 6_000_000
CONNS = 64
NOFILE = 65536  # wanted; the servers inherit what run.py gets (nginx and h2o ask no more)
BIN = os.environ.get("MRSMOCK_BIN") or os.path.join(ROOT, "build", "mrsmock")
OUT = os.environ.get("BENCH_OUT") or os.path.join(
    ROOT, "build/bench/results.md" if QUICK else "bench/results.md")
PY = "/usr/bin/python3"  # Debian's, with python3-ntlm-auth

HOST = "mail.contoso.com"       # the healthy scenario's EWS host
AD_HOST = "autodiscover.contoso.com"
EWS = "/EWS/Exchange.asmx"
ADMIN = ("admin", "P@ssw0rd!")  # scenarios/healthy.xml's administrator
WRONG = ("admin", "not-the-password")

# exchangelib 4.9's requests (tests/integration/ad_util.py pox_request, ews_util.py get_folder)
POX = ("<?xml version='1.0' encoding='utf-8'?>\n<Autodiscover xmlns=\"http://schemas.microsoft."
       "com/exchange/autodiscover/outlook/requestschema/2006\"><Request><EMailAddress>"
       "admin@contoso.com</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/"
       "exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request>"
       "</Autodiscover>")
GETFOLDER = ("<?xml version='1.0' encoding='utf-8'?>\n<s:Envelope xmlns:s=\"http://schemas."
             "xmlsoap.org/soap/envelope/\" xmlns:m=\"http://schemas.microsoft.com/exchange/"
             "services/2006/messages\" xmlns:t=\"http://schemas.microsoft.com/exchange/services/"
             "2006/types\"><s:Header><t:RequestServerVersion Version=\"Exchange2016\"/>"
             "</s:Header><s:Body><m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape>"
             "</m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id=\"inbox\">"
             "</t:DistinguishedFolderId></m:FolderIds></m:GetFolder></s:Body></s:Envelope>")

OPENSSL_LEGACY = """openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
legacy = legacy_sect
[default_sect]
activate = 1
[legacy_sect]
activate = 1
"""

WORK = None   # the run's temporary folder
SEEN_STDERR = set()
TLS_VERSIONS = {}
NOTES = []    # what went wrong or differs, for the closing note


def note(text):
    NOTES.append(text)
    print("bench: " + text, file=sys.stderr, flush=True)


def basic(cred):
    return "Basic " + base64.b64encode(("%s:%s" % cred).encode()).decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), 0.2):
            return True
    except OSError:
        return False


def tree(pid):
    """PID and its descendants (nginx's workers, h2o's key-holding neverbleed process and its
    crash handler)."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def memory(pid):
    """(RSS, PSS) in KiB summed over PID's process tree; PSS shares pages out between the
    processes that map them (nginx's workers are forks of its master)."""
    rss = pss = 0
    for p in tree(pid):
        try:
            with open("/proc/%d/smaps_rollup" % p) as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


class Server:
    name = "?"

    def __init__(self):
        self.proc = None
        self.stopped = False
        self.port = None
        self.started_at = self.ready_s = None
        self.dir = tempfile.mkdtemp(prefix=self.name + "-", dir=WORK)

    def stop(self):
        """SIGTERM to our PID, SIGKILL to the same PID if it is still there 10 s later."""
        if self.proc is None or self.stopped:
            return
        self.stopped = True
        if self.proc.poll() is not None:
            note("%s (pid %d) had exited by itself, code %d" % (self.name, self.proc.pid,
                                                               self.proc.returncode))
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                note("%s (pid %d) did not stop within 10 s of SIGTERM; killed" % (
                    self.name, self.proc.pid))
                self.proc.kill()
                self.proc.wait()
            else:
                if self.proc.returncode not in (0, -signal.SIGTERM):
                    note("%s (pid %d) exited with code %d on SIGTERM" % (
                        self.name, self.proc.pid, self.proc.returncode))
        for s in ("stdout", "stderr"):
            if getattr(self.proc, s):
                getattr(self.proc, s).close()
        self.check_stderr()

    # what a server says on standard error that is not news (h2o's start and stop lines,
    # nginx's failure to raise a limit it was not allowed to)
    QUIET = re.compile(r"^\[INFO\] raised RLIMIT_NOFILE|is ready to serve requests|"
                       r"received SIGTERM|^fetch-ocsp-response|^$")

    def check_stderr(self):
        for f in ("stderr", "error.log"):
            try:
                with open(os.path.join(self.dir, f), errors="replace") as fh:
                    lines = [l.rstrip() for l in fh if not self.QUIET.search(l.rstrip())]
            except OSError:
                continue
            if lines:
                key = "%s %s" % (self.name, re.sub(r"\d+", "N", lines[0][:80]))
                if key not in SEEN_STDERR:
                    SEEN_STDERR.add(key)
                    note("%s wrote to its %s (%d lines), first: %s" % (
                        self.name, f, len(lines), lines[0][:300]))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def memory(self):
        return memory(self.proc.pid)


class Conf(Server):
    """h2o or nginx from ci/bench/<name>.conf; ready when its port accepts."""

    def __init__(self, cert, key):
        super().__init__()
        self.port = free_port()
        with open(os.path.join(HERE, self.name + ".conf")) as f:
            text = f.read()
        for k, v in (("@DIR@", self.dir), ("@PORT@", str(self.port)), ("@CERT@", cert),
                     ("@KEY@", key)):
            text = text.replace(k, v)
        self.conf = os.path.join(self.dir, self.name + ".conf")
        with open(self.conf, "w") as f:
            f.write(text)

    def start(self):
        err = open(os.path.join(self.dir, "stderr"), "w")
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(self.argv(), stdout=subprocess.DEVNULL, stderr=err,
                                     cwd=self.dir)
        err.close()
        deadline = self.started_at + 10
        while not accepts(self.port):
            if self.proc.poll() is not None or time.perf_counter() > deadline:
                self.stop()
                with open(os.path.join(self.dir, "stderr")) as f:
                    raise RuntimeError("%s did not start: %s" % (self.name, f.read()[-500:]))
            time.sleep(0.0005)
        self.ready_s = time.perf_counter() - self.started_at
        return self


class H2o(Conf):
    name = "h2o"

    def argv(self):
        return ["h2o", "-c", self.conf]


class Nginx(Conf):
    name = "nginx"

    def argv(self):
        return ["nginx", "-c", self.conf, "-p", self.dir]


class Mrsmock(Server):
    """mrsmock run healthy on a free port; ready when its ready line is on standard output."""
    name = "mrsmock"

    def __init__(self, state, extra=()):
        super().__init__()
        self.state = state
        self.extra = list(extra)

    def start(self):
        err = open(os.path.join(self.dir, "stderr"), "w")
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(
            [BIN, "run", "healthy", "--listen", "127.0.0.1:0", "--state-dir", self.state,
             "--threads", "2"] + self.extra, stdout=subprocess.PIPE, stderr=err, cwd=self.dir)
        err.close()
        line = b""
        while not line.endswith(b"\n"):
            r, _, _ = select.select([self.proc.stdout], [], [], 10)
            chunk = os.read(self.proc.stdout.fileno(), 4096) if r else b""
            if not chunk:
                self.stop()
                with open(os.path.join(self.dir, "stderr")) as f:
                    raise RuntimeError("mrsmock printed no ready line: " + f.read()[-500:])
            line += chunk
        self.ready_s = time.perf_counter() - self.started_at
        self.ready = json.loads(line.split(b"\n")[0])
        self.port = int(self.ready["listeners"][0]["url"].rsplit(":", 1)[1])
        return self


def check_answer(server):
    """One request with a real TLS client before the loads: the 401 with the Negotiate and NTLM
    challenges, so that every server is measured doing the same thing."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", server.port), 10) as raw:
        with ctx.wrap_socket(raw, server_hostname=HOST) as t:
            t.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                       % (EWS, HOST)).encode())
            data = b""
            while True:
                chunk = t.recv(65536)
                if not chunk:
                    break
                data += chunk
            server.tls_version = t.version()
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    challenges = [l.split(":", 1)[1].strip().split(" ")[0] for l in head[1:]
                  if l.lower().startswith("www-authenticate:")]
    if not head[0].startswith("HTTP/1.1 401") or not {"Negotiate", "NTLM"} <= set(challenges):
        raise RuntimeError("%s answered %r with challenges %s, not the 401 challenge" % (
            server.name, head[0], challenges))


# ---- load generators ----------------------------------------------------------------------

def run(argv, timeout, env=None):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr


def seconds_of(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    return float(m.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[m.group(2)]


def lua_script(method, body, headers):
    path = os.path.join(WORK, "wrk-%d.lua" % len(os.listdir(WORK)))
    with open(path, "w") as f:
        f.write('wrk.method = "%s"\n' % method)
        if body is not None:
            f.write("wrk.body = %s\n" % lua_string(body))
        for k, v in headers.items():
            f.write('wrk.headers[%s] = %s\n' % (lua_string(k), lua_string(v)))
    return path


def lua_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def wrk(server, path=EWS, host=HOST, method="GET", body=None, headers=None, duration=DUR,
        expect_2xx=False):
    """HTTP/1.1 keep-alive, CONNS connections, 2 threads. Returns {rps, p50, errors, non2xx}."""
    h = {"Host": host}
    h.update(headers or {})
    script = lua_script(method, body, h)
    rc, out, err = run(["wrk", "-t2", "-c%d" % CONNS, "-d%ds" % max(1, round(duration)),
                        "--latency", "-s", script, "https://127.0.0.1:%d%s" % (server.port, path)],
                       duration + 60)
    if rc != 0:
        raise RuntimeError("wrk: " + (err or out)[-300:])
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p50 = seconds_of(m.group(1)) if m else None
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    non2xx = int(m.group(1)) if m else 0
    total = int(re.search(r"(\d+) requests in", out).group(1))
    if errors:
        note("%s %s %s: wrk socket errors %s" % (server.name, method, path,
                                                 re.search(r"Socket errors: .*", out).group(0)))
    if expect_2xx and non2xx:
        note("%s %s %s: %d of %d answers were not 2xx/3xx" % (server.name, method, path,
                                                             non2xx, total))
    if not expect_2xx and non2xx != total:
        note("%s %s %s: %d of %d answers were 2xx/3xx, not the 401" % (
            server.name, method, path, total - non2xx, total))
    return {"rps": rps, "p50": p50, "errors": errors, "requests": total}


def h2load_h2(server, duration=DUR):
    """HTTP/2, CONNS connections of 10 concurrent streams, a wrong Basic password."""
    rc, out, err = run(["h2load", "-t2", "-c%d" % CONNS, "-m10", "-D", str(max(1, round(duration))),
                        "-H", ":authority: " + HOST, "-H", "Authorization: " + basic(WRONG),
                        "https://127.0.0.1:%d%s" % (server.port, EWS)], duration + 60)
    m = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out)
    if rc != 0 or not m:
        raise RuntimeError("h2load: " + (err or out)[-300:])
    if "Application protocol: h2" not in out:
        note("%s: h2load did not negotiate h2" % server.name)
    req = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                    r"(\d+) failed, (\d+) errored, (\d+) timeout", out)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    done, errored, timeout = int(req.group(3)), int(req.group(6)), int(req.group(7))
    if errored or timeout or int(codes.group(3)) != done:
        note("%s HTTP/2: %d done, %d errored, %d timeout, %s 4xx" % (
            server.name, done, errored, timeout, codes.group(3)))
    return {"rps": float(m.group(1)), "errors": errored + timeout}


def handshakes(server, duration=DUR, procs=4):
    """Full TLS handshakes: `openssl s_time -new` (a new session for every connection, no
    resumption), PROCS clients at once, each a GET of the 401 path after its handshake."""
    t0 = time.perf_counter()
    ps = [subprocess.Popen(["openssl", "s_time", "-connect", "127.0.0.1:%d" % server.port,
                            "-new", "-time", str(max(1, round(duration))), "-www", EWS],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
          for _ in range(procs)]
    outs = [p.communicate(timeout=duration + 60)[0] for p in ps]
    wall = time.perf_counter() - t0
    n = 0
    for out in outs:
        m = re.search(r"(\d+) connections in [\d.]+s", out)
        if not m:
            raise RuntimeError("s_time: " + out[-300:])
        n += int(m.group(1))
    return {"rps": n / wall}


def ntlm(server, duration=DUR, procs=2):
    legacy = os.path.join(WORK, "openssl-legacy.cnf")
    with open(legacy, "w") as f:
        f.write(OPENSSL_LEGACY)
    env = dict(os.environ, OPENSSL_CONF=legacy)
    ps = [subprocess.Popen([PY, os.path.join(HERE, "ntlm_load.py"), str(server.port), HOST, EWS,
                            "CONTOSO\\" + ADMIN[0], ADMIN[1], str(duration)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
          for _ in range(procs)]
    total = failed = resumed = 0
    secs = []
    for p in ps:
        out, err = p.communicate(timeout=duration + 60)
        if p.returncode != 0:
            raise RuntimeError("ntlm_load.py: " + err[-300:])
        r = json.loads(out)
        total += r["handshakes"]
        failed += r["failed"]
        resumed += r["resumed"]
        secs.append(r["seconds"])
        if r["failed"]:
            note("NTLM: %d handshakes failed: %s" % (r["failed"], r["failed_statuses"]))
    return {"rps": total / max(secs), "resumed": resumed, "done": total}


# ---- the rows ------------------------------------------------------------------------------

def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


class Results:
    """Each figure with the round it was taken in: a ratio is the median of the ratios of
    figures taken in the same round (seconds apart), steadier on a noisy machine than the
    ratio of two medians."""

    def __init__(self):
        self.raw = {}   # (row, who) -> [(round, value)]
        self.round = 0  # set by the loops

    def add(self, row, who, value):
        self.raw.setdefault((row, who), []).append((self.round, value))

    def values(self, row, who):
        return [v for _, v in self.raw.get((row, who), [])]

    def med(self, row, who):
        return median(self.values(row, who))

    def ratio(self, row, who, other, row_b=None):
        """Median over the rounds of ROW's WHO / ROW_B's (default ROW) OTHER."""
        b = dict(self.raw.get((row_b or row, other), []))
        qs = [v / b[k] for k, v in self.raw.get((row, who), [])
              if v is not None and b.get(k)]
        return median(qs)


R = Results()


def warm_then(fn, server, *a, **kw):
    fn(server, *a, duration=WARM, **kw)
    return fn(server, *a, **kw)


def load_rounds(state, cert, key):
    """The load rows: each round starts each server in turn (rotating the order) and runs its
    loads; mrsmock also answers Autodiscover POX and GetFolder."""
    kinds = ["mrsmock", "h2o", "nginx"]
    for r in range(RUNS):
        R.round = r
        order = kinds[r % 3:] + kinds[:r % 3]
        for k in order:
            s = Mrsmock(state) if k == "mrsmock" else (H2o if k == "h2o" else Nginx)(cert, key)
            print("bench: round %d/%d, %s" % (r + 1, RUNS, k), file=sys.stderr, flush=True)
            try:
                s.start()
                check_answer(s)
                TLS_VERSIONS[k] = s.tls_version
                a = warm_then(wrk, s)
                R.add("h1", k, a["rps"])
                R.add("p50", k, a["p50"])
                R.add("h2", k, warm_then(h2load_h2, s)["rps"])
                R.add("tls", k, warm_then(handshakes, s)["rps"])
                if k == "mrsmock":
                    hdr = {"Authorization": basic(ADMIN),
                           "Content-Type": "text/xml; charset=utf-8"}
                    R.add("pox", k, warm_then(wrk, s, path="/autodiscover/autodiscover.xml",
                                              host=AD_HOST, method="POST", body=POX,
                                              headers=hdr, expect_2xx=True)["rps"])
                    R.add("getfolder", k, warm_then(wrk, s, method="POST", body=GETFOLDER,
                                                    headers=hdr, expect_2xx=True)["rps"])
                    R.add("ntlm", k, warm_then(ntlm, s)["rps"])
                if not s.alive():
                    note("%s exited during the loads (code %s)" % (k, s.proc.returncode))
            except (RuntimeError, OSError, subprocess.TimeoutExpired, AttributeError) as e:
                note("%s, round %d: %s" % (k, r + 1, e))
            finally:
                s.stop()


def start_rows(state, cert, key):
    """start -> ready (warm: the state folder of the load rows; empty: a new one) and the
    resident memory of the idle server half a second after it is ready. A start takes 10 to 40
    ms, and one in five or six takes 5 to 10 ms longer on this shared machine whatever the
    server: each round starts every server START_REPS times, the order rotating, and the row
    is the median of all the starts (memory: the first start of each round)."""
    kinds = ["mrsmock", "mrsmock-empty", "h2o", "nginx"]
    for r in range(RUNS):
        R.round = r
        order = kinds[r % len(kinds):] + kinds[:r % len(kinds)]
        for n, k in ((n, k) for n in range(START_REPS) for k in order):
            if k == "mrsmock-empty":
                s = Mrsmock(tempfile.mkdtemp(prefix="state-empty-", dir=WORK))
            elif k == "mrsmock":
                s = Mrsmock(state)
            else:
                s = (H2o if k == "h2o" else Nginx)(cert, key)
            try:
                s.start()
                R.add("ready", k, s.ready_s)
                time.sleep(0.5)
                if k != "mrsmock-empty" and n == 0:
                    rss, pss = s.memory()
                    R.add("rss", k, rss)
                    R.add("pss", k, pss)
            except RuntimeError as e:
                note("%s start: %s" % (k, e))
            finally:
                s.stop()


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))  # root only
            soft = hard = want
        except (ValueError, OSError):
            pass
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def idle_rows(state, cert, key):
    """IDLE_CONNS idle keep-alive TLS connections held at once (two client processes): held?,
    the RSS they add per connection, and the RSS 3 s after they are closed."""
    limit = raise_nofile(NOFILE)
    n = IDLE_CONNS
    if limit < n + 1024:
        n = max(100, limit - 1024)
        note("RLIMIT_NOFILE is %d (not root?): the idle row holds %d connections" % (limit, n))
    for k in ("mrsmock", "h2o", "nginx"):
        s = Mrsmock(state) if k == "mrsmock" else (H2o if k == "h2o" else Nginx)(cert, key)
        print("bench: %d idle connections, %s" % (n, k), file=sys.stderr, flush=True)
        clients = []
        try:
            s.start()
            time.sleep(0.3)
            before = s.memory()[0]
            clients = [subprocess.Popen([PY, os.path.join(HERE, "idle_conns.py"), str(s.port),
                                         str(n // 2), HOST, EWS], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True) for _ in range(2)]
            opened = sum(json.loads(c.stdout.readline())["opened"] for c in clients)
            time.sleep(1)
            during = s.memory()[0]
            for c in clients:
                c.stdin.write("\n")
                c.stdin.flush()
            held = sum(json.loads(c.stdout.readline())["held"] for c in clients)
            for c in clients:
                c.stdout.readline()
                c.wait(30)
            time.sleep(3)
            after = s.memory()[0]
            R.add("idle", k, {"n": n, "opened": opened, "held": held, "before": before,
                              "during": during, "after": after})
            if opened < n:
                note("%s: only %d of %d idle connections could be opened" % (k, opened, n))
        except (RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
            note("%s idle connections: %s" % (k, e))
        finally:
            for c in clients:
                if c.poll() is None:
                    c.kill()
                    c.wait()
            s.stop()


def fill_logs(state, lines):
    """Writes LINES lines into the state folder's W3C log of W3SVC1 and the HttpProxy log of
    EWS (half each), the files the 401 path appends to, named for now (UTC; the next hour's
    HttpProxy file too when the hour turns within 10 minutes). The lines are copies of the
    last one mrsmock wrote in the load rows (in SAMPLE_STATE), headers before them."""
    now = datetime.datetime.now(datetime.timezone.utc)
    w3c_dir = os.path.join("logs", "EX1", "inetpub", "logs", "LogFiles", "W3SVC1")
    hp_dir = os.path.join("logs", "EX1", "Program Files", "Microsoft", "Exchange Server", "V15",
                          "Logging", "HttpProxy", "Ews")
    files = [(w3c_dir, now.strftime("u_ex%y%m%d.log"))]
    hours = [now] + ([now + datetime.timedelta(hours=1)] if now.minute >= 50 else [])
    files += [(hp_dir, h.strftime("HttpProxy_%Y%m%d%H-1.LOG")) for h in hours]
    total = 0
    for d, name in files:
        sample_dir = os.path.join(SAMPLE_STATE, d)
        src = sorted(os.listdir(sample_dir))[-1]
        with open(os.path.join(sample_dir, src), "rb") as f:
            data = f.read()
        head = b"".join(l for l in data.splitlines(True)
                        if l.lstrip(b"\xef\xbb\xbf").startswith(b"#"))
        head = head[:head.index(b"\n", head.index(b"#Fields")) + 1]
        line = [l for l in data.splitlines(True) if not l.startswith(b"#")][-1]
        os.makedirs(os.path.join(state, d), exist_ok=True)
        chunk = line * 10000
        n = lines // 2
        with open(os.path.join(state, d, name), "wb") as f:
            f.write(head)
            for _ in range(n // 10000):
                f.write(chunk)
            f.write(line * (n % 10000))
        total += n
    os.sync()
    return files


def logs_rows(cert, key):
    """401 throughput with LOG_LINES lines already in the logs against an empty state folder
    (its PKI copied, so that both start warm), taken in turn."""
    empty = os.path.join(WORK, "state-empty-logs")
    full = os.path.join(WORK, "state-full-logs")
    for d in (empty, full):
        shutil.copytree(os.path.join(SAMPLE_STATE, "pki"), os.path.join(d, "pki"))
    print("bench: writing %d log lines" % LOG_LINES, file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    files = [os.path.join(full, d, name) for d, name in fill_logs(full, LOG_LINES)]
    sizes = {f: os.path.getsize(f) for f in files}
    print("bench: written in %.1f s" % (time.perf_counter() - t0), file=sys.stderr, flush=True)
    for r in range(RUNS):
        R.round = r
        for k, d in (("empty", empty), ("full", full))[::1 if r % 2 == 0 else -1]:
            s = Mrsmock(d)
            try:
                s.start()
                R.add("logs-ready", k, s.ready_s)
                R.add("logs", k, warm_then(wrk, s)["rps"])
            except RuntimeError as e:
                note("mrsmock with %s logs: %s" % (k, e))
            finally:
                s.stop()
    # the row means something only if mrsmock appended to the files written for it
    grown = [f for f in files if os.path.getsize(f) > sizes[f]]
    if not any("W3SVC1" in f for f in grown) or not any("HttpProxy" in f for f in grown):
        note("mrsmock did not append to the pre-filled logs (%s grew): the log row is void"
             % (", ".join(os.path.basename(f) for f in grown) or "none"))
    shutil.rmtree(full, ignore_errors=True)


def journal_rows():
    """The journal's cost on the 401 path: no admin API; --admin (the journal read by the
    API); --admin and --journal-jsonl (every entry also appended to a file)."""
    variants = (("plain", []), ("admin", ["--admin", "127.0.0.1:0"]),
                ("jsonl", ["--admin", "127.0.0.1:0", "--journal-jsonl"]))
    for r in range(RUNS):
        R.round = r
        for k, extra in variants[r % 3:] + variants[:r % 3]:
            s = Mrsmock(SAMPLE_STATE, extra)
            try:
                s.start()
                R.add("journal", k, warm_then(wrk, s)["rps"])
            except RuntimeError as e:
                note("mrsmock %s: %s" % (" ".join(extra), e))
            finally:
                s.stop()


# ---- the report ----------------------------------------------------------------------------

def pkg_version(p):
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", p], capture_output=True,
                              text=True).stdout or "not installed"
    except OSError:
        return "?"


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        with open("/etc/debian_version") as f:
            debian = f.read().strip()
    except OSError:
        debian = "?"
    rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip() or "?"
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no",
                            "--", "src", "include"],
                           capture_output=True, text=True).stdout.strip()
    return {
        "cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(), "debian": debian,
        "rev": rev + (" (with uncommitted changes to src/ or include/)" if dirty else ""),
        "packages": ", ".join("%s %s" % (p, pkg_version(p)) for p in
                              ("h2o", "nginx", "wrk", "nghttp2-client", "openssl", "libssl3",
                               "libh2o-evloop0.13", "python3-ntlm-auth")),
    }


def fx(x, fmt="%.2f×"):
    return fmt % x if x is not None else "n/a"


def num(x, fmt="%.0f"):
    return fmt % x if x is not None else "n/a"


def met(ok):
    return "n/a" if ok is None else ("**met**" if ok else "not met")


def table():
    """The rows of issue 13's table (with its targets) and the two added ones."""
    rows = []
    ms = lambda x: num(x * 1000 if x is not None else None, "%.2f ms")  # noqa: E731
    mib = lambda k: num(k / 1024 if k is not None else None, "%.1f MiB")  # noqa: E731

    def versus(row, label, target, key, bound, fmt=num, lower=False):
        """A row of the three servers: mrsmock's ratios to h2o and nginx, nginx's to h2o;
        met when mrsmock's ratio to KEY is at least BOUND (at most, LOWER)."""
        q = {o: R.ratio(row, "mrsmock", o) for o in ("h2o", "nginx")}
        ok = None if q[key] is None else (q[key] <= bound if lower else q[key] >= bound)
        rows.append((label, "%s (%s h2o, %s nginx)" % (fmt(R.med(row, "mrsmock")), fx(q["h2o"]),
                                                       fx(q["nginx"])),
                     fmt(R.med(row, "h2o")),
                     "%s (%s h2o)" % (fmt(R.med(row, "nginx")), fx(R.ratio(row, "nginx", "h2o"))),
                     target, met(ok)))

    versus("h1", "401 challenge, HTTP/1.1 keep-alive, %d conns (req/s)" % CONNS, "≥ 1.0× nginx",
           "nginx", 1.0)
    versus("p50", "p50 latency on that path", "≤ 1.0× h2o", "h2o", 1.0, ms, lower=True)
    versus("tls", "full TLS handshakes/s (`openssl s_time -new`, 4 clients)", "≥ 1.0× h2o",
           "h2o", 1.0)
    for row, label in (("pox", "Autodiscover POX with Basic (req/s)"),
                       ("getfolder", "EWS GetFolder with Basic (req/s)")):
        q = R.ratio(row, "mrsmock", "mrsmock", "h1")
        rows.append((label, "%s (%s its own 401 path)" % (num(R.med(row, "mrsmock")), fx(q)),
                     "", "", "≥ 0.5×", met(None if q is None else q >= 0.5)))
    versus("h2", "HTTP/2 401 (`h2load -m 10`, %d conns, a wrong Basic password; req/s)" % CONNS,
           "≥ 1.0× h2o", "h2o", 1.0)
    rw, re_ = R.med("ready", "mrsmock"), R.med("ready", "mrsmock-empty")
    rows.append(("start → ready, warm / empty state folder", "%s / %s" % (ms(rw), ms(re_)),
                 ms(R.med("ready", "h2o")) + " (port accepts)",
                 ms(R.med("ready", "nginx")) + " (port accepts)", "≤ 20 ms / ≤ 150 ms",
                 met(None if rw is None or re_ is None else rw <= 0.020 and re_ <= 0.150)))
    mem = lambda who: "%s (PSS %s)" % (mib(R.med("rss", who)), mib(R.med("pss", who)))  # noqa
    rm = R.med("rss", "mrsmock")
    rows.append(("idle resident memory (RSS of the process tree)", mem("mrsmock"), mem("h2o"),
                 mem("nginx"), "≤ 12 MiB", met(None if rm is None else rm <= 12 * 1024)))
    cells, ok = [], None
    for who in ("mrsmock", "h2o", "nginx"):
        v = (R.values("idle", who) or [None])[0]
        if v is None:
            cells.append("n/a")
            continue
        grown = v["during"] - v["before"]
        each = grown / v["n"]
        back = (v["during"] - v["after"]) / grown if grown > 0 else 1.0
        held = v["held"] == v["n"]
        cells.append("%s; %.1f KiB each; %.0f %% of it returned after (%s → %s → %s)" % (
            "held" if held else "%d of %d held" % (v["held"], v["n"]), each,
            max(0.0, 100 * back), mib(v["before"]), mib(v["during"]), mib(v["after"])))
        if who == "mrsmock":
            ok = held and each <= 16 and back >= 0.9
    rows.append(("%s idle keep-alive TLS connections (RSS before → held → 3 s after closing)"
                 % format(IDLE_CONNS, ","), cells[0], cells[1], cells[2],
                 "held, ≤ 16 KiB each, returned after (≥ 90 %)", met(ok)))
    q = R.ratio("logs", "full", "empty")
    rows.append(("throughput with %.1f M lines already in the logs (req/s)" % (LOG_LINES / 1e6),
                 "%s (%s its empty-log figure, %s; %s h2o's 401 figure); start → ready %s "
                 "(empty: %s)" % (
                     num(R.med("logs", "full")), fx(q), num(R.med("logs", "empty")),
                     fx(R.med("logs", "full") / R.med("h1", "h2o")
                        if R.med("logs", "full") and R.med("h1", "h2o") else None),
                     ms(R.med("logs-ready", "full")), ms(R.med("logs-ready", "empty"))),
                 "", "", "flat: ≥ 0.98× its empty-log figure",
                 met(None if q is None else q >= 0.98)))
    nm = R.med("ntlm", "mrsmock")
    rows.append(("NTLM handshakes/s (3 legs on a new connection each, 2 Python clients)",
                 "%s (%s requests/s)" % (num(nm), num(3 * nm if nm is not None else None)),
                 "", "", "— (reported)", ""))
    rows.append(("the journal's cost on the 401 path (req/s)",
                 "without --admin %s; --admin %s (%s); --admin --journal-jsonl %s (%s)" % (
                     num(R.med("journal", "plain")), num(R.med("journal", "admin")),
                     fx(R.ratio("journal", "admin", "plain")), num(R.med("journal", "jsonl")),
                     fx(R.ratio("journal", "jsonl", "plain"))),
                 "", "", "— (reported)", ""))
    return rows


def cpu_busy_seconds():
    """CPU time the whole machine has spent busy since boot (/proc/stat, all cores)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle and iowait
    return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds():
    """CPU time of this script and of every process it waited for (the servers, the loads)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def render(rows, info, started, elapsed, load, others):
    head = ("| measure | mrsmock | h2o 2.2.5 | nginx 1.22 | target | met? |\n"
            "|---|---|---|---|---|---|\n")
    body = "".join("| %s |\n" % " | ".join(r) for r in rows)
    # busy: other processes took more than a quarter of a core on average during the run (the
    # load average cannot tell: at the end it counts the bench's own loads, at the start it
    # still remembers the minute before)
    busy = others / max(elapsed, 1) > 0.25
    lines = [
        "# make bench — mrsmock beside h2o and nginx",
        "",
        "Measured %s UTC (%.0f s) on %s, %s cores; Linux %s; Debian %s; mrsmock %s. "
        "Packages: %s." % (started, elapsed, info["cpu"], info["cores"], info["kernel"],
                           info["debian"], info["rev"], info["packages"]),
        "",
        "%s; load average %.2f at the start, %.2f at the end (its own loads included); other "
        "processes used %.0f CPU seconds during the run (%.2f cores on average)%s." % (
            "BENCH_QUICK=1: one run of %g-second loads, %s idle connections, %s log lines — "
            "a trial of the script, not figures" % (DUR, format(IDLE_CONNS, ","),
                                                     format(LOG_LINES, ","))
            if QUICK else "Medians of %d runs of %g-second loads, each after a %g-second "
            "warm-up" % (RUNS, DUR, WARM), load[0], load[1], others, others / max(elapsed, 1),
            " — **measured on a busy machine** (other work was running on these cores: the "
            "figures are noisy, the ratios more telling than the absolute numbers)" if busy
            else ""),
        "",
        head + body,
        "How (ci/bench/run.py, `make bench`):",
        "",
        "- Figures are medians over the runs; a ratio is the median of the ratios of figures "
        "taken in the same round, seconds apart (each round starts every server in turn, the "
        "order rotating), which is steadier on a shared machine than a ratio of medians.",
        "- The same answer: each server answers `GET %s` with the 401 mrsmock sends for the "
        "healthy scenario — WWW-Authenticate Negotiate, NTLM and Basic, Exchange's constant "
        "headers, an empty body as Exchange's 401s have (src/stages/auth.c) — over TLS (%s) "
        "with the EC P-256 certificate mrsmock's lab CA issues to the scenario, two workers "
        "(mrsmock `--threads 2`, h2o `num-threads: 2`, nginx `worker_processes 2`) and a log "
        "line per request (mrsmock: its IIS W3C and HttpProxy lines; h2o and nginx: their "
        "access log). h2o answers from mruby (ci/bench/h2o.conf), nginx with `return 401` "
        "(ci/bench/nginx.conf). A TLS client checks each answer before the loads."
        % (EWS, ", ".join("%s %s" % kv for kv in sorted(TLS_VERSIONS.items())) or "?"),
        "- Loads: wrk (2 threads, %d connections, HTTP/1.1 keep-alive; p50 from its latency "
        "distribution); h2load (HTTP/2, %d connections × 10 streams); `openssl s_time -new` "
        "for full handshakes (4 clients at once, each connection a new session and a GET; wrk "
        "and h2load resume TLS sessions, so they cannot measure this); the Autodiscover POX "
        "and EWS GetFolder requests exchangelib sends, Basic as admin@contoso.com." % (CONNS,
                                                                                     CONNS),
        "- NTLM: ci/bench/ntlm_load.py (python3-ntlm-auth, NTLMv2), two processes, the three "
        "legs on a new connection each, TLS sessions resumed so that the figure is NTLM's. The "
        "Python client is the bottleneck: the row says what such a client gets, not mrsmock's "
        "ceiling.",
        "- Start → ready: mrsmock's ready line; h2o and nginx: their port accepting; the "
        "median of %d starts of each (%d a round, the servers in turn, the order rotating "
        "between rounds: one start in five or so takes 5 to 10 ms longer here, whatever the "
        "server). Memory: RSS (and PSS, which shares out pages mapped by several processes) summed over the "
        "process tree, 0.5 s after start: h2o's includes its neverbleed key process and its "
        "crash handler, nginx's its master and workers." % (RUNS * START_REPS, START_REPS),
        "- Idle connections: ci/bench/idle_conns.py (two processes), one keep-alive request on "
        "each, RSS 1 s after the last is open and 3 s after they are closed (one run per "
        "server); RLIMIT_NOFILE raised to %d for every process of the run (the hard limit "
        "only where allowed: root with CAP_SYS_RESOURCE)." %
        resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "- Log lines: W3SVC1's u_ex file of the day and EWS's HttpProxy file of the hour "
        "written directly (half the lines each, copies of a line mrsmock wrote), then mrsmock "
        "on that state folder and on an empty one in turn.",
        "- The journal: it records every request whatever the options (there is no switch to "
        "turn it off); the row compares mrsmock without the admin API, with `--admin "
        "127.0.0.1:0`, and with `--admin` and `--journal-jsonl`.",
        "",
    ]
    if NOTES:
        lines += ["Notes from this run:", ""] + ["- " + n for n in NOTES] + [""]
    lines += ["Every run (req/s; p50 and ready in seconds; rss and pss in KiB):", ""]
    for (row, who), pairs in sorted(R.raw.items()):
        vals = [v for _, v in pairs if v is not None]
        if row == "idle":
            continue
        lines.append("- %s %s: %s" % (row, who, ", ".join(
            ("%.4f" % v if v < 10 else "%.0f" % v) for v in vals)))
    return "\n".join(lines) + "\n"


SAMPLE_STATE = None


def main():
    global WORK, SAMPLE_STATE
    if not os.access(BIN, os.X_OK):
        print("bench: no %s (make first)" % BIN, file=sys.stderr)
        return 1
    for tool in ("h2o", "nginx", "wrk", "h2load", "openssl"):
        if shutil.which(tool) is None:
            print("bench: %s is missing (ci/bench-deps.sh installs it)" % tool, file=sys.stderr)
            return 1
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    load0 = os.getloadavg()[0]
    busy0, own0 = cpu_busy_seconds(), own_cpu_seconds()
    t0 = time.monotonic()
    raise_nofile(NOFILE)
    WORK = tempfile.mkdtemp(prefix="mrsmock-bench-")
    try:
        state = SAMPLE_STATE = os.path.join(WORK, "state")
        first = Mrsmock(state).start()  # the lab CA and the healthy certificate
        first.stop()
        pki = os.path.join(state, "pki", "scenarios", "healthy")
        cert, key = os.path.join(WORK, "mail.crt"), os.path.join(WORK, "mail.key")
        shutil.copy(os.path.join(pki, "mail.crt"), cert)
        shutil.copy(os.path.join(pki, "mail.key"), key)
        load_rounds(state, cert, key)
        start_rows(state, cert, key)
        idle_rows(state, cert, key)
        logs_rows(cert, key)
        journal_rows()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    elapsed = time.monotonic() - t0
    others = max(0.0, (cpu_busy_seconds() - busy0) - (own_cpu_seconds() - own0))
    rows = table()
    text = render(rows, machine(), started, elapsed, (load0, os.getloadavg()[0]), others)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write(text)
    print(text)
    print("bench: written to %s" % os.path.relpath(OUT, ROOT), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
