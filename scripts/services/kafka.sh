#!/usr/bin/env bash
# A single-node Apache Kafka broker (KRaft mode) on 127.0.0.1 for tests and
# benchmarks. No Docker: Kafka's jars come from Maven Central through the
# machine's `mvn`, and run with the machine's Java.
#
#   scripts/services/kafka.sh install   download the jars into the cache (once)
#   scripts/services/kafka.sh start     install if needed, format storage if
#                                       needed, start, wait until ready
#   scripts/services/kafka.sh stop      stop the broker (SIGTERM, then SIGKILL)
#   scripts/services/kafka.sh kill      SIGKILL the broker (fault-injection tests)
#   scripts/services/kafka.sh acquire   `start`, and count one more user (ctest
#                                       fixtures: several build dirs may run
#                                       suites against the one broker)
#   scripts/services/kafka.sh release   count one user less; `stop` at zero,
#                                       unless the broker was already running
#                                       (started by hand, e.g. for a benchmark)
#                                       when the first user acquired it
#   scripts/services/kafka.sh status    exit 0 if running and answering
#   scripts/services/kafka.sh reset     stop and delete all topic data
#   scripts/services/kafka.sh create-topic NAME [PARTITIONS [KEY=VALUE...]]
#                                       (topic configs, e.g. retention.ms=60000)
#   scripts/services/kafka.sh delete-topic NAME...   (benchmarks clean up)
#
# Every command is idempotent: `start` on a running broker returns at once,
# `stop` on a stopped one does nothing. Listeners (fixed for the test suite):
#   PLAINTEXT        127.0.0.1:${KAFKA_PORT:-19092}
#   CONTROLLER       127.0.0.1:${KAFKA_CONTROLLER_PORT:-19093}
#   SASL_PLAINTEXT   127.0.0.1:${KAFKA_SASL_PORT:-19094}  (mechanism PLAIN,
#                    user "heliosdb" password "heliosdb-secret"; for the
#                    bad-credentials tests)
# KAFKA_ADVERTISED_PORT (default KAFKA_PORT) is the PLAINTEXT port the broker
# tells clients to use: bench/soak.sh puts a TCP proxy there that can stall
# the path, and runs its own broker (KAFKA_HOME and ports of its own).
# Topics are not auto-created (auto.create.topics.enable=false), like most
# production clusters; tests create their topics.
#
# Files: jars in $KAFKA_HOME/libs, data in $KAFKA_HOME/data, the broker's log
# in $KAFKA_HOME/logs/server.log (printed by `start`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"
KAFKA_HOME="${KAFKA_HOME:-$ROOT/.cache/kafka}"
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
KAFKA_SASL_PORT="${KAFKA_SASL_PORT:-19094}"
KAFKA_ADVERTISED_PORT="${KAFKA_ADVERTISED_PORT:-$KAFKA_PORT}"
KAFKA_HEAP="${KAFKA_HEAP:--Xms256m -Xmx768m}"
START_TIMEOUT_S="${KAFKA_START_TIMEOUT_S:-90}"

LIBS="$KAFKA_HOME/libs"
DATA="$KAFKA_HOME/data"
LOGS="$KAFKA_HOME/logs"
CONF="$KAFKA_HOME/conf"
PIDFILE="$KAFKA_HOME/broker.pid"
STAMP="$LIBS/.complete-$KAFKA_VERSION-with-tools"
CLUSTER_ID="aGVsaW9zZGItY2RjLXQ"  # fixed 22-char base64 id: re-format is reproducible

