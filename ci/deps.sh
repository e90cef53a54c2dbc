#!/bin/sh
# Debian packages that mrsmock needs to build and to run its tests. When a package is missing:
# installed with apt-get when run as root, otherwise the exact command is printed and we fail.
set -eu
PKGS="make gcc pkg-config libh2o-evloop-dev libssl-dev libxml2-dev libcmocka-dev libjansson-dev libcurl4-openssl-dev \
openssl curl nghttp2-client python3 python3-exchangelib python3-requests-ntlm python3-pytest python3-dnspython python3-h2 gss-ntlmssp testssl.sh groff-base man-db pandoc systemd \
dpkg-dev debhelper fakeroot lintian chromium nodejs nginx clang libclang-rt-14-dev"

# The dashboard's browser test drives Debian's chromium with playwright-core, pinned in
# tests/browser/package-lock.json; without it (no registry reachable) that test skips and says so.
browser_driver() {
    dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
    [ -d "$dir/node_modules/playwright-core" ] && return 0
    command -v npm > /dev/null 2>&1 || return 0
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2) ||
        echo "ci/deps.sh: npm ci in tests/browser failed; the browser test will skip" >&2
}

# nginx (the probe's test against a server that is not mrsmock, tests/integration/
# test_probe_foreign.py, which runs its own nginx from a temporary prefix): on bookworm the
# package `nginx` is the server itself, nginx-light only a transitional package for it. Its
# maintainer scripts start the system's nginx on port 80 wherever no policy-rc.d forbids it;
# the tests do not need that one, and a machine should not serve port 80 because its test
# dependencies were installed, so when we installed nginx we stop and disable its service
# (a service someone installed before is left alone).
stop_nginx_service() {
    case " $missing " in *" nginx "*) ;; *) return 0 ;; esac
    if [ -d /run/systemd/system ]; then
        systemctl disable --now nginx > /dev/null 2>&1 || true
    elif [ -x /etc/init.d/nginx ]; then
        /etc/init.d/nginx stop > /dev/null 2>&1 || true
        update-rc.d nginx disable > /dev/null 2>&1 || true
    fi
}

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    browser_driver
    exit 0
fi

if [ "$(id -u)" = 0 ]; then
    echo "ci/deps.sh: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || true
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >&2
    stop_nginx_service
    browser_driver
else
    echo "ci/deps.sh: missing Debian packages; run:" >&2
    echo "  sudo apt-get install -y$missing" >&2
    exit 1
fi
