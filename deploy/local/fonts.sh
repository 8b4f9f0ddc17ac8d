#!/usr/bin/env bash
# What the monthly statement's PDF needs: a CJK font (Debian's fonts-noto-cjk, drawn into the PDF by the tracker)
# and, for the tests that read the PDF back, pdftotext (poppler-utils). Installs with apt-get when missing, like
# chromium.sh.
#   fonts.sh install   install fonts-noto-cjk and poppler-utils if missing (root)
set -euo pipefail
cmd=${1:-install}
case "$cmd" in
install)
    missing=()
    dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
    command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
    if ((${#missing[@]} == 0)); then
        exit 0
    fi
    if ((EUID != 0)); then
        echo "fonts.sh: missing ${missing[*]}; install them as root: apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "fonts.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
        apt-get update >/dev/null 2>&1
        apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
    }
    ;;
*)
    echo "usage: $0 install" >&2
    exit 2
    ;;
esac
