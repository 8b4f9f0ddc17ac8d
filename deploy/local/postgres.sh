#!/usr/bin/env bash
# A private PostgreSQL cluster for local runs and CI: own data dir, own port, 127.0.0.1 only,
# trust auth on loopback, a private unix socket dir. Independent of the distribution's
# default cluster (5432), which it never touches.
#
#   postgres.sh install   install the server binaries (apt-get install postgresql) if missing
#   postgres.sh start     install if needed, initdb on first start, start, wait, create the
#                         role and database "caseroute" (idempotent)
#   postgres.sh stop      pg_ctl stop -m fast (bounded), then -m immediate
#   postgres.sh wait      poll pg_isready until PG_WAIT_TIMEOUT
#   postgres.sh status    exit 0 running and accepting, 1 stopped, 2 running but not accepting
#   postgres.sh logs [N]  last N (default 200) lines of the server log
#   postgres.sh url       print the SQLAlchemy URL (postgresql+asyncpg://...)
#   postgres.sh dir       print the directory holding data/, run/ and postgres.log
#
# Env: PG_PORT (15432), CASEROUTE_VAR (<repo>/var), PG_DIR (default $CASEROUTE_VAR/postgres,
#      see below), PG_BINDIR (newest /usr/lib/postgresql/*/bin), PG_WAIT_TIMEOUT (60),
#      PG_STOP_TIMEOUT (30), PG_DB / PG_USER (caseroute).
#
# PostgreSQL refuses to run as root, so as root the server runs as the "postgres" OS user,
# which must be able to reach the data dir. If it cannot traverse $CASEROUTE_VAR (e.g. a
# checkout under a 0700 home), the cluster lives in /var/tmp/caseroute-<hash of
# $CASEROUTE_VAR>/postgres instead; `postgres.sh dir` and $CASEROUTE_VAR/postgres.dir say where.
set -Eeuo pipefail
LOG_TAG=postgres
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'log "failed: line $LINENO: $BASH_COMMAND"' ERR

PG_HOST=127.0.0.1
PG_PORT=${PG_PORT:-15432}
PG_DB=${PG_DB:-caseroute}
PG_USER=${PG_USER:-caseroute}
PG_WAIT_TIMEOUT=${PG_WAIT_TIMEOUT:-60}
PG_STOP_TIMEOUT=${PG_STOP_TIMEOUT:-30}
PG_OS_USER=postgres

find_bindir() {
    if [[ -n ${PG_BINDIR:-} ]]; then
        [[ -x $PG_BINDIR/initdb ]] && { printf '%s' "$PG_BINDIR"; return 0; }
        die "PG_BINDIR=$PG_BINDIR has no initdb"
    fi
    local d
    for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
        [[ -x $d/initdb && -x $d/pg_ctl ]] && { printf '%s' "$d"; return 0; }
    done
    return 1
}

cmd_install() {
    local bindir t0
    if bindir=$(find_bindir); then
        log "PostgreSQL server binaries present: $bindir ($("$bindir/postgres" --version))"
        return 0
    fi
    ((EUID == 0)) || die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; install them as root: apt-get install -y postgresql"
    command -v apt-get >/dev/null 2>&1 || die "no apt-get: install the PostgreSQL server (initdb, pg_ctl, postgres) and set PG_BINDIR"
    t0=$(now_s)
    local instlog=$CASEROUTE_VAR/postgres-install.log
    mkdir -p "$CASEROUTE_VAR"
    log "installing PostgreSQL server with apt-get (log: $instlog)"
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql; } >"$instlog" 2>&1; then
        show_log_tail "$instlog" 40
        die "apt-get install postgresql failed"
    fi
    bindir=$(find_bindir) || die "apt-get installed postgresql but no initdb under /usr/lib/postgresql/*/bin"
    log "installed $("$bindir/postgres" --version) in $(secs_since "$t0")s"
}

