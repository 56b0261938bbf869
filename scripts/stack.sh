#!/usr/bin/env bash
# The local stack without Docker: Apache Kafka (KRaft, one combined broker+controller) from
# Maven Central jars, and PostgreSQL from Debian's packages, both on 127.0.0.1.
#
#   scripts/stack.sh up [kafka|postgres]    start what is not running yet (a quick no-op when all is up)
#   scripts/stack.sh down [kafka|postgres]  stop only what this script started
#   scripts/stack.sh status                 say what answers where
#   scripts/stack.sh env                    print the DUALSYNC_* variables that point at this stack
#                                           (with the Kafka principals' passwords: keep it private)
#   scripts/stack.sh compose-env            print NAME=value lines for docker compose's .env: the
#                                           same passwords, with the broker's and controller's
#
# Kafka runs with SASL/SCRAM-SHA-512 and ACLs (StandardAuthorizer): one SCRAM user per dualsync
# role (KAFKA_ROLES, the same roles as sync_service/kafka_access.py), created when the log dir is
# formatted, with random passwords generated once per broker address into
# $DUALSYNC_CACHE_DIR/kafka-<host>-<port>.credentials.env (mode 600; DUALSYNC_KAFKA_CREDENTIALS
# names another file). Per address, not per stack dir: a second checkout (a CI clone, a worktree)
# finds the broker another one started on that port, and its passwords, and so uses it as it is. The controller listener cannot use SCRAM in KRaft:
# it speaks SASL PLAIN with a controller user defined in the broker's own config. The ACLs
# themselves are dualsync's: `dualsync topics create` applies them (as the admin principal).
#
# Logging: Kafka 4 brings slf4j-api 1.7, so its log4j2 binding is log4j-slf4j-impl (not -slf4j2-).
# Settings (environment): DUALSYNC_KAFKA_VERSION, DUALSYNC_CACHE_DIR (jars, outside git),
# DUALSYNC_STACK_DIR (broker data, logs, pid files), DUALSYNC_KAFKA_START_TIMEOUT (seconds),
# DUALSYNC_KAFKA_PORT / DUALSYNC_KAFKA_CONTROLLER_PORT / DUALSYNC_PG_PORT (9092 / 9093 / 5432),
# DUALSYNC_PG_MODE: `debian` (default: the machine's Debian cluster) or `private` (a data
# directory of its own under the stack dir, on DUALSYNC_PG_PORT: a second stack that a test or
# `make chaos` may stop and start without disturbing the first).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA_VERSION="${DUALSYNC_KAFKA_VERSION:-4.3.1}"
LOG4J_VERSION="2.24.3"
CACHE_DIR="${DUALSYNC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dualsync}"
STACK_DIR="${DUALSYNC_STACK_DIR:-$ROOT/.stack}"
KAFKA_HOME="$CACHE_DIR/kafka-$KAFKA_VERSION"
KAFKA_DIR="$STACK_DIR/kafka"
KAFKA_HOST=127.0.0.1
KAFKA_PORT="${DUALSYNC_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${DUALSYNC_KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_START_TIMEOUT="${DUALSYNC_KAFKA_START_TIMEOUT:-90}"
PG_HOST=127.0.0.1
PG_PORT="${DUALSYNC_PG_PORT:-5432}"
PG_MODE="${DUALSYNC_PG_MODE:-debian}"
PG_DIR="$STACK_DIR/postgres"
# The roles of sync_service/kafka_access.py (a test checks that both lists agree); each is the
# SCRAM user dualsync-<role>. "broker" is the broker's own inter-broker user (a super user).
KAFKA_ROLES="admin api ops command-processor relay projections outbound inbound erp operator"
KAFKA_CREDENTIALS="${DUALSYNC_KAFKA_CREDENTIALS:-$CACHE_DIR/kafka-$KAFKA_HOST-$KAFKA_PORT.credentials.env}"
KAFKA_SCRAM_MARK="$KAFKA_DIR/data/.dualsync-scram"
PG_USER=dualsync
PG_PASSWORD=dualsync
PG_DB=dualsync

say() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root for: $* (run as root or install sudo)"; fi
}

