"""Helpers for the EWS integration tests: requests as exchangelib and the EWS Managed API write
them, readers for the answers (response messages, faults, ServerVersionInfo), and a context that
points exchangelib, in this process only, at a running mrsmock."""
import contextlib
import os
import tempfile
import xml.etree.ElementTree as ET
from unittest import mock
from urllib.parse import urlparse
from xml.sax.saxutils import quoteattr

S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
E = "http://schemas.microsoft.com/exchange/services/2006/errors"
ADMIN = ("admin", "P@ssw0rd!")
USER1 = ("user1", "Passw0rd1")


def q(ns, name):
    return "{%s}%s" % (ns, name)


def envelope(body, version="Exchange2016", header="", soap=S11):
    """A request as exchangelib 4.9 writes it (services/common.py wrap(): prefixes s, m, t on
    the envelope, the XML declaration on a line of its own)."""
    rsv = '<t:RequestServerVersion Version=%s/>' % quoteattr(version) if version else ""
    return ("<?xml version='1.0' encoding='utf-8'?>\n"
            '<s:Envelope xmlns:s="%s" xmlns:m="%s" xmlns:t="%s"><s:Header>%s%s</s:Header>'
            "<s:Body>%s</s:Body></s:Envelope>" % (soap, M, T, rsv, header, body))


def get_folder(*ids, shape="Default", mailbox=None):
    """m:GetFolder of distinguished ids (or t:FolderId when an id is a tuple ("id", Id))."""
    mbx = ("<t:Mailbox><t:EmailAddress>%s</t:EmailAddress></t:Mailbox>" % mailbox
           if mailbox else "")
    refs = "".join('<t:FolderId Id=%s/>' % quoteattr(i[1]) if isinstance(i, tuple) else
                   '<t:DistinguishedFolderId Id=%s>%s</t:DistinguishedFolderId>' % (quoteattr(i), mbx)
                   for i in ids)
    return ("<m:GetFolder><m:FolderShape><t:BaseShape>%s</t:BaseShape></m:FolderShape>"
            "<m:FolderIds>%s</m:FolderIds></m:GetFolder>" % (shape, refs))


def resolve_names(entry, full=False):
    return ('<m:ResolveNames ReturnFullContactData="%s"><m:UnresolvedEntry>%s</m:UnresolvedEntry>'
            "</m:ResolveNames>" % ("true" if full else "false", entry))


def convert_id(id_, fmt="EwsId", dest="EntryId", mailbox="DUMMY"):
    """exchangelib's version probe is convert_id("DUMMY")."""
    return ('<m:ConvertId DestinationFormat="%s"><m:SourceIds><t:AlternateId Id=%s Format="%s" '
            'Mailbox=%s/></m:SourceIds></m:ConvertId>' % (dest, quoteattr(id_), fmt,
                                                          quoteattr(mailbox)))


def find_folder(parent="msgfolderroot", traversal="Shallow", shape="Default", view=""):
    return ('<m:FindFolder Traversal="%s"><m:FolderShape><t:BaseShape>%s</t:BaseShape>'
            "</m:FolderShape>%s<m:ParentFolderIds><t:DistinguishedFolderId Id=%s/>"
            "</m:ParentFolderIds></m:FindFolder>" % (traversal, shape, view, quoteattr(parent)))


class Answer:
    """A parsed EWS answer."""

    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body
        self.root = ET.fromstring(body)
        self.header = self.root.find(q(S11, "Header"))
        self.fault = self.root.find("%s/%s" % (q(S11, "Body"), q(S11, "Fault")))

    @property
    def version_info(self):
        """The attributes of h:ServerVersionInfo, or None."""
        if self.header is None:
            return None
        svi = self.header.find(q(T, "ServerVersionInfo"))
        return None if svi is None else dict(svi.attrib)

    def messages(self, op):
        """(ResponseClass, ResponseCode, element) of each m:<op>ResponseMessage."""
        rms = self.root.find("%s/%s/%s" % (q(S11, "Body"), q(M, op + "Response"),
                                           q(M, "ResponseMessages")))
        return [(rm.get("ResponseClass"), rm.findtext(q(M, "ResponseCode")), rm)
                for rm in rms.findall(q(M, op + "ResponseMessage"))]

    def fault_info(self):
        """faultcode, faultstring, e:ResponseCode, e:Message and the MessageXml values."""
        d = self.fault.find("detail")
        mx = d.find(q(T, "MessageXml"))
        return {"faultcode": self.fault.findtext("faultcode"),
                "faultstring": self.fault.findtext("faultstring"),
                "code": d.findtext(q(E, "ResponseCode")),
                "message": d.findtext(q(E, "Message")),
                "line": None if mx is None else mx.findtext(q(T, "LineNumber")),
                "position": None if mx is None else mx.findtext(q(T, "LinePosition")),
                "violation": None if mx is None else mx.findtext(q(T, "Violation"))}


