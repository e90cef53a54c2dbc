#!/bin/sh
# Debian packages that mrsmock needs to build and to run its tests. When a package is missing:
# installed with apt-get when run as root, otherwise the exact command is printed and we fail.
set -eu
PKGS="make gcc pkg-config libh2o-evloop-dev libssl-dev libxml2-dev libcmocka-dev libjansson-dev libcurl4-openssl-dev \
openssl curl python3 python3-exchangelib python3-requests-ntlm python3-pytest gss-ntlmssp testssl.sh groff-base man-db pandoc systemd \
dpkg-dev debhelper fakeroot lintian chromium nodejs clang libclang-rt-14-dev"

# The dashboard's browser test drives Debian's chromium with playwright-core, pinned in
# tests/browser/package-lock.json; without it (no registry reachable) that test skips and says so.
browser_driver() {
    dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
    [ -d "$dir/node_modules/playwright-core" ] && return 0
    command -v npm > /dev/null 2>&1 || return 0
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2) ||
        echo "ci/deps.sh: npm ci in tests/browser failed; the browser test will skip" >&2
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
    browser_driver
else
    echo "ci/deps.sh: missing Debian packages; run:" >&2
    echo "  sudo apt-get install -y$missing" >&2
    exit 1
fi
