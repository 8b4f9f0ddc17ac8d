# shellcheck shell=bash
# Shared helpers for deploy/local/*.sh. Source it; do not run it.
#
# Sets LOCAL_DIR, REPO_ROOT, CASEROUTE_VAR, CASEROUTE_CACHE and the KAFKA_* paths,
# and defines logging, timing, process and port helpers plus the Kafka jar fetch.

LOCAL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$LOCAL_DIR/../.." && pwd)
CASEROUTE_VAR=${CASEROUTE_VAR:-$REPO_ROOT/var}
CASEROUTE_CACHE=${CASEROUTE_CACHE:-${HOME:-/root}/.cache/caseroute}
export CASEROUTE_VAR CASEROUTE_CACHE

# ---------------------------------------------------------------- logging, timing

log() { printf '[%s %s] %s\n' "$(date +%H:%M:%S)" "${LOG_TAG:-local}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Print the last lines of a log file to stderr, framed, so a failed CI run shows it.
show_log_tail() {
    local file=$1 lines=${2:-80}
    if [[ -s $file ]]; then
        printf '%s\n' "----- last $lines lines of $file -----" >&2
        tail -n "$lines" "$file" >&2 || true
        printf '%s\n' "----- end of $file -----" >&2
    else
        log "(no log at $file)"
    fi
}

# apt_install_missing PKG...: install Debian packages that are not there yet (root; one apt-get update only
# when the package lists are stale). Says what it does on stderr; fails with the command to run when not root.
apt_install_missing() {
    (($# > 0)) || return 0
    if ((EUID != 0)); then
        log "missing $*; install them as root: apt-get install -y $*"
        return 1
    fi
    log "installing $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 || {
        apt-get update >/dev/null 2>&1
        apt-get install -y --no-install-recommends "$@" >/dev/null
    }
}

now_s() { printf '%s' "${EPOCHREALTIME:-$(date +%s.%N)}"; }
# secs_since START -> seconds elapsed, one decimal.
secs_since() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------- processes, ports

# pid_of PIDFILE PATTERN -> prints the pid and succeeds only if the process is alive,
# not a zombie, and its command line contains PATTERN (guards against pid reuse).
pid_of() {
    local pidfile=$1 pattern=$2 pid state
    [[ -f $pidfile ]] || return 1
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/cmdline ]] || return 1
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
    [[ $state != Z && -n $state ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$pattern" || return 1
    printf '%s' "$pid"
}

# alive PID PATTERN -> like pid_of, for a known pid.
alive() {
    local pid=$1 pattern=$2 state
    [[ -r /proc/$pid/cmdline ]] || return 1
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
    [[ $state != Z && -n $state ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$pattern"
}

# stop_pid PID PATTERN TIMEOUT NAME: SIGTERM, wait up to TIMEOUT s, then SIGKILL.
stop_pid() {
    local pid=$1 pattern=$2 timeout=$3 name=$4 deadline
    alive "$pid" "$pattern" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + timeout))
    while alive "$pid" "$pattern" && ((SECONDS < deadline)); do sleep 0.5; done
    if alive "$pid" "$pattern"; then
        log "$name (pid $pid) still running after ${timeout}s: sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        deadline=$((SECONDS + 10))
        while alive "$pid" "$pattern" && ((SECONDS < deadline)); do sleep 0.2; done
        alive "$pid" "$pattern" && die "$name (pid $pid) survived SIGKILL"
    fi
    return 0
}

# port_open HOST PORT -> succeeds if something accepts TCP connections there.
port_open() {
    # shellcheck disable=SC2016 # $1/$2 expand in the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# any_port_open "h1:p1,h2:p2" -> succeeds if at least one address accepts connections.
any_port_open() {
    local hp
    for hp in ${1//,/ }; do
        port_open "${hp%:*}" "${hp##*:}" && return 0
    done
    return 1
}

# ---------------------------------------------------------------- tools

need_java_maven() {
    local missing=()
    command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
    command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
    command -v mvn >/dev/null 2>&1 || missing+=(maven)
    ((${#missing[@]} == 0)) && return 0
    if ((EUID == 0)) && command -v apt-get >/dev/null 2>&1; then
        log "installing ${missing[*]} with apt-get"
        if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
            die "apt-get install ${missing[*]} failed"
        fi
    else
        die "missing Java 17 JDK and/or Maven (${missing[*]}); install them, e.g. apt-get install -y ${missing[*]}"
    fi
}

# ---------------------------------------------------------------- kafka jars

KAFKA_POM=$LOCAL_DIR/kafka/pom.xml
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM" | head -n1)
[[ -n $KAFKA_VERSION ]] || die "cannot read <kafka.version> from $KAFKA_POM"
KAFKA_HOME=$CASEROUTE_CACHE/kafka-$KAFKA_VERSION
KAFKA_LIBS=$KAFKA_HOME/libs
KAFKA_PROBE_DIR=$KAFKA_HOME/probe
KAFKA_PROBE_SRC=$LOCAL_DIR/kafka/KafkaProbe.java
KAFKA_LOG4J_SERVER=$LOCAL_DIR/kafka/log4j2-server.properties
KAFKA_LOG4J_TOOLS=$LOCAL_DIR/kafka/log4j2-tools.properties

_sha() { sha256sum "$@" | awk '{print $1}' | sha256sum | awk '{print $1}'; }

kafka_cached() {
    [[ -f $KAFKA_LIBS/.complete && $(<"$KAFKA_LIBS/.complete") == "$(_sha "$KAFKA_POM")" ]] &&
        [[ -f $KAFKA_PROBE_DIR/.complete && $(<"$KAFKA_PROBE_DIR/.complete") == "$(_sha "$KAFKA_PROBE_SRC")" ]]
}

# Copy the pinned Kafka jars into $KAFKA_LIBS (skipped when the marker matches the pom)
# and compile KafkaProbe against them. Safe to run concurrently (flock) and after a
# partial run (downloads into a temporary dir, renamed when complete).
kafka_fetch() {
    kafka_cached && return 0
    need_java_maven
    mkdir -p "$KAFKA_HOME"
    local lock=$KAFKA_HOME/.fetch.lock fetchlog=$KAFKA_HOME/fetch.log
    exec 9>"$lock"
    flock -w 900 9 || die "timed out waiting for another fetch holding $lock"
    if ! [[ -f $KAFKA_LIBS/.complete && $(<"$KAFKA_LIBS/.complete") == "$(_sha "$KAFKA_POM")" ]]; then
        log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_LIBS (log: $fetchlog)"
        local tmp=$KAFKA_HOME/libs.tmp.$$
        rm -rf "$tmp"
        # shellcheck disable=SC2086 # CASEROUTE_MAVEN_ARGS is a word list on purpose
        if ! timeout 900 mvn -B -q -f "$KAFKA_POM" ${CASEROUTE_MAVEN_ARGS:-} \
            -Dlibs.dir="$tmp" package >"$fetchlog" 2>&1; then
            show_log_tail "$fetchlog" 60
            rm -rf "$tmp"
            die "Maven could not fetch Kafka $KAFKA_VERSION (see $fetchlog)"
        fi
        ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 ||
            die "fetch finished but $tmp has no kafka_2.13-$KAFKA_VERSION.jar"
        _sha "$KAFKA_POM" >"$tmp/.complete"
        rm -rf "$KAFKA_LIBS"
        mv "$tmp" "$KAFKA_LIBS"
        rm -rf "$KAFKA_PROBE_DIR" # compiled against the old jars
    fi
    if ! [[ -f $KAFKA_PROBE_DIR/.complete && $(<"$KAFKA_PROBE_DIR/.complete") == "$(_sha "$KAFKA_PROBE_SRC")" ]]; then
        local ptmp=$KAFKA_HOME/probe.tmp.$$
        rm -rf "$ptmp" && mkdir -p "$ptmp"
        if ! javac -nowarn -d "$ptmp" -cp "$KAFKA_LIBS/*" "$KAFKA_PROBE_SRC" >>"$fetchlog" 2>&1; then
            show_log_tail "$fetchlog" 40
            die "could not compile $KAFKA_PROBE_SRC"
        fi
        _sha "$KAFKA_PROBE_SRC" >"$ptmp/.complete"
        rm -rf "$KAFKA_PROBE_DIR"
        mv "$ptmp" "$KAFKA_PROBE_DIR"
    fi
    flock -u 9
    exec 9>&-
}

# kafka_probe ARGS... -> run KafkaProbe (see kafka/KafkaProbe.java for the commands).
kafka_probe() {
    kafka_cached || kafka_fetch
    java -Xms32m -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto \
        -Dlog4j2.configurationFile="$KAFKA_LOG4J_TOOLS" \
        -cp "$KAFKA_PROBE_DIR:$KAFKA_LIBS/*" KafkaProbe "$@"
}

kafka_storage_tool() {
    java -Xmx256m -Dlog4j2.configurationFile="$KAFKA_LOG4J_TOOLS" \
        -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool "$@"
}

# ---------------------------------------------------------------- kafka nodes
# A node lives in a directory holding server.properties, data/, kafka.log, kafka.pid.

KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}
KAFKA_WAIT_TIMEOUT=${KAFKA_WAIT_TIMEOUT:-90}
KAFKA_STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-30}

kafka_node_pid() { pid_of "$1/kafka.pid" "$1/server.properties"; }

# kafka_node_format DIR CLUSTER_ID [--standalone]: format data/ unless already formatted.
kafka_node_format() {
    local dir=$1 cid=$2
    shift 2
    [[ -f $dir/data/meta.properties ]] && return 0
    log "formatting $dir/data (cluster id $cid)"
    mkdir -p "$dir/data"
    if ! kafka_storage_tool format "$@" -t "$cid" -c "$dir/server.properties" >>"$dir/kafka.log" 2>&1; then
        show_log_tail "$dir/kafka.log" 40
        die "kafka StorageTool format failed for $dir"
    fi
}

# kafka_node_launch DIR NAME: start the JVM in the background, record its pid.
kafka_node_launch() {
    local dir=$1 name=$2 pid
    printf '\n===== %s starting %s (Kafka %s) =====\n' "$(date -Is)" "$name" "$KAFKA_VERSION" >>"$dir/kafka.log"
    # shellcheck disable=SC2086 # KAFKA_HEAP_OPTS / KAFKA_JVM_OPTS are word lists
    java $KAFKA_HEAP_OPTS ${KAFKA_JVM_OPTS:-} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$KAFKA_LOG4J_SERVER" \
        -cp "$KAFKA_LIBS/*" kafka.Kafka "$dir/server.properties" \
        >>"$dir/kafka.log" 2>&1 </dev/null &
    pid=$!
    disown "$pid" 2>/dev/null || true
    printf '%s\n' "$pid" >"$dir/kafka.pid"
    log "$name launched (pid $pid, log $dir/kafka.log)"
}

kafka_node_stop() {
    local dir=$1 name=$2 pid
    if pid=$(kafka_node_pid "$dir"); then
        log "stopping $name (pid $pid)"
        stop_pid "$pid" "$dir/server.properties" "$KAFKA_STOP_TIMEOUT" "$name"
    fi
    rm -f "$dir/kafka.pid"
}

# kafka_wait_ready BOOTSTRAP TIMEOUT MIN_BROKERS REQUIRED_NODE DIR...: poll with KafkaProbe
# until the cluster answers DescribeCluster with enough live brokers. Fails early if a
# node process listed in DIR... dies.
kafka_wait_ready() {
    local bootstrap=$1 timeout=$2 min=$3 node=$4
    shift 4
    local deadline=$((SECONDS + timeout)) out d
    while :; do
        for d in "$@"; do
            if ! kafka_node_pid "$d" >/dev/null; then
                show_log_tail "$d/kafka.log" 80
                log "Kafka process for $d is not running (exited during startup?)"
                return 1
            fi
        done
        # Cheap TCP check first; only then pay for a JVM speaking the Kafka protocol.
        if any_port_open "$bootstrap"; then
            if out=$(kafka_probe ready "$bootstrap" 5000 "$min" "$node" 2>&1); then
                log "$(tail -n1 <<<"$out")"
                return 0
            fi
        else
            out="nothing listening on $bootstrap yet"
        fi
        if ((SECONDS >= deadline)); then
            log "last probe: $(tail -n 3 <<<"$out" | tr '\n' ' ')"
            for d in "$@"; do show_log_tail "$d/kafka.log" 60; done
            log "Kafka at $bootstrap not ready after ${timeout}s"
            return 1
        fi
        sleep 1
    done
}
