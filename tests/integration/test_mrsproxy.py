"""The MRS Proxy endpoint through a real HTTPS client: a WS-ReliableMessaging session as a WCF
client of IMailboxReplicationProxyService drives it (CreateSequence, ExchangeVersionInformation,
a second call, LastMessage, TerminateSequence), the faults WCF and MRS answer with, the
connection limit, MRSProxyEnabled false, and the IIS lines each leaves."""
import base64
import os
import re
import shutil
import tempfile
import unittest

from harness import Server
import mrs_util as m
from mrs_util import A, MRS, RM, RM11, S, TEMPURI, q

GUID_URN = r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"


def triples(server, path="/EWS/mrsproxy.svc"):
    """(method, sc-status, sc-substatus, sc-win32-status, cs-username) of the IIS lines."""
    _, lines = server.w3c_lines()
    return [(f[3], f[11], f[12], f[13], f[7]) for f in lines if f[4] == path]


class Session(unittest.TestCase):
    """A whole session against `healthy` (Exchange 2016 EX1, build 15.1.2507.6)."""

    def test_session(self):
        with Server("healthy") as s:
            c = m.Client(s)
            offer = m.urn()
            create_id = m.urn()
            st, env = c.soap(m.create_sequence(offer, to=c.url, message_id=create_id))
            self.assertEqual(st, 200)
            self.assertEqual(m.action(env), RM + "/CreateSequenceResponse")
            self.assertEqual(env.findtext("%s/%s" % (q(S, "Header"), q(A, "RelatesTo"))),
                             create_id)
            csr = m.body(env).find(q(RM, "CreateSequenceResponse"))
            seq = csr.findtext(q(RM, "Identifier"))
            self.assertRegex(seq, GUID_URN)
            self.assertEqual(csr.findtext("%s/%s/%s" % (q(RM, "Accept"), q(RM, "AcksTo"),
                                                        q(A, "Address"))), c.url)

            # the connectivity test's call, with AckRequested as WCF sends it
            st, h, raw = c.post(m.exchange_version_information(seq, 1))
            self.assertEqual(st, 200, raw)
            self.assertEqual(h["content-type"], m.SOAP12)
            self.assertFalse(raw.startswith(b"<?xml"))  # WCF writes no XML declaration
            env = m.ET.fromstring(raw)
            self.assertEqual(m.action(env),
                             m.CONTRACT + "ExchangeVersionInformationResponse")
            self.assertEqual(m.ack_ranges(env), (seq, [(1, 1)]))
            self.assertEqual(m.reply_sequence(env), (offer, 1, False))
            v = m.body(env).find("%s/%s" % (q(TEMPURI, "ExchangeVersionInformationResponse"),
                                            q(TEMPURI, "serverVersion")))
            self.assertIsNotNone(v, raw)
            self.assertEqual([(e.tag.split("}")[1], e.text) for e in v][:5],
                             [("BuildMajor", "2507"), ("BuildMinor", "6"),
                              ("ComputerName", "ex1.contoso.com"), ("ProductMajor", "15"),
                              ("ProductMinor", "1")])
            caps = base64.b64decode(v.findtext(q(MRS, "SupportedCapabilities")))
            self.assertEqual(len(caps), 11)
            self.assertTrue(caps[3] & 1)  # bit 24: TenantHint, which MRS requires

            # a second call, acknowledging the first reply
            st, env = c.soap(m.operation("CloseHandle", seq, 2, '<CloseHandle xmlns="%s">'
                                         '<handle>0</handle></CloseHandle>' % TEMPURI,
                                         ack_offer=(offer, 1)))
            self.assertEqual(st, 200)
            self.assertEqual(m.action(env), m.CONTRACT + "CloseHandleResponse")
            self.assertIsNotNone(m.body(env).find(q(TEMPURI, "CloseHandleResponse")))
            self.assertEqual(m.ack_ranges(env), (seq, [(1, 2)]))
            self.assertEqual(m.reply_sequence(env), (offer, 2, False))

            # closing as WCF does with February 2005: LastMessage, then TerminateSequence
            st, env = c.soap(m.last_message(seq, 3))
            self.assertEqual(st, 200)
            self.assertEqual(m.action(env), RM + "/LastMessage")
            self.assertEqual(m.reply_sequence(env), (offer, 3, True))
            self.assertEqual(m.ack_ranges(env), (seq, [(1, 3)]))
            st, env = c.soap(m.terminate_sequence(seq))
            self.assertEqual(st, 200)
            self.assertEqual(m.action(env), RM + "/TerminateSequence")
            self.assertEqual(m.body(env).findtext("%s/%s" % (q(RM, "TerminateSequence"),
                                                             q(RM, "Identifier"))), offer)
            self.assertEqual(m.ack_ranges(env), (seq, [(1, 3)]))

            # the sequence is gone
            st, env = c.soap(m.exchange_version_information(seq, 4))
            self.assertEqual(st, 500)
            self.assertEqual(m.fault(env)[2], m.UNKNOWN_SEQUENCE)
            # stopped with the client's connection still open, as WCF keeps it: the server
            # closes it while draining
            self.assertEqual(s.stop(), 0)
            c.close()
            self.assertEqual(triples(s), [("POST", "200", "0", "0", "admin")] * 5 +
                             [("POST", "500", "0", "0", "admin")])

    def test_retransmission_and_ack_requested(self):
        with Server("healthy") as s:
            c = m.Client(s)
            offer = m.urn()
            _, env = c.soap(m.create_sequence(offer))
            seq = m.body(env).findtext("%s/%s" % (q(RM, "CreateSequenceResponse"),
                                                  q(RM, "Identifier")))
            # AckRequested alone, before any message: the range 0-0
            st, env = c.soap(m.envelope(RM + "/AckRequested", "",
                                        "<r:AckRequested><r:Identifier>%s</r:Identifier>"
                                        "</r:AckRequested>" % seq, message_id=False))
            self.assertEqual(st, 200)
            self.assertEqual(m.action(env), RM + "/SequenceAcknowledgement")
            self.assertEqual(m.ack_ranges(env), (seq, [(0, 0)]))
            # a lost reply: the same request again gets the same reply again
            _, first = c.soap(m.exchange_version_information(seq, 1))
            st, again = c.soap(m.exchange_version_information(seq, 1))
            self.assertEqual(st, 200)
            self.assertEqual(m.reply_sequence(again), m.reply_sequence(first))
            # a gap: message 3 before 2 is taken, and the acknowledgement shows the hole
            st, env = c.soap(m.operation("CloseHandle", seq, 3))
            self.assertEqual(st, 200)
            self.assertEqual(m.ack_ranges(env), (seq, [(1, 1), (3, 3)]))
            # TerminateSequence before LastMessage: WCF faults the session
            st, raw = c.post(m.terminate_sequence(seq))[::2]
            self.assertEqual(st, 500)
            self.assertIn(b'<s:Value xmlns:a="%s">a:SequenceTerminated</s:Value>' % RM.encode(),
                          raw)
        c.close()


