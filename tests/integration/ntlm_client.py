"""A real NTLM client for the integration tests, run as its own process: Python's hashlib takes
MD4 from OpenSSL, and Debian 12's OpenSSL 3 keeps it in the legacy provider, which must be
enabled (OPENSSL_CONF) before the process starts — as the README tells users.

usage: ntlm_client.py MODE URL PORT CA USER PASSWORD
  requests  requests + requests_ntlm (HttpNtlmAuth) against URL; prints the status
  split     NEGOTIATE on one TLS connection, AUTHENTICATE on another; prints both statuses
  v1        NEGOTIATE and AUTHENTICATE on one connection with an NTLMv1 response
            (ntlm_compatibility 1, as an old client); prints both statuses
  then PATH a logon on one connection, then a request for PATH without credentials on the
            same connection; prints the three statuses
  pause-handshake  NEGOTIATE, then (after a line on standard input) AUTHENTICATE, on one
            connection; prints a JSON line after each
  pause-logon  a logon on one connection, then (after a line on standard input) a request
            without credentials on it; prints a JSON line after each
The URL's host is connected to 127.0.0.1:PORT (no /etc/hosts needed); certificates are checked
against CA for the URL's real host name. Prints one JSON line.
"""
import base64
import http.client
import json
import socket
import ssl
import sys
import urllib.parse


def main():
    mode, url, port, ca, user, password = sys.argv[1:7]
    then_path = sys.argv[7] if len(sys.argv) > 7 else None
    port = int(port)
    u = urllib.parse.urlsplit(url)
    if mode == "requests":
        import requests
        import urllib3.util.connection
        from requests_ntlm import HttpNtlmAuth

        real = urllib3.util.connection.create_connection

        def to_mock(address, *args, **kw):
            return real(("127.0.0.1", port), *args, **kw)

        urllib3.util.connection.create_connection = to_mock
        r = requests.get(url, auth=HttpNtlmAuth(user, password), verify=ca, timeout=20)
        print(json.dumps({"status": r.status_code,
                          "www_authenticate": r.headers.get("WWW-Authenticate")}))
        return
    if mode in ("split", "v1", "then", "pause-handshake", "pause-logon"):
        from ntlm_auth.ntlm import NtlmContext

        domain, name = user.split("\\", 1) if "\\" in user else (None, user)
        ctx = NtlmContext(name, password, domain=domain,
                          ntlm_compatibility=1 if mode == "v1" else 3)
        tls = ssl.create_default_context(cafile=ca)

        def connect():
            c = http.client.HTTPSConnection(u.hostname, port, context=tls, timeout=20)
            c.sock = tls.wrap_socket(socket.create_connection(("127.0.0.1", port), 20),
                                     server_hostname=u.hostname)
            return c

        a = connect()
        a.request("GET", u.path, headers={
            "Authorization": "NTLM " + base64.b64encode(ctx.step()).decode()})
        r1 = a.getresponse()
        r1.read()
        challenge = r1.getheader("WWW-Authenticate").split(" ", 1)[1]
        if mode == "pause-handshake":  # the parent reloads the server meanwhile
            print(json.dumps({"statuses": [r1.status]}), flush=True)
            sys.stdin.readline()
        b = connect() if mode == "split" else a
        b.request("GET", u.path, headers={
            "Authorization": "NTLM " + base64.b64encode(
                ctx.step(base64.b64decode(challenge))).decode()})
        r2 = b.getresponse()
        r2.read()
        statuses = [r1.status, r2.status]
        if mode == "pause-logon":
            print(json.dumps({"statuses": statuses}), flush=True)
            sys.stdin.readline()
            a.request("GET", u.path)
            r3 = a.getresponse()
            r3.read()
            statuses.append(r3.status)
        if mode == "then":
            a.request("POST", then_path, body=b"<x/>", headers={"Content-Type": "text/xml"})
            r3 = a.getresponse()
            r3.read()
            statuses.append(r3.status)
        print(json.dumps({"statuses": statuses}))
        return
    raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main()
