#!/usr/bin/env bash
# Debian's Chromium and a CJK font for the console's browser tests (Playwright drives /usr/bin/chromium; it never
# downloads browsers of its own). Installs with apt-get when missing, like postgres.sh installs PostgreSQL.
#   chromium.sh install   install chromium and fonts-noto-cjk if missing (root)
#   chromium.sh path      print the browser's path
set -euo pipefail
LOG_TAG=chromium
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cmd=${1:-install}
case "$cmd" in
install)
    missing=()
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
    apt_install_missing "${missing[@]}"
    ;;
path)
    command -v chromium
    ;;
*)
    echo "usage: $0 install|path" >&2
    exit 2
    ;;
esac
