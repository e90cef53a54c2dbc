"""Holds N idle keep-alive TLS connections to 127.0.0.1:PORT for make bench (ci/bench/run.py).

usage: idle_conns.py PORT N HOST PATH
Opens N connections (non-blocking, a few hundred handshakes in flight at a time), sends one
HTTP/1.1 keep-alive GET for PATH on each and reads its whole answer, so that each connection is
an idle keep-alive connection as a browser leaves it. Then prints one JSON line
{"opened": n, "failed": n, "seconds": s} and waits for a line on standard input; then checks
which connections the server still holds (a closed one reads end-of-file), prints
{"held": n}, closes them all and prints {"closed": n}. Python 3 standard library only.
"""
import json
import select
import selectors
import socket
import ssl
import sys
import time

IN_FLIGHT = 256


class Conn:
    def __init__(self, ctx, port, host, request):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.connect_ex(("127.0.0.1", port))
        self.fd = self.sock.fileno()
        self.ctx, self.host, self.tls = ctx, host, None
        self.state = "connect"
        self.request = request
        self.answer = b""

    def step(self):
        """Advances; returns the events to wait for, "done" or "failed"."""
        try:
            if self.state == "connect":
                err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err != 0:
                    return "failed"
                # wrapped once connected: the same descriptor, the plain object detached
                self.tls = self.ctx.wrap_socket(self.sock, server_hostname=self.host,
                                                do_handshake_on_connect=False)
                self.state = "handshake"
            if self.state == "handshake":
                self.tls.do_handshake()
                self.state = "send"
            if self.state == "send":
                n = self.tls.send(self.request)
                self.request = self.request[n:]
                if self.request:
                    return selectors.EVENT_WRITE
                self.state = "read"
            if self.state == "read":
                while True:
                    data = self.tls.recv(65536)
                    if not data:
                        return "failed"
                    self.answer += data
                    if complete(self.answer):
                        return "done"
        except ssl.SSLWantReadError:
            return selectors.EVENT_READ
        except ssl.SSLWantWriteError:
            return selectors.EVENT_WRITE
        except (OSError, ssl.SSLError):
            return "failed"


def complete(answer):
    """A whole response: its headers and Content-Length bytes of body (0 when absent)."""
    head, sep, body = answer.partition(b"\r\n\r\n")
    if not sep:
        return False
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return len(body) >= length


def main():
    port, n, host, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    request = ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: mrsmock-bench\r\n\r\n"
               % (path, host)).encode()
    sel = selectors.DefaultSelector()
    held, failed, started, pending = [], 0, 0, 0
    t0 = time.monotonic()
    while len(held) + failed < n:
        while pending < IN_FLIGHT and started < n:
            c = Conn(ctx, port, host, request)
            sel.register(c.fd, selectors.EVENT_WRITE, c)
            started += 1
            pending += 1
        for key, _ in sel.select(timeout=30):
            c = key.data
            r = c.step()
            if r in ("done", "failed"):
                sel.unregister(c.fd)
                pending -= 1
                if r == "done":
                    held.append(c)
                else:
                    failed += 1
                    (c.tls or c.sock).close()
            else:
                sel.modify(c.fd, r, c)
        if time.monotonic() - t0 > 300:
            break
    print(json.dumps({"opened": len(held), "failed": failed,
                      "seconds": round(time.monotonic() - t0, 2)}), flush=True)
    sys.stdin.readline()
    # a connection the server closed reads end-of-file: POLLRDHUP (or an error)
    poll = select.poll()
    for c in held:
        poll.register(c.fd, select.POLLRDHUP)
    closed = select.POLLRDHUP | select.POLLHUP | select.POLLERR
    gone = sum(1 for _, ev in poll.poll(0) if ev & closed)
    alive = len(held) - gone
    print(json.dumps({"held": alive}), flush=True)
    for c in held:
        c.tls.close()
    print(json.dumps({"closed": len(held)}), flush=True)


if __name__ == "__main__":
    main()
