"""Load and fault tests: the real binary on loopback, many real sockets, bounded in count and
time. Nothing here asserts a speed: answers, log lines, descriptors and CPU time spent idle.
Counts are scaled down under the sanitizer build (MRSMOCK_LOAD_SCALE, set by the Makefile
there; 1 otherwise).
"""
import os
import resource
import socket
import time
import unittest

from harness import Server, own_scenario

SCALE = float(os.environ.get("MRSMOCK_LOAD_SCALE", "1"))


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


if __name__ == "__main__":
    unittest.main()
