"""The Debian package as a user gets it (make deb-check; .ci/run runs it once): its metadata and
contents, lintian, and its binary unpacked into a temporary root serving the scenarios the
package installs. MRSMOCK_DEB names the .deb (make deb puts it in build/deb/).

The unpacked binary was built for /usr: MRSMOCK_SHAREDIR tells it where its share folder was
unpacked, and without it the binary names /usr/share/mrsmock/scenarios."""
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402

DEB = os.environ.get("MRSMOCK_DEB", "")
VERSION = re.search(r"^VERSION\s*:=\s*(\S+)", open(os.path.join(harness.ROOT, "Makefile")).read(),
                    re.M).group(1)
TIMEOUT = harness.TIMEOUT


def run(*cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", TIMEOUT),
                          **kw)


def setUpModule():
    global ROOTFS, TMP
    if not os.path.isfile(DEB):
        raise unittest.SkipTest("MRSMOCK_DEB is not a file (run: make deb-check)")
    TMP = tempfile.TemporaryDirectory(prefix="mrsmock-deb-")
    ROOTFS = os.path.join(TMP.name, "root")
    p = run("dpkg-deb", "-x", DEB, ROOTFS)
    assert p.returncode == 0, p.stderr


def tearDownModule():
    TMP.cleanup()


class Package(unittest.TestCase):
    def test_name_version_and_computed_dependencies(self):
        arch = run("dpkg", "--print-architecture").stdout.strip()
        self.assertEqual(os.path.basename(DEB), "mrsmock_%s_%s.deb" % (VERSION, arch))
        fields = {}
        for f in ("Package", "Version", "Architecture", "Depends"):
            fields[f] = run("dpkg-deb", "-f", DEB, f).stdout.strip()
        self.assertEqual(fields["Package"], "mrsmock")
        self.assertEqual(fields["Version"], VERSION)
        self.assertEqual(fields["Architecture"], arch)
        # ${shlibs:Depends}: the libraries the binary links, with their versions
        for lib in ("libc6", "libh2o-evloop", "libssl3", "libxml2", "libjansson4"):
            self.assertRegex(fields["Depends"], r"\b%s[\w.]* \(>= " % re.escape(lib))

    def test_contents(self):
        p = run("dpkg-deb", "-c", DEB)
        self.assertEqual(p.returncode, 0, p.stderr)
        files = {line.split()[5].lstrip(".") for line in p.stdout.splitlines()}
        for f in ("/usr/bin/mrsmock", "/usr/lib/mrsmock/mrsmock-probe",
                  "/usr/share/mrsmock/scenarios/healthy.xml",
                  "/usr/share/mrsmock/scenarios/scenario.rng",
                  "/usr/share/man/man1/mrsmock.1.gz", "/usr/share/man/man5/mrsmock-scenario.5.gz",
                  "/lib/systemd/system/mrsmock@.service", "/usr/share/doc/mrsmock/copyright",
                  "/usr/share/doc/mrsmock/changelog.gz"):
            self.assertIn(f, files)
        bundled = sorted(f for f in os.listdir(os.path.join(harness.ROOT, "scenarios"))
                         if f.endswith(".xml"))
        self.assertEqual(sorted(os.path.basename(f) for f in files
                                if f.startswith("/usr/share/mrsmock/scenarios/")
                                and f.endswith(".xml")), bundled)
        self.assertEqual([f for f in files if f.startswith("/usr/local")], [])
        with open(os.path.join(ROOTFS, "usr", "bin", "mrsmock"), "rb") as f:
            self.assertNotIn(b"/build/deb/", f.read())  # no build path compiled in

    def test_make_install_lays_out_the_same_files(self):
        # as debian/rules calls it, in a build folder of its own (the checkout's build/ is not
        # rebuilt for /usr); the package adds only its documentation and compresses the pages
        with tempfile.TemporaryDirectory() as d:
            dest = os.path.join(d, "root")
            p = run("make", "-s", "-j2", "-C", harness.ROOT, "install", "BUILD=" + os.path.join(
                d, "build"), "PREFIX=/usr", "UNITDIR=/lib/systemd/system", "CHECKOUT=",
                "DESTDIR=" + dest, timeout=TIMEOUT * 10)
            self.assertEqual(p.returncode, 0, p.stderr)
            installed = sorted("/" + os.path.relpath(os.path.join(r, f), dest)
                               for r, _, fs in os.walk(dest) for f in fs)
        packaged = sorted(re.sub(r"(/man/man\d/.*)\.gz$", r"\1", f)
                          for f in self.files() if not f.startswith("/usr/share/doc/"))
        self.assertEqual(installed, packaged)

    def files(self):
        p = run("dpkg-deb", "-c", DEB)
        return [line.split()[5].lstrip(".") for line in p.stdout.splitlines()
                if not line.startswith("d")]

    def test_service_template_is_neither_enabled_nor_started(self):
        with open(os.path.join(ROOTFS, "lib/systemd/system/mrsmock@.service")) as f:
            unit = f.read()
        self.assertIn("\nExecStart=/usr/bin/mrsmock run %I --state-dir ${STATE_DIRECTORY}\n", unit)
        with tempfile.TemporaryDirectory() as d:
            p = run("dpkg-deb", "-e", DEB, d)
            self.assertEqual(p.returncode, 0, p.stderr)
            for script in ("preinst", "postinst", "prerm", "postrm"):
                path = os.path.join(d, script)
                if os.path.exists(path):
                    with open(path) as f:
                        text = f.read()
                    self.assertNotRegex(text, r"deb-systemd-invoke\s.*start|deb-systemd-helper\s"
                                        r".*enable", script)

    def test_lintian(self):
        changes = DEB[:-len(".deb")] + ".changes"
        self.assertTrue(os.path.isfile(changes), changes)
        p = run("lintian", "--fail-on", "error,warning", "--display-info", changes,
                timeout=TIMEOUT * 6)
        print("\nlintian:\n" + (p.stdout or "(nothing)\n"), file=sys.stderr)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotRegex(p.stdout, r"(?m)^[EW]: ")

    def test_manual_pages_render(self):
        for page in ("man1/mrsmock.1.gz", "man5/mrsmock-scenario.5.gz"):
            p = run("man", "--warnings", "-l", os.path.join(ROOTFS, "usr/share/man", page),
                    env=dict(os.environ, MANWIDTH="80"))
            self.assertEqual((p.returncode, p.stderr), (0, ""), page)
            self.assertIn("NAME", p.stdout)


