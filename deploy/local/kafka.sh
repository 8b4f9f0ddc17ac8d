#!/usr/bin/env bash
# Single-node Kafka (KRaft, combined broker+controller) on 127.0.0.1 for local runs and CI.
#
#   kafka.sh fetch    copy the pinned jars into $CASEROUTE_CACHE (skipped when cached)
#   kafka.sh start    fetch, format storage on first start, start, wait until it answers
#   kafka.sh stop     SIGTERM, wait up to KAFKA_STOP_TIMEOUT s, then SIGKILL (data kept)
#   kafka.sh wait     wait until the broker answers (KAFKA_WAIT_TIMEOUT s)
#   kafka.sh status   exit 0 running and answering, 1 not running, 2 running but not answering
#   kafka.sh logs [N] last N (default 200) lines of the broker log
#   kafka.sh bootstrap print the bootstrap server (127.0.0.1:$KAFKA_PORT)
#
# Env: KAFKA_PORT (19092), KAFKA_CONTROLLER_PORT (19093), CASEROUTE_VAR (<repo>/var),
#      CASEROUTE_CACHE (~/.cache/caseroute), KAFKA_WAIT_TIMEOUT (90), KAFKA_STOP_TIMEOUT (30),
#      KAFKA_HEAP_OPTS (-Xms256m -Xmx512m), KAFKA_JVM_OPTS (extra JVM flags).
set -Eeuo pipefail
LOG_TAG=kafka
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'log "failed: line $LINENO: $BASH_COMMAND"' ERR

KAFKA_HOST=127.0.0.1
KAFKA_PORT=${KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-19093}
STATE=$CASEROUTE_VAR/kafka
BOOTSTRAP=$KAFKA_HOST:$KAFKA_PORT

write_properties() {
    mkdir -p "$STATE/data"
    cat >"$STATE/server.properties" <<EOF
# Written by deploy/local/kafka.sh on every start; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$STATE/data

# Test-sized: one replica, topics created on first use with 4 partitions.
auto.create.topics.enable=true
num.partitions=4
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0

# 2-core machine; keep data small.
num.network.threads=2
num.io.threads=4
log.retention.hours=24
log.retention.bytes=268435456
log.segment.bytes=16777216
log.retention.check.interval.ms=60000
EOF
}

# --standalone writes the controller endpoint into the bootstrap checkpoint, so the
# controller port cannot change after the first format without wiping the state.
check_formatted_port() {
    local f=$STATE/formatted.env
    if [[ -f $STATE/data/meta.properties && -f $f ]]; then
        local was
        was=$(sed -n 's/^controller_port=//p' "$f")
        [[ $was == "$KAFKA_CONTROLLER_PORT" ]] ||
            die "$STATE was formatted with KAFKA_CONTROLLER_PORT=$was, now $KAFKA_CONTROLLER_PORT; use the old port or remove $STATE (its data goes with it)"
    fi
}

cmd_start() {
    kafka_fetch
    local pid
    if pid=$(kafka_node_pid "$STATE"); then
        log "already running (pid $pid); checking that it answers"
        kafka_wait_ready "$BOOTSTRAP" "$KAFKA_WAIT_TIMEOUT" 1 -1 "$STATE" || die "running Kafka (pid $pid) does not answer on $BOOTSTRAP"
        return 0
    fi
    local p
    for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
        port_open "$KAFKA_HOST" "$p" && die "port $KAFKA_HOST:$p is in use by another process (not our broker: no live pid in $STATE/kafka.pid); set KAFKA_PORT/KAFKA_CONTROLLER_PORT or free it"
    done
    check_formatted_port
    write_properties
    if [[ ! -f $STATE/data/meta.properties ]]; then
        local cid
        [[ -s $STATE/cluster.id ]] || kafka_storage_tool random-uuid 2>>"$STATE/kafka.log" | tail -n1 >"$STATE/cluster.id"
        cid=$(<"$STATE/cluster.id")
        [[ -n $cid ]] || die "StorageTool random-uuid printed nothing (see $STATE/kafka.log)"
        kafka_node_format "$STATE" "$cid" --standalone
        printf 'controller_port=%s\n' "$KAFKA_CONTROLLER_PORT" >"$STATE/formatted.env"
    fi
    local t0
    t0=$(now_s)
    kafka_node_launch "$STATE" "kafka"
    if ! kafka_wait_ready "$BOOTSTRAP" "$KAFKA_WAIT_TIMEOUT" 1 -1 "$STATE"; then
        kafka_node_stop "$STATE" kafka
        die "Kafka did not become ready on $BOOTSTRAP (log: $STATE/kafka.log)"
    fi
    log "Kafka $KAFKA_VERSION ready on $BOOTSTRAP in $(secs_since "$t0")s"
}

cmd_stop() {
    if kafka_node_pid "$STATE" >/dev/null; then
        kafka_node_stop "$STATE" kafka
        log "stopped"
    else
        rm -f "$STATE/kafka.pid"
        log "not running"
    fi
}

cmd_wait() {
    kafka_node_pid "$STATE" >/dev/null || die "not running (no live pid in $STATE/kafka.pid); run: $0 start"
    kafka_wait_ready "$BOOTSTRAP" "$KAFKA_WAIT_TIMEOUT" 1 -1 "$STATE" || die "Kafka not ready on $BOOTSTRAP"
}

cmd_status() {
    local pid out
    if ! pid=$(kafka_node_pid "$STATE"); then
        echo "kafka: stopped (state $STATE)"
        return 1
    fi
    if out=$(kafka_probe ready "$BOOTSTRAP" 5000 1 2>&1); then
        echo "kafka: running pid $pid on $BOOTSTRAP; $out"
        return 0
    fi
    echo "kafka: running pid $pid on $BOOTSTRAP but not answering: $(tail -n1 <<<"$out")"
    return 2
}

case ${1:-} in
fetch)
    t0=$(now_s)
    if kafka_cached; then
        log "Kafka $KAFKA_VERSION jars already cached in $KAFKA_LIBS"
    else
        kafka_fetch
        log "fetched Kafka $KAFKA_VERSION into $KAFKA_LIBS in $(secs_since "$t0")s"
    fi
    ;;
start) cmd_start ;;
stop) cmd_stop ;;
wait) cmd_wait ;;
status)
    trap - ERR
    cmd_status
    ;;
logs) tail -n "${2:-200}" "$STATE/kafka.log" ;;
bootstrap) echo "$BOOTSTRAP" ;;
*)
    echo "usage: $0 fetch|start|stop|wait|status|logs [N]|bootstrap" >&2
    exit 2
    ;;
esac
