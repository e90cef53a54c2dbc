"""SIGTERM while requests are still arriving: the contract (DESIGN.md) is that mrsmock stops
accepting, finishes the requests in flight, writes their lines and exits 0. A request whose
headers are half sent, or whose body is still coming, is in flight: it gets its answer and its
IIS line. An idle keep-alive connection is closed. Real TLS sockets from Python.
"""
import os
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from harness import TIMEOUT, Server

HOST = "mail.contoso.com"


def connect(s):
    ctx = ssl.create_default_context(cafile=s.ca)
    raw = socket.create_connection(("127.0.0.1", s.port), timeout=TIMEOUT)
    return ctx.wrap_socket(raw, server_hostname=HOST)


def read_answer(c):
    """The status line of one response, read to its end (its Content-Length, or EOF)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for h in lines[1:]:
        k, _, v = h.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v)
    while len(body) < length:
        chunk = c.recv(65536)
        if not chunk:
            break
        body += chunk
    return lines[0]


class SigtermDrain(unittest.TestCase):
    def test_requests_still_arriving_finish(self):
        with Server("healthy") as s:
            # a keep-alive connection that has had its answer: idle, closed by the drain
            witness = connect(s)
            witness.sendall(b"GET /EWS/mrsproxy.svc HTTP/1.1\r\nHost: %s\r\n\r\n" % HOST.encode())
            self.assertIn(" 401 ", read_answer(witness))
            # headers half sent
            partial = connect(s)
            partial.sendall(b"GET /EWS/mrsproxy.svc HTTP/1.1\r\nHost: %s\r\n" % HOST.encode())
            # headers in, body still coming
            upload = connect(s)
            upload.sendall(b"POST /EWS/Exchange.asmx HTTP/1.1\r\nHost: %s\r\n"
                           b"Content-Type: text/xml\r\nContent-Length: 10\r\n\r\n12345"
                           % HOST.encode())
            s.w3c_wait(1)
            s.proc.send_signal(signal.SIGTERM)
            # once the idle one is closed, the drain has looked at every connection
            deadline = time.monotonic() + TIMEOUT
            while witness.recv(65536) != b"":
                self.assertLess(time.monotonic(), deadline)
            partial.sendall(b"\r\n")
            self.assertIn(" 401 ", read_answer(partial))
            upload.sendall(b"67890")
            self.assertIn(" 401 ", read_answer(upload))
            for c in (witness, partial, upload):
                c.close()
            self.assertEqual(s.stop(), 0)
            _, lines = s.w3c_lines()
            self.assertEqual([(l[3], l[4], l[11]) for l in lines], [
                ("GET", "/EWS/mrsproxy.svc", "401"),
                ("GET", "/EWS/mrsproxy.svc", "401"),
                ("POST", "/EWS/Exchange.asmx", "401")])

    def test_http2_upload_still_coming_finishes(self):
        # curl uploads a body over HTTP/2 at 100 bytes a second; SIGTERM once its request's
        # headers are sent. libh2o's second GOAWAY (a second after the first) would cut the
        # stream: it waits until the request is in, and the answer and its line come before
        # the exit
        body = tempfile.NamedTemporaryFile("wb", suffix=".xml", delete=False)
        body.write(b"<x>" + b"a" * 240 + b"</x>")
        body.close()
        try:
            with Server("healthy") as s:
                curl = subprocess.Popen(
                    ["curl", "-sSv", "--http2", "--cacert", s.ca, *s.resolve_args(),
                     "--basic", "-u", "admin:wrong", "-H", "Content-Type: text/xml",
                     "--limit-rate", "100", "--data-binary", "@" + body.name,
                     "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                     s.url(HOST, "/EWS/Exchange.asmx")],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                seen = ""
                while "> POST /EWS/Exchange.asmx HTTP/2" not in seen:
                    line = curl.stderr.readline()
                    self.assertTrue(line, "curl ended first: " + seen)
                    seen += line
                s.proc.send_signal(signal.SIGTERM)
                out, err = curl.communicate(timeout=TIMEOUT)
                err = seen + err
                self.assertEqual((curl.returncode, out), (0, "2 401"), err)
                self.assertEqual(s.stop(), 0)
                _, lines = s.w3c_lines()
                self.assertEqual([(l[3], l[4], l[11]) for l in lines],
                                 [("POST", "/EWS/Exchange.asmx", "401")])
        finally:
            os.unlink(body.name)


if __name__ == "__main__":
    unittest.main()
