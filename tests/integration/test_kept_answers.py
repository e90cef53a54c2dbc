"""Answers kept by the workers (flow_cache.c): an endpoint whose answer follows from the
generation, the server, the caller and the request (EWS's operations, POX's settings) answers the
same request again from what it kept. What is checked here is that it is the same answer, the
caller's own, and never one of an earlier scenario after a reload."""
import os
import signal
import time
import unittest

import ews_util as ews
from ad_util import pox_request
from harness import Server, TIMEOUT, own_scenario

USER1 = ("user1", "Passw0rd1")


def pox(s, addr, user):
    st, _, body, rc, err = s.curl("autodiscover.contoso.com", "/autodiscover/autodiscover.xml",
                                  "--http1.1", "-u", "%s:%s" % user, "-H",
                                  "Content-Type: text/xml; charset=utf-8", "--data-binary",
                                  pox_request(addr))
    assert rc == 0, err
    return st, body


class KeptAnswers(unittest.TestCase):
    def test_same_request_same_answer_per_caller(self):
        with Server("healthy") as s:
            req = ews.envelope(ews.get_folder("inbox"))
            first = [ews.post(s, req) for _ in range(6)]  # both workers, several times
            self.assertEqual({(a[0], a[2]) for a in first}, {(first[0][0], first[0][2])})
            self.assertEqual(first[0][0], 200)
            # the same bytes from another caller: that caller's own folder
            other = ews.post(s, req, user=USER1)
            self.assertEqual(other[0], 200)
            self.assertNotEqual(other[2], first[0][2])
            self.assertEqual(ews.post(s, req, user=USER1)[2], other[2])
            # every request is logged as if answered anew
            _, lines = s.w3c_wait(8)
            self.assertEqual([l[11] for l in lines if l[4] == "/EWS/Exchange.asmx"], ["200"] * 8)

    def test_a_reload_is_never_answered_from_before(self):
        path = own_scenario('<organization><account sam="admin" display-name="Before"/>'
                            '</organization>', prefix="kept-")
        try:
            with Server(path) as s:
                for _ in range(4):
                    st, body = pox(s, "admin@contoso.com", ews.ADMIN)
                    self.assertEqual(st, 200)
                    self.assertIn(b"<DisplayName>Before</DisplayName>", body)
                with open(path) as f:
                    text = f.read()
                with open(path, "w") as f:
                    f.write(text.replace('display-name="Before"', 'display-name="After"'))
                s.proc.send_signal(signal.SIGHUP)
                deadline = time.monotonic() + TIMEOUT
                seen = set()
                while time.monotonic() < deadline:
                    body = pox(s, "admin@contoso.com", ews.ADMIN)[1]
                    seen.add(b"After" in body)
                    if b"<DisplayName>After</DisplayName>" in body:
                        break
                    time.sleep(0.05)
                self.assertIn(b"<DisplayName>After</DisplayName>", body)
                # once reloaded, both workers answer from the new scenario only
                for _ in range(6):
                    self.assertIn(b"<DisplayName>After</DisplayName>",
                                  pox(s, "admin@contoso.com", ews.ADMIN)[1])
        finally:
            os.unlink(path)


if __name__ == "__main__":
    unittest.main()
