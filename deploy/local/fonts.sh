#!/usr/bin/env bash
# What the monthly statement's PDF needs: a CJK font (Debian's fonts-noto-cjk, drawn into the PDF by the tracker)
# and, for the tests that read the PDF back, pdftotext (poppler-utils). Installs with apt-get when missing, like
# chromium.sh.
#   fonts.sh install   install fonts-noto-cjk and poppler-utils if missing (root)
set -euo pipefail
LOG_TAG=fonts
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cmd=${1:-install}
case "$cmd" in
install)
    missing=()
    dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
    command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
    apt_install_missing "${missing[@]}"
    ;;
*)
    echo "usage: $0 install" >&2
    exit 2
    ;;
esac
