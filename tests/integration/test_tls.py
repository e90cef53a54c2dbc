"""TLS protocol settings and handshake faults as real clients meet them: versions (with
testssl.sh), cipher lists, client certificates; hang, silent, alert, close after the
ServerHello, reset and plain HTTP, each on its schedule; and a prompt, clean stop while
connections hang."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from tls_util import Server, SClient, curl, py_connect, testssl_protocols, data_scenario, port_of

OLD = ["-cipher", "DEFAULT:@SECLEVEL=0"]  # what an old client offers to a TLS 1.0 server


class Versions(unittest.TestCase):
    def test_tls10_only(self):
        with Server("tls10-only") as s:
            port = port_of(s)
            o = SClient(port, ca=s.ca)
            self.assertFalse(o.handshake_ok, o.out)
            rc, err = curl(port, ca=s.ca)
            self.assertEqual(rc, 35, err)
            e = py_connect(port, ca=s.ca)
            self.assertIsInstance(e, ssl.SSLError)
            # an old client still gets in, with TLS 1.0
            o = SClient(port, ca=s.ca, args=["-tls1"] + OLD)
            self.assertTrue(o.handshake_ok, o.out)
            self.assertEqual(o.protocol, "TLSv1.0")
            found = testssl_protocols(port)
            self.assertIn("offered", found["TLS1"])
            self.assertNotIn("not offered", found["TLS1"])
            for proto in ("TLS1_1", "TLS1_2", "TLS1_3"):
                self.assertIn("not offered", found[proto], proto)

    def test_healthy_offers_tls12_and_tls13(self):
        with Server("healthy") as s:
            found = testssl_protocols(port_of(s))
            self.assertIn("not offered", found["TLS1"])
            self.assertIn("not offered", found["TLS1_1"])
            self.assertNotIn("not offered", found["TLS1_2"])
            self.assertNotIn("not offered", found["TLS1_3"])


class Settings(unittest.TestCase):
    """tls-settings.xml: cipher lists and client certificates per listener."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server(data_scenario("tls-settings.xml"))
        cls.ca = cls.server.ca

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def test_tls12_cipher_list(self):
        port = port_of(self.server, "tls12")
        o = SClient(port, ca=self.ca)
        self.assertTrue(o.handshake_ok, o.out)
        self.assertEqual((o.protocol, o.cipher), ("TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256"))
        o = SClient(port, ca=self.ca, args=["-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384"])
        self.assertFalse(o.handshake_ok, o.out)

    def test_tls13_ciphersuites(self):
        o = SClient(port_of(self.server, "tls13"), ca=self.ca)
        self.assertEqual((o.protocol, o.cipher), ("TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256"))

    def test_weak_cipher_lowers_this_listener_only(self):
        o = SClient(port_of(self.server, "weak"), ca=self.ca,
                    args=["-cipher", "ECDHE-ECDSA-NULL-SHA:@SECLEVEL=0"])
        self.assertEqual(o.cipher, "ECDHE-ECDSA-NULL-SHA", o.out)
        o = SClient(port_of(self.server, "tls12"), ca=self.ca,
                    args=["-cipher", "ECDHE-ECDSA-NULL-SHA:@SECLEVEL=0"])
        self.assertFalse(o.handshake_ok, o.out)

    def test_client_certificate_required(self):
        port = port_of(self.server, "require")
        o = SClient(port, ca=self.ca)
        self.assertIn("Acceptable client certificate CA names", o.out)
        self.assertIn("mrsmock Lab Root CA", o.out)
        self.assertFalse(o.handshake_ok and o.rc == 0 and "alert" not in o.out, o.out)
        rc, err = curl(port, ca=self.ca)
        self.assertNotEqual(rc, 0, err)
        with tempfile.TemporaryDirectory() as d:
            key, crt = self._client_cert(d)
            rc, err = curl(port, ca=self.ca, args=["--cert", crt, "--key", key])
            self.assertEqual(rc, 0, err)

    def test_client_certificate_accepted_or_not(self):
        port = port_of(self.server, "accept")
        o = SClient(port, ca=self.ca)
        self.assertTrue(o.handshake_ok, o.out)
        self.assertIn("Acceptable client certificate CA names", o.out)
        self.assertEqual(curl(port, ca=self.ca)[0], 0)

    def _client_cert(self, d):
        """A client certificate issued by the lab CA of the running server."""
        pki = os.path.join(os.path.dirname(self.ca))
        key, csr, crt = (os.path.join(d, n) for n in ("c.key", "c.csr", "c.crt"))
        subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-subj",
                        "/CN=admin@contoso.com", "-out", csr], check=True, capture_output=True,
                       timeout=10)
        subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey",
                        os.path.join(pki, "ca.key"), "-days", "2", "-out", crt], check=True,
                       capture_output=True, timeout=10)
        return key, crt


def raw_hello(port, timeout=2.0):
    """Sends a real ClientHello (Python's) and returns what came back before the deadline:
    ("data", bytes), ("closed", b""), ("reset", b"") or ("timeout", b"")."""
    ctx = ssl.create_default_context()
    inb, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inb, outb, server_hostname="mail.contoso.com")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(outb.read())
        try:
            data = s.recv(65536)
        except socket.timeout:
            return "timeout", b""
        except ConnectionResetError:
            return "reset", b""
        return ("data", data) if data else ("closed", b"")