def post(server, body, user=ADMIN, content_type="text/xml; charset=utf-8", extra=()):
    """POSTs BODY (str or bytes) to /EWS/Exchange.asmx with curl and Basic credentials; returns
    (status, headers, body bytes, curl exit code, curl's standard error)."""
    with tempfile.NamedTemporaryFile(suffix=".xml") as f:
        f.write(body.encode() if isinstance(body, str) else body)
        f.flush()
        return server.curl("mail.contoso.com", "/EWS/Exchange.asmx", "-u", "%s:%s" % user,
                           "-H", "Content-Type: " + content_type, "--data-binary", "@" + f.name,
                           *extra)


def ews(server, body, **kw):
    """POSTs BODY and parses the answer."""
    st, h, data, rc, err = post(server, body, **kw)
    assert rc == 0, err
    return Answer(st, h, data)


@contextlib.contextmanager
def lab_connections(server):
    """In this process, connections to the host names SERVER's listener serves go to
    127.0.0.1 (port 443 to the listener's port, other ports kept): what DNS does in a real lab.
    TLS still sends SNI and checks the certificate against the real name."""
    import urllib3.util.connection

    hosts = set(server.listener["hosts"])
    real_create = urllib3.util.connection.create_connection

    def create_connection(address, *args, **kw):
        host, port = address
        if host in hosts:
            address = ("127.0.0.1", server.port if port == 443 else port)
        return real_create(address, *args, **kw)

    with mock.patch.object(urllib3.util.connection, "create_connection", create_connection):
        yield


@contextlib.contextmanager
def exchangelib_lab(server):
    """Points exchangelib (this process only) at SERVER, the way a real lab's DNS and trust
    would: its DNS check (dnspython) passes for the listener's host names and fails for others
    (the bare domain, as for a domain without an A record); connections go there as in
    lab_connections(); the lab CA is trusted for those names; the persistent autodiscover cache
    lives in a temporary folder.

    Autodiscover picks NTLM over Basic when both are offered; until NTLM is emulated it is made
    to pick Basic (the auth_type given to Account applies to EWS only, and exchangelib 4.9's
    pox.discover() drops it: "auth_typ")."""
    import requests.adapters
    import exchangelib
    from exchangelib.autodiscover import cache
    from exchangelib.autodiscover.discovery import pox
    from exchangelib.autodiscover.discovery.base import BaseAutodiscovery
    from exchangelib.errors import TransportError
    from exchangelib.protocol import BaseProtocol
    from exchangelib.transport import BASIC

    hosts = set(server.listener["hosts"])
    real_auth = pox.get_auth_method_from_response

    def ensure_valid_hostname(self, url):
        if urlparse(url).hostname not in hosts:
            raise TransportError("%r has no DNS entry" % urlparse(url).hostname)

    def auth_method(response):
        offered = ",".join(v for k, v in response.headers.items()
                           if k.lower() == "www-authenticate").lower()
        return BASIC if "basic" in offered else real_auth(response)

    class LabAdapter(requests.adapters.HTTPAdapter):
        # verify may arrive as a bundle path (REQUESTS_CA_BUNDLE); the lab's hosts need its CA
        def cert_verify(self, conn, url, verify, cert):
            lab = verify and urlparse(url).hostname in hosts
            super().cert_verify(conn, url, server.ca if lab else verify, cert)

    with tempfile.TemporaryDirectory() as d, lab_connections(server), \
            mock.patch.object(BaseAutodiscovery, "_ensure_valid_hostname", ensure_valid_hostname), \
            mock.patch.object(pox, "get_auth_method_from_response", auth_method), \
            mock.patch.object(BaseProtocol, "HTTP_ADAPTER_CLS", LabAdapter), \
            mock.patch.object(cache, "AUTODISCOVER_PERSISTENT_STORAGE",
                              cache.Path(os.path.join(d, "autodiscover.shelve"))):
        try:
            yield
        finally:
            exchangelib.close_connections()
