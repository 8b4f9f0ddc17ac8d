#!/usr/bin/env bash
# Run a command with Kafka and PostgreSQL reachable: the configured ones (CASEROUTE_KAFKA_BOOTSTRAP,
# CASEROUTE_DATABASE_URL), or local ones that up.sh starts here and down.sh stops afterwards,
# also when the command fails.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export CASEROUTE_VAR=${CASEROUTE_VAR:-$(cd "$here/../.." && pwd)/var}
started=$(date +%s)
trap 'bash "$here/down.sh"' EXIT
if ! bash "$here/up.sh"; then
    echo "with-infra: could not start Kafka and PostgreSQL (logs above)" >&2
    exit 1
fi
# shellcheck disable=SC1091
source "$CASEROUTE_VAR/infra.env"
echo "with-infra: Kafka ${CASEROUTE_KAFKA_BOOTSTRAP}, PostgreSQL ready; provisioning took $(( $(date +%s) - started )) s"
"$@"
