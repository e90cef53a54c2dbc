"""Integration harness: starts the real mrsmock binary on 127.0.0.1 port 0, reads its ready
line, drives real clients (curl, openssl s_client) and reads the logs it wrote.

Nothing here sleeps for a fixed time: the server is waited for on its ready line, on a line of
its standard error, or on its exit, each with a deadline.
"""
import datetime
import glob
import json
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("MRSMOCK_BIN", os.path.join(ROOT, "build", "mrsmock"))
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "ThreadSanitizer", "UndefinedBehaviorSanitizer")
TIMEOUT = 30


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def sanitizer_env():
    env = dict(os.environ)
    supp = os.path.join(ROOT, "ci", "lsan.supp")
    env.setdefault("LSAN_OPTIONS", "suppressions=%s:print_suppressions=0" % supp)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    return env


def mrsmock(*args, timeout=TIMEOUT, **kw):
    """Runs a short mrsmock command (check, list...); returns the CompletedProcess."""
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout,
                       env=sanitizer_env(), **kw)
    for mark in SANITIZER_MARKS:
        assert mark not in p.stderr, p.stderr
    return p


def run_curl(ca, resolve, args, url):
    """curl URL trusting CA, with RESOLVE (--resolve options) and ARGS; returns (status of the
    last response, its headers as (name, value) pairs, body, curl's exit code, stderr)."""
    with tempfile.TemporaryDirectory() as d:
        hdr, body = os.path.join(d, "h"), os.path.join(d, "b")
        p = subprocess.run(["curl", "-sS", "--cacert", ca, "-D", hdr, "-o", body,
                            "--max-time", "20", *resolve, *args, url],
                           capture_output=True, text=True, timeout=TIMEOUT)
        headers, status = [], 0
        if os.path.exists(hdr):
            for line in read_bytes(hdr).decode("latin-1").split("\r\n"):
                m = re.match(r"HTTP/[\d.]+ (\d+)", line)
                if m:
                    status, headers = int(m.group(1)), []
                elif ":" in line:
                    k, v = line.split(":", 1)
                    headers.append((k.strip(), v.strip()))
        data = read_bytes(body) if os.path.exists(body) else b""
        return status, headers, data, p.returncode, p.stderr


