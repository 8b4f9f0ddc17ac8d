#!/usr/bin/env bash
# Check the Prometheus configuration and alert rules, and run the rules' unit tests with promtool.
# promtool comes from Debian's `prometheus` package; as root (CI) it is installed when missing.
#   check.sh           install promtool if missing, check both configs and the rules, run rules.test.yml
#   check.sh install   only install promtool if missing (tests that run promtool themselves call this)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

LOG_TAG=promtool
# shellcheck source=../local/lib.sh
source "$here/../local/lib.sh"
# Debian's `prometheus` package, without recommends: only the binaries, not the node exporter and its friends.
command -v promtool >/dev/null 2>&1 || apt_install_missing prometheus
if [[ ${1:-} == install ]]; then
    exit 0
fi

cd "$here"
promtool check config prometheus.yml
promtool check config prometheus-local.yml
promtool check rules rules/*.yml
promtool test rules rules.test.yml
