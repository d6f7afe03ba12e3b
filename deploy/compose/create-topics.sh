#!/usr/bin/env bash
# Creates every Lindung topic on the single-node Kafka of docker-compose from
# the access table (deploy/kafka/access, mounted at /lindung/access): the
# fixed topics, then each partner's request and results topics for the
# partners of deploy/kafka/partners (mounted at /lindung/partners), with the
# table's partitions, retention, segment.ms and min.insync.replicas
# (replicas capped at the one broker). It runs on every `up`: a topic that
# exists keeps its partitions, but its settings are set back to the table's
# when they drifted (a changed table, a hand edit), and a setting the table
# no longer names (segment.ms) returns to the broker's default, as
# `lindungctl kafka apply` does. This broker is plaintext without an
# authorizer (one host, one network); the table's ACLs apply where clients
# authenticate: the embedded stack's broker and Strimzi (deploy/kafka/render).
#
# KAFKA_BIN_DIR (default /opt/kafka/bin) holds Kafka's command-line tools;
# KAFKA_COMMAND_CONFIG, if set, is their client configuration (TLS).
set -euo pipefail

bootstrap=${KAFKA_BOOTSTRAP:-kafka:9092}
table=${LINDUNG_ACCESS_TABLE:-/lindung/access}
partners_file=${LINDUNG_PARTNERS_FILE:-/lindung/partners}
partition_override=${LINDUNG_PARTITIONS:-}
kafka_bin=${KAFKA_BIN_DIR:-/opt/kafka/bin}
client=(--bootstrap-server "$bootstrap" ${KAFKA_COMMAND_CONFIG:+--command-config "$KAFKA_COMMAND_CONFIG"})

mapfile -t partners < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$partners_file")

# Every topic on the broker with its topic-level settings, one line each
# ("<topic> k=v k=v ..."), from one describe of all topics.
declare -A current
while read -r topic settings; do
  current[$topic]=$settings
done < <("$kafka_bin/kafka-configs.sh" "${client[@]}" --describe --entity-type topics |
  awk '/^Dynamic configs for topic / { if (t != "") print t, s; t = $5; s = ""; next }
       /^ +[^ ]+=/ { split($1, kv, "="); s = s " " kv[1] "=" kv[2] }
       END { if (t != "") print t, s }')

# The value of setting $2 in the settings line $1 ("" when unset).
setting() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<< " $1"; }

apply() { # name partitions retention.ms [segment.ms]
  local name=$1 wanted="retention.ms=$3,min.insync.replicas=1,cleanup.policy=delete${4:+,segment.ms=$4}"
  if [ -z "${current[$name]+set}" ]; then
    "$kafka_bin/kafka-topics.sh" "${client[@]}" --create --if-not-exists \
      --topic "$name" --partitions "$2" --replication-factor 1 \
      --config "retention.ms=$3" --config min.insync.replicas=1 --config cleanup.policy=delete \
      ${4:+--config "segment.ms=$4"}
    return
  fi
  local have=${current[$name]} drift="" pair stale=()
  for pair in ${wanted//,/ }; do
    [ "$(setting "$have" "${pair%%=*}")" = "${pair#*=}" ] || drift=1
  done
  if [ -z "${4:-}" ] && [ -n "$(setting "$have" segment.ms)" ]; then
    drift=1
    stale=(--delete-config segment.ms)
  fi
  [ -n "$drift" ] || return 0
  echo "topic $name: settings set back to the table's ($wanted)"
  "$kafka_bin/kafka-configs.sh" "${client[@]}" --alter --entity-type topics --entity-name "$name" \
    --add-config "$wanted" ${stale[@]+"${stale[@]}"}
}

while read -r kind name parts _replicas retention _isr segment; do
  [ "$kind" = topic ] || continue
  # A scan topic may get more partitions here (LINDUNG_PARTITIONS), never fewer.
  if [ -n "$partition_override" ] && [ "$parts" -gt 1 ] && [ "$partition_override" -gt "$parts" ]; then
    parts=$partition_override
  fi
  case "$name" in
    *'{partner}'*) for p in "${partners[@]}"; do apply "${name//\{partner\}/$p}" "$parts" "$retention" "$segment"; done ;;
    *) apply "$name" "$parts" "$retention" "$segment" ;;
  esac
done < <(sed -e 's/#.*//' "$table")
echo "topics ready"
