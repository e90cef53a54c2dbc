"""The manual pages document what the binary takes: every option `--help` lists (of the
program, of run and of certs) appears in the rendered mrsmock(1); every element, attribute and
fixed value of the schema in mrsmock-scenario(5), made from scenarios/README.md; both render
without a warning. `make install` lays the binary, the scenarios and the pages out under
DESTDIR, and an installed binary reads the scenarios of its own share folder."""
import os
import re
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

from harness import BIN, ROOT, mrsmock, TIMEOUT

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


RNG = "{http://relaxng.org/ns/structure/1.0}"
# made by the build beside the binary under test (build/ or build/san/)
SCENARIO_PAGE = os.path.join(os.path.dirname(BIN), "man", "mrsmock-scenario.5")


def schema():
    """{element: (attributes, values of its attributes)} of scenarios/scenario.rng, following
    the refs to attribute groups (a ref to a define holding an element is a child)."""
    root = ET.parse(os.path.join(ROOT, "scenarios", "scenario.rng")).getroot()
    defines = {d.get("name"): d for d in root.iter(RNG + "define")}

    def walk(node, attrs, values):
        for c in node:
            if c.tag == RNG + "element":
                continue
            if c.tag == RNG + "attribute":
                attrs.add(c.get("name"))
                values.update(v.text for v in c.iter(RNG + "value"))
            elif c.tag == RNG + "ref":
                d = defines[c.get("name")]
                if d.find(RNG + "element") is None:
                    walk(d, attrs, values)
            else:
                walk(c, attrs, values)

    out = {}
    for e in root.iter(RNG + "element"):
        attrs, values = set(), set()
        walk(e, attrs, values)
        out[e.get("name")] = (attrs, values)
    return out