# Run a server command as the postgres OS user when we are root, from a cwd it can read.
as_pg() {
    if ((EUID == 0)); then
        (cd / && runuser -u "$PG_OS_USER" -- "$@")
    else
        "$@"
    fi
}

# Choose the cluster directory; see the header comment.
pg_dir() {
    if [[ -n ${PG_DIR:-} ]]; then
        printf '%s' "$PG_DIR"
        return 0
    fi
    local want=$CASEROUTE_VAR/postgres
    if ((EUID != 0)); then
        printf '%s' "$want"
        return 0
    fi
    id -u "$PG_OS_USER" >/dev/null 2>&1 || die "OS user '$PG_OS_USER' missing (it comes with the postgresql package): run $0 install"
    mkdir -p "$CASEROUTE_VAR"
    if (cd / && runuser -u "$PG_OS_USER" -- test -x "$CASEROUTE_VAR"); then
        printf '%s' "$want"
    else
        local h
        h=$(printf '%s' "$CASEROUTE_VAR" | sha256sum | cut -c1-12)
        printf '%s' "/var/tmp/caseroute-$h/postgres"
    fi
}

BINDIR=
BASE=
DATA=
PGLOG=
setup_paths() {
    BINDIR=$(find_bindir) || die "PostgreSQL server binaries not found; run: $0 install"
    BASE=$(pg_dir)
    DATA=$BASE/data
    PGLOG=$BASE/postgres.log
    mkdir -p "$BASE/run" "$CASEROUTE_VAR"
    chmod 700 "$BASE/run"
    if ((EUID == 0)); then
        chown "$PG_OS_USER:" "$BASE" "$BASE/run"
        [[ -e $PGLOG ]] && chown "$PG_OS_USER:" "$PGLOG"
        (cd / && runuser -u "$PG_OS_USER" -- test -w "$BASE") ||
            die "OS user $PG_OS_USER cannot write $BASE; set PG_DIR to a directory it can reach"
    fi
    printf '%s\n' "$BASE" >"$CASEROUTE_VAR/postgres.dir"
}