apt_install() {
  say "installing from Debian's packages: $*"
  if [ -z "${_APT_UPDATED:-}" ]; then as_root apt-get update -qq >/dev/null; _APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# Authenticates as the admin principal (its password passed in the environment, never in argv).
kafka_ready() {
  [ -f "$KAFKA_CREDENTIALS" ] || return 1
  (set -a; . "$KAFKA_CREDENTIALS"; set +a
   DUALSYNC_KAFKA_READY_USER=dualsync-admin DUALSYNC_KAFKA_READY_PASSWORD="$DUALSYNC_KAFKA_PASSWORDS__ADMIN" \
     python3 "$ROOT/scripts/kafka_ready.py" "$KAFKA_HOST:$KAFKA_PORT" 2 2>/dev/null)
}

env_name() { printf 'DUALSYNC_KAFKA_PASSWORDS__%s' "$(printf '%s' "$1" | tr 'a-z-' 'A-Z_')"; }

random_secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(24))'; }

# One random password per role, the broker and the controller, generated once per address.
ensure_kafka_credentials() {
  [ -f "$KAFKA_CREDENTIALS" ] && return 0
  mkdir -p "$(dirname "$KAFKA_CREDENTIALS")"
  local file="$KAFKA_CREDENTIALS.new" role
  (umask 077; : >"$file")
  for role in $KAFKA_ROLES broker controller; do
    printf '%s=%s\n' "$(env_name "$role")" "$(random_secret)" >>"$file"
  done
  mv "$file" "$KAFKA_CREDENTIALS"
  say "generated the Kafka principals' passwords into $KAFKA_CREDENTIALS"
}

# What the log dir was formatted with: a fingerprint of the credentials file (never the passwords).
credentials_fingerprint() { sha256sum "$KAFKA_CREDENTIALS" | cut -c1-64; }

# Whether this stack dir's log dir holds the SCRAM users of the current credentials file.
formatted_with_credentials() {
  [ -f "$KAFKA_SCRAM_MARK" ] && [ "$(cat "$KAFKA_SCRAM_MARK")" = "$(credentials_fingerprint)" ]
}

kafka_password() {  # the password of a role (or broker/controller) from the credentials file
  sed -n "s/^$(env_name "$1")=//p" "$KAFKA_CREDENTIALS"
}

# ---------------------------------------------------------------- Kafka

ensure_java_and_maven() {
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  command -v mvn >/dev/null || apt_install maven
  local major
  major=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')
  [ "${major:-0}" -ge 17 ] || die "Kafka $KAFKA_VERSION needs Java 17 or newer; found ${major:-none}"
}

fetch_kafka_jars() {
  [ -f "$KAFKA_HOME/.complete" ] && return 0
  say "fetching Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_HOME (once)"
  mkdir -p "$KAFKA_HOME"
  cat >"$KAFKA_HOME/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dualsync.local</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
POM
  rm -rf "$KAFKA_HOME/libs"
  if ! mvn -q -B -f "$KAFKA_HOME/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$KAFKA_HOME/libs" >"$KAFKA_HOME/mvn.log" 2>&1; then
    tail -n 30 "$KAFKA_HOME/mvn.log" >&2
    die "mvn could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION (log: $KAFKA_HOME/mvn.log)"
  fi
  ls "$KAFKA_HOME"/libs/kafka_2.13-*.jar >/dev/null 2>&1 || die "no kafka_2.13 jar after mvn"
  touch "$KAFKA_HOME/.complete"
}

write_kafka_config() {
  mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/logs"
  local broker_password controller_password
  broker_password=$(kafka_password broker)
  controller_password=$(kafka_password controller)
  # Holds the broker's and controller's passwords: readable by its owner only.
  (umask 077; : >"$KAFKA_DIR/server.properties"); chmod 600 "$KAFKA_DIR/server.properties"
  cat >"$KAFKA_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$CONTROLLER_PORT
listeners=SASL_PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$CONTROLLER_PORT
advertised.listeners=SASL_PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_PLAINTEXT
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
sasl.mechanism.controller.protocol=PLAIN
listener.name.sasl_plaintext.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="dualsync-broker" password="$broker_password";
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="dualsync-controller" password="$controller_password" user_dualsync-controller="$controller_password";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:dualsync-broker;User:dualsync-controller;User:dualsync-admin
log.dirs=$KAFKA_DIR/data
num.partitions=3
# Only a principal with CREATE may have a topic created on first use: no ACL grants it, so that
# is the admin (tests' scratch topics); dualsync's topics come from its topics create verb.
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
PROPS
  cat >"$KAFKA_DIR/log4j2.yaml" <<LOG
Configuration:
  Appenders:
    File:
      name: file
      fileName: "$KAFKA_DIR/logs/server.log"
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: file
    Logger:
      - name: kafka.request.logger
        level: WARN
      - name: org.apache.kafka.coordinator
        level: WARN
LOG
}

