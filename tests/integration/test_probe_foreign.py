"""`mrsmock probe` against servers that are not mrsmock, so that it is shown to diagnose any
server: Debian's nginx with certificates of its own (made here with openssl: one trusted through
--cacert, one self-signed, one for another name), answering per host name 401 with Negotiate
and NTLM, 403, 405, 413 (its own request body limit), a page that is not SOAP; and a TLS server
that answers bytes that are not HTTP. Each verdict and failing step is asserted.

nginx runs from a temporary prefix (-p, -c, its own pid, logs and temp paths), in the
foreground (daemon off, one process), on a free loopback port, and is stopped by its PID. When
nginx is not installed the nginx tests skip and say so (ci/deps.sh installs it)."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from test_probe import PROBE_TIMEOUT, closed_port, probe

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK)
                                  else None)
DOMAIN = "fabrikam.test"  # RFC 2606: never resolved; every name goes through --connect-to
MRS = "/EWS/mrsproxy.svc"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def make_pki(d):
    """A CA and three leaves in D: 'good' (issued by the CA for the hosts that behave), 'wrong'
    (issued by the CA for another name), 'self' (self-signed). P-256 keys, SHA-256."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-sha256"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "30", "-subj",
            "/O=Fabrikam/CN=Fabrikam Test Root CA", "-addext", "basicConstraints=critical,CA:true",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    names = {"good": ",".join("DNS:%s.%s" % (h, DOMAIN) for h in HOSTS if h not in ("self",
                                                                                    "wrong")),
             "wrong": "DNS:other.%s" % DOMAIN}
    for leaf, san in names.items():
        openssl("req", *ec, "-keyout", leaf + ".key", "-out", leaf + ".csr", "-subj",
                "/CN=" + san.split(",")[0][4:], cwd=d)
        with open(os.path.join(d, leaf + ".ext"), "w") as f:
            f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\n" % san)
        openssl("x509", "-req", "-in", leaf + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "30", "-sha256", "-extfile", leaf + ".ext", "-out",
                leaf + ".crt", cwd=d)
    openssl("req", "-x509", *ec, "-keyout", "self.key", "-out", "self.crt", "-days", "30",
            "-subj", "/CN=self." + DOMAIN, "-addext", "subjectAltName=DNS:self." + DOMAIN, cwd=d)


BASIC = 'add_header WWW-Authenticate \'Basic realm="%s"\' always; return 401;'
WINDOWS = "add_header WWW-Authenticate Negotiate always; add_header WWW-Authenticate NTLM always;"

POX = ('<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/'
       'exchange/autodiscover/responseschema/2006"><Response xmlns="http://schemas.microsoft.com/'
       'exchange/autodiscover/outlook/responseschema/2006a"><Account><AccountType>email'
       '</AccountType><Action>settings</Action><Protocol><Type>EXPR</Type><Server>windows.'
       + DOMAIN + '</Server></Protocol></Account></Response></Autodiscover>')

GUS = ('<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
       '<GetUserSettingsResponseMessage xmlns="http://schemas.microsoft.com/exchange/2010/'
       'Autodiscover"><Response xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><ErrorCode>'
       'NoError</ErrorCode><ErrorMessage/><UserResponses><UserResponse><ErrorCode>NoError'
       '</ErrorCode><ErrorMessage>No error.</ErrorMessage><RedirectTarget i:nil="true"/>'
       '<UserSettingErrors/><UserSettings><UserSetting i:type="StringSetting"><Name>'
       'ExternalMailboxServer</Name><Value>windows.' + DOMAIN + '</Value></UserSetting>'
       '</UserSettings></UserResponse></UserResponses></Response>'
       '</GetUserSettingsResponseMessage></s:Body></s:Envelope>')

