#!/usr/bin/env bash
# `make stack`: the four services as separate processes on local Kafka and PostgreSQL.
#   stack.sh start   infra (unless configured), then intake :8081, router :8082, tracker :8083, notifier :8084
#   stack.sh stop    the services, then the infra that start brought up
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
export CASEROUTE_VAR=${CASEROUTE_VAR:-$repo/var}
run_dir=$CASEROUTE_VAR/stack
services=(intake:8081 router:8082 tracker:8083 notifier:8084)

start() {
    bash "$here/up.sh"
    # shellcheck disable=SC1091
    source "$CASEROUTE_VAR/infra.env"
    mkdir -p "$run_dir"
    for entry in "${services[@]}"; do
        name=${entry%%:*} port=${entry##*:}
        CASEROUTE_HTTP_PORT=$port CASEROUTE_PUBLIC_BASE_URL=http://127.0.0.1:8083 \
            nohup "$repo/.venv/bin/caseroute" "$name" >"$run_dir/$name.log" 2>&1 &
        echo $! >"$run_dir/$name.pid"
    done
    for entry in "${services[@]}"; do
        name=${entry%%:*} port=${entry##*:}
        for _ in $(seq 1 120); do
            curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
            sleep 0.5
        done
        curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { tail -n 40 "$run_dir/$name.log"; exit 1; }
        echo "$name ready on http://127.0.0.1:$port (log $run_dir/$name.log)"
    done
    echo "post reports to http://127.0.0.1:8081/v1/reports; cases at http://127.0.0.1:8083/v1/cases"
}

stop() {
    for entry in "${services[@]}"; do
        name=${entry%%:*}
        if [[ -f $run_dir/$name.pid ]]; then
            kill -TERM "$(cat "$run_dir/$name.pid")" 2>/dev/null || true
            rm -f "$run_dir/$name.pid"
        fi
    done
    sleep 2
    bash "$here/down.sh"
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
