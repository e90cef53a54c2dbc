"""Certificates as real clients see them: every kind of broken certificate, per scenario and per
SNI name, through openssl s_client (-verify_return_error, the lab CA trusted), curl and Python's
ssl module; the CRL the lab publishes; the lab CA handling of `mrsmock certs`."""
import os
import shutil
import ssl
import stat
import subprocess
import tempfile
import unittest

from harness import mrsmock
from tls_util import (Server, SClient, curl, py_connect, leaf_pem, crl_urls, fetch,
                      data_scenario, port_of)

# scenario, host asked for, openssl verify code (0: ok), curl exit code, what Python says
BUNDLED = [
    ("healthy", "mail.contoso.com", 0, 0, None),
    ("healthy", "autodiscover.contoso.com", 0, 0, None),
    ("expired-certificate", "mail.contoso.com", 10, 60, "certificate has expired"),
    ("untrusted-certificate", "mail.contoso.com", 20, 60, "unable to get local issuer certificate"),
    ("name-mismatch", "autodiscover.contoso.com", 62, 60, "Hostname mismatch"),
    ("name-mismatch", "mail.contoso.com", 0, 0, None),
    ("missing-intermediate", "mail.contoso.com", 20, 60, "unable to get local issuer certificate"),
    ("self-signed", "mail.contoso.com", 18, 60, "self-signed certificate"),
    ("weak-signature", "mail.contoso.com", 68, 60, "CA signature digest algorithm too weak"),
]

# SNI name on tls-kinds.xml, openssl verify code, curl exit code, Python's verify_code
KINDS = [
    ("notyet.contoso.com", 9, 60, 9),
    ("weakkey.contoso.com", 66, 60, 66),
    ("oldint.contoso.com", 10, 60, 10),
    ("intfull.contoso.com", 0, 0, None),
    ("introot.contoso.com", 0, 0, None),
    ("revoked.contoso.com", 0, 0, None),  # revocation is only checked when asked for: below
    ("autodiscover.contoso.com", 10, 60, 10),
]


class BundledScenarios(unittest.TestCase):
    """Each bundled certificate scenario fails in all three clients with the matching error, and
    healthy succeeds in all three."""

    def test_clients(self):
        state = tempfile.mkdtemp(prefix="mrsmock-certs-")
        try:
            for scenario in sorted({row[0] for row in BUNDLED}):
                with Server(scenario, state_dir=state) as s:
                    port = port_of(s)
                    for name, host, code, curl_rc, py_text in BUNDLED:
                        if name != scenario:
                            continue
                        with self.subTest(scenario=scenario, host=host):
                            o = SClient(port, host, s.ca)
                            self.assertEqual(o.verify_code if code else o.verify_return, code,
                                             o.out)
                            if code == 0:
                                self.assertTrue(o.handshake_ok, o.out)
                            rc, err = curl(port, host, s.ca)
                            self.assertEqual(rc, curl_rc, err)
                            e = py_connect(port, host, s.ca)
                            if py_text is None:
                                self.assertIsNone(e)
                            else:
                                self.assertIsInstance(e, ssl.SSLCertVerificationError)
                                self.assertIn(py_text, e.verify_message)
                                self.assertEqual(e.verify_code, code)
        finally:
            shutil.rmtree(state, ignore_errors=True)

    def test_healthy_request_goes_through(self):
        with Server("healthy") as s:
            status, headers, body, rc, err = s.curl("mail.contoso.com", "/EWS/mrsproxy.svc")
            self.assertEqual((rc, status), (0, 401), err)

    def test_missing_intermediate_sends_leaf_only(self):
        with Server("missing-intermediate") as s:
            o = SClient(port_of(s), ca=s.ca, args=["-showcerts"])
            self.assertEqual(o.chain_len, 1, o.out)

    def test_untrusted_sends_issuing_ca(self):
        with Server("untrusted-certificate") as s:
            o = SClient(port_of(s), ca=s.ca, args=["-showcerts"])
            self.assertEqual(o.chain_len, 2, o.out)
            self.assertIn("Contoso Issuing CA 1", o.out)


