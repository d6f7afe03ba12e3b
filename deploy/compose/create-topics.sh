#!/usr/bin/env bash
# Creates every Lindung topic on the single-node Kafka of docker-compose from
# the access table (deploy/kafka/access, mounted at /lindung/access): the
# fixed topics, then each partner's request and results topics for the
# partners of deploy/kafka/partners (mounted at /lindung/partners), with the
# table's partitions, retention, segment.ms and min.insync.replicas
# (replicas capped at the one broker). Topics that exist are left alone, so
# it runs on every `up`. This broker is plaintext without an authorizer (one host, one
# network); the table's ACLs apply where clients authenticate: the embedded
# stack's broker and Strimzi (deploy/kafka/render).
set -euo pipefail

bootstrap=${KAFKA_BOOTSTRAP:-kafka:9092}
table=${LINDUNG_ACCESS_TABLE:-/lindung/access}
partners_file=${LINDUNG_PARTNERS_FILE:-/lindung/partners}
partition_override=${LINDUNG_PARTITIONS:-}

mapfile -t partners < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$partners_file")

create() { # name partitions retention.ms [segment.ms]
  /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$bootstrap" --create --if-not-exists \
    --topic "$1" --partitions "$2" --replication-factor 1 \
    --config "retention.ms=$3" --config min.insync.replicas=1 --config cleanup.policy=delete \
    ${4:+--config "segment.ms=$4"}
}

while read -r kind name parts _replicas retention _isr segment; do
  [ "$kind" = topic ] || continue
  # A scan topic may get more partitions here (LINDUNG_PARTITIONS), never fewer.
  if [ -n "$partition_override" ] && [ "$parts" -gt 1 ] && [ "$partition_override" -gt "$parts" ]; then
    parts=$partition_override
  fi
  case "$name" in
    *'{partner}'*) for p in "${partners[@]}"; do create "${name//\{partner\}/$p}" "$parts" "$retention" "$segment"; done ;;
    *) create "$name" "$parts" "$retention" "$segment" ;;
  esac
done < <(sed -e 's/#.*//' "$table")
echo "topics ready"
