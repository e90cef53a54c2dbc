"""A pytest fixture for testing a migration tool against mrsmock: copy this file next to your
tests. It starts one mrsmock for the session (on free ports, with the admin API), and before each
test switches it to the test's scenario (@pytest.mark.scenario("name"); "healthy" by default)
and resets its journal, so that a test can wait for exactly the requests its tool made:

    @pytest.mark.scenario("wrong-credentials")
    def test_my_tool_reports_a_bad_password(mrsmock):
        run_my_tool(mrsmock.url("mail.contoso.com", "/EWS/mrsproxy.svc"), cafile=mrsmock.ca)
        entry = mrsmock.wait(count=1, path="/EWS/mrsproxy.svc", status=401)[0]
        assert entry["win32_status"] == 1326, entry["why"]

The binary is $MRSMOCK_BIN, else `mrsmock` on the PATH. Nothing here sleeps: the fixture reads
the ready line, and wait() is the admin API's long poll.
"""
import json
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request

import pytest


class Mrsmock:
    def __init__(self, binary, state_dir):
        self.proc = subprocess.Popen(
            [binary, "run", "healthy", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
             "--state-dir", state_dir], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        line = self.proc.stdout.readline()  # the ready line: one JSON object
        if not line:
            raise RuntimeError("mrsmock did not start: " + self.proc.stderr.read())
        self.ready = json.loads(line)
        self.admin = self.ready["admin"]
        self.ca = self.ready["ca"]

    # -- the admin API
    def call(self, method, path, body=None, content_type="application/json"):
        req = urllib.request.Request(self.admin + path, method=method, data=body,
                                     headers={"Content-Type": content_type} if body else {})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def switch(self, name=None, file=None, document=None):
        """Serves another scenario: a bundled NAME, a FILE, or a DOCUMENT (XML text)."""
        if document is not None:
            st, body = self.call("PUT", "/scenario", document.encode(), "application/xml")
        else:
            arg = {"name": name} if name is not None else {"file": file}
            st, body = self.call("PUT", "/scenario", json.dumps(arg).encode())
        if st != 200:
            raise AssertionError("cannot switch scenario: %s" % body)
        return body

    def reset(self):
        assert self.call("POST", "/reset")[0] == 200

    def requests(self, **filters):
        return self.call("GET", "/requests?" + urllib.parse.urlencode(filters))[1]["requests"]

    def wait(self, count=1, timeout_ms=10000, **filters):
        """The first COUNT journal entries matching FILTERS (server, listener, host, path,
        method, status, user), as soon as they exist; AssertionError at the timeout."""
        q = dict(filters, count=count, timeout=timeout_ms)
        st, body = self.call("GET", "/requests/wait?" + urllib.parse.urlencode(q))
        if body.get("timed_out"):
            raise AssertionError("%d requests seen of %d awaited: %s" %
                                 (len(body["requests"]), count, body["requests"]))
        return body["requests"][:count]

    # -- where clients connect
    @property
    def listener(self):
        return self.ready["listeners"][0]

    @property
    def port(self):
        return int(self.listener["url"].rsplit(":", 1)[1])

    def url(self, host, path):
        """The URL of PATH on HOST; HOST resolves to 127.0.0.1 through resolve()."""
        return "https://%s:%d%s" % (host, self.port, path)

    def resolve(self):
        """curl's --resolve arguments for the listener's host names."""
        args = []
        for h in self.listener["hosts"]:
            args += ["--resolve", "%s:%d:127.0.0.1" % (h, self.port)]
        return args

    def stop(self):
        self.proc.terminate()
        self.proc.communicate(timeout=30)


def pytest_configure(config):
    config.addinivalue_line("markers", "scenario(name): the mrsmock scenario the test runs on")


@pytest.fixture(scope="session")
def mrsmock_server():
    state = tempfile.mkdtemp(prefix="mrsmock-")
    server = Mrsmock(os.environ.get("MRSMOCK_BIN") or shutil.which("mrsmock") or "mrsmock", state)
    yield server
    server.stop()
    shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def mrsmock(mrsmock_server, request):
    marker = request.node.get_closest_marker("scenario")
    mrsmock_server.switch(name=marker.args[0] if marker else "healthy")
    mrsmock_server.reset()
    return mrsmock_server
