"""exchangelib 4.9 as a migration tool uses it, run in its own process so that NTLM's MD4 can
come from OpenSSL's legacy provider (OPENSSL_CONF must be set before the process starts).

usage: exchangelib_client.py READY_JSON USER PASSWORD AUTH_TYPE
  READY_JSON  the server's ready line; connections to its hosts go to its first listener
  AUTH_TYPE   NTLM or BASIC: used for EWS at https://mail.contoso.com/EWS/Exchange.asmx
Prints one JSON line: the server version and root folder, or the error's class and text.
"""
import json
import sys

import ews_util


class Ready:
    """What ews_util needs of a running server, from its ready line."""

    def __init__(self, ready):
        self.ready = ready
        self.listener = ready["listeners"][0]
        self.port = int(self.listener["url"].rsplit(":", 1)[1])
        self.ca = ready["ca"]


def main():
    ready, user, password, auth = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    server = Ready(ready)
    from exchangelib import Account, Configuration, Credentials, DELEGATE
    from exchangelib.transport import BASIC, NTLM

    with ews_util.exchangelib_lab(server):
        try:
            creds = Credentials(user, password)
            config = Configuration(
                service_endpoint="https://mail.contoso.com/EWS/Exchange.asmx",
                credentials=creds, auth_type={"NTLM": NTLM, "BASIC": BASIC}[auth])
            account = Account("admin@contoso.com", credentials=creds, config=config,
                              autodiscover=False, access_type=DELEGATE)
            out = {"build": str(account.protocol.version.build),
                   "root": account.msg_folder_root.name}
        except Exception as e:  # the test asserts what the client reports
            out = {"error": type(e).__name__, "text": str(e)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
