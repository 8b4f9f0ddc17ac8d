#!/usr/bin/env bash
# `make stack`: the four services as separate processes on local Kafka and PostgreSQL.
#   stack.sh start   infra (unless configured), then intake :8081, router :8082, tracker :8083, notifier :8084
#                    (STACK_PORT_BASE=8080 + 1..4); a database without API keys gets an admin key, written to
#                    $CASEROUTE_VAR/stack/admin.key (0600) and only there
#   stack.sh stop    the services, then the infra that start brought up
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
export CASEROUTE_VAR=${CASEROUTE_VAR:-$repo/var}
run_dir=$CASEROUTE_VAR/stack
base=${STACK_PORT_BASE:-8080}
services=(intake:$((base + 1)) router:$((base + 2)) tracker:$((base + 3)) notifier:$((base + 4)))
tracker_url=http://127.0.0.1:$((base + 3))
# Beside the stack's other files, not var/admin.key: that one is `make run`'s key to its own SQLite database.
admin_key=$run_dir/admin.key

start() {
    bash "$here/up.sh"
    # shellcheck disable=SC1091
    source "$CASEROUTE_VAR/infra.env"
    mkdir -p "$run_dir"
    for entry in "${services[@]}"; do
        name=${entry%%:*} port=${entry##*:}
        # One service only creates the first admin key (when the database has none): four would race.
        key=()
        [[ $name == intake ]] && key=("CASEROUTE_AUTH_BOOTSTRAP_ADMIN_FILE=$admin_key")
        env CASEROUTE_HTTP_PORT="$port" CASEROUTE_PUBLIC_BASE_URL="$tracker_url" "${key[@]}" \
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
    echo "post reports to http://127.0.0.1:$((base + 1))/v1/reports; cases at $tracker_url/v1/cases"
    if [[ -s $admin_key ]]; then
        echo "admin API key: $admin_key (mode 0600, only there): KEY=\$(cat $admin_key)"
    else
        echo "the database already held API keys, so no admin key was created; make one with" \
            ". $CASEROUTE_VAR/infra.env && $repo/.venv/bin/caseroute keys create --role admin --name <you>"
    fi
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