class Faults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server("healthy")
        cls.c = m.Client(cls.s)

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)
        cls.c.close()

    def test_unknown_sequence(self):
        seq = m.urn()
        st, h, raw = self.c.post(m.exchange_version_information(seq, 1))
        self.assertEqual(st, 500)
        self.assertEqual(h["content-type"], m.SOAP12)
        env = m.ET.fromstring(raw)
        self.assertEqual(m.action(env), "http://www.w3.org/2005/08/addressing/soap/fault")
        code, sub, text, lang, detail = m.fault(env)
        self.assertEqual((code, sub, text, lang),
                         ("s:Sender", "a:UnknownSequence", m.UNKNOWN_SEQUENCE, "en-US"))
        # the subcode's prefix is bound on the s:Value, as WCF writes it
        self.assertIn(b'<s:Value xmlns:a="%s">a:UnknownSequence</s:Value>' % RM.encode(), raw)
        self.assertEqual(detail.findtext(q(RM, "Identifier")), seq)

    def test_unknown_action_in_session(self):
        _, env = self.c.soap(m.create_sequence(m.urn()))
        seq = m.body(env).findtext("%s/%s" % (q(RM, "CreateSequenceResponse"),
                                              q(RM, "Identifier")))
        bogus = m.CONTRACT + "NoSuchOperation"
        st, env = self.c.soap(m.operation("NoSuchOperation", seq, 1))
        self.assertEqual(st, 500)
        self.assertEqual(m.action(env), "http://www.w3.org/2005/08/addressing/fault")
        code, sub, text, _, _ = m.fault(env)
        self.assertEqual((code, sub), ("s:Sender", "a:ActionNotSupported"))
        self.assertEqual(text,
                         "The message with Action '%s' cannot be processed at the receiver, due "
                         "to a ContractFilter mismatch at the EndpointDispatcher. This may be "
                         "because of either a contract mismatch (mismatched Actions between "
                         "sender and receiver) or a binding/security mismatch between the sender "
                         "and the receiver.  Check that sender and receiver have the same "
                         "contract and the same binding (including security requirements, e.g. "
                         "Message, Transport, None)." % bogus)
        # it is the request's reply in the session
        self.assertEqual(m.ack_ranges(env), (seq, [(1, 1)]))

    def test_operation_outside_session(self):
        st, env = self.c.soap(m.envelope(m.CONTRACT + "ExchangeVersionInformation",
                                         '<ExchangeVersionInformation xmlns="%s"/>' % TEMPURI))
        self.assertEqual(st, 500)
        self.assertEqual(m.fault(env)[:2], ("s:Sender", "a:ActionNotSupported"))

    def test_create_sequence_without_offer_is_refused(self):
        st, raw = self.c.post(m.create_sequence(None))[::2]
        self.assertEqual(st, 500)
        self.assertIn(b'a:CreateSequenceRefused</s:Value>', raw)

    def test_not_soap(self):
        st, _, raw = self.c.post(b"<not-xml")
        self.assertEqual((st, raw), (400, b""))
        st, _, _ = self.c.post(b"<a/>", content_type="text/xml; charset=utf-8")
        self.assertEqual(st, 415)

    def test_wsrm_11(self):
        offer = m.urn()
        st, env = self.c.soap(m.create_sequence(offer, rm=RM11))
        self.assertEqual(st, 200)
        csr = m.body(env).find(q(RM11, "CreateSequenceResponse"))
        seq = csr.findtext(q(RM11, "Identifier"))
        self.assertEqual(csr.findtext(q(RM11, "IncompleteSequenceBehavior")),
                         "DiscardFollowingFirstGap")
        st, env = self.c.soap(m.exchange_version_information(seq, 1, rm=RM11))
        self.assertEqual(st, 200)
        self.assertEqual(m.ack_ranges(env, RM11), (seq, [(1, 1)]))
        self.assertEqual(m.reply_sequence(env, RM11), (offer, 1, False))
        st, env = self.c.soap(m.close_sequence(seq, 1))
        self.assertEqual(m.action(env), RM11 + "/CloseSequenceResponse")
        self.assertIsNotNone(m.header(env, RM11, "SequenceAcknowledgement").find(q(RM11, "Final")))
        st, env = self.c.soap(m.terminate_sequence(seq, rm=RM11, last=1))
        self.assertEqual(st, 200)
        self.assertEqual(m.action(env), RM11 + "/TerminateSequenceResponse")
        self.assertEqual(m.body(env).findtext("%s/%s" % (q(RM11, "TerminateSequenceResponse"),
                                                         q(RM11, "Identifier"))), seq)


