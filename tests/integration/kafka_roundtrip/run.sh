#!/usr/bin/env bash
# integration.kafka_roundtrip: kafka_loop end to end against the stack's
# devbroker (see it_kafka_roundtrip.c for what is checked).
set -eu
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../lib.sh"
: "${LINDUNG_KAFKA_BROKERS:?stack.env has no LINDUNG_KAFKA_BROKERS}"
exec "$LINDUNG_TEST_BIN_DIR/it_kafka_roundtrip" "$LINDUNG_KAFKA_BROKERS" "${KQ_ROUNDTRIP_COUNT:-10000}"
