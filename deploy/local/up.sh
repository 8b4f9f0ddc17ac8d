#!/usr/bin/env bash
# Bring up the infrastructure the tests need and say where it is.
#
#   deploy/local/up.sh        then:  . var/infra.env
#
# Kafka: single-node broker (kafka.sh) unless CASEROUTE_KAFKA_BOOTSTRAP is already set,
#        in which case it is only checked for reachability.
# PostgreSQL: private cluster (postgres.sh) unless CASEROUTE_DATABASE_URL is already set,
#        in which case it is only checked for reachability.
# A variable equal to the local address up.sh itself manages (127.0.0.1:$KAFKA_PORT, the
# postgres.sh url) counts as unset, so re-running after `. var/infra.env` works.
#
# Writes  $CASEROUTE_VAR/infra.env      export CASEROUTE_KAFKA_BOOTSTRAP=... / CASEROUTE_DATABASE_URL=...
#         $CASEROUTE_VAR/infra.started  services this script started (down.sh stops only those)
#         $CASEROUTE_VAR/infra.timings  KEY=seconds lines for the Makefile
# Prints one "provisioning: ..." summary line on stdout; progress goes to stderr.
# Idempotent: a second run finds everything running and only re-checks it.
#
# Env: CASEROUTE_VAR (<repo>/var), UP_CHECK_TIMEOUT (30, for external services), plus
#      everything kafka.sh and postgres.sh read (KAFKA_PORT, PG_PORT, ...).
set -Eeuo pipefail
LOG_TAG=up
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'log "failed: line $LINENO: $BASH_COMMAND"; log "what up.sh started so far is listed in ${STARTED_FILE:-var/infra.started}; deploy/local/down.sh stops it"' ERR

UP_CHECK_TIMEOUT=${UP_CHECK_TIMEOUT:-30}
ENV_FILE=$CASEROUTE_VAR/infra.env
STARTED_FILE=$CASEROUTE_VAR/infra.started
TIMINGS_FILE=$CASEROUTE_VAR/infra.timings
mkdir -p "$CASEROUTE_VAR"
touch "$STARTED_FILE"

record_started() { grep -qx "$1" "$STARTED_FILE" || printf '%s\n' "$1" >>"$STARTED_FILE"; }

# wait_reachable NAME "h1:p1,h2:p2": bounded wait for a TCP listener at any address.
wait_reachable() {
    local name=$1 addrs=$2 deadline=$((SECONDS + UP_CHECK_TIMEOUT))
    until any_port_open "$addrs"; do
        ((SECONDS < deadline)) || die "$name at $addrs is not reachable after ${UP_CHECK_TIMEOUT}s"
        sleep 1
    done
    log "$name at $addrs is reachable (external, not managed by up.sh)"
}

# Host:port of a SQLAlchemy/libpq URL, e.g. postgresql+asyncpg://u:p@h:5432/db?x=y -> h:5432
url_hostport() {
    local rest=${1#*://}
    rest=${rest%%/*}
    rest=${rest%%\?*}
    rest=${rest##*@}
    [[ $rest == *:* ]] || rest=$rest:5432
    printf '%s' "$rest"
}

# A variable that already holds the address up.sh itself would use (typically because
# infra.env was sourced earlier) is not "external": manage that service as usual.
if [[ ${CASEROUTE_KAFKA_BOOTSTRAP:-} == "$("$LOCAL_DIR/kafka.sh" bootstrap)" ]]; then
    unset CASEROUTE_KAFKA_BOOTSTRAP
fi
if [[ ${CASEROUTE_DATABASE_URL:-} == "$("$LOCAL_DIR/postgres.sh" url)" ]]; then
    unset CASEROUTE_DATABASE_URL
fi

KAFKA_FETCH_S=0.0 KAFKA_START_S=0.0 PG_INSTALL_S=0.0 PG_START_S=0.0
t_all=$(now_s)

# ------------------------------------------------------------------ Kafka
if [[ -n ${CASEROUTE_KAFKA_BOOTSTRAP:-} ]]; then
    KAFKA_BOOTSTRAP=$CASEROUTE_KAFKA_BOOTSTRAP
    wait_reachable Kafka "$KAFKA_BOOTSTRAP"
else
    KAFKA_BOOTSTRAP=$("$LOCAL_DIR/kafka.sh" bootstrap)
    t=$(now_s)
    "$LOCAL_DIR/kafka.sh" fetch
    KAFKA_FETCH_S=$(secs_since "$t")
    rc=0
    "$LOCAL_DIR/kafka.sh" status >/dev/null 2>&1 || rc=$?
    t=$(now_s)
    case $rc in
    0) log "Kafka already running on $KAFKA_BOOTSTRAP" ;;
    2) "$LOCAL_DIR/kafka.sh" wait ;; # running but not answering yet: wait, it is not ours to record
    *)
        "$LOCAL_DIR/kafka.sh" start
        record_started kafka
        ;;
    esac
    KAFKA_START_S=$(secs_since "$t")
fi

# ------------------------------------------------------------------ PostgreSQL
if [[ -n ${CASEROUTE_DATABASE_URL:-} ]]; then
    DATABASE_URL=$CASEROUTE_DATABASE_URL
    wait_reachable PostgreSQL "$(url_hostport "$DATABASE_URL")"
else
    t=$(now_s)
    "$LOCAL_DIR/postgres.sh" install
    PG_INSTALL_S=$(secs_since "$t")
    DATABASE_URL=$("$LOCAL_DIR/postgres.sh" url)
    rc=0
    "$LOCAL_DIR/postgres.sh" status >/dev/null 2>&1 || rc=$?
    t=$(now_s)
    case $rc in
    0)
        log "PostgreSQL already running"
        "$LOCAL_DIR/postgres.sh" start # cheap: re-checks role and database
        ;;
    2) "$LOCAL_DIR/postgres.sh" wait ;;
    *)
        "$LOCAL_DIR/postgres.sh" start
        record_started postgres
        ;;
    esac
    PG_START_S=$(secs_since "$t")
fi

# ------------------------------------------------------------------ outputs
env_line() {
    if [[ $2 =~ ^[A-Za-z0-9_.:/@+,%=-]*$ ]]; then
        printf 'export %s=%s\n' "$1" "$2"
    else
        printf 'export %s=%q\n' "$1" "$2"
    fi
}
{
    printf '# Written by deploy/local/up.sh at %s; source it: . %s\n' "$(date -Is)" "$ENV_FILE"
    env_line CASEROUTE_KAFKA_BOOTSTRAP "$KAFKA_BOOTSTRAP"
    env_line CASEROUTE_DATABASE_URL "$DATABASE_URL"
} >"$ENV_FILE.tmp"
mv "$ENV_FILE.tmp" "$ENV_FILE"

TOTAL_S=$(secs_since "$t_all")
cat >"$TIMINGS_FILE" <<EOF
KAFKA_FETCH_SECONDS=$KAFKA_FETCH_S
KAFKA_START_SECONDS=$KAFKA_START_S
POSTGRES_INSTALL_SECONDS=$PG_INSTALL_S
POSTGRES_START_SECONDS=$PG_START_S
PROVISION_TOTAL_SECONDS=$TOTAL_S
EOF

log "wrote $ENV_FILE; started by up.sh: $(paste -sd' ' "$STARTED_FILE" | sed 's/^$/(nothing)/')"
echo "provisioning: kafka fetch ${KAFKA_FETCH_S}s, kafka start ${KAFKA_START_S}s, postgres install ${PG_INSTALL_S}s, postgres start ${PG_START_S}s, total ${TOTAL_S}s"
