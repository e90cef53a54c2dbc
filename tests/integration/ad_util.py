"""Helpers for the Autodiscover integration tests: requests as clients write them, curl against
any listener of a running mrsmock (the harness's curl knows only the first), answers parsed."""
import os
import subprocess
import tempfile
import xml.etree.ElementTree as ET

from harness import TIMEOUT, run_curl

NS = {
    "s": "http://schemas.xmlsoap.org/soap/envelope/",
    "s12": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://www.w3.org/2005/08/addressing",
    "ad": "http://schemas.microsoft.com/exchange/2010/Autodiscover",
    "i": "http://www.w3.org/2001/XMLSchema-instance",
    "r": "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006",
    "o": "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a",
}
ACTION = "http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/"
ADMIN = ("admin", "P@ssw0rd!")
XML_CT = "Content-Type: text/xml; charset=utf-8"
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"

# The settings Test-MigrationServerAvailability -Autodiscover reads (reference 2.4), and a few more.
MIGRATION_SETTINGS = ("UserDisplayName", "InternalMailboxServer", "InternalRpcClientServer",
                      "ExternalMailboxServer", "ExternalMailboxServerRequiresSSL",
                      "ExternalMailboxServerAuthenticationMethods", "ExternalEwsUrl",
                      "InternalEwsUrl", "MailboxDN", "CasVersion", "EwsSupportedSchemas")


def pox_request(addr):
    """exchangelib 4.9's POX request."""
    return ("<?xml version='1.0' encoding='utf-8'?>\n<Autodiscover xmlns=\"http://schemas."
            "microsoft.com/exchange/autodiscover/outlook/requestschema/2006\"><Request>"
            "<EMailAddress>%s</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft."
            "com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>"
            "</Request></Autodiscover>" % addr)


def gus_request(addrs, settings=MIGRATION_SETTINGS, version="Exchange2013", action=True):
    """GetUserSettings as the EWS Managed API writes it; ACTION False: no wsa:Action (the ASMX
    client of the migration service sends the action in the SOAPAction header only)."""
    if isinstance(addrs, str):
        addrs = [addrs]
    header = "<a:RequestedServerVersion>%s</a:RequestedServerVersion>" % version
    if action:
        header += ("<wsa:Action>%sGetUserSettings</wsa:Action><wsa:To>https://autodiscover."
                   "contoso.com/autodiscover/autodiscover.svc</wsa:To>" % ACTION)
    return ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:a="%s" xmlns:wsa="%s" '
            'xmlns:xsi="%s" xmlns:soap="%s"><soap:Header>%s</soap:Header><soap:Body>'
            "<a:GetUserSettingsRequestMessage><a:Request><a:Users>%s</a:Users>"
            "<a:RequestedSettings>%s</a:RequestedSettings></a:Request>"
            "</a:GetUserSettingsRequestMessage></soap:Body></soap:Envelope>"
            % (NS["ad"], NS["wsa"], NS["i"], NS["s"], header,
               "".join("<a:User><a:Mailbox>%s</a:Mailbox></a:User>" % a for a in addrs),
               "".join("<a:Setting>%s</a:Setting>" % s for s in settings)))


def user_responses(body):
    """[(ErrorCode, ErrorMessage, RedirectTarget or None when nil, {setting: value},
    [(error code, setting name)])], one per UserResponse."""
    root = ET.fromstring(body)
    out = []
    for ur in root.iterfind(".//ad:UserResponse", NS):
        settings = {s.findtext("ad:Name", namespaces=NS): s.findtext("ad:Value", namespaces=NS)
                    for s in ur.iterfind("ad:UserSettings/ad:UserSetting", NS)}
        errors = [(e.findtext("ad:ErrorCode", namespaces=NS),
                   e.findtext("ad:SettingName", namespaces=NS))
                  for e in ur.iterfind("ad:UserSettingErrors/ad:UserSettingError", NS)]
        target = ur.find("ad:RedirectTarget", NS)
        if target is not None and target.get("{%s}nil" % NS["i"]) == "true":
            target = None
        out.append((ur.findtext("ad:ErrorCode", namespaces=NS),
                    ur.findtext("ad:ErrorMessage", namespaces=NS),
                    target.text if target is not None else None, settings, errors))
    return out


def listener(server, name):
    for l in server.ready["listeners"]:
        if l["name"] == name:
            return l
    raise KeyError(name)


def port_of(server, name):
    return int(listener(server, name)["url"].rsplit(":", 1)[1])


def curl(server, lname, host, path, *args):
    """curl to HOST on listener LNAME of SERVER (every host of every listener resolved on that
    listener's port, so that redirects and URLs handed out can be followed); returns (status, [(header, value)], body, curl exit code, stderr)."""
    l = listener(server, lname)
    scheme, port = l["url"].split("://")[0], port_of(server, lname)
    resolve = []
    for other in server.ready["listeners"]:
        oport = int(other["url"].rsplit(":", 1)[1])
        for h in other["hosts"]:
            resolve += ["--resolve", "%s:%d:127.0.0.1" % (h, oport)]
    return run_curl(server.ca, resolve, args, "%s://%s:%d%s" % (scheme, host, port, path))


def values(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


def temp_scenario(text):
    """Writes a scenario into a temporary folder; returns (folder, path). `extends="healthy"`
    finds the bundled one."""
    d = tempfile.mkdtemp(prefix="mrsmock-ad-")
    path = os.path.join(d, "scenario.xml")
    with open(path, "w") as f:
        f.write(text)
    return d, path


# exchangelib's own SOAP Autodiscover client, run in a child process whose resolver sends the lab's
# names to the listener; prints one JSON line about the answer.
EXCHANGELIB_CLIENT = r"""
import json, socket, sys
port, ca, email = int(sys.argv[1]), sys.argv[2], sys.argv[3]
real = socket.getaddrinfo
def fake(host, *a, **k):
    if isinstance(host, str) and host.endswith("contoso.com"):
        host = "127.0.0.1"
    return real(host, *a, **k)
socket.getaddrinfo = fake
import os
os.environ["REQUESTS_CA_BUNDLE"] = ca
from exchangelib.autodiscover.protocol import AutodiscoverProtocol
from exchangelib.configuration import Configuration
from exchangelib.credentials import Credentials
p = AutodiscoverProtocol(config=Configuration(
    service_endpoint="https://autodiscover.contoso.com:%d/autodiscover/autodiscover.svc" % port,
    credentials=Credentials("admin", "P@ssw0rd!"), auth_type="basic"))
r = p.get_user_settings(user=email)
ok = r.error_code is None
print(json.dumps({"error_code": r.error_code, "error_message": r.error_message,
                  "ews_url": r.ews_url if ok else None,
                  "smtp": r.autodiscover_smtp_address if ok else None,
                  "version": r.version.api_version if ok and r.version else None,
                  "redirect_address": r.redirect_address}))
"""


def exchangelib_get_user_settings(server, lname, email):
    """Runs exchangelib's GetUserSettings against listener LNAME; the answer as a dict."""
    import json
    p = subprocess.run(["/usr/bin/python3", "-c", EXCHANGELIB_CLIENT, str(port_of(server, lname)),
                        server.ca, email], capture_output=True, text=True, timeout=TIMEOUT)
    if p.returncode != 0:
        raise AssertionError("exchangelib failed: %s" % p.stderr[-3000:])
    return json.loads(p.stdout.strip().splitlines()[-1])
