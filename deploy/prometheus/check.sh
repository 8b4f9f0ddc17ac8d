#!/usr/bin/env bash
# Check the Prometheus configuration and alert rules, and run the rules' unit tests with promtool.
# promtool comes from Debian's `prometheus` package; as root (CI) it is installed when missing.
#   check.sh           install promtool if missing, check both configs and the rules, run rules.test.yml
#   check.sh install   only install promtool if missing (tests that run promtool themselves call this)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if ! command -v promtool >/dev/null 2>&1; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "check.sh: promtool is missing; install it with: sudo apt-get install -y prometheus" >&2
        exit 1
    fi
    echo "check.sh: installing promtool (Debian package prometheus)" >&2
    export DEBIAN_FRONTEND=noninteractive
    # --no-install-recommends: only the binaries, not the node exporter and its friends.
    if ! apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1; then
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    fi
fi
if [[ ${1:-} == install ]]; then
    exit 0
fi

cd "$here"
promtool check config prometheus.yml
promtool check config prometheus-local.yml
promtool check rules rules/*.yml
promtool test rules rules.test.yml