# host (below DOMAIN): its certificate and what its location / does
HOSTS = {
    # offers Windows authentication, but never continues a handshake
    "windows": ("good", "%s return 401;" % WINDOWS),
    # Windows authentication offered; whoever sends a token is forbidden
    "forbidden-after": ("good", 'if ($http_authorization = "") { %s return 401; } return 403;'
                        % WINDOWS),
    "blocked": ("good", "return 403;"),
    "page": ("good", 'default_type text/html; return 200 "<html><body>Welcome</body></html>";'),
    # Basic offered; with credentials: no handler for the method, a body limit, a login page
    "no-handler": ("good", 'if ($http_authorization = "") { %s } return 405;' % BASIC),
    "small-limit": ("good", 'client_max_body_size 200; if ($http_authorization = "") { %s } '
                    'return 200 "unreachable";' % BASIC),
    "login-page": ("good", 'if ($http_authorization = "") { %s } default_type text/html; '
                   'return 200 "<html><form>Sign in</form></html>";' % BASIC),
    # POX Autodiscover answers (Basic), SOAP Autodiscover is not published
    "autodiscover": ("good", """location = /autodiscover/autodiscover.xml {
            if ($http_authorization = "") { %s }
            default_type text/xml; return 200 '%s'; }
        location = /autodiscover/autodiscover.svc { return 404; }""" % (BASIC, POX)),
    # the other way round: no POX (404), SOAP Autodiscover answers (Basic)
    "autodiscover.soap": ("good", """location = /autodiscover/autodiscover.xml { return 404; }
        location = /autodiscover/autodiscover.svc {
            if ($http_authorization = "") { %s }
            default_type "text/xml; charset=utf-8"; return 200 '%s'; }""" % (BASIC, GUS)),
    "self": ("self", "%s return 401;" % WINDOWS),
    "wrong": ("wrong", "%s return 401;" % WINDOWS),
}


def nginx_conf(d, port):
    servers = []
    for host, (cert, body) in HOSTS.items():
        if "%s" in body:
            body = body % ("%s.%s" % (host, DOMAIN))
        servers.append("""
    server {
        listen 127.0.0.1:%d ssl;
        server_name %s.%s;
        ssl_certificate %s/%s.crt;
        ssl_certificate_key %s/%s.key;
        %s
    }""" % (port, host, DOMAIN, d, cert, d, cert,
            body if body.startswith("location") else "location / { %s }" % body))
    # the first server is the default for an unknown name: a host that is not configured
    # gets 'windows'
    return """daemon off;
master_process off;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log info;
events { worker_connections 64; }
http {
    access_log %(d)s/access.log;
    client_body_temp_path %(d)s/body;
    proxy_temp_path %(d)s/proxy;
    fastcgi_temp_path %(d)s/fastcgi;
    uwsgi_temp_path %(d)s/uwsgi;
    scgi_temp_path %(d)s/scgi;
    ssl_protocols TLSv1.2 TLSv1.3;
    %(servers)s
}
""" % {"d": d, "servers": "\n".join(servers)}