class ConnectionLimit(unittest.TestCase):
    """MRSProxyMaxConnections 2: the third session is refused with MRS's own fault."""

    def test_limit(self):
        d = tempfile.mkdtemp(prefix="mrsmock-limit-")
        try:
            path = os.path.join(d, "limit.xml")
            with open(path, "w") as f:
                f.write('<scenario xmlns="urn:mrsmock:scenario:1" name="limit" extends="healthy">'
                        '<server name="EX1"><ews mrsproxy-max-connections="2"/></server>'
                        '</scenario>')
            with Server(path) as s:
                c = m.Client(s)
                seqs = []
                for _ in range(2):
                    st, env = c.soap(m.create_sequence(m.urn()))
                    self.assertEqual(st, 200)
                    seqs.append(m.body(env).findtext("%s/%s" % (q(RM, "CreateSequenceResponse"),
                                                                q(RM, "Identifier"))))
                st, env = c.soap(m.create_sequence(m.urn()))
                self.assertEqual(st, 500)
                code, sub, text, _, detail = m.fault(env)
                self.assertEqual((code, sub), ("s:Sender", None))
                self.assertEqual(text, "The Mailbox Replication Proxy Service can't process this "
                                 "request because it has reached the maximum number of active "
                                 "MRS connections allowed. Current connections: 2, Connections "
                                 "limit: 2.")
                mf = detail.find(q(MRS, "MailboxReplicationServiceFault"))
                self.assertEqual(mf.findtext(q(MRS, "MrsErrorType")),
                                 "ProxyThrottlingLimitReached")
                self.assertEqual(mf.findtext(q(MRS, "MessageDataNonLocalized")), text)
                # one session ends: room for a new one
                self.assertEqual(c.soap(m.last_message(seqs[0], 1))[0], 200)
                self.assertEqual(c.soap(m.terminate_sequence(seqs[0]))[0], 200)
                self.assertEqual(c.soap(m.create_sequence(m.urn()))[0], 200)
                self.assertEqual(s.stop(), 0)
                c.close()
                self.assertEqual([t[1:4] for t in triples(s)],
                                 [("200", "0", "0")] * 2 + [("500", "0", "0")] +
                                 [("200", "0", "0")] * 3)
        finally:
            shutil.rmtree(d, ignore_errors=True)


