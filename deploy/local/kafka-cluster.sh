#!/usr/bin/env bash
# Three-node Kafka KRaft cluster on loopback (each node a combined broker+controller,
# static quorum of 3 voters) for replication and failover tests.
#
#   kafka-cluster.sh start          fetch, format missing nodes, start all, wait for 3 live brokers
#   kafka-cluster.sh stop           SIGTERM all nodes at once, bounded wait, then SIGKILL (data kept)
#   kafka-cluster.sh wait           wait until all 3 brokers are live
#   kafka-cluster.sh status         per-node pid and the live broker list
#   kafka-cluster.sh kill-node N    SIGKILL node N (a crash, no controlled shutdown)
#   kafka-cluster.sh stop-node N    graceful stop of node N
#   kafka-cluster.sh start-node N   start node N, wait until it is a live broker again
#   kafka-cluster.sh bootstrap      print the bootstrap list, e.g. 127.0.0.1:19192,127.0.0.1:19292,127.0.0.1:19392
#   kafka-cluster.sh logs N [LINES] tail node N's log
#
# Env: KAFKA_CLUSTER_BROKER_PORTS ("19192 19292 19392"), KAFKA_CLUSTER_CONTROLLER_PORTS
#      ("19193 19293 19393"), CASEROUTE_VAR (<repo>/var; state in $CASEROUTE_VAR/kafka-cluster),
#      CASEROUTE_CACHE, KAFKA_WAIT_TIMEOUT (90; cluster start uses 2x), KAFKA_STOP_TIMEOUT (30),
#      KAFKA_HEAP_OPTS (-Xms256m -Xmx512m per node), KAFKA_JVM_OPTS.
set -Eeuo pipefail
LOG_TAG=kafka-cluster
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'log "failed: line $LINENO: $BASH_COMMAND"' ERR

