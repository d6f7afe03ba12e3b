#!/bin/sh
# integration.kafka_roundtrip: kafka_loop end to end against the stack's
# devbroker (see it_kafka_roundtrip.c for what is checked).
set -eu
: "${LINDUNG_RUN_DIR:?LINDUNG_RUN_DIR not set}"
: "${LINDUNG_TEST_BIN_DIR:?LINDUNG_TEST_BIN_DIR not set}"
. "$LINDUNG_RUN_DIR/stack.env"
: "${LINDUNG_KAFKA_BROKERS:?stack.env has no LINDUNG_KAFKA_BROKERS}"
exec "$LINDUNG_TEST_BIN_DIR/it_kafka_roundtrip" "$LINDUNG_KAFKA_BROKERS" "${KQ_ROUNDTRIP_COUNT:-10000}"