class KindsBySni(unittest.TestCase):
    """tls-kinds.xml: one certificate kind per SNI name on one listener, and the CRL listener."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server(data_scenario("tls-kinds.xml"))
        cls.port = port_of(cls.server, "edge")

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def test_kinds(self):
        for host, code, curl_rc, py_code in KINDS:
            with self.subTest(host=host):
                o = SClient(self.port, host, self.server.ca)
                self.assertEqual(o.verify_code if code else o.verify_return, code, o.out)
                rc, err = curl(self.port, host, self.server.ca)
                self.assertEqual(rc, curl_rc, err)
                e = py_connect(self.port, host, self.server.ca)
                if py_code is None:
                    self.assertIsNone(e)
                else:
                    self.assertIsInstance(e, ssl.SSLCertVerificationError)
                    self.assertEqual(e.verify_code, py_code, e)

    def test_chain_sent(self):
        self.assertEqual(SClient(self.port, "intfull.contoso.com", self.server.ca).chain_len, 2)
        self.assertEqual(SClient(self.port, "introot.contoso.com", self.server.ca).chain_len, 3)

    def test_without_sni_the_listener_certificate(self):
        # no SNI: the listener's own certificate (IIS's default binding), whose names cover
        # mail.contoso.com; an unknown name gets it too
        o = SClient(self.port, None, self.server.ca, args=["-verify_hostname", "mail.contoso.com"])
        self.assertEqual(o.verify_return, 0, o.out)
        self.assertIn("CN = mail.contoso.com", o.out)
        o = SClient(self.port, "other.contoso.com", self.server.ca)
        self.assertEqual(o.verify_code, 62, o.out)

    def test_revoked_with_crl_from_the_lab(self):
        pem = leaf_pem(self.port)  # any leaf: they all point at the lab's CRL
        urls = crl_urls(pem)
        crl_port = port_of(self.server, "pki")
        self.assertEqual(urls, ["http://127.0.0.1:%d/pki/lab.crl" % crl_port])
        status, ctype, der = fetch(urls[0])
        self.assertEqual((status, ctype), (200, "application/pkix-crl"))
        with tempfile.TemporaryDirectory() as d:
            crl = os.path.join(d, "lab.crl")
            subprocess.run(["openssl", "crl", "-inform", "DER", "-out", crl], input=der,
                           check=True, capture_output=True, timeout=10)
            o = SClient(self.port, "revoked.contoso.com", self.server.ca,
                        args=["-crl_check", "-CRL", crl])
            self.assertEqual(o.verify_code, 23, o.out)
            self.assertIn("certificate revoked", o.out)
            o = SClient(self.port, "mail.contoso.com", self.server.ca,
                        args=["-crl_check", "-CRL", crl])
            self.assertEqual(o.verify_return, 0, o.out)
        # openssl fetching the CRL itself from the URL in the certificate
        o = SClient(self.port, "revoked.contoso.com", self.server.ca,
                    args=["-crl_check", "-crl_download"])
        self.assertEqual(o.verify_code, 23, o.out)
        # Python with the CRL: VERIFY_CRL_CHECK_LEAF
        with tempfile.TemporaryDirectory() as d:
            crl = os.path.join(d, "lab.crl.pem")
            subprocess.run(["openssl", "crl", "-inform", "DER", "-out", crl], input=der,
                           check=True, capture_output=True, timeout=10)
            ctx = ssl.create_default_context(cafile=self.server.ca)
            ctx.load_verify_locations(cafile=crl)
            ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
            e = py_connect(self.port, "revoked.contoso.com", context=ctx)
            self.assertIsInstance(e, ssl.SSLCertVerificationError)
            self.assertEqual(e.verify_code, 23)
            self.assertIsNone(py_connect(self.port, "mail.contoso.com", context=ctx))

    def test_crl_of_every_ca_and_not_elsewhere(self):
        base = "http://127.0.0.1:%d/pki/" % port_of(self.server, "pki")
        for ca in ("lab", "issuing", "OLD"):
            status, ctype, der = fetch(base + ca + ".crl")
            self.assertEqual(status, 200)
        with self.assertRaises(Exception):
            fetch(base + "nope.crl")
        # the Exchange listener does not publish them: its own 403.4 / 404 answers
        status, _, _, rc, _ = self.server.curl("mail.contoso.com", "/pki/lab.crl")
        self.assertEqual((rc, status), (0, 404))


class Certs(unittest.TestCase):
    """mrsmock certs: the lab CA in PEM and DER, the bundle, the export folder."""

    def setUp(self):
        self.state = tempfile.mkdtemp(prefix="mrsmock-certs-")
        self.addCleanup(shutil.rmtree, self.state, True)

    def test_pem_is_the_ca_run_uses(self):
        p = mrsmock("certs", "--state-dir", self.state)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith("-----BEGIN CERTIFICATE-----"))
        with open(os.path.join(self.state, "pki", "ca.crt")) as f:
            self.assertEqual(p.stdout, f.read())
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.state, "pki", "ca.key")).st_mode),
                         0o600)

    def test_der(self):
        out = os.path.join(self.state, "ca.cer")
        p = mrsmock("certs", "--state-dir", self.state, "--der", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        q = subprocess.run(["openssl", "x509", "-inform", "DER", "-in", out, "-noout", "-subject"],
                           capture_output=True, text=True, timeout=10)
        self.assertIn("mrsmock Lab Root CA", q.stdout)

    def test_export_and_bundle_trust(self):
        d = os.path.join(self.state, "export")
        p = mrsmock("certs", "missing-intermediate", "--state-dir", self.state, "--export", d)
        self.assertEqual(p.returncode, 0, p.stderr)
        files = p.stdout.split()
        self.assertEqual([os.path.basename(f) for f in files],
                         ["mrsmock-lab-ca.crt", "mrsmock-lab-ca.cer",
                          "missing-intermediate-bundle.pem"])
        with open(files[2]) as f:
            self.assertEqual(f.read().count("BEGIN CERTIFICATE"), 2)
        # a client that holds the intermediate (as a browser that cached it) does not notice
        with Server("missing-intermediate", state_dir=self.state) as s:
            self.assertEqual(SClient(port_of(s), ca=s.ca).verify_code, 20)
            self.assertEqual(SClient(port_of(s), ca=files[2]).verify_return, 0)

    def test_bundle_keeps_other_roots_out(self):
        p = mrsmock("certs", "untrusted-certificate", "--state-dir", self.state, "--bundle")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.count("BEGIN CERTIFICATE"), 1)

    def test_bad_usage(self):
        self.assertEqual(mrsmock("certs", "--pem", "--bundle").returncode, 1)
        self.assertEqual(mrsmock("certs", "no-such-scenario", "--state-dir", self.state).returncode,
                         1)
        self.assertIn("--export", mrsmock("certs", "--help").stdout)


class Cache(unittest.TestCase):
    """Starting twice with one state folder reuses the certificates; keys stay 0600."""

    def test_reused_and_private(self):
        state = tempfile.mkdtemp(prefix="mrsmock-certs-")
        self.addCleanup(shutil.rmtree, state, True)
        pems = []
        for _ in range(2):
            with Server("untrusted-certificate", state_dir=state) as s:
                pems.append(leaf_pem(port_of(s)))
        self.assertEqual(pems[0], pems[1])
        for root, _, names in os.walk(os.path.join(state, "pki")):
            for n in names:
                if n.endswith(".key"):
                    mode = stat.S_IMODE(os.stat(os.path.join(root, n)).st_mode)
                    self.assertEqual(mode, 0o600, n)


if __name__ == "__main__":
    unittest.main()
