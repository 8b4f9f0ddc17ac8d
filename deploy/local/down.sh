#!/usr/bin/env bash
# Stop what deploy/local/up.sh started, and nothing else.
#
#   deploy/local/down.sh          stop the services listed in $CASEROUTE_VAR/infra.started
#   deploy/local/down.sh --all    also stop single-node Kafka, the 3-node cluster and the
#                                 private PostgreSQL if they run, whoever started them
#
# Data is kept (var/kafka, var/postgres, ...); remove $CASEROUTE_VAR to start from scratch.
set -Eeuo pipefail
LOG_TAG=down
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'log "failed: line $LINENO: $BASH_COMMAND"' ERR

STARTED_FILE=$CASEROUTE_VAR/infra.started
ENV_FILE=$CASEROUTE_VAR/infra.env
ALL=0
case ${1:-} in
"") ;;
--all) ALL=1 ;;
*)
    echo "usage: $0 [--all]" >&2
    exit 2
    ;;
esac

failed=0
stop_service() {
    case $1 in
    kafka) "$LOCAL_DIR/kafka.sh" stop || failed=1 ;;
    postgres) "$LOCAL_DIR/postgres.sh" stop || failed=1 ;;
    kafka-cluster) "$LOCAL_DIR/kafka-cluster.sh" stop || failed=1 ;;
    *) log "unknown entry '$1' in $STARTED_FILE: ignored" ;;
    esac
}

if ((ALL)); then
    for svc in postgres kafka kafka-cluster; do stop_service "$svc"; done
elif [[ -s $STARTED_FILE ]]; then
    # Reverse order of starting.
    for svc in $(tac "$STARTED_FILE"); do stop_service "$svc"; done
else
    log "up.sh started nothing that is still recorded ($STARTED_FILE empty or missing): nothing to stop"
fi

((failed)) && die "some services did not stop cleanly; see the messages above"
rm -f "$STARTED_FILE" "$ENV_FILE"
log "done"
