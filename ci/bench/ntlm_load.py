"""NTLM handshakes against mrsmock for make bench (ci/bench/run.py), as fast as one process can.

usage: ntlm_load.py PORT HOST PATH USER PASSWORD SECONDS
Each handshake is the three legs a Windows client makes, on a connection of its own (NTLM
authenticates the connection): the anonymous request (401 offering NTLM), NEGOTIATE (401 with
the CHALLENGE), AUTHENTICATE (the answer to the authenticated request). The NTLM messages come
from python3-ntlm-auth (NTLMv2, as requests-ntlm sends them); its MD4 needs OpenSSL's legacy
provider, enabled by OPENSSL_CONF before the process starts (README, "NTLM clients in Python").
TLS sessions are resumed where the server allows it, so that the figure is NTLM's rather than
the TLS handshake's (which has its own row). Prints one JSON line: handshakes completed, the
seconds they took, failures with their first statuses, resumed TLS sessions.
"""
import base64
import http.client
import json
import socket
import ssl
import sys
import time

from ntlm_auth.ntlm import NtlmContext


def one(tls, port, host, path, user, password, session):
    """One three-leg handshake on a new connection; returns (final status, TLS session,
    resumed)."""
    raw = socket.create_connection(("127.0.0.1", port), 10)
    s = tls.wrap_socket(raw, server_hostname=host, session=session)
    c = http.client.HTTPSConnection(host, port, context=tls, timeout=10)
    c.sock = s
    try:
        c.request("GET", path, headers={"User-Agent": "mrsmock-bench"})
        r = c.getresponse()
        r.read()
        if r.status != 401 or not any(v.split(" ", 1)[0] == "NTLM"
                                      for v in r.headers.get_all("WWW-Authenticate") or []):
            return r.status, s.session, s.session_reused
        domain, name = user.split("\\", 1) if "\\" in user else (None, user)
        ctx = NtlmContext(name, password, domain=domain, ntlm_compatibility=3)
        c.request("GET", path, headers={"User-Agent": "mrsmock-bench", "Authorization":
                                        "NTLM " + base64.b64encode(ctx.step()).decode()})
        r = c.getresponse()
        r.read()
        challenge = (r.getheader("WWW-Authenticate") or "").split(" ", 1)
        if r.status != 401 or len(challenge) != 2:
            return r.status, s.session, s.session_reused
        token = ctx.step(base64.b64decode(challenge[1]))
        c.request("GET", path, headers={"User-Agent": "mrsmock-bench", "Authorization":
                                        "NTLM " + base64.b64encode(token).decode()})
        r = c.getresponse()
        r.read()
        return r.status, s.session, s.session_reused
    finally:
        c.close()


def main():
    port, host, path, user, password, seconds = sys.argv[1:7]
    port, seconds = int(port), float(seconds)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    tls.check_hostname = False
    tls.verify_mode = ssl.CERT_NONE
    tls.set_alpn_protocols(["http/1.1"])
    done = failed = resumed = 0
    statuses = {}
    session = None
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        try:
            status, session, reused = one(tls, port, host, path, user, password, session)
        except (OSError, http.client.HTTPException) as e:
            status, reused = type(e).__name__, False
            session = None
        resumed += 1 if reused else 0
        if status == 200:
            done += 1
        else:
            failed += 1
            statuses[str(status)] = statuses.get(str(status), 0) + 1
    print(json.dumps({"handshakes": done, "seconds": time.monotonic() - t0, "failed": failed,
                      "failed_statuses": statuses, "resumed": resumed}))


if __name__ == "__main__":
    main()