class Faults(unittest.TestCase):
    """tls-faults.xml: one handshake fault per listener, beside a healthy one."""

    def setUp(self):
        self.server = Server(data_scenario("tls-faults.xml"))
        self.ca = self.server.ca

    def tearDown(self):
        self.server.__exit__(None, None, None)

    def test_alert_unrecognized_name_for_unknown_sni_only(self):
        port = port_of(self.server, "alert")
        o = SClient(port, "other.contoso.com", self.ca)
        self.assertIn("unrecognized name", o.out)
        self.assertIn("SSL alert number 112", o.out)
        rc, err = curl(port, "other.contoso.com", self.ca)
        self.assertEqual(rc, 35, err)
        self.assertIn("unrecognized name", err)
        e = py_connect(port, "other.contoso.com", self.ca)
        self.assertIsInstance(e, ssl.SSLError)
        self.assertEqual(e.reason, "TLSV1_UNRECOGNIZED_NAME")
        # a name the listener has a certificate for, and no SNI at all, go through
        self.assertTrue(SClient(port, "mail.contoso.com", self.ca).handshake_ok)
        o = SClient(port, None, self.ca, args=["-verify_hostname", "mail.contoso.com"])
        self.assertTrue(o.handshake_ok, o.out)

    def test_close_after_server_hello_first_two(self):
        port = port_of(self.server, "close")
        for i in range(2):
            kind, data = raw_hello(port)
            self.assertEqual(kind, "data")
            # one handshake record holding one ServerHello, then the end
            self.assertEqual(data[0], 22)
            self.assertEqual(data[5], 2)
            self.assertEqual(len(data), 5 + (data[3] << 8 | data[4]))
            self.assertEqual(len(data), 9 + (data[6] << 16 | data[7] << 8 | data[8]))
        rc, err = curl(port, ca=self.ca)
        self.assertEqual(rc, 0, err)  # the third handshake is not on the schedule

    def test_close_after_server_hello_clients(self):
        port = port_of(self.server, "close")
        rc, err = curl(port, ca=self.ca)
        self.assertEqual(rc, 35, err)
        o = SClient(port, ca=self.ca)
        self.assertIn("unexpected eof", o.out)
        self.assertTrue(SClient(port, ca=self.ca).handshake_ok)

    def test_reset_every_second(self):
        port = port_of(self.server, "reset")
        self.assertEqual(curl(port, ca=self.ca)[0], 0)
        rc, err = curl(port, ca=self.ca)
        self.assertIn(rc, (35, 56), err)
        self.assertIn("reset", err.lower())
        self.assertEqual(curl(port, ca=self.ca)[0], 0)
        e = py_connect(port, ca=self.ca)
        self.assertIsInstance(e, ConnectionResetError)

    def test_plain_http_on_the_tls_port(self):
        port = port_of(self.server, "plain")
        kind, data = raw_hello(port)
        self.assertEqual(kind, "data")
        self.assertTrue(data.startswith(b"HTTP/1.1 400 Bad Request\r\n"), data)
        self.assertIn(b"Server: Microsoft-HTTPAPI/2.0", data)
        self.assertIn(b"HTTP Error 400. The request verb is invalid.", data)
        rc, err = curl(port, ca=self.ca)
        self.assertEqual(rc, 35, err)
        self.assertIn("wrong version number", SClient(port, ca=self.ca).out)

    def test_silent_first_connection_then_normal(self):
        port = port_of(self.server, "silent")
        rc, err = curl(port, ca=self.ca, args=["--max-time", "1"])
        self.assertEqual(rc, 28, err)
        self.assertEqual(curl(port, ca=self.ca)[0], 0)

    def test_hang_then_clean_stop(self):
        port = port_of(self.server, "hang")
        self.assertEqual(raw_hello(port, timeout=0.5)[0], "timeout")
        rc, err = curl(port, ca=self.ca, args=["--max-time", "1"])
        self.assertEqual(rc, 28, err)
        e = py_connect(port, ca=self.ca, timeout=0.5)
        self.assertIsInstance(e, (socket.timeout, TimeoutError))
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        for s in held:
            s.sendall(b"\x16\x03\x01\x00\x05hello")
        # a hanging connection never finishes on its own: stop closes it, at once
        t = time.monotonic()
        self.assertEqual(self.server.stop(), 0)
        self.assertLess(time.monotonic() - t, 5)
        for s in held:
            s.settimeout(5)
            try:
                # closed: a FIN, or a reset when mrsmock stopped before it had even accepted it
                self.assertEqual(s.recv(10), b"")
            except ConnectionResetError:
                pass
            s.close()

    def test_healthy_listener_untouched(self):
        port = port_of(self.server, "edge")
        status, _, _, rc, err = self.server.curl("mail.contoso.com", "/EWS/mrsproxy.svc")
        self.assertEqual((rc, status), (0, 401), err)
        # bytes that are not TLS are not a handshake: h2o fails them as usual
        self.assertEqual(raw_hello(port_of(self.server, "close"))[0], "data")


class BundledHang(unittest.TestCase):
    def test_handshake_hang(self):
        with Server("handshake-hang") as s:
            port = port_of(s)
            rc, err = curl(port, ca=s.ca, args=["--max-time", "1"])
            self.assertEqual(rc, 28, err)
            o = SClient(port, ca=s.ca, timeout=1)
            self.assertTrue(o.timed_out)
            self.assertIsInstance(py_connect(port, ca=s.ca, timeout=0.5),
                                  (socket.timeout, TimeoutError))


if __name__ == "__main__":
    unittest.main()