class UnpackedBinary(unittest.TestCase):
    """The unpacked /usr/bin/mrsmock with MRSMOCK_SHAREDIR at the unpacked share folder."""

    def setUp(self):
        self.bin = os.path.join(ROOTFS, "usr", "bin", "mrsmock")
        self.share = os.path.join(ROOTFS, "usr", "share", "mrsmock")
        self.env = {k: v for k, v in os.environ.items() if k != "MRSMOCK_SHAREDIR"}
        self.env["MRSMOCK_SHAREDIR"] = self.share
        self.saved = (harness.BIN, os.environ.get("MRSMOCK_SHAREDIR"))
        harness.BIN = self.bin  # harness.Server starts this binary, with os.environ
        os.environ["MRSMOCK_SHAREDIR"] = self.share

    def tearDown(self):
        harness.BIN = self.saved[0]
        if self.saved[1] is None:
            os.environ.pop("MRSMOCK_SHAREDIR", None)
        else:
            os.environ["MRSMOCK_SHAREDIR"] = self.saved[1]

    def test_version(self):
        p = run(self.bin, "--version", env=self.env)
        self.assertEqual((p.returncode, p.stdout.strip()), (0, "mrsmock " + VERSION))

    def test_probe_found_from_the_binary_and_libcurl_in_it_alone(self):
        # `mrsmock probe` runs ../lib/mrsmock/mrsmock-probe from wherever the binary is
        p = run(self.bin, "probe", "--help", env=self.env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("usage: mrsmock probe", p.stdout)
        needed = {}
        for name, path in (("server", self.bin),
                           ("probe", os.path.join(ROOTFS, "usr/lib/mrsmock/mrsmock-probe"))):
            out = run("readelf", "-d", path).stdout
            needed[name] = set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out))
        self.assertIn("libcurl.so.4", needed["probe"])
        self.assertNotIn("libcurl.so.4", needed["server"])

    def test_list_and_check_the_installed_scenarios(self):
        scenarios = os.path.join(self.share, "scenarios")
        names = sorted(f[:-4] for f in os.listdir(scenarios) if f.endswith(".xml"))
        p = run(self.bin, "list", env=self.env)
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        self.assertEqual([line.split()[0] for line in p.stdout.splitlines()], names)
        p = run(self.bin, "check", *names, env=self.env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        for n in names:
            self.assertIn("%s: ok" % os.path.join(scenarios, n + ".xml"), p.stdout)

    def test_built_for_usr_share(self):
        if os.path.isdir("/usr/share/mrsmock/scenarios"):
            self.skipTest("mrsmock is installed on this machine")
        env = {k: v for k, v in self.env.items() if k != "MRSMOCK_SHAREDIR"}
        p = run(self.bin, "list", env=env)
        self.assertEqual(p.returncode, 2)
        self.assertIn("cannot read /usr/share/mrsmock/scenarios", p.stderr)

    def test_serves_healthy_from_its_installed_scenarios(self):
        with harness.Server("healthy") as s:
            self.assertEqual(s.ready["scenario"], "healthy")
            status, headers, _, rc, err = s.curl("mail.contoso.com", "/EWS/mrsproxy.svc")
            self.assertEqual((rc, status), (0, 401), err)
            schemes = [v.split()[0] for k, v in headers if k.lower() == "www-authenticate"]
            self.assertEqual(schemes, ["Negotiate", "NTLM", "Basic"])
            _, lines = s.w3c_wait(1)
            self.assertEqual(len(lines), 1)
            self.assertIn("/EWS/mrsproxy.svc", lines[0])
            self.assertEqual(lines[0][-4:-1], ["401", "2", "5"])


if __name__ == "__main__":
    unittest.main()