kafka_classpath() { echo "$KAFKA_HOME/libs/*"; }

format_kafka() {
  if [ -f "$KAFKA_DIR/data/meta.properties" ]; then
    formatted_with_credentials && return 0
    # Formatted by an older stack.sh (no SCRAM users), or for other passwords: development data.
    say "the Kafka log dir in $KAFKA_DIR/data was formatted without these SASL/SCRAM users;"
    say "re-formatting it (its topics and records are deleted) so that authentication and ACLs are on"
    rm -rf "$KAFKA_DIR/data"
    mkdir -p "$KAFKA_DIR/data"
  fi
  local cluster_id role scram=()
  for role in $KAFKA_ROLES broker; do
    scram+=(--add-scram "SCRAM-SHA-512=[name=dualsync-$role,password=$(kafka_password "$role")]")
  done
  cluster_id=$(python3 -c 'import base64, uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')
  say "formatting the KRaft log dir (cluster id $cluster_id)"
  java -cp "$(kafka_classpath)" -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.yaml" \
    kafka.tools.StorageTool format --cluster-id "$cluster_id" -c "$KAFKA_DIR/server.properties" \
    "${scram[@]}" >"$KAFKA_DIR/logs/format.log" 2>&1 ||
    { cat "$KAFKA_DIR/logs/format.log" >&2; die "formatting the Kafka log dir failed"; }
  credentials_fingerprint >"$KAFKA_SCRAM_MARK"
}

# A broker of this stack dir still running from before SASL, or with other passwords: stop it,
# so that `up` re-formats and starts it with these users.
stop_unauthenticated_kafka() {
  [ -f "$KAFKA_DIR/data/meta.properties" ] && ! formatted_with_credentials || return 0
  [ -f "$KAFKA_DIR/kafka.pid" ] && kill -0 "$(cat "$KAFKA_DIR/kafka.pid")" 2>/dev/null || return 0
  say "the Kafka broker of $STACK_DIR runs without authentication: stopping it to re-format it"
  kafka_down
}

kafka_up() {
  ensure_kafka_credentials
  stop_unauthenticated_kafka
  if kafka_ready; then say "Kafka already answers at $KAFKA_HOST:$KAFKA_PORT"; return 0; fi
  if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
    # Something listens but does not (yet) answer metadata: perhaps our broker still starting.
    if [ -f "$KAFKA_DIR/kafka.pid" ] && kill -0 "$(cat "$KAFKA_DIR/kafka.pid")" 2>/dev/null; then
      wait_for_kafka "$(cat "$KAFKA_DIR/kafka.pid")"; return 0
    fi
    die "port $KAFKA_HOST:$KAFKA_PORT is taken by something that does not accept this stack's Kafka credentials (another program, or a broker without SASL that this stack dir did not start: stop it)"
  fi
  ensure_java_and_maven
  fetch_kafka_jars
  write_kafka_config
  format_kafka
  say "starting Kafka $KAFKA_VERSION (KRaft, broker+controller) on $KAFKA_HOST:$KAFKA_PORT"
  : >"$KAFKA_DIR/logs/stdout.log"
  setsid nohup java -Xms256m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.yaml" -Dkafka.logs.dir="$KAFKA_DIR/logs" \
    -cp "$(kafka_classpath)" kafka.Kafka "$KAFKA_DIR/server.properties" \
    >"$KAFKA_DIR/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$KAFKA_DIR/kafka.pid"
  wait_for_kafka "$!"
}

