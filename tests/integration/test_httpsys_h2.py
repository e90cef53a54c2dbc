"""HTTP.sys's MinSendRate over HTTP/2 (IIS minBytesPerSecond): a client that stops taking its
connection's frames is reset with a connection line Timer_MinBytesPerSecond in HTTPERR, even
past its idle timer (whose GOAWAY would wait for the stuck write for ever); one that keeps up
is served; 0 turns the timer off. The client is a real HTTP/2 stack (python3-h2)."""
import unittest

from test_httpsys import Pipelined, limits_server, newest_requests, run_until_stalled

try:
    import h2.config
    import h2.connection
    import h2.events
except ImportError:  # ci/deps.sh installs python3-h2
    h2 = None

# Streams a client opens: their answers and refusals (about 5 MB) are more than the kernel's
# buffers hold
N = 150000
# A wrong password (admin:not-the-password): the 401 goes over HTTP/2 (anonymous requests are
# sent back to HTTP/1.1)
AUTH = "Basic YWRtaW46bm90LXRoZS1wYXNzd29yZA=="


class Flood(h2.connection.H2Connection if h2 else object):
    """python3-h2's client connection, for a client that opens its streams without waiting for
    the server's SETTINGS (the server refuses those past its limit, with RST_STREAM): such a
    client knows no limit, and h2 counting its open streams on every new one (a walk of all of
    them) would make a flood of 40,000 quadratic."""

    @property
    def open_outbound_streams(self):
        return 0


class H2Client(Pipelined):
    """One HTTP/2 connection to EWS that sends N GETs as fast as it can, never waiting for the
    server's SETTINGS nor answers (each is answered with a 401 of about 100 bytes of frames, or
    refused past the server's 100 concurrent streams), and reads at most BPS bytes a second (0:
    never), its receive buffer small: the answers and refusals fill the kernel's buffers both
    ways, and libh2o then waits for the client to take them."""

    def __init__(self, s, n, bps):
        super().__init__(s, 0, bps, alpn=["h2"])
        if self.t.selected_alpn_protocol() != "h2":
            raise AssertionError("no h2: %r" % self.t.selected_alpn_protocol())
        self.h2 = Flood(h2.config.H2Configuration(client_side=True))
        self.h2.initiate_connection()
        self.n, self.opened = n, 0
        self.answers = self.refused = 0  # streams ended with a 401; refused streams
        self.statuses = {}  # stream: the status of its answer, until the stream ends
        self.out = self.h2.data_to_send()

    def pending(self):
        while self.opened < self.n and len(self.out) < 65536:
            self.h2.send_headers(self.h2.get_next_available_stream_id(),
                                 [(":method", "GET"), (":scheme", "https"),
                                  (":authority", "mail.contoso.com"),
                                  (":path", "/EWS/Exchange.asmx"), ("authorization", AUTH)],
                                 end_stream=True)
            self.opened += 1
            self.out += self.h2.data_to_send()
        return self.out[:16384]

    def sent_some(self, n):
        self.out = self.out[n:]

    def received(self, data):
        for ev in self.h2.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived):
                self.statuses[ev.stream_id] = dict(ev.headers).get(b":status")
            elif isinstance(ev, h2.events.StreamEnded):
                self.answers += self.statuses.pop(ev.stream_id, None) == b"401"
            elif isinstance(ev, h2.events.StreamReset):
                self.refused += 1
        self.out += self.h2.data_to_send()

    def finished(self):
        return self.answers + self.refused


@unittest.skipIf(h2 is None, "python3-h2 is not installed (ci/deps.sh installs it)")
class MinBytesPerSecondH2(unittest.TestCase):
    def test_client_that_takes_nothing_is_cut_past_its_idle_timer(self):
        with limits_server('idle-timeout="1s" min-bytes-per-second="20000"',
                           "--admin", "127.0.0.1:0") as s:
            c = H2Client(s, N, 0)
            try:
                c.run(lambda: s.httperr_lines()[1], 30)
                _, lines = s.httperr_wait(1)
                self.assertEqual(lines[0][2:], ["127.0.0.1", str(c.port), "127.0.0.1",
                                                str(s.port), "-", "-", "-", "-", "-",
                                                "Timer_MinBytesPerSecond", "-"])
                # another client meanwhile is served at once
                st, _, _, rc, err = s.curl("mail.contoso.com", "/EWS/Exchange.asmx",
                                           "--http2")
                self.assertEqual((st, rc), (401, 0), err)
                # the client reads again: the connection is gone, long before every stream
                # it opened has ended
                c.drain()
                self.assertIsNotNone(c.ended)
                self.assertLess(c.finished(), N)
            finally:
                c.t.close()
            # its requests logged as usual (a wrong password: 401 1 1326), those whose
            # answers were still being sent with the error of that send (1236), and curl's
            # anonymous one; one line in HTTPERR
            _, w3c = s.w3c_wait(c.answers + 2)
            got = {tuple(l[11:14]) for l in w3c}
            self.assertEqual(got, {("401", "1", "1326"), ("401", "1", "1236"),
                                   ("401", "2", "5")})
            self.assertEqual(len(s.httperr_lines()[1]), 1)
            # and the journal says why
            cut = [e for e in newest_requests(s, 1000)
                   if e["client"]["port"] == c.port and e["win32_status"] == 1236]
            self.assertTrue(cut)
            self.assertEqual({e["why"][-1] for e in cut},
                             {"httpsys: the client took the answer slower than "
                              "min-bytes-per-second (20000 bytes/s): reset, a connection "
                              "line in HTTPERR"})

    def stall(self, s, c):
        """Runs C until libh2o waits on it (no IIS line for 3 s)."""
        self.assertGreater(run_until_stalled(s, c), 0)
        self.assertIsNone(c.ended)

    def test_client_slower_than_the_rate_is_cut(self):
        with limits_server('min-bytes-per-second="20000"') as s:
            c = H2Client(s, N, 12000)
            try:
                c.run(lambda: s.httperr_lines()[1], 60)
                _, lines = s.httperr_wait(1)
                self.assertEqual(lines[0][2:4], ["127.0.0.1", str(c.port)])
                self.assertEqual(lines[0][11], "Timer_MinBytesPerSecond")
                self.assertGreater(c.got, 0)
                c.drain()
                self.assertIsNotNone(c.ended)
                self.assertLess(c.finished(), N)
            finally:
                c.t.close()

    def test_client_that_keeps_up_is_served(self):
        # it takes nothing until libh2o waits on it (the timer runs: at 1000 bytes/s its slack
        # lasts more than those 3 s), then takes the rest at 1 MB/s
        with limits_server('min-bytes-per-second="1000"') as s:
            c = H2Client(s, N, 0)
            try:
                self.stall(s, c)
                c.bps = 1000000
                c.run(lambda: c.finished() >= N, c.time() - c.start + 90)
                self.assertIsNone(c.ended)
                self.assertEqual(c.finished(), N)
                self.assertGreater(c.answers, 100)
            finally:
                c.t.close()
            self.assertEqual(s.httperr_lines()[1], [])

    def test_zero_turns_it_off(self):
        with limits_server('min-bytes-per-second="0"') as s:
            c = H2Client(s, N, 0)
            try:
                self.stall(s, c)
                self.assertEqual(s.httperr_lines()[1], [])
                # still there: it reads, and every stream it opened ends, answered or
                # refused
                c.bps = 10000000
                c.run(lambda: c.finished() >= N, c.time() - c.start + 60)
                self.assertEqual(c.finished(), N)
            finally:
                c.t.close()


if __name__ == "__main__":
    unittest.main()
