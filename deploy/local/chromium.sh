#!/usr/bin/env bash
# Debian's Chromium and a CJK font for the console's browser tests (Playwright drives /usr/bin/chromium; it never
# downloads browsers of its own). Installs with apt-get when missing, like postgres.sh installs PostgreSQL.
#   chromium.sh install   install chromium and fonts-noto-cjk if missing (root)
#   chromium.sh path      print the browser's path
set -euo pipefail
cmd=${1:-install}
case "$cmd" in
install)
    missing=()
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
    if ((${#missing[@]} == 0)); then
        exit 0
    fi
    if ((EUID != 0)); then
        echo "chromium.sh: missing ${missing[*]}; install them as root: apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "chromium.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
        apt-get update >/dev/null 2>&1
        apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
    }
    ;;
path)
    command -v chromium
    ;;
*)
    echo "usage: $0 install|path" >&2
    exit 2
    ;;
esac