wait_for_kafka() {
  local pid=$1 waited=0
  until kafka_ready; do
    if ! kill -0 "$pid" 2>/dev/null; then
      kafka_failure "the broker process exited during start-up"
    fi
    if [ "$waited" -ge "$KAFKA_START_TIMEOUT" ]; then
      kafka_failure "the broker did not answer metadata requests within ${KAFKA_START_TIMEOUT}s"
    fi
    sleep 1; waited=$((waited + 1))
  done
  say "Kafka ready at $KAFKA_HOST:$KAFKA_PORT after ${waited}s"
}

kafka_failure() {
  say "$1; last lines of $KAFKA_DIR/logs:"
  tail -n 25 "$KAFKA_DIR/logs/server.log" 2>/dev/null >&2 || true
  tail -n 15 "$KAFKA_DIR/logs/stdout.log" 2>/dev/null >&2 || true
  die "Kafka could not be started"
}

kafka_down() {
  local pidfile="$KAFKA_DIR/kafka.pid"
  if [ ! -f "$pidfile" ]; then say "Kafka: not started by this script, left alone"; return 0; fi
  local pid; pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    say "stopping Kafka (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$pidfile"
}

# ---------------------------------------------------------------- PostgreSQL

pg_can_login() {
  command -v psql >/dev/null &&
    PGPASSWORD=$PG_PASSWORD PGCONNECT_TIMEOUT=3 psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" \
      -Atqc 'select 1' >/dev/null 2>&1
}

pg_cluster() {  # "version name" of the first local Debian cluster, if any
  command -v pg_lsclusters >/dev/null || return 0
  pg_lsclusters -h 2>/dev/null | awk 'NR==1 {print $1, $2}'
}

pg_bin() { echo "/usr/lib/postgresql/$(ls /usr/lib/postgresql | sort -n | tail -n 1)/bin"; }

