"""Out of file descriptors: a server at its limit stops accepting for a moment at a time instead
of spinning on failed accept() calls, says so once on standard error, and serves again once
descriptors are free. The limit is set on the running server with prlimit (util-linux, no
privileges needed); real TLS clients.
"""
import os
import shutil
import socket
import subprocess
import time
import unittest

from harness import TIMEOUT, Server


def cpu_seconds(pid):
    """User and system time of the process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hard_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[4])
    raise AssertionError("no open files limit")


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


@unittest.skipIf(shutil.which("prlimit") is None, "no prlimit (util-linux)")
class OutOfDescriptors(unittest.TestCase):
    def test_pauses_accepting_says_so_once_and_recovers(self):
        with Server("healthy") as s:
            pid = s.proc.pid
            st, _, _, rc, err = s.curl("mail.contoso.com", "/EWS/mrsproxy.svc", "--http1.1")
            self.assertEqual((st, rc), (401, 0), err)
            # room for two more descriptors, then none
            limit = open_fds(pid) + 2
            subprocess.run(["prlimit", "--pid", str(pid), "--nofile=%d:" % limit], check=True)
            held = [socket.create_connection(("127.0.0.1", s.port), timeout=TIMEOUT)
                    for _ in range(12)]
            s.wait_stderr(r"out of file descriptors; not accepting new connections")
            # connections wait in the queue: the server is not spinning on them meanwhile (a
            # busy loop would take a whole core; it takes next to nothing)
            before = cpu_seconds(pid)
            time.sleep(1.5)  # a window to measure the idle cost in, not a wait for an event
            self.assertLess(cpu_seconds(pid) - before, 0.5)
            # descriptors back: the queued connections are taken, new clients are served
            subprocess.run(["prlimit", "--pid", str(pid), "--nofile=%d:" % hard_limit(pid)],
                           check=True)
            for c in held:
                c.close()
            st, _, _, rc, err = s.curl("mail.contoso.com", "/EWS/mrsproxy.svc", "--http1.1")
            self.assertEqual((st, rc), (401, 0), err)
            self.assertEqual(s.stop(), 0)
            self.assertEqual(s.stderr.count(b"out of file descriptors"), 1, s.stderr)


if __name__ == "__main__":
    unittest.main()