class ScenarioPage(unittest.TestCase):
    def test_renders_without_a_warning(self):
        self.assertTrue(os.path.isfile(SCENARIO_PAGE), "make builds " + SCENARIO_PAGE)
        p = subprocess.run(["groff", "-t", "-mandoc", "-ww", "-z", SCENARIO_PAGE],
                           capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        p = subprocess.run(["man", "--warnings", "-l", SCENARIO_PAGE], capture_output=True,
                           text=True, timeout=TIMEOUT, env=dict(os.environ, MANWIDTH="80"))
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        self.assertIn("mrsmock-scenario - the scenario files of mrsmock(1)", p.stdout)
        p = subprocess.run(["lexgrog", SCENARIO_PAGE], capture_output=True, text=True,
                           timeout=TIMEOUT)
        self.assertIn("mrsmock-scenario - the scenario files", p.stdout)

    def test_every_element_and_attribute_of_the_schema_is_in_the_page(self):
        with open(SCENARIO_PAGE) as f:
            source = f.read()
        # each section (.SH/.SS) with the attributes its lists document (the .TP tags)
        sections, heading = {}, None
        lines = source.splitlines()
        for i, line in enumerate(lines):
            if line.startswith((".SH", ".SS")):
                heading = line
                sections.setdefault(heading, set())
            elif line == ".TP" and heading is not None and i + 1 < len(lines):
                sections[heading].update(re.findall(r"\\f\[V\]([\w-]+)\\f\[R\]", lines[i + 1]))
        text = re.sub(r".\x08", "", subprocess.run(
            ["man", "-l", SCENARIO_PAGE], capture_output=True, text=True, timeout=TIMEOUT,
            env=dict(os.environ, MANWIDTH="200", MAN_KEEP_FORMATTING="0")).stdout)
        words = set(re.findall(r"[\w.-]+", text))
        elements = schema()
        self.assertIn("handshake-fault", elements)  # the walk finds them
        self.assertIn("internal-url", elements["ews"][0])
        missing = []
        for name, (attrs, values) in sorted(elements.items()):
            # the sections whose heading names the element before any "(in <parent>...)"
            own = [h for h in sections
                   if "<%s>" % name in h.replace("\\f[V]", "").replace("\\f[R]", "").split("(")[0]]
            if not own:
                missing.append("<%s>: no section" % name)
            documented = set().union(*(sections[h] for h in own)) if own else set()
            missing += ["<%s>: attribute %s" % (name, a) for a in sorted(attrs - documented)]
            missing += ["<%s>: value %s" % (name, v) for v in sorted(values - words)]
        self.assertEqual(missing, [])

    def test_it_is_installed_and_uninstalled(self):
        with tempfile.TemporaryDirectory() as d:
            san = ["SANITIZE=1"] if "/build/san/" in BIN else []
            p = subprocess.run(["make", "-s", "-C", ROOT, "install", "DESTDIR=" + d] + san,
                               capture_output=True, text=True, timeout=TIMEOUT * 6)
            self.assertEqual(p.returncode, 0, p.stderr)
            page = os.path.join(d, "usr/local/share/man/man5/mrsmock-scenario.5")
            with open(page) as f, open(SCENARIO_PAGE) as g:
                self.assertEqual(f.read(), g.read())
            p = subprocess.run(["make", "-s", "-C", ROOT, "uninstall", "DESTDIR=" + d],
                               capture_output=True, text=True, timeout=TIMEOUT)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertFalse(os.path.exists(page))



class Installed(unittest.TestCase):
    """One build for a prefix other than the checkout's (in a build folder of its own, so that
    the checkout's build/ is not rebuilt for it), installed there: its binary reads the
    scenarios of its SHAREDIR and not the checkout's, unless MRSMOCK_SHAREDIR names another."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.prefix = os.path.join(cls.tmp.name, "usr")
        p = subprocess.run(["make", "-s", "-j2", "-C", ROOT, "install", "PREFIX=" + cls.prefix,
                            "BUILD=" + os.path.join(cls.tmp.name, "build")],
                           capture_output=True, text=True, timeout=TIMEOUT * 10)
        assert p.returncode == 0, p.stderr
        cls.bin = os.path.join(cls.prefix, "bin", "mrsmock")
        cls.share = os.path.join(cls.prefix, "share", "mrsmock", "scenarios")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def installed(self, *args, env=None):
        e = {k: v for k, v in os.environ.items() if k != "MRSMOCK_SHAREDIR"}
        return subprocess.run([self.bin, *args], capture_output=True, text=True,
                              timeout=TIMEOUT, env=dict(e, **(env or {})))

    def names(self, listing):
        return [line.split()[0] for line in listing.splitlines()]

    def test_installed_binary_reads_its_share_folder(self):
        bundled = sorted(f[:-4] for f in os.listdir(os.path.join(ROOT, "scenarios"))
                         if f.endswith(".xml"))
        p = self.installed("list")
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        self.assertEqual(self.names(p.stdout), bundled)
        # a scenario only the share folder has is listed and served by name: not the checkout's
        extra = os.path.join(self.share, "only-installed.xml")
        with open(os.path.join(self.share, "healthy.xml")) as f:
            text = f.read().replace('name="healthy"', 'name="only-installed"', 1)
        with open(extra, "w") as f:
            f.write(text)
        try:
            self.assertIn("only-installed", self.names(self.installed("list").stdout))
            p = self.installed("check", "only-installed")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn(extra, p.stdout)
            self.assertNotIn("only-installed", self.names(mrsmock("list").stdout))
        finally:
            os.unlink(extra)
        # the checkout's own build still reads the checkout's scenarios
        p = mrsmock("check", "healthy")
        self.assertIn(os.path.join(ROOT, "scenarios", "healthy.xml"), p.stdout)

    def test_mrsmock_sharedir_overrides(self):
        with tempfile.TemporaryDirectory() as d:
            os.mkdir(os.path.join(d, "scenarios"))
            with open(os.path.join(self.share, "healthy.xml")) as f, \
                    open(os.path.join(d, "scenarios", "healthy.xml"), "w") as g:
                g.write(f.read())
            p = self.installed("list", env={"MRSMOCK_SHAREDIR": d})
            self.assertEqual((p.returncode, self.names(p.stdout)), (0, ["healthy"]), p.stderr)
            p = self.installed("list", env={"MRSMOCK_SHAREDIR": os.path.join(d, "none")})
            self.assertEqual(p.returncode, 2)
            self.assertIn(os.path.join(d, "none", "scenarios"), p.stderr)

    def test_service_unit_verifies(self):
        # installed under a real prefix, so that its ExecStart and its manual page exist
        prefix = self.prefix
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
        link = os.path.join(unit_dir, "mrsmock@healthy.service")
        os.symlink("mrsmock@.service", link)
        try:
            p = subprocess.run(["systemd-analyze", "verify", link], capture_output=True,
                               text=True, timeout=TIMEOUT,
                               env=dict(os.environ, MANPATH=os.path.join(prefix, "share", "man")))
        finally:
            os.unlink(link)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main()