# PostgreSQL refuses to run as root: a private cluster belongs to the postgres user when we are root.
as_pg_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_private_up() {
  if pg_can_login; then say "PostgreSQL (private) already answers at $PG_HOST:$PG_PORT"; return 0; fi
  [ -n "$(ls /usr/lib/postgresql 2>/dev/null)" ] || apt_install postgresql
  local bin; bin=$(pg_bin)
  mkdir -p "$PG_DIR"
  # The postgres user must reach its directory (a stack dir made by mktemp is 0700).
  chmod o+x "$STACK_DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres "$PG_DIR"
  if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
    say "creating a private PostgreSQL cluster in $PG_DIR/data"
    printf '%s\n' "$PG_PASSWORD" >"$PG_DIR/pwfile"
    [ "$(id -u)" -eq 0 ] && chown postgres "$PG_DIR/pwfile"
    as_pg_owner "$bin/initdb" -D "$PG_DIR/data" -U "$PG_USER" --pwfile="$PG_DIR/pwfile" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 >"$PG_DIR/initdb.log" 2>&1 ||
      { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
    rm -f "$PG_DIR/pwfile"
  fi
  if ! as_pg_owner "$bin/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
    say "starting the private PostgreSQL cluster on $PG_HOST:$PG_PORT"
    as_pg_owner "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 \
      -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=$PG_HOST -c fsync=off -c max_connections=300" \
      start >/dev/null || { tail -n 20 "$PG_DIR/postgres.log" >&2; die "the private PostgreSQL did not start"; }
  fi
  as_pg_owner "$bin/psql" -h "$PG_DIR" -p "$PG_PORT" -U "$PG_USER" -d postgres -v ON_ERROR_STOP=1 -q \
    >/dev/null <<SQL
SELECT 'CREATE DATABASE $PG_DB' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DB')\gexec
SQL
  pg_can_login || die "the private PostgreSQL runs at $PG_HOST:$PG_PORT but $PG_USER cannot log in"
  say "PostgreSQL (private) ready at $PG_HOST:$PG_PORT (database $PG_DB)"
}

pg_private_down() {
  [ -f "$PG_DIR/data/postmaster.pid" ] || { say "PostgreSQL (private): not running"; return 0; }
  say "stopping the private PostgreSQL cluster in $PG_DIR"
  as_pg_owner "$(pg_bin)/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null || true
}

pg_up() {
  if [ "$PG_MODE" = private ]; then pg_private_up; return; fi
  if pg_can_login; then say "PostgreSQL already answers at $PG_HOST:$PG_PORT (database $PG_DB)"; return 0; fi
  if ! port_open "$PG_HOST" "$PG_PORT"; then
    command -v pg_ctlcluster >/dev/null && [ -n "$(ls /usr/lib/postgresql 2>/dev/null)" ] || apt_install postgresql
    local cluster; cluster=$(pg_cluster)
    if [ -z "$cluster" ]; then
      local version; version=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
      say "creating PostgreSQL $version cluster 'main'"
      as_root pg_createcluster --port "$PG_PORT" "$version" main >/dev/null
      cluster="$version main"
    fi
    say "starting PostgreSQL cluster $cluster"
    # shellcheck disable=SC2086
    as_root pg_ctlcluster $cluster start
    mkdir -p "$STACK_DIR"; echo "$cluster" >"$STACK_DIR/postgres.started"
    for _ in $(seq 1 30); do port_open "$PG_HOST" "$PG_PORT" && break; sleep 1; done
    port_open "$PG_HOST" "$PG_PORT" || die "PostgreSQL did not open $PG_HOST:$PG_PORT (see /var/log/postgresql/)"
  fi
  pg_provision
  pg_can_login || die "PostgreSQL runs at $PG_HOST:$PG_PORT but $PG_USER cannot log in to $PG_DB"
  say "PostgreSQL ready at $PG_HOST:$PG_PORT (database $PG_DB)"
}

pg_provision() {
  [ -n "$(pg_cluster)" ] || die "PostgreSQL at $PG_HOST:$PG_PORT is not a local Debian cluster; create role $PG_USER and database $PG_DB yourself, or set DUALSYNC_DATABASE_URL"
  say "creating role $PG_USER and database $PG_DB (if missing)"
  as_root runuser -u postgres -- psql -p "$PG_PORT" -v ON_ERROR_STOP=1 -q >/dev/null <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  END IF;
END \$\$;
SELECT 'CREATE DATABASE $PG_DB OWNER $PG_USER'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DB')\gexec
SQL
}

pg_down() {
  if [ "$PG_MODE" = private ]; then pg_private_down; return; fi
  local marker="$STACK_DIR/postgres.started"
  if [ ! -f "$marker" ]; then say "PostgreSQL: not started by this script, left alone"; return 0; fi
  say "stopping PostgreSQL cluster $(cat "$marker")"
  # shellcheck disable=SC2046
  as_root pg_ctlcluster $(cat "$marker") stop || true
  rm -f "$marker"
}

# ---------------------------------------------------------------- verbs

status() {
  if kafka_ready; then echo "kafka:      up   $KAFKA_HOST:$KAFKA_PORT"; else echo "kafka:      down $KAFKA_HOST:$KAFKA_PORT"; fi
  if pg_can_login; then echo "postgresql: up   $PG_HOST:$PG_PORT/$PG_DB"; else echo "postgresql: down $PG_HOST:$PG_PORT/$PG_DB"; fi
}

print_env() {
  echo "export DUALSYNC_KAFKA_BOOTSTRAP=$KAFKA_HOST:$KAFKA_PORT"
  echo "export DUALSYNC_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT"
  if [ -f "$KAFKA_CREDENTIALS" ]; then
    local role
    for role in $KAFKA_ROLES; do echo "export $(env_name "$role")=$(kafka_password "$role")"; done
  else
    say "no Kafka credentials in $KAFKA_CREDENTIALS yet: run \`$0 up\` first"
  fi
  echo "export DUALSYNC_DATABASE_URL=postgresql+asyncpg://$PG_USER:$PG_PASSWORD@$PG_HOST:$PG_PORT/$PG_DB"
}

# For `docker compose` (its .env file): the broker and controller need their passwords too.
print_compose_env() {
  ensure_kafka_credentials
  cat "$KAFKA_CREDENTIALS"
}

usage() { echo "usage: $0 {up|down} [kafka|postgres] | status | env | compose-env" >&2; exit 2; }

case "${1:-up} ${2:-all}" in
  "up all") kafka_up; pg_up ;;
  "up kafka") kafka_up ;;
  "up postgres") pg_up ;;
  "down all") kafka_down; pg_down ;;
  "down kafka") kafka_down ;;
  "down postgres") pg_down ;;
  "status all") status ;;
  "env all") print_env ;;
  "compose-env all") print_compose_env ;;
  *) usage ;;
esac