class Disabled(unittest.TestCase):
    """`mrsproxy-disabled`: 401 without credentials, 403 after a Basic logon, for SOAP and for a
    browser alike."""

    def test_disabled(self):
        with Server("mrsproxy-disabled") as s:
            c = m.Client(s)
            st, h, _ = c.post(m.create_sequence(m.urn()), auth=False)
            self.assertEqual(st, 401)
            st, h, raw = c.post(m.create_sequence(m.urn()))
            self.assertEqual(st, 403)
            self.assertEqual(h["content-type"], "text/html; charset=utf-8")
            self.assertIn(b"MRS proxy service is disabled", raw)
            st, _, _ = c.get()
            self.assertEqual(st, 403)
            self.assertEqual(s.stop(), 0)
            c.close()
            self.assertEqual(triples(s), [("POST", "401", "2", "5", "-"),
                                          ("POST", "403", "0", "0", "admin"),
                                          ("GET", "403", "0", "0", "admin")])


if __name__ == "__main__":
    unittest.main()


class NotAnAdmin(unittest.TestCase):
    """`not-an-admin`: the account logs on and opens a session; its first operation is refused
    with WCF's access-denied fault, and the IIS log shows who it was."""

    def test_access_denied_after_logon(self):
        with Server("not-an-admin") as s:
            c = m.Client(s, auth=("migration", "Migr@tion2026"))
            offer = m.urn()
            st, env = c.soap(m.create_sequence(offer, to=c.url))
            self.assertEqual(st, 200)
            seq = m.body(env).find(q(RM, "CreateSequenceResponse")).findtext(q(RM, "Identifier"))
            st, env = c.soap(m.exchange_version_information(seq, 1))
            self.assertEqual(st, 500)
            self.assertEqual(m.fault(env)[2], "Access is denied.")
            # the admin of the same scenario is served
            a = m.Client(s)
            st, env = a.soap(m.create_sequence(m.urn(), to=a.url))
            seq2 = m.body(env).find(q(RM, "CreateSequenceResponse")).findtext(q(RM, "Identifier"))
            st, _ = a.soap(m.exchange_version_information(seq2, 1))
            self.assertEqual(st, 200)
            self.assertEqual(s.stop(), 0)
            c.close()
            a.close()
            self.assertEqual(triples(s)[:2], [("POST", "200", "0", "0", "migration"),
                                              ("POST", "500", "0", "0", "migration")])


class WithCurl(unittest.TestCase):
    """The same session driven by curl, one process per message, each on its own connection
    (the sequence, not the connection, carries the session): create, send, acknowledge,
    terminate, then an unknown sequence."""

    def post(self, s, data):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "body.xml")
            with open(path, "wb") as f:
                f.write(data)
            st, h, raw, rc, err = s.curl("mail.contoso.com", "/EWS/mrsproxy.svc",
                                         "-u", "%s:%s" % m.ADMIN, "--data-binary", "@" + path,
                                         "-H", "Content-Type: " + m.SOAP12)
        self.assertEqual(rc, 0, err)
        return st, m.ET.fromstring(raw) if raw else None

    def test_session_with_curl(self):
        with Server("healthy") as s:
            url = s.url("mail.contoso.com", "/EWS/mrsproxy.svc")
            offer = m.urn()
            st, env = self.post(s, m.create_sequence(offer, to=url))
            self.assertEqual(st, 200)
            seq = m.body(env).find(q(RM, "CreateSequenceResponse")).findtext(q(RM, "Identifier"))
            self.assertRegex(seq, GUID_URN)
            st, env = self.post(s, m.exchange_version_information(seq, 1))
            self.assertEqual(st, 200)
            self.assertEqual(m.action(env), m.CONTRACT + "ExchangeVersionInformationResponse")
            self.assertEqual(m.ack_ranges(env), (seq, [(1, 1)]))
            st, env = self.post(s, m.last_message(seq, 2))
            self.assertEqual(m.ack_ranges(env), (seq, [(1, 2)]))
            st, env = self.post(s, m.terminate_sequence(seq))
            self.assertEqual(st, 200)
            st, env = self.post(s, m.exchange_version_information(seq, 3))
            self.assertEqual(st, 500)
            self.assertEqual(m.fault(env)[2], m.UNKNOWN_SEQUENCE)
            self.assertEqual(s.stop(), 0)
            self.assertEqual([t[1:4] for t in triples(s)],
                             [("200", "0", "0")] * 4 + [("500", "0", "0")])
