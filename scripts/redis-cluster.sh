#!/usr/bin/env bash
# A local Redis Cluster for the tests: 3 masters and 3 replicas on 127.0.0.1, ports BASE..BASE+5
# (cluster bus on BASE+10000..), nothing persisted, node timeout 2 s (a killed master's replica
# takes over within a few seconds; replica validity factor 0, so it always may).
#
#   scripts/redis-cluster.sh start [BASE]   # default BASE 7000; does nothing if it is up already
#   scripts/redis-cluster.sh stop [BASE]    # kills the six servers and removes their directory
#   scripts/redis-cluster.sh status [BASE]  # exit 0 when every node says cluster_state:ok
#
# Needs redis-server and redis-cli 7 or later (sharded pub/sub, CLUSTER SHARDS). The nodes'
# directory is $NILVA_REDIS_CLUSTER_DIR (default ${TMPDIR:-/tmp}/nilva-redis-cluster-BASE); it
# holds nodes-PORT.conf, PORT.pid and PORT.log. Concurrent starts (two test runs) are serialised
# with flock, so the second one finds the cluster up.
set -euo pipefail

command=${1:-}
base=${2:-7000}
case "$base" in '' | *[!0-9]*) echo "redis-cluster.sh: BASE must be a port number" >&2; exit 2 ;; esac
ports=()
for i in 0 1 2 3 4 5; do ports+=("$((base + i))"); done
dir=${NILVA_REDIS_CLUSTER_DIR:-${TMPDIR:-/tmp}/nilva-redis-cluster-$base}

cli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }

# Every node answers and says cluster_state:ok, and every replica is in sync with its master (a
# replica that never synced refuses to take over).
healthy() {
  local port info
  for port in "${ports[@]}"; do
    cli "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
    info=$(cli "$port" info replication 2>/dev/null) || return 1
    case "$info" in
      *role:slave*) grep -q '^master_link_status:up' <<<"${info//$'\r'/}" || return 1 ;;
      *role:master*) grep -q '^connected_slaves:[1-9]' <<<"${info//$'\r'/}" || return 1 ;;
      *) return 1 ;;
    esac
  done
}

stop_nodes() {
  local port pid
  for port in "${ports[@]}"; do
    if [ -f "$dir/$port.pid" ]; then
      pid=$(cat "$dir/$port.pid")
      kill -9 "$pid" 2>/dev/null || true
    fi
    # A node started by hand (or whose pid file is gone) still answers on its port.
    cli "$port" shutdown nosave >/dev/null 2>&1 || true
  done
  for port in "${ports[@]}"; do
    for _ in $(seq 1 50); do
      cli "$port" ping >/dev/null 2>&1 || break
      sleep 0.1
    done
  done
  rm -rf "$dir"
}

start() {
  mkdir -p "$dir"
  exec 9>"$dir.lock"
  flock 9
  # (the servers are started with the lock's descriptor closed, or they would hold it forever)
  if healthy; then
    echo "redis cluster on 127.0.0.1:${ports[0]}-${ports[5]} is up"
    return 0
  fi
  # Something half up (a crashed run, a node killed by a test): start from nothing.
  stop_nodes
  mkdir -p "$dir"
  local port
  for port in "${ports[@]}"; do
    redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
      --cluster-config-file "nodes-$port.conf" --cluster-node-timeout 2000 \
      --cluster-replica-validity-factor 0 \
      --save "" --appendonly no --daemonize yes --dir "$dir" \
      --pidfile "$dir/$port.pid" --logfile "$dir/$port.log" 9>&-
  done
  for port in "${ports[@]}"; do
    for _ in $(seq 1 100); do
      cli "$port" ping >/dev/null 2>&1 && break
      sleep 0.1
    done
  done
  local addresses=()
  for port in "${ports[@]}"; do addresses+=("127.0.0.1:$port"); done
  redis-cli --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 || {
    cat "$dir/create.log" >&2
    return 1
  }
  for _ in $(seq 1 300); do
    if healthy; then
      echo "redis cluster on 127.0.0.1:${ports[0]}-${ports[5]} is up"
      return 0
    fi
    sleep 0.1
  done
  echo "redis cluster on 127.0.0.1:${ports[0]}-${ports[5]} did not reach cluster_state:ok" >&2
  return 1
}

case "$command" in
  start) start ;;
  stop) stop_nodes; rm -f "$dir.lock" ;;
  status) healthy ;;
  *) echo "usage: scripts/redis-cluster.sh start|stop|status [BASE]" >&2; exit 2 ;;
esac
