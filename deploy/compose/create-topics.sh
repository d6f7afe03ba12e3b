#!/usr/bin/env bash
# Creates every Lindung topic (ARCHITECTURE.md) on the single-node Kafka of
# docker-compose; topics that exist are left alone, so it runs on every `up`.
set -euo pipefail

bootstrap=${KAFKA_BOOTSTRAP:-kafka:9092}
partitions=${LINDUNG_PARTITIONS:-4}
partners=(gojek grab tokopedia tiketcom dana livin-mandiri traveloka cinema-xxi linkaja goers jaki)
day=86400000

create() { # name partitions retention.ms [extra config...]
  local name=$1 parts=$2 retention=$3
  shift 3
  local args=(--config "retention.ms=$retention" --config min.insync.replicas=1)
  for c in "$@"; do args+=(--config "$c"); done
  /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$bootstrap" --create --if-not-exists \
    --topic "$name" --partitions "$parts" --replication-factor 1 "${args[@]}"
}

create scan.requests "$partitions" "$day"
create scan.accepted "$partitions" "$day"
create scan.decrypted "$partitions" "$day"
for p in "${partners[@]}"; do
  create "scan.results.$p" "$partitions" "$day"
done
create scan.deadletter 1 $((14 * day))
create audit.events "$partitions" $((7 * day))
create audit.log 1 $((90 * day))
# One partition: every instance reads every event, in the order they happened.
create partner.events 1 $((30 * day))
# Keyed by the keyed NIK hash: one person's facts stay in order.
create health.facts "$partitions" $((7 * day))
echo "topics ready"