HOST=127.0.0.1
# Space- or comma-separated.
read -r -a BROKER_PORTS <<<"$(tr , ' ' <<<"${KAFKA_CLUSTER_BROKER_PORTS:-19192 19292 19392}")"
read -r -a CONTROLLER_PORTS <<<"$(tr , ' ' <<<"${KAFKA_CLUSTER_CONTROLLER_PORTS:-19193 19293 19393}")"
((${#BROKER_PORTS[@]} == 3 && ${#CONTROLLER_PORTS[@]} == 3)) ||
    die "KAFKA_CLUSTER_BROKER_PORTS and KAFKA_CLUSTER_CONTROLLER_PORTS need 3 ports each"
NODES=(1 2 3)
STATE=$CASEROUTE_VAR/kafka-cluster

bootstrap() {
    local out=() i
    for i in 0 1 2; do out+=("$HOST:${BROKER_PORTS[i]}"); done
    (IFS=,; printf '%s' "${out[*]}")
}
BOOTSTRAP=$(bootstrap)

voters() {
    local out=() i
    for i in 0 1 2; do out+=("$((i + 1))@$HOST:${CONTROLLER_PORTS[i]}"); done
    (IFS=,; printf '%s' "${out[*]}")
}

node_dir() { printf '%s/node-%s' "$STATE" "$1"; }

check_node() { [[ ${1:-} =~ ^[123]$ ]] || die "node must be 1, 2 or 3 (got '${1:-}')"; }

write_properties() {
    local n=$1 dir bp cp
    dir=$(node_dir "$n")
    bp=${BROKER_PORTS[n - 1]}
    cp=${CONTROLLER_PORTS[n - 1]}
    mkdir -p "$dir/data"
    cat >"$dir/server.properties" <<EOF
# Written by deploy/local/kafka-cluster.sh on every start; edits are overwritten.
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$(voters)
listeners=PLAINTEXT://$HOST:$bp,CONTROLLER://$HOST:$cp
advertised.listeners=PLAINTEXT://$HOST:$bp,CONTROLLER://$HOST:$cp
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data

# Replicated like production: 3 copies, acks=all needs 2 in sync.
auto.create.topics.enable=true
num.partitions=4
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
group.initial.rebalance.delay.ms=0
unclean.leader.election.enable=false

# Three JVMs on a 2-core machine: few threads, quick failure detection.
num.network.threads=2
num.io.threads=2
num.replica.fetchers=1
replica.lag.time.max.ms=10000
broker.session.timeout.ms=9000
broker.heartbeat.interval.ms=2000
log.retention.hours=24
log.retention.bytes=268435456
log.segment.bytes=16777216
log.retention.check.interval.ms=60000
EOF
}

cluster_id() {
    mkdir -p "$STATE"
    if [[ ! -s $STATE/cluster.id ]]; then
        kafka_storage_tool random-uuid 2>>"$STATE/format.log" | tail -n1 >"$STATE/cluster.id"
    fi
    local cid
    cid=$(<"$STATE/cluster.id")
    [[ -n $cid ]] || die "StorageTool random-uuid printed nothing (see $STATE/format.log)"
    printf '%s' "$cid"
}

# prepare_node N: unless node N runs, check its ports, write its config, format it
# on first use. Prints nothing; fails if a port is taken by a foreign process.
prepare_node() {
    local n=$1 dir p cid
    dir=$(node_dir "$n")
    kafka_node_pid "$dir" >/dev/null && return 0
    for p in "${BROKER_PORTS[n - 1]}" "${CONTROLLER_PORTS[n - 1]}"; do
        port_open "$HOST" "$p" && die "port $HOST:$p for node $n is in use by another process; set KAFKA_CLUSTER_BROKER_PORTS/KAFKA_CLUSTER_CONTROLLER_PORTS or free it"
    done
    write_properties "$n"
    cid=$(cluster_id)
    kafka_node_format "$dir" "$cid"
}

# launch_node N: start node N unless it is already running.
launch_node() {
    local n=$1 dir pid
    dir=$(node_dir "$n")
    if pid=$(kafka_node_pid "$dir"); then
        log "node $n already running (pid $pid)"
        return 0
    fi
    kafka_node_launch "$dir" "node $n"
}

all_dirs() { local n; for n in "${NODES[@]}"; do node_dir "$n"; echo; done; }

cmd_start() {
    kafka_fetch
    local t0 n dirs
    t0=$(now_s)
    # Format every node before launching any (formatting competes for the CPU with
    # starting JVMs), then launch all three before waiting: the quorum needs 2 of 3.
    for n in "${NODES[@]}"; do prepare_node "$n"; done
    for n in "${NODES[@]}"; do launch_node "$n"; done
    mapfile -t dirs < <(all_dirs)
    if ! kafka_wait_ready "$BOOTSTRAP" "$((KAFKA_WAIT_TIMEOUT * 2))" 3 -1 "${dirs[@]}"; then
        cmd_stop
        die "cluster did not get 3 live brokers on $BOOTSTRAP (logs: $STATE/node-N/kafka.log)"
    fi
    log "3-node cluster ready on $BOOTSTRAP in $(secs_since "$t0")s"
}

cmd_stop() {
    local n dir pid pids=()
    # Signal every node first: stopping them one by one can leave the last ones
    # waiting for a controller quorum that is already gone.
    for n in "${NODES[@]}"; do
        dir=$(node_dir "$n")
        if pid=$(kafka_node_pid "$dir"); then
            log "stopping node $n (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$n:$pid")
        fi
    done
    local item
    for item in "${pids[@]}"; do
        n=${item%%:*}
        pid=${item#*:}
        dir=$(node_dir "$n")
        stop_pid "$pid" "$dir/server.properties" "$KAFKA_STOP_TIMEOUT" "node $n"
        rm -f "$dir/kafka.pid"
    done
    if ((${#pids[@]})); then log "stopped"; else log "not running"; fi
}

cmd_start_node() {
    check_node "${1:-}"
    kafka_fetch
    local n=$1 t0
    t0=$(now_s)
    prepare_node "$n"
    launch_node "$n"
    if ! kafka_wait_ready "$BOOTSTRAP" "$KAFKA_WAIT_TIMEOUT" 1 "$n" "$(node_dir "$n")"; then
        die "node $n did not rejoin as a live broker (log: $(node_dir "$n")/kafka.log)"
    fi
    log "node $n live again in $(secs_since "$t0")s"
}

cmd_kill_node() {
    check_node "${1:-}"
    local n=$1 dir pid
    dir=$(node_dir "$n")
    if pid=$(kafka_node_pid "$dir"); then
        log "killing node $n (pid $pid) with SIGKILL"
        kill -KILL "$pid"
        local deadline=$((SECONDS + 10))
        while alive "$pid" "$dir/server.properties" && ((SECONDS < deadline)); do sleep 0.2; done
        printf '\n===== %s node %s killed with SIGKILL by kafka-cluster.sh =====\n' "$(date -Is)" "$n" >>"$dir/kafka.log"
        rm -f "$dir/kafka.pid"
    else
        log "node $n is not running"
    fi
}

cmd_stop_node() {
    check_node "${1:-}"
    kafka_node_stop "$(node_dir "$1")" "node $1"
}

cmd_wait() {
    local dirs=() n
    for n in "${NODES[@]}"; do
        kafka_node_pid "$(node_dir "$n")" >/dev/null && dirs+=("$(node_dir "$n")")
    done
    ((${#dirs[@]})) || die "no node is running; run: $0 start"
    kafka_wait_ready "$BOOTSTRAP" "$KAFKA_WAIT_TIMEOUT" 3 -1 "${dirs[@]}" || die "cluster not ready on $BOOTSTRAP"
}

cmd_status() {
    local n pid running=0 out
    for n in "${NODES[@]}"; do
        if pid=$(kafka_node_pid "$(node_dir "$n")"); then
            echo "node $n: running pid $pid on $HOST:${BROKER_PORTS[n - 1]}"
            running=$((running + 1))
        else
            echo "node $n: stopped"
        fi
    done
    ((running)) || return 1
    if out=$(kafka_probe ready "$BOOTSTRAP" 5000 3 2>&1); then
        echo "cluster: $out"
        return 0
    fi
    echo "cluster: $(tail -n1 <<<"$out")"
    return 2
}

case ${1:-} in
fetch) kafka_fetch ;;
start) cmd_start ;;
stop) cmd_stop ;;
wait) cmd_wait ;;
status)
    trap - ERR
    cmd_status
    ;;
kill-node) cmd_kill_node "${2:-}" ;;
stop-node) cmd_stop_node "${2:-}" ;;
start-node) cmd_start_node "${2:-}" ;;
bootstrap) echo "$BOOTSTRAP" ;;
logs)
    check_node "${2:-}"
    tail -n "${3:-200}" "$(node_dir "$2")/kafka.log"
    ;;
*)
    echo "usage: $0 start|stop|wait|status|kill-node N|stop-node N|start-node N|bootstrap|logs N [LINES]" >&2
    exit 2
    ;;
esac