log() { echo "kafka.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

install_jars() {
  if [[ -f "$STAMP" ]]; then return 0; fi
  command -v mvn >/dev/null || die "mvn not found; run scripts/install-deps.sh (installs maven)"
  command -v java >/dev/null || die "java not found; run scripts/install-deps.sh"
  mkdir -p "$KAFKA_HOME/pom"
  cat >"$KAFKA_HOME/pom/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>heliosdb.cdc.test</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-reload4j</artifactId>
      <version>1.7.36</version>
    </dependency>
  </dependencies>
</project>
EOF
  log "downloading Apache Kafka $KAFKA_VERSION jars with mvn (first run only, ~1-2 min)"
  rm -rf "$LIBS"
  mkdir -p "$LIBS"
  if ! mvn -q -B -f "$KAFKA_HOME/pom/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$LIBS" -DincludeScope=runtime >"$KAFKA_HOME/mvn.log" 2>&1; then
    tail -n 30 "$KAFKA_HOME/mvn.log" >&2
    die "mvn could not download org.apache.kafka:kafka_2.13:$KAFKA_VERSION (log: $KAFKA_HOME/mvn.log)"
  fi
  ls "$LIBS"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 \
    || die "kafka_2.13-$KAFKA_VERSION.jar missing after mvn (log: $KAFKA_HOME/mvn.log)"
  touch "$STAMP"
  log "jars in $LIBS"
}

write_config() {
  mkdir -p "$CONF" "$LOGS" "$DATA"
  cat >"$CONF/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT,SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_ADVERTISED_PORT,SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_heliosdb="heliosdb-secret";
log.dirs=$DATA
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=2
log.segment.bytes=268435456
EOF
  cat >"$CONF/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$LOGS/server.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
EOF
}

java_cmd() {
  # shellcheck disable=SC2086
  java $KAFKA_HEAP -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$CONF/log4j.properties" -cp "$LIBS/*" "$@"
}

broker_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  # Guard against a recycled pid: it must be our java process.
  grep -q "kafka.Kafka" "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

answering() {
  # A metadata request that lists our broker id 1.
  kcat -b "127.0.0.1:$KAFKA_PORT" -L -m 3 2>/dev/null | grep -q "broker 1 at"
}

port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
  install_jars
  command -v kcat >/dev/null || die "kcat not found; run scripts/install-deps.sh"
  if pid="$(broker_pid)"; then
    if answering; then
      log "already running (pid $pid) on 127.0.0.1:$KAFKA_PORT; log: $LOGS/server.log"
      return 0
    fi
    wait_ready "$pid"
    return 0
  fi
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$KAFKA_SASL_PORT"; do
    if port_busy "$p"; then
      die "port 127.0.0.1:$p is in use by another process (not our broker); free it or set KAFKA_PORT/KAFKA_CONTROLLER_PORT/KAFKA_SASL_PORT"
    fi
  done
  write_config
  if [[ ! -f "$DATA/meta.properties" ]]; then
    log "formatting storage in $DATA"
    java_cmd kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$CONF/server.properties" \
      >"$LOGS/format.log" 2>&1 || { cat "$LOGS/format.log" >&2; die "storage format failed"; }
  fi
  log "starting broker on 127.0.0.1:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT, SASL $KAFKA_SASL_PORT)"
  # setsid: the broker outlives this script and is not hit by the caller's
  # signals. 9>&-: it must not inherit the lease lock.
  setsid bash -c "exec java $KAFKA_HEAP -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration=file:$CONF/log4j.properties -cp '$LIBS/*' kafka.Kafka \
    '$CONF/server.properties'" >"$LOGS/stdout.log" 2>&1 </dev/null 9>&- &
  echo $! >"$PIDFILE"
  wait_ready "$!"
}

wait_ready() {
  local pid="$1" deadline=$((SECONDS + START_TIMEOUT_S))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 40 "$LOGS/server.log" "$LOGS/stdout.log" >&2 2>/dev/null || true
      die "broker exited during start-up; logs: $LOGS/server.log $LOGS/stdout.log"
    fi
    if answering; then
      log "ready on 127.0.0.1:$KAFKA_PORT (pid $pid); log: $LOGS/server.log"
      return 0
    fi
    sleep 0.3
  done
  die "broker not ready after ${START_TIMEOUT_S}s; log: $LOGS/server.log"
}

stop() {
  local sig="${1:-TERM}" pid
  if ! pid="$(broker_pid)"; then
    rm -f "$PIDFILE"
    log "not running"
    return 0
  fi
  kill "-$sig" "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "broker did not stop in 30s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.2
  done
  rm -f "$PIDFILE"
  log "stopped (SIG$sig, pid $pid)"
}

create_topic() {
  local name="${1:?topic name}" partitions="${2:-1}"
  shift $(($# < 2 ? $# : 2))
  local configs=()
  for c in "$@"; do configs+=(--config "$c"); done
  java_cmd org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --create \
    --if-not-exists --topic "$name" --partitions "$partitions" --replication-factor 1 \
    "${configs[@]}"
}

delete_topics() {
  (($#)) || return 0
  local name
  for name in "$@"; do
    java_cmd org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" \
      --delete --if-exists --topic "$name"
  done
}

# ctest fixtures share the broker: scripts/services/leases.sh counts its users.
LEASE_DIR="$KAFKA_HOME"
LEASE_NOUN="broker"
lease_running() { broker_pid >/dev/null; }
lease_start() { start; }
lease_stop() { stop TERM; }
# shellcheck source=leases.sh
source "$(dirname "${BASH_SOURCE[0]}")/leases.sh"

case "${1:-}" in
  install) install_jars ;;
  acquire) lease_acquire ;;
  release) lease_release ;;
  start) start ;;
  stop) stop TERM ;;
  kill) stop KILL ;;
  restart) stop TERM; start ;;
  status)
    if broker_pid >/dev/null && answering; then echo "running"; else echo "stopped"; exit 1; fi ;;
  reset) stop TERM; rm -rf "$DATA"; log "data deleted" ;;
  create-topic) shift; create_topic "$@" ;;
  delete-topic) shift; delete_topics "$@" ;;
  *)
    sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'
    exit 2 ;;
esac
