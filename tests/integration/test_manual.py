"""The manual page documents what the binary says it takes: every option `--help` lists (of the
program, of run and of certs) appears in the rendered mrsmock(1), and the page renders without
a warning; `make install` lays the binary, the scenarios and the page out under DESTDIR."""
import os
import re
import subprocess
import tempfile
import unittest

from harness import ROOT, mrsmock, TIMEOUT

PAGE = os.path.join(ROOT, "man", "mrsmock.1")


def rendered():
    p = subprocess.run(["groff", "-mdoc", "-Tascii", "-ww", PAGE], capture_output=True,
                       timeout=TIMEOUT)
    assert p.returncode == 0, p.stderr
    # groff's overstrike bold and underline: keep the letters only
    return re.sub(r".\x08", "", p.stdout.decode("ascii", "replace")), p.stderr.decode()


def options(text):
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-z])\b", text))


class Manual(unittest.TestCase):
    def test_every_help_option_is_in_the_page(self):
        page, warnings = rendered()
        self.assertEqual(warnings, "")
        helps = [mrsmock("--help").stdout, mrsmock("run", "--help").stdout,
                 mrsmock("certs", "--help").stdout, mrsmock("probe", "--help").stdout]
        self.assertTrue(all(helps))
        listed = set().union(*(options(h) for h in helps))
        self.assertIn("--journal-jsonl", listed)  # the extraction finds them
        missing = sorted(o for o in listed if not re.search(r"(?<![\w-])%s\b" % re.escape(o),
                                                            page))
        self.assertEqual(missing, [])
        for sub in ("run", "check", "list", "certs", "shell", "probe"):
            self.assertRegex(page, r"\n     %s\b" % sub)  # each sub-command has its entry

    def test_make_install_lays_it_out(self):
        with tempfile.TemporaryDirectory() as d:
            # the build under test (the sanitizer run's or the plain one): already up to date
            san = ["SANITIZE=1"] if "/build/san/" in os.environ["MRSMOCK_BIN"] else []
            p = subprocess.run(["make", "-s", "-C", ROOT, "install", "DESTDIR=" + d] + san,
                               capture_output=True, text=True, timeout=TIMEOUT * 6)
            self.assertEqual(p.returncode, 0, p.stderr)
            for f in ("usr/local/bin/mrsmock", "usr/local/share/man/man1/mrsmock.1",
                      "usr/local/lib/systemd/system/mrsmock@.service",
                      "usr/local/share/mrsmock/scenarios/healthy.xml",
                      "usr/local/share/mrsmock/scenarios/scenario.rng"):
                self.assertTrue(os.path.isfile(os.path.join(d, f)), f)
            p = subprocess.run(["make", "-s", "-C", ROOT, "uninstall", "DESTDIR=" + d],
                               capture_output=True, text=True, timeout=TIMEOUT)
            self.assertEqual(p.returncode, 0, p.stderr)
            left = [os.path.join(r, f) for r, _, fs in os.walk(d) for f in fs]
            self.assertEqual(left, [])


    def test_make_certs(self):
        # the lab CA for trainee machines, into the checkout's certs/ (ignored by git)
        with tempfile.TemporaryDirectory() as state:
            san = ["SANITIZE=1"] if "/build/san/" in os.environ["MRSMOCK_BIN"] else []
            p = subprocess.run(["make", "-s", "-C", ROOT, "certs"] + san, capture_output=True,
                               text=True, timeout=TIMEOUT * 6,
                               env=dict(os.environ, MRSMOCK_STATE_DIR=state))
            self.assertEqual(p.returncode, 0, p.stderr)
            certs = os.path.join(ROOT, "certs")
            ca = os.path.join(state, "pki", "ca.crt")
            with open(ca) as f, open(os.path.join(certs, "mrsmock-lab-ca.crt")) as g:
                self.assertEqual(f.read(), g.read())
            p = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject", "-in",
                                os.path.join(certs, "mrsmock-lab-ca.cer")],
                               capture_output=True, text=True, timeout=TIMEOUT)
            self.assertIn("mrsmock Lab Root CA", p.stdout)
            with open(os.path.join(certs, "missing-intermediate-bundle.pem")) as f:
                self.assertEqual(f.read().count("BEGIN CERTIFICATE"), 2)  # root + intermediate
            self.assertFalse(any(n.endswith(".key") for n in os.listdir(certs)))

    def test_service_unit_verifies(self):
        # installed under a real prefix, so that its ExecStart and its manual page exist
        with tempfile.TemporaryDirectory() as d:
            prefix = os.path.join(d, "usr")
            san = ["SANITIZE=1"] if "/build/san/" in os.environ["MRSMOCK_BIN"] else []
            p = subprocess.run(["make", "-s", "-C", ROOT, "install", "PREFIX=" + prefix] + san,
                               capture_output=True, text=True, timeout=TIMEOUT * 6)
            self.assertEqual(p.returncode, 0, p.stderr)
            unit_dir = os.path.join(prefix, "lib", "systemd", "system")
            with open(os.path.join(unit_dir, "mrsmock@.service")) as f:
                unit = f.read()
            self.assertIn("ExecStart=%s/bin/mrsmock run %%I --state-dir ${STATE_DIRECTORY}"
                          % prefix, unit)
            for line in ("DynamicUser=yes", "StateDirectory=mrsmock/%i",
                         "ExecReload=/bin/kill -HUP $MAINPID", "NoNewPrivileges=yes",
                         "ProtectSystem=strict",
                         "AmbientCapabilities=CAP_NET_BIND_SERVICE"):
                self.assertIn("\n" + line + "\n", unit)
            os.symlink("mrsmock@.service", os.path.join(unit_dir, "mrsmock@healthy.service"))
            p = subprocess.run(["systemd-analyze", "verify",
                                os.path.join(unit_dir, "mrsmock@healthy.service")],
                               capture_output=True, text=True, timeout=TIMEOUT,
                               env=dict(os.environ, MANPATH=os.path.join(prefix, "share", "man")))
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main()
