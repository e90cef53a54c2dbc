"""A DNS server of the test's own for `mrsmock probe --dns`: UDP on 127.0.0.1, port 0, in a
thread, reading queries and writing answers with Debian's python3-dnspython. It keeps every
query it received (name, type, class), so that a test can say what the probe asked; what it
answers is a function of the query: a dns.message.Message, or None to stay silent."""
import socket
import threading

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


def reply(query, rcode=dns.rcode.NOERROR, records=()):
    """The authoritative answer to QUERY with RCODE and the SRV RECORDS ("priority weight port
    target." each) for the name asked. Authoritative: glibc takes an answer without records
    that is neither authoritative nor recursive for a referral and skips it."""
    r = dns.message.make_response(query)
    r.flags |= dns.flags.AA
    r.set_rcode(rcode)
    if records:
        r.answer.append(dns.rrset.from_text(query.question[0].name, 300, "IN", "SRV", *records))
    return r


def nxdomain(query):
    return reply(query, dns.rcode.NXDOMAIN)


def silent(query):
    return None


class DnsServer:
    """`with DnsServer(answer) as d:` serves until the block ends; d.addr is "127.0.0.1:PORT"
    for --dns, d.queries what came, (name, type, class) as text."""

    def __init__(self, answer=nxdomain):
        self.answer = answer
        self.queries = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.addr = "127.0.0.1:%d" % self.port
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        while not self.stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                continue
            try:
                q = dns.message.from_wire(data)
            except Exception:  # not DNS: a real server ignores it too
                continue
            for rr in q.question:
                self.queries.append((rr.name.to_text(), dns.rdatatype.to_text(rr.rdtype),
                                     dns.rdataclass.to_text(rr.rdclass)))
            r = self.answer(q)
            if r is not None:
                self.sock.sendto(r.to_wire(), peer)

    def start(self):
        self.thread.start()
        return self

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


_shared = None
_shared_lock = threading.Lock()


def shared_nxdomain():
    """One NXDOMAIN server for the whole test run, started at first use, so that a probe whose
    Autodiscover candidates all fail asks it instead of the system's resolver (the machine may
    have no DNS server it can reach, and the SRV look-up would wait for --timeout)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = DnsServer(nxdomain).start()
        return _shared.addr
