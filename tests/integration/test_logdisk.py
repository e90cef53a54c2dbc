"""The Windows logs when the disk under them misbehaves at run time, through the real binary and
real HTTPS clients: a disk that fills in the middle of a write (a small tmpfs, when the test may
mount one; a file size limit set on the running server with prlimit otherwise), and a log folder
an administrator deletes. Each is reported once on standard error, survived, and logging resumes
with whole lines: none torn, none doubled.
"""
import http.client
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import time
import unittest

from harness import TIMEOUT, Server, read_bytes, today_log_name

MRS = "/EWS/mrsproxy.svc"


def sni_context(s):
    ctx = ssl.create_default_context(cafile=s.ca)
    ctx.check_hostname = False  # the certificate names mail.contoso.com; we dial 127.0.0.1
    return ctx


def requests(s, n):
    """N anonymous MRS Proxy requests on one keep-alive connection; every one answered 401."""
    c = http.client.HTTPSConnection("127.0.0.1", s.port, context=sni_context(s),
                                    timeout=TIMEOUT)
    try:
        for _ in range(n):
            c.putrequest("GET", MRS, skip_host=True)
            c.putheader("Host", "mail.contoso.com")
            c.endheaders()
            r = c.getresponse()
            r.read()
            assert r.status == 401, r.status
    finally:
        c.close()


def w3c_file(s, server="EX1"):
    return os.path.join(s.ready["logs"], server, "inetpub", "logs", "LogFiles", "W3SVC1",
                        today_log_name())


def whole_lines(path):
    """The data lines of a W3C file, after checking that each one is whole: as many fields as
    its #Fields line names, and the file ending with CRLF."""
    data = read_bytes(path).decode("utf-8")
    assert data.endswith("\r\n"), repr(data[-80:])
    fields, rows = None, []
    for line in data[:-2].split("\r\n"):
        if line.startswith("#Fields: "):
            fields = line[len("#Fields: "):].split(" ")
        elif not line.startswith("#"):
            assert fields is not None and len(line.split(" ")) == len(fields), repr(line)
            rows.append(line.split(" "))
    return rows


def wait_for(pred, what):
    deadline = time.monotonic() + TIMEOUT
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)  # polling with a deadline, not a fixed wait


class DiskFills:
    """What makes the disk under the logs full, and gives the room back."""

    def prepare(self, state_dir):
        pass

    def fill(self, s):
        raise NotImplementedError

    def free(self, s):
        raise NotImplementedError

    def cleanup(self):
        pass


class SmallTmpfs(DiskFills):
    """A 1 MiB tmpfs mounted on the state folder's logs, then a filler file taking all its room
    but a few KiB: the next pages the logs need are refused (ENOSPC), mid-write."""
    error = "No space left on device"

    def prepare(self, state_dir):
        self.mnt = os.path.join(state_dir, "logs")
        os.makedirs(self.mnt)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", self.mnt],
                           capture_output=True, text=True)
        if p.returncode != 0:
            os.rmdir(self.mnt)
            raise unittest.SkipTest("cannot mount a tmpfs (%s): needs root" % p.stderr.strip())

    def fill(self, s):
        st = os.statvfs(self.mnt)
        room = st.f_bavail * st.f_frsize
        self.filler = os.path.join(self.mnt, "filler")
        with open(self.filler, "wb") as f:
            f.write(b"\0" * max(0, room - 6000))

    def free(self, s):
        os.unlink(self.filler)

    def cleanup(self):
        subprocess.run(["umount", self.mnt], capture_output=True)


class FileSizeLimit(DiskFills):
    """RLIMIT_FSIZE set on the running server (prlimit, no privileges): its files may not grow
    past a few KiB more than the largest is now, so a write that crosses the limit is cut short
    and the next refused (EFBIG), as on a disk that fills."""
    error = "File too large"

    def fill(self, s):
        biggest = 0
        for root, _, files in os.walk(s.ready["logs"]):
            for name in files:
                biggest = max(biggest, os.path.getsize(os.path.join(root, name)))
        self.prlimit(s, str(biggest + 6000))

    def free(self, s):
        self.prlimit(s, "unlimited")

    @staticmethod
    def prlimit(s, value):
        if shutil.which("prlimit") is None:
            raise unittest.SkipTest("no prlimit (util-linux)")
        subprocess.run(["prlimit", "--pid", str(s.proc.pid), "--fsize=%s:unlimited" % value],
                       check=True)


class FullDisk:
    method = None

    def test_full_disk_then_room_again(self):
        state = tempfile.mkdtemp(prefix="mrsmock-disk-")
        way = self.method()
        try:
            way.prepare(state)
            with Server("healthy", state_dir=state) as s:
                requests(s, 1)
                s.w3c_wait(1)
                way.fill(s)
                sent, full = 1, r"cannot write to \S+u_ex\d{6}\.log: " + way.error
                while sent < 2000:
                    requests(s, 20)
                    sent += 20
                    try:
                        s.wait_stderr(full, timeout=0.3)
                        break
                    except AssertionError:
                        continue
                s.wait_stderr(full)
                # whatever reached the file is whole lines: the torn one was cut off
                self.assertLess(len(whole_lines(w3c_file(s))), sent)
                way.free(s)
                requests(s, 5)
                sent += 5
                s.wait_stderr(r"writing to \S+u_ex\d{6}\.log again; no line lost")
                # every request's line, once each, in whole lines
                wait_for(lambda: len(whole_lines(w3c_file(s))) >= sent, "an IIS line each")
                rows = whole_lines(w3c_file(s))
                self.assertEqual(len(rows), sent)
                ids = [re.search(r"cafeReqId=([0-9a-f-]{36});", r[5]).group(1) for r in rows]
                self.assertEqual(len(set(ids)), sent)
                s.stop()
                text = s.stderr.decode()
                # once per log when it began failing, once when it worked again
                w3c = w3c_file(s)
                self.assertEqual(text.count("cannot write to %s:" % w3c), 1, text)
                self.assertEqual(text.count("writing to %s again" % w3c), 1, text)
        finally:
            way.cleanup()
            shutil.rmtree(state, ignore_errors=True)


class FullTmpfs(FullDisk, unittest.TestCase):
    method = SmallTmpfs


class FileSizeLimitReached(FullDisk, unittest.TestCase):
    method = FileSizeLimit


class RemovedLogFolder(unittest.TestCase):
    def test_log_folder_deleted_under_the_server(self):
        with Server("healthy") as s:
            requests(s, 2)
            s.w3c_wait(2)
            # an administrator clears the server's whole log tree
            shutil.rmtree(os.path.join(s.ready["logs"], "EX1"))
            # the check is once a second: requests over more than one
            deadline = time.monotonic() + TIMEOUT
            while not os.path.exists(w3c_file(s)) and time.monotonic() < deadline:
                requests(s, 1)
                time.sleep(0.2)
            s.wait_stderr(r"u_ex\d{6}\.log was removed; writing to a new one")
            requests(s, 3)
            wait_for(lambda: len(whole_lines(w3c_file(s))) >= 4, "the new file's lines")
            text = read_bytes(w3c_file(s)).decode()
            # a new file begins with IIS's header block
            self.assertTrue(text.startswith("#Software: Microsoft Internet Information Services"),
                            text[:80])
            s.stop()
            self.assertEqual(s.stderr.decode().count("u_ex"), 1, s.stderr)


if __name__ == "__main__":
    unittest.main()