running() { [[ -f $DATA/PG_VERSION ]] && as_pg "$BINDIR/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }
ready() { "$BINDIR/pg_isready" -q -h "$PG_HOST" -p "$PG_PORT" -t 2 >/dev/null 2>&1; }
psql_admin() { "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres "$@"; }

write_conf() {
    cat >"$DATA/caseroute.conf" <<EOF
# Written by deploy/local/postgres.sh on every start; edits are overwritten.
listen_addresses = '$PG_HOST'
port = $PG_PORT
unix_socket_directories = '$BASE/run'
unix_socket_permissions = 0700
max_connections = 200
shared_buffers = 128MB
work_mem = 8MB
maintenance_work_mem = 64MB
fsync = on
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
log_timezone = 'UTC'
timezone = 'UTC'
EOF
    if ((EUID == 0)); then chown "$PG_OS_USER:" "$DATA/caseroute.conf"; fi
    grep -q "^include_if_exists = 'caseroute.conf'" "$DATA/postgresql.conf" ||
        printf "\n# deploy/local/postgres.sh settings\ninclude_if_exists = 'caseroute.conf'\n" >>"$DATA/postgresql.conf"
}

wait_ready() {
    local timeout=$1 deadline=$((SECONDS + $1))
    until ready; do
        if ((SECONDS >= deadline)); then
            show_log_tail "$PGLOG" 60
            log "PostgreSQL not accepting connections on $PG_HOST:$PG_PORT after ${timeout}s"
            return 1
        fi
        sleep 0.5
    done
}

ensure_db() {
    if [[ $(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'") != 1 ]]; then
        psql_admin -c "CREATE ROLE \"$PG_USER\" LOGIN CREATEDB"
        log "created role $PG_USER"
    fi
    if [[ $(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'") != 1 ]]; then
        psql_admin -c "CREATE DATABASE \"$PG_DB\" OWNER \"$PG_USER\""
        log "created database $PG_DB owned by $PG_USER"
    fi
}

cmd_start() {
    find_bindir >/dev/null || cmd_install
    setup_paths
    if running; then
        log "already running (data $DATA)"
        wait_ready "$PG_WAIT_TIMEOUT" || die "running PostgreSQL does not accept connections on $PG_HOST:$PG_PORT"
        ensure_db
        return 0
    fi
    port_open "$PG_HOST" "$PG_PORT" && die "port $PG_HOST:$PG_PORT is in use by another process (not the cluster in $DATA); set PG_PORT or free it"
    if [[ ! -f $DATA/PG_VERSION ]]; then
        log "initdb into $DATA"
        if ! as_pg "$BINDIR/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
            --no-instructions >>"$BASE/initdb.log" 2>&1; then
            show_log_tail "$BASE/initdb.log" 40
            die "initdb failed (log: $BASE/initdb.log)"
        fi
    fi
    write_conf
    local t0
    t0=$(now_s)
    printf '\n===== %s starting PostgreSQL on %s:%s =====\n' "$(date -Is)" "$PG_HOST" "$PG_PORT" >>"$PGLOG"
    if ((EUID == 0)); then chown "$PG_OS_USER:" "$PGLOG"; fi
    # shellcheck disable=SC2094 # pg_ctl and the server both append to the log
    if ! as_pg "$BINDIR/pg_ctl" -D "$DATA" -l "$PGLOG" -w -t "$PG_WAIT_TIMEOUT" start >/dev/null 2>>"$PGLOG"; then
        show_log_tail "$PGLOG" 60
        die "pg_ctl start failed (log: $PGLOG)"
    fi
    wait_ready "$PG_WAIT_TIMEOUT" || die "PostgreSQL started but is not accepting connections"
    ensure_db
    log "PostgreSQL ready on $PG_HOST:$PG_PORT in $(secs_since "$t0")s (data $DATA)"
}

cmd_stop() {
    BINDIR=$(find_bindir) || { log "no PostgreSQL binaries: nothing to stop"; return 0; }
    setup_paths
    if ! running; then
        log "not running"
        return 0
    fi
    if ! as_pg "$BINDIR/pg_ctl" -D "$DATA" -m fast -w -t "$PG_STOP_TIMEOUT" stop >/dev/null 2>>"$PGLOG"; then
        log "fast shutdown did not finish in ${PG_STOP_TIMEOUT}s: immediate shutdown"
        as_pg "$BINDIR/pg_ctl" -D "$DATA" -m immediate -w -t 30 stop >/dev/null 2>>"$PGLOG" ||
            { show_log_tail "$PGLOG" 40; die "could not stop PostgreSQL in $DATA"; }
    fi
    log "stopped"
}

cmd_status() {
    setup_paths
    if ! running; then
        echo "postgres: stopped (data $DATA)"
        return 1
    fi
    if ready; then
        echo "postgres: running on $PG_HOST:$PG_PORT, accepting connections (data $DATA)"
        return 0
    fi
    echo "postgres: running (data $DATA) but not accepting connections on $PG_HOST:$PG_PORT"
    return 2
}

case ${1:-} in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop ;;
wait)
    setup_paths
    running || die "not running (data $DATA); run: $0 start"
    wait_ready "$PG_WAIT_TIMEOUT" || die "PostgreSQL not ready"
    ;;
status)
    trap - ERR
    cmd_status
    ;;
logs)
    setup_paths
    tail -n "${2:-200}" "$PGLOG"
    ;;
url) echo "postgresql+asyncpg://$PG_USER@$PG_HOST:$PG_PORT/$PG_DB" ;;
dir)
    setup_paths
    echo "$BASE"
    ;;
*)
    echo "usage: $0 install|start|stop|wait|status|logs [N]|url|dir" >&2
    exit 2
    ;;
esac
