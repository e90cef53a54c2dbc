"""The pytest fixture users copy (examples/pytest/conftest.py) runs its example tests green with
Debian's pytest against the real binary: start on free ports, switch scenarios, wait for the
tool's requests, stop."""
import os
import subprocess
import unittest

from harness import TIMEOUT, sanitizer_env

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                       "pytest")


class PytestFixture(unittest.TestCase):
    def test_example_suite_passes(self):
        p = subprocess.run(["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            EXAMPLE], capture_output=True, text=True, timeout=TIMEOUT * 4,
                           env=sanitizer_env())
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"\b4 passed\b")


if __name__ == "__main__":
    unittest.main()
