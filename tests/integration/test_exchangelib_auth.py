"""exchangelib with auth_type NTLM and BASIC against healthy and the authentication
scenarios: what the client reports and the IIS lines each attempt leaves."""
import json
import os
import subprocess
import tempfile
import unittest

from harness import Server, TIMEOUT
from test_auth import LEGACY_CNF

HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "P@ssw0rd!"
EWS = "/EWS/Exchange.asmx"


class ExchangelibAuth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.cnf = os.path.join(cls.tmp.name, "openssl-legacy.cnf")
        with open(cls.cnf, "w") as f:
            f.write(LEGACY_CNF)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def client(self, s, user, password, auth):
        env = dict(os.environ, OPENSSL_CONF=self.cnf)
        p = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "exchangelib_client.py"),
                            json.dumps(s.ready), user, password, auth],
                           capture_output=True, text=True, timeout=TIMEOUT * 2, env=env, cwd=HERE)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout.strip().splitlines()[-1])

    def ews_lines(self, s):
        s.stop()
        return [tuple(f[11:14]) + (f[7],) for f in s.w3c_lines()[1] if f[4] == EWS]

    def test_healthy_ntlm_and_basic(self):
        with Server("healthy") as s:
            for auth, user in (("NTLM", "CONTOSO\\admin"), ("BASIC", "admin@contoso.com")):
                r = self.client(s, user, PASSWORD, auth)
                self.assertEqual(r, {"build": "15.1.2507.6", "root": "Top of Information Store"},
                                 auth)
            lines = self.ews_lines(s)
        self.assertIn(("401", "1", "2148074254", "-"), lines)
        self.assertIn(("200", "0", "0", "CONTOSO\\admin"), lines)
        self.assertIn(("200", "0", "0", "admin@contoso.com"), lines)

    def test_wrong_credentials(self):
        with Server("wrong-credentials") as s:
            for auth in ("NTLM", "BASIC"):
                r = self.client(s, "CONTOSO\\admin", PASSWORD, auth)
                self.assertEqual(r.get("error"), "UnauthorizedError", r)
            lines = self.ews_lines(s)
        self.assertIn(("401", "1", "2148074252", "-"), lines)
        self.assertIn(("401", "1", "1326", "-"), lines)
        self.assertNotIn("200", [l[0] for l in lines])

    def test_basic_auth_missing(self):
        with Server("basic-auth-missing") as s:
            r = self.client(s, "CONTOSO\\admin", PASSWORD, "BASIC")
            self.assertEqual(r.get("error"), "UnauthorizedError", r)
            r = self.client(s, "CONTOSO\\admin", PASSWORD, "NTLM")
            self.assertEqual(r.get("build"), "15.1.2507.6", r)
            lines = self.ews_lines(s)
        self.assertEqual(lines[0], ("401", "2", "5", "-"))

    def test_negotiate_forbidden(self):
        with Server("negotiate-forbidden") as s:
            r = self.client(s, "CONTOSO\\admin", PASSWORD, "NTLM")
            self.assertIn("error", r)
            self.assertIn("403", r["text"] + r["error"], r)
            lines = self.ews_lines(s)
        self.assertIn(("403", "0", "5", "CONTOSO\\admin"), lines)


if __name__ == "__main__":
    unittest.main()
