"""A small MRS Proxy client for the integration tests: the SOAP 1.2 / WS-Addressing 1.0 /
WS-ReliableMessaging messages a WCF client of IMailboxReplicationProxyService sends (reference
4.3, 4.4), written as WCF writes them, and one keep-alive HTTPS connection to post them on."""
import base64
import http.client
import socket
import ssl
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

S = "http://www.w3.org/2003/05/soap-envelope"
A = "http://www.w3.org/2005/08/addressing"
RM = "http://schemas.xmlsoap.org/ws/2005/02/rm"
RM11 = "http://docs.oasis-open.org/ws-rx/wsrm/200702"
NETRM = "http://schemas.microsoft.com/ws/2006/05/rm"
TEMPURI = "http://tempuri.org/"
MRS = "http://schemas.datacontract.org/2004/07/Microsoft.Exchange.MailboxReplicationService"
CONTRACT = "http://tempuri.org/IMailboxReplicationProxyService/"
ANON = "http://www.w3.org/2005/08/addressing/anonymous"
SOAP12 = "application/soap+xml; charset=utf-8"
UNKNOWN_SEQUENCE = "The value of wsrm:Identifier is not a known Sequence identifier."
ADMIN = ("admin", "P@ssw0rd!")

# The connectivity test's clientVersion: an Exchange Online MRS (shape of the decompiled
# VersionInformation data contract; the values are illustrative).
CLIENT_VERSION = ('<clientVersion xmlns:b="%s" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">'
                  '<b:BuildMajor>6000</b:BuildMajor><b:BuildMinor>12</b:BuildMinor>'
                  '<b:ComputerName>AM0PR01MB1234.eurprd01.prod.exchangelabs.com</b:ComputerName>'
                  '<b:ProductMajor>15</b:ProductMajor><b:ProductMinor>20</b:ProductMinor>'
                  '<b:SupportedCapabilities>/////w8=</b:SupportedCapabilities></clientVersion>'
                  % MRS)


def q(ns, name):
    return "{%s}%s" % (ns, name)


def urn():
    return "urn:uuid:%s" % uuid.uuid4()


def envelope(action, body="", headers="", to=None, message_id=None, rm=RM):
    """A SOAP 1.2 envelope as WCF writes it: prefixes s, r, a on the envelope; Action with
    mustUnderstand; MessageID and anonymous ReplyTo for requests (message_id=False: none)."""
    h = headers + '<a:Action s:mustUnderstand="1">%s</a:Action>' % escape(action)
    if message_id is not False:
        h += "<a:MessageID>%s</a:MessageID>" % (message_id or urn())
        h += "<a:ReplyTo><a:Address>%s</a:Address></a:ReplyTo>" % ANON
    if to:
        h += '<a:To s:mustUnderstand="1">%s</a:To>' % escape(to)
    return ('<s:Envelope xmlns:s="%s" xmlns:r="%s" xmlns:a="%s"><s:Header>%s</s:Header>'
            "<s:Body>%s</s:Body></s:Envelope>" % (S, rm, A, h, body)).encode()


def create_sequence(offer, rm=RM, to=None, message_id=None):
    body = ("<r:CreateSequence><r:AcksTo><a:Address>%s</a:Address></r:AcksTo>" % ANON +
            ("<r:Offer><r:Identifier>%s</r:Identifier></r:Offer>" % offer if offer else "") +
            "</r:CreateSequence>")
    return envelope(rm + "/CreateSequence", body, to=to, message_id=message_id, rm=rm)


def sequence_header(seq, n, last=False):
    return ('<r:Sequence s:mustUnderstand="1"><r:Identifier>%s</r:Identifier>'
            "<r:MessageNumber>%d</r:MessageNumber>%s</r:Sequence>"
            % (seq, n, "<r:LastMessage/>" if last else ""))


def operation(op, seq, n, body=None, ack_requested=True, rm=RM, message_id=None,
              ack_offer=None):
    """Message N of sequence SEQ calling OP; WCF asks for an acknowledgement with each request
    and acknowledges the replies it got on the offered sequence ACK_OFFER=(id, upper)."""
    headers = sequence_header(seq, n)
    if ack_requested:
        headers += "<r:AckRequested><r:Identifier>%s</r:Identifier></r:AckRequested>" % seq
    if ack_offer:
        headers += ('<r:SequenceAcknowledgement><r:Identifier>%s</r:Identifier>'
                    '<r:AcknowledgementRange Lower="1" Upper="%d"/></r:SequenceAcknowledgement>'
                    % ack_offer)
    if body is None:
        body = '<%s xmlns="%s"/>' % (op, TEMPURI)
    return envelope(CONTRACT + op, body, headers, message_id=message_id, rm=rm)