class Server:
    """One running mrsmock: `with Server("healthy") as s: ...`."""

    def __init__(self, scenario, *args, state_dir=None, listen="127.0.0.1:0", env=None):
        self.own_state = state_dir is None
        self.state_dir = state_dir or tempfile.mkdtemp(prefix="mrsmock-it-")
        cmd = [BIN, "run", scenario, "--state-dir", self.state_dir, "--threads", "2"]
        if listen:
            cmd += ["--listen", listen]
        cmd += list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=dict(sanitizer_env(), **(env or {})))
        self.stderr = b""
        self.stdout = b""
        line = self._read_line(self.proc.stdout, TIMEOUT)
        if not line:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise RuntimeError("no ready line; exit %s; stderr: %s" %
                               (self.proc.returncode, (self.stderr + err).decode(errors="replace")))
        self.ready = json.loads(line)
        self.stopped = False

    def _read_line(self, pipe, timeout):
        deadline = time.monotonic() + timeout
        buf = b""
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([pipe, self.proc.stderr], [], [], left)
            if self.proc.stderr in r:
                chunk = os.read(self.proc.stderr.fileno(), 65536)
                self.stderr += chunk
                if not chunk and pipe is self.proc.stderr:
                    return None
            if pipe in r and pipe is not self.proc.stderr:
                chunk = os.read(pipe.fileno(), 1)
                if not chunk:
                    return None
                buf += chunk
        return buf.decode()

    def wait_stderr(self, pattern, timeout=TIMEOUT):
        """Waits until standard error has a line matching PATTERN (a regex)."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while not rx.search(self.stderr.decode(errors="replace")):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %r in stderr: %s" % (pattern, self.stderr))
            r, _, _ = select.select([self.proc.stderr], [], [], left)
            if r:
                chunk = os.read(self.proc.stderr.fileno(), 65536)
                if not chunk:
                    raise AssertionError("server exited; stderr: %s" % self.stderr)
                self.stderr += chunk

    # -- the ready line's facts
    @property
    def listener(self):
        return self.ready["listeners"][0]

    @property
    def port(self):
        return int(self.listener["url"].rsplit(":", 1)[1])

    @property
    def ca(self):
        return self.ready["ca"]

    def url(self, host, path):
        return "https://%s:%d%s" % (host, self.port, path)

    def resolve_args(self):
        args = []
        for h in self.listener["hosts"]:
            args += ["--resolve", "%s:%d:127.0.0.1" % (h, self.port)]
        return args

    # -- clients
    def curl(self, host, path, *args):
        """Runs curl against HOST (resolved to the listener) and PATH; returns (status,
        headers as a list of (name, value), body, curl's exit code, stderr)."""
        return run_curl(self.ca, self.resolve_args(), args, self.url(host, path))

    def w3c_lines(self, server="EX1"):
        """The IIS log of SERVER: (header lines, data lines split into fields)."""
        d = os.path.join(self.ready["logs"], server, "inetpub", "logs", "LogFiles", "W3SVC1")
        heads, lines = [], []
        for f in sorted(glob.glob(os.path.join(d, "u_ex*.log"))):
            for line in read_bytes(f).decode("utf-8").split("\r\n"):
                if not line:
                    continue
                (heads if line.startswith("#") else lines).append(line)
        return heads, [l.split(" ") for l in lines]

    def w3c_wait(self, total, server="EX1", timeout=TIMEOUT):
        """The IIS log of SERVER once it holds at least TOTAL lines. Like IIS, mrsmock writes a
        request's line after the response has gone out, so a client may see its answer a
        moment before the line exists: tests of a running server wait for the count."""
        deadline = time.monotonic() + timeout
        while True:
            heads, lines = self.w3c_lines(server)
            if len(lines) >= total or time.monotonic() > deadline:
                return heads, lines
            time.sleep(0.01)  # polling with a deadline, not a fixed wait

    def httperr_lines(self, server="EX1"):
        """The HTTPERR log of SERVER (HTTP.sys's): (header lines, data lines split into fields),
        over its numbered files in order."""
        d = os.path.join(self.ready["logs"], server, "Windows", "System32", "LogFiles", "HTTPERR")
        heads, lines = [], []
        files = glob.glob(os.path.join(d, "httperr*.log"))
        for f in sorted(files, key=lambda p: int(re.sub(r"\D", "", os.path.basename(p)))):
            for line in read_bytes(f).decode("utf-8").split("\r\n"):
                if line.startswith("#"):
                    heads.append(line)
                elif line:
                    lines.append(line.split(" "))
        return heads, lines

    def httperr_wait(self, total, server="EX1", timeout=TIMEOUT):
        """The HTTPERR log once it holds at least TOTAL lines (written after the answer)."""
        deadline = time.monotonic() + timeout
        while True:
            heads, lines = self.httperr_lines(server)
            if len(lines) >= total or time.monotonic() > deadline:
                return heads, lines
            time.sleep(0.01)  # polling with a deadline, not a fixed wait

    def stop(self, sig=signal.SIGTERM):
        if self.stopped:
            return self.proc.returncode
        self.stopped = True
        self.proc.send_signal(sig)
        try:
            out, err = self.proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError("server did not stop within %ds" % TIMEOUT)
        self.stdout += out
        self.stderr += err
        text = self.stderr.decode(errors="replace")
        for mark in SANITIZER_MARKS:
            assert mark not in text, text
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            if not self.stopped:
                rc = self.stop()
                if exc[0] is None:
                    assert rc == 0, "exit status %s; stderr: %s" % (rc, self.stderr)
        finally:
            if self.own_state:
                shutil.rmtree(self.state_dir, ignore_errors=True)


def today_log_name(now=None):
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("u_ex%y%m%d.log")


def own_scenario(body, prefix="own-"):
    """A scenario file of a test's own: BODY's elements over healthy; returns its path (the
    caller removes it)."""
    fd, path = tempfile.mkstemp(suffix=".xml", prefix=prefix)
    with os.fdopen(fd, "w") as f:
        f.write('<scenario xmlns="urn:mrsmock:scenario:1" name="own" extends="healthy">%s'
                '</scenario>' % body)
    return path