def wait_port(port, proc, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


@unittest.skipIf(NGINX is None, "nginx is not installed (Debian's nginx; ci/deps.sh installs "
                 "it): the probe is not tried against a server that is not mrsmock")
class Nginx(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="probe-nginx-")
        make_pki(cls.dir)
        for p in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.mkdir(os.path.join(cls.dir, p))
        for attempt in range(3):  # the free port may be taken between the pick and the bind
            cls.port = closed_port()
            conf = os.path.join(cls.dir, "nginx.conf")
            with open(conf, "w") as f:
                f.write(nginx_conf(cls.dir, cls.port))
            cls.proc = subprocess.Popen([NGINX, "-p", cls.dir, "-c", conf, "-e",
                                         os.path.join(cls.dir, "error.log")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if wait_port(cls.port, cls.proc):
                return
            cls.stop_nginx()
        with open(os.path.join(cls.dir, "error.log")) as f:
            log = f.read()
        shutil.rmtree(cls.dir, ignore_errors=True)
        raise AssertionError("nginx did not start: " + log[-2000:])

    @classmethod
    def stop_nginx(cls):
        if cls.proc.poll() is None:
            os.kill(cls.proc.pid, signal.SIGTERM)
            try:
                cls.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(cls.proc.pid, signal.SIGKILL)
                cls.proc.wait()
        cls.proc.stderr.close()

    @classmethod
    def tearDownClass(cls):
        cls.stop_nginx()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def run_probe(self, host, *args):
        name = "%s.%s" % (host, DOMAIN)
        rc, out, err = probe("--server", name, "--user", "FABRIKAM\\admin", "--cacert",
                             os.path.join(self.dir, "ca.crt"), "--connect-to",
                             "%s:443:127.0.0.1:%d" % (name, self.port), "--timeout",
                             PROBE_TIMEOUT, "--json", *args, password="Secret1!")
        self.assertIsNotNone(out, err)
        self.assertEqual((rc, out["result"]), (3, "Failed"), out)
        failing = [st for st in out["steps"] if st["status"] == "fail"]
        self.assertTrue(failing, out)
        after = out["steps"][out["steps"].index(failing[0]) + 1:]
        self.assertTrue(all(st["status"] == "skipped" for st in after), out)
        self.assertTrue(out["message"].startswith(
            "The connection to the server '%s' could not be completed. --> The call to "
            "'https://%s%s' failed. Error details: " % (name, name, MRS)), out["message"])
        return out, failing[0], {st["name"]: st for st in out["steps"]}

    def test_windows_authentication_never_completed(self):
        for auth, scheme in (("ntlm", "Ntlm"), ("negotiate", "Negotiate")):
            out, failing, steps = self.run_probe("windows", "--auth", auth)
            self.assertEqual(steps["tls"]["status"], "pass", out)
            self.assertIn("Fabrikam Test Root CA", steps["tls"]["detail"])
            self.assertEqual(steps["mrsproxy-anonymous"]["status"], "pass", out)
            anonymous = steps["mrsproxy-anonymous"]["detail"]
            self.assertIn("WWW-Authenticate 'Negotiate,NTLM'", anonymous)
            self.assertEqual(failing["name"], "mrsproxy-auth", out)
            self.assertIn("The HTTP request is unauthorized with client authentication scheme "
                          "'%s'. The authentication header received from the server was "
                          "'Negotiate,NTLM'. --> The remote server returned an error: (401) "
                          "Unauthorized." % scheme, out["message"])
            self.assertIn("Server: nginx/", steps["mrsproxy-anonymous"]["detail"])
            self.assertIn("is not IIS", steps["mrsproxy-anonymous"]["detail"])
            if auth == "ntlm":  # libcurl's own NTLM always makes a token: nginx ignored it
                self.assertIn("answered the client's token with a bare 401", failing["detail"])
                self.assertIn("a device in front answers", out["next_step"])

    def test_forbidden_after_the_token(self):
        out, failing, _ = self.run_probe("forbidden-after", "--auth", "ntlm")
        self.assertEqual(failing["name"], "mrsproxy-auth", out)
        self.assertIn("not the MRS Proxy's own refusal", failing["detail"])
        self.assertIn("The HTTP request was forbidden with client authentication scheme 'Ntlm'. "
                      "--> The remote server returned an error: (403) Forbidden.", out["message"])
        self.assertIn("403 0 5", out["next_step"])

    def test_blocked(self):
        out, failing, _ = self.run_probe("blocked")
        self.assertEqual(failing["name"], "mrsproxy-anonymous", out)
        self.assertIn("Server: nginx", failing["detail"])
        self.assertIn("The remote server returned an unexpected response: (403) Forbidden.",
                      out["message"])
        self.assertIn("the perimeter", out["next_step"])

    def test_page_without_a_challenge(self):
        out, failing, _ = self.run_probe("page")
        self.assertEqual(failing["name"], "mrsproxy-anonymous", out)
        self.assertIn("(200) OK without asking for credentials (text/html)", failing["detail"])
        self.assertIn("must give a credential prompt", out["next_step"])

    def test_405_no_handler(self):
        out, failing, steps = self.run_probe("no-handler", "--auth", "basic")
        self.assertEqual(steps["mrsproxy-anonymous"]["status"], "pass", out)
        self.assertEqual(failing["name"], "mrsproxy-auth", out)
        # WCF prints the server's reason phrase: nginx writes "Not Allowed", IIS "Method Not
        # Allowed"
        self.assertIn("The remote server returned an unexpected response: (405) Not Allowed.",
                      out["message"])
        self.assertIn("ServiceModelReg.exe -r", out["next_step"])
        self.assertIn("405 0 1", out["next_step"])

    def test_413_body_limit(self):
        out, failing, _ = self.run_probe("small-limit", "--auth", "basic")
        self.assertEqual(failing["name"], "mrsproxy-auth", out)
        self.assertIn("The remote server returned an unexpected response: (413) Request Entity "
                      "Too Large.", out["message"])
        self.assertIn("request body limit", out["next_step"])

    def test_login_page_not_soap(self):
        out, failing, _ = self.run_probe("login-page", "--auth", "basic")
        self.assertEqual(failing["name"], "mrsproxy-auth", out)
        self.assertIn("not SOAP 1.2", failing["detail"])
        self.assertIn("The content type text/html of the response message does not match the "
                      "content type of the binding (application/soap+xml; charset=utf-8).",
                      out["message"])

    def test_self_signed(self):
        out, failing, _ = self.run_probe("self")
        self.assertEqual(failing["name"], "tls", out)
        self.assertIn("UntrustedRoot", failing["detail"])
        self.assertIn("Could not establish trust relationship for the SSL/TLS secure channel "
                      "with authority 'self.%s'." % DOMAIN, out["message"])
        self.assertIn("IsSelfSigned", out["next_step"])

    def test_wrong_name(self):
        out, failing, _ = self.run_probe("wrong")
        self.assertEqual(failing["name"], "tls", out)
        self.assertIn("RemoteCertificateNameMismatch", failing["detail"])
        self.assertIn("other.%s" % DOMAIN, failing["detail"])
        self.assertIn("CertificateDomains", out["next_step"])


    def autodiscover(self, sub=""):
        """--autodiscover for admin@SUBDOMAIN, whose https://autodiscover.SUBDOMAIN is served
        by nginx (the server block of that name) and everything else refused."""
        domain = sub + DOMAIN
        ad = "autodiscover." + domain
        return probe("--autodiscover", "--email", "admin@" + domain, "--user",
                     "FABRIKAM\\admin", "--auth", "basic", "--cacert",
                     os.path.join(self.dir, "ca.crt"),
                     "--connect-to", "%s:443:127.0.0.1:%d" % (domain, closed_port()),
                     "--connect-to", "%s:80:127.0.0.1:%d" % (ad, closed_port()),
                     "--connect-to", "%s:443:127.0.0.1:%d" % (ad, self.port),
                     "--connect-to", "windows.%s:443:127.0.0.1:%d" % (DOMAIN, self.port),
                     "--timeout", PROBE_TIMEOUT, "--json", password="Secret1!")

    def test_soap_autodiscover_missing(self):
        # the migration service asks SOAP: a server that publishes POX only does not do
        rc, out, err = self.autodiscover()
        self.assertEqual((rc, out["result"]), (3, "Failed"), out)
        steps = out["steps"]
        self.assertEqual((steps[0]["name"], steps[0]["status"]), ("autodiscover", "pass"), out)
        self.assertIn("EXPR Server (ExternalMailboxServer) windows." + DOMAIN, steps[0]["detail"])
        self.assertEqual((steps[1]["name"], steps[1]["status"]), ("autodiscover-soap", "fail"))
        self.assertIn("(404) Not Found, Server: nginx", steps[1]["detail"])
        self.assertTrue(all(st["status"] == "skipped" for st in steps[2:]), out)
        self.assertEqual(out["message"],
                         "The ExchangeRemote endpoint settings could not be determined from the "
                         "autodiscover response. --> GetUserSettings at https://autodiscover.%s/"
                         "autodiscover/autodiscover.svc: (404) Not Found, Server: nginx/%s"
                         % (DOMAIN, steps[1]["detail"].rsplit("nginx/", 1)[1]))
        self.assertIn("but not /autodiscover/autodiscover.svc", out["next_step"])


    def test_soap_autodiscover_only(self):
        # no POX, SOAP answers: the migration service finds the MRS Proxy host, Outlook would
        # not; the MRS Proxy steps then run against it
        rc, out, err = self.autodiscover("soap.")
        steps = out["steps"]
        self.assertEqual((steps[0]["name"], steps[0]["status"]), ("autodiscover", "warn"), out)
        self.assertIn("https://autodiscover.soap.%s/autodiscover/autodiscover.xml: (404) Not "
                      "Found" % DOMAIN, steps[0]["detail"])
        self.assertIn("POX found no settings, SOAP did", steps[0]["detail"])
        self.assertEqual((steps[1]["name"], steps[1]["status"]), ("autodiscover-soap", "pass"))
        self.assertIn("ExternalMailboxServer windows." + DOMAIN, steps[1]["detail"])
        self.assertEqual(out["remote_server"], "windows." + DOMAIN)
        self.assertEqual(steps[2]["name"], "connect")
        self.assertTrue(out["message"].startswith(
            "The ExchangeRemote endpoint settings could not be determined from the autodiscover "
            "response. No MRSProxy was found running at 'windows.%s'." % DOMAIN), out)


class NotHttp(unittest.TestCase):
    """A TLS server with a certificate the probe trusts that answers bytes that are not HTTP."""

    def test_tls_then_garbage(self):
        d = tempfile.mkdtemp(prefix="probe-nothttp-")
        try:
            self._run(d)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def _run(self, d):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-sha256", "-keyout", "k.pem", "-out", "c.pem", "-days", "30", "-subj",
                "/CN=odd." + DOMAIN, "-addext", "subjectAltName=DNS:odd." + DOMAIN, cwd=d)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(d, "c.pem"), os.path.join(d, "k.pem"))
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        srv.settimeout(0.2)
        port = srv.getsockname()[1]
        stop = threading.Event()

        def serve():
            while not stop.is_set():
                try:
                    c, _ = srv.accept()
                except OSError:
                    continue
                try:
                    c.settimeout(5)
                    with ctx.wrap_socket(c, server_side=True) as t:
                        t.recv(4096)
                        t.sendall(b"\x00\x01SSH-2.0-OpenSSH_9.2 not http at all\r\n" * 4)
                except OSError:
                    pass
                finally:
                    c.close()
        t = threading.Thread(target=serve, daemon=True)
        t.start()
        try:
            name = "odd." + DOMAIN
            rc, out, err = probe("--server", name, "--user", "FABRIKAM\\admin", "--cacert",
                                 os.path.join(d, "c.pem"), "--connect-to",
                                 "%s:443:127.0.0.1:%d" % (name, port), "--timeout",
                                 PROBE_TIMEOUT, "--json", password="x")
        finally:
            stop.set()
            t.join()
            srv.close()
        self.assertEqual(rc, 3, err)
        steps = {st["name"]: st for st in out["steps"]}
        self.assertEqual(steps["tls"]["status"], "pass", out)
        self.assertEqual(steps["mrsproxy-anonymous"]["status"], "fail", out)
        self.assertIn("not HTTP", steps["mrsproxy-anonymous"]["detail"])
        self.assertIn("The server committed a protocol violation. Section=ResponseStatusLine",
                      out["message"])
        self.assertIn("does not answer HTTP", out["next_step"])


if __name__ == "__main__":
    unittest.main()
