#!/bin/sh
# Debian packages that `make bench` needs beside those of ci/deps.sh: the servers mrsmock is
# compared with (h2o, nginx-light) and the load generators (wrk, h2load from nghttp2-client).
# Kept out of ci/deps.sh on purpose: the test run must not install web servers on a user's
# machine. When a package is missing: installed with apt-get when run as root, otherwise the
# exact command is printed and we fail.
#
# Debian's h2o and nginx packages start a service on port 80 when installed. make bench runs
# its own instances on free loopback ports, so a package this script installs has its service
# kept from starting (a policy-rc.d for the installation, only when the machine has none) and,
# under systemd, disabled; a package that was already there is left as it was.
set -eu
PKGS="h2o nginx-light wrk nghttp2-client openssl python3 python3-ntlm-auth"
SERVICES="h2o nginx"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "ci/bench-deps.sh: missing Debian packages; run:" >&2
    echo "  sudo apt-get install -y$missing" >&2
    echo "(h2o and nginx start a service on port 80 once installed; make bench does not use it:" >&2
    echo " sudo systemctl disable --now h2o nginx)" >&2
    exit 1
fi

# the services whose package is not installed yet: those we may keep from running
fresh=""
for s in $SERVICES; do
    dpkg-query -W -f='${Status}' "$s" 2>/dev/null | grep -q "install ok installed" ||
        fresh="$fresh $s"
done
policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# ci/bench-deps.sh: no service started while it installs packages\nexit 101\n' > "$policy"
    chmod 0755 "$policy"
    made_policy=1
    trap 'rm -f "$policy"' EXIT INT TERM
fi
echo "ci/bench-deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 || true
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
[ -n "$made_policy" ] && rm -f "$policy"
if [ -d /run/systemd/system ]; then
    for s in $fresh; do
        systemctl disable --now "$s" > /dev/null 2>&1 || true
    done
fi
exit 0