def exchange_version_information(seq, n, **kw):
    body = '<ExchangeVersionInformation xmlns="%s">%s</ExchangeVersionInformation>' % (
        TEMPURI, CLIENT_VERSION)
    return operation("ExchangeVersionInformation", seq, n, body, **kw)


def last_message(seq, n):
    return envelope(RM + "/LastMessage", "", sequence_header(seq, n, last=True), message_id=False)


def terminate_sequence(seq, rm=RM, last=None):
    body = "<r:TerminateSequence><r:Identifier>%s</r:Identifier>%s</r:TerminateSequence>" % (
        seq, "<r:LastMsgNumber>%d</r:LastMsgNumber>" % last if last is not None else "")
    return envelope(rm + "/TerminateSequence", body, rm=rm,
                    message_id=None if rm == RM11 else False)


def close_sequence(seq, last):
    body = ("<r:CloseSequence><r:Identifier>%s</r:Identifier>"
            "<r:LastMsgNumber>%d</r:LastMsgNumber></r:CloseSequence>" % (seq, last))
    return envelope(RM11 + "/CloseSequence", body, rm=RM11)


class Client:
    """One keep-alive HTTP/1.1 connection over TLS to a running mrsmock, as a WCF client keeps
    one to the MRS Proxy; `host` is what SNI and the Host header carry."""

    def __init__(self, server, host="mail.contoso.com", auth=ADMIN):
        ctx = ssl.create_default_context(cafile=server.ca)
        self.port = server.port
        self.host = host
        self.conn = http.client.HTTPSConnection(host, self.port, context=ctx, timeout=20)
        self.conn._create_connection = lambda addr, timeout=None, source=None: \
            socket.create_connection(("127.0.0.1", self.port), timeout)
        self.auth = auth

    @property
    def url(self):
        return "https://%s:%d/EWS/mrsproxy.svc" % (self.host, self.port)

    def post(self, body, content_type=SOAP12, auth=True, path="/EWS/mrsproxy.svc"):
        """Returns (status, headers dict with lower-case names, body bytes)."""
        headers = {"Content-Type": content_type}
        if auth and self.auth:
            token = base64.b64encode(("%s:%s" % self.auth).encode()).decode()
            headers["Authorization"] = "Basic " + token
        self.conn.request("POST", path, body=body, headers=headers)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data

    def get(self, path="/EWS/mrsproxy.svc"):
        """A browser's authenticated GET: (status, headers, body)."""
        token = base64.b64encode(("%s:%s" % self.auth).encode()).decode()
        self.conn.request("GET", path, headers={"Authorization": "Basic " + token})
        r = self.conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data

    def soap(self, body, **kw):
        """Posts BODY and parses the answer: (status, Envelope element or None)."""
        st, _, data = self.post(body, **kw)
        return st, (ET.fromstring(data) if data else None)

    def close(self):
        self.conn.close()


def header(env, ns, name):
    return env.find("%s/%s" % (q(S, "Header"), q(ns, name)))


def action(env):
    return env.findtext("%s/%s" % (q(S, "Header"), q(A, "Action")))


def body(env):
    return env.find(q(S, "Body"))


def ack_ranges(env, ns=RM):
    """The (Lower, Upper) pairs of the reply's SequenceAcknowledgement, and its identifier."""
    ack = header(env, ns, "SequenceAcknowledgement")
    if ack is None:
        return None, None
    return ack.findtext(q(ns, "Identifier")), [
        (int(r.get("Lower")), int(r.get("Upper"))) for r in ack.findall(q(ns, "AcknowledgementRange"))]


def reply_sequence(env, ns=RM):
    """(identifier, number, last) of the reply's r:Sequence header, or None."""
    seq = header(env, ns, "Sequence")
    if seq is None:
        return None
    return (seq.findtext(q(ns, "Identifier")), int(seq.findtext(q(ns, "MessageNumber"))),
            seq.find(q(ns, "LastMessage")) is not None)


def fault(env):
    """(code, subcode, reason text, its xml:lang, detail element) of a SOAP 1.2 fault; the
    subcode is the QName as written (ElementTree drops the namespace declarations it needs, so
    callers check its binding in the raw text)."""
    f = body(env).find(q(S, "Fault"))
    if f is None:
        return None
    code = f.findtext("%s/%s" % (q(S, "Code"), q(S, "Value")))
    sub = f.findtext("%s/%s/%s" % (q(S, "Code"), q(S, "Subcode"), q(S, "Value")))
    text = f.find("%s/%s" % (q(S, "Reason"), q(S, "Text")))
    return code, sub, text.text, text.get("{http://www.w3.org/XML/1998/namespace}lang"), \
        f.find(q(S, "Detail"))
