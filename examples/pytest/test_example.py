"""What a migration tool's test suite looks like with the fixture in conftest.py: the "tool"
here is curl, asked for the MRS Proxy with the migration account; each test asserts what the
tool saw and why the server answered so."""
import subprocess

import pytest

MRS = "/EWS/mrsproxy.svc"


def tool(mrsmock, user="admin", password="P@ssw0rd!"):
    """The tool under test: returns the HTTP status it met."""
    p = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--http1.1",
                        "--cacert", mrsmock.ca, *mrsmock.resolve(), "-u", user + ":" + password,
                        mrsmock.url("mail.contoso.com", MRS)],
                       capture_output=True, text=True, timeout=60)
    return int(p.stdout)


def test_healthy(mrsmock):
    assert tool(mrsmock) == 200
    entry = mrsmock.wait(count=1, path=MRS)[0]
    assert entry["answered_by"] == "backend"
    assert "auth: Basic logon of CONTOSO\\admin" in entry["why"]


@pytest.mark.scenario("wrong-credentials")
def test_wrong_credentials(mrsmock):
    assert tool(mrsmock) == 401
    entry = mrsmock.wait(count=1, path=MRS, status=401)[0]
    assert (entry["substatus"], entry["win32_status"]) == (1, 1326), entry["why"]


@pytest.mark.scenario("mrsproxy-disabled")
def test_mrsproxy_disabled(mrsmock):
    assert tool(mrsmock) == 403
    entry = mrsmock.wait(count=1, path=MRS)[0]
    assert entry["answered_by"] == "frontend"
    assert any("MRSProxyEnabled is false" in why for why in entry["why"])


def test_a_scenario_of_ones_own(mrsmock):
    mrsmock.switch(document='<scenario xmlns="urn:mrsmock:scenario:1" name="mine" '
                            'extends="healthy"><server name="EX1"><ews mrsproxy="false"/>'
                            '</server></scenario>')
    assert tool(mrsmock) == 403
