"""Real TLS clients for the certificate and handshake tests: openssl s_client, curl and
Python's ssl module, each run against a listener of a running mrsmock (harness.Server) with a
deadline. What each returns is what a test asserts: the verify code and text, the exit code,
the exception."""
import json
import os
import re
import socket
import ssl
import subprocess
import tempfile
import urllib.request

from harness import Server

CLIENT_TIMEOUT = 10


def port_of(server, name=None):
    """The port of listener NAME (the first one when None) from the ready line."""
    for l in server.ready["listeners"]:
        if name is None or l["name"] == name:
            return int(l["url"].rsplit(":", 1)[1])
    raise KeyError(name)


class SClient:
    """One openssl s_client run: rc, output, verify code and the negotiated protocol/cipher."""

    def __init__(self, port, host="mail.contoso.com", ca=None, args=(), timeout=CLIENT_TIMEOUT,
                 stdin=b"Q\n"):
        cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-verify_return_error"]
        cmd += ["-servername", host, "-verify_hostname", host] if host else ["-noservername"]
        if ca:
            cmd += ["-CAfile", ca]
        cmd += list(args)
        self.timed_out = False
        try:
            p = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout)
            self.rc = p.returncode
            self.out = (p.stdout + p.stderr).decode(errors="replace")
        except subprocess.TimeoutExpired as e:
            self.timed_out = True
            self.rc = None
            self.out = ((e.stdout or b"") + (e.stderr or b"")).decode(errors="replace")
        m = re.search(r"verify error:num=(\d+):([^\n]*)", self.out)
        self.verify_code = int(m.group(1)) if m else None
        self.verify_text = m.group(2) if m else None
        m = re.search(r"Verify return code: (\d+)", self.out)
        self.verify_return = int(m.group(1)) if m else None
        # "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384"; "New, (NONE), Cipher is (NONE)"
        m = re.search(r"^New, ([^,]+), Cipher is (\S+)", self.out, re.M)
        self.protocol = m.group(1) if m and m.group(1) != "(NONE)" else None
        self.cipher = m.group(2) if m and m.group(2) != "(NONE)" else None
        self.chain_len = len(re.findall(r"^\s*\d+ s:", self.out, re.M))

    @property
    def handshake_ok(self):
        return self.rc == 0 and self.protocol is not None and self.cipher is not None


def curl(port, host="mail.contoso.com", ca=None, path="/EWS/Exchange.asmx", args=(),
         timeout=CLIENT_TIMEOUT):
    """curl's (exit code, stderr) for https://HOST:PORT/PATH resolved to 127.0.0.1. HTTP/1.1, so
    that one call is one handshake (over HTTP/2 the Windows authentication of EWS sends curl
    back to HTTP/1.1 on a second connection, which a handshake schedule would count)."""
    cmd = ["curl", "-sS", "--http1.1", "-o", os.devnull,
           "--resolve", "%s:%d:127.0.0.1" % (host, port)]
    if ca:
        cmd += ["--cacert", ca]
    cmd += list(args) + ["https://%s:%d%s" % (host, port, path)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 5)
    return p.returncode, p.stderr


def py_connect(port, host="mail.contoso.com", ca=None, timeout=CLIENT_TIMEOUT, context=None):
    """Python's ssl handshake: None when it succeeds, else the exception raised."""
    ctx = context or ssl.create_default_context(cafile=ca)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname=host) as s:
                s.version()
        return None
    except (ssl.SSLError, OSError) as e:
        return e


def leaf_pem(port, host="mail.contoso.com"):
    """The certificate the listener serves for HOST, as PEM (no verification)."""
    pem = ssl.get_server_certificate(("127.0.0.1", port), timeout=CLIENT_TIMEOUT)
    return pem


def crl_urls(pem):
    """The CRL distribution point URLs of a PEM certificate."""
    p = subprocess.run(["openssl", "x509", "-noout", "-ext", "crlDistributionPoints"],
                       input=pem, capture_output=True, text=True, timeout=CLIENT_TIMEOUT)
    return re.findall(r"URI:(\S+)", p.stdout)


def fetch(url):
    """GET URL (on this machine): (status, content type, body)."""
    with urllib.request.urlopen(url, timeout=CLIENT_TIMEOUT) as r:
        return r.status, r.headers.get("Content-Type"), r.read()


def testssl_protocols(port):
    """testssl.sh's protocol findings for 127.0.0.1:PORT, as {id: finding}."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out.json")
        subprocess.run(["testssl", "--protocols", "--quiet", "--color", "0", "--warnings", "off",
                        "--connect-timeout", "5", "--openssl-timeout", "5", "--jsonfile", out,
                        "127.0.0.1:%d" % port], capture_output=True, timeout=90)
        with open(out) as f:
            return {e["id"]: e["finding"] for e in json.load(f)}


DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                    "scenarios")


def data_scenario(name):
    return os.path.join(DATA, name)


__all__ = ["Server", "SClient", "curl", "py_connect", "leaf_pem", "crl_urls", "fetch",
           "testssl_protocols", "data_scenario", "port_of"]
