#!/usr/bin/env bash
# The whole suite; pytest's exit code 5 (no test collected) is a failure here, said plainly.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest -p no:cacheprovider "$@"
code=$?
if [[ $code -eq 5 ]]; then
    echo "pytest collected no tests: that is a broken suite, not a pass" >&2
    exit 1
fi
exit $code
