#!/usr/bin/env bash
# docker-compose's topic setup (deploy/compose/create-topics.sh) against the
# stack's real broker, with Kafka's own kafka-configs tool: every topic of the
# table exists there already (`lindungctl kafka apply` and `partner add` made
# them from the same table), so this is the compose `up` that follows a
# changed table or a hand edit:
#   - a topic whose settings were replaced (retention stretched, segment.ms,
#     min.insync.replicas and cleanup.policy dropped) gets the table's back;
#   - a segment.ms the table does not name for a topic is removed;
#   - nothing else is touched, and a second run finds nothing to change.
set -uo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../lib.sh"
if [ "${LINDUNG_BROKER:-}" != kafka ]; then
  echo "FAIL: the stack runs lindung-devbroker, which keeps no topic settings (scripts/stack up --broker kafka)"
  exit 1
fi
lindung_ensure_seeded
root=$LINDUNG_SOURCE_DIR
dist=$("$root/deploy/kafka/dist" path) || { echo "FAIL: Apache Kafka is not installed"; exit 1; }
admin=$LINDUNG_KAFKA_CERT_DIR/lindung-admin.java.properties
[ -r "$admin" ] || { echo "FAIL: no Java client settings for the admin ($admin)"; exit 1; }

work=$(mktemp -d)
# Whatever happens, the stack's topics end with the table's settings.
trap '"$LINDUNG_BIN_DIR/lindungctl" kafka apply > /dev/null || echo "FAIL: kafka apply"; rm -rf "$work"' EXIT
# Kafka's tools as the compose image has them, from the broker's own jars.
# kafka-topics (not among those jars) must not be needed: no topic is missing.
mkdir "$work/bin"
cat > "$work/bin/kafka-configs.sh" << TOOL
#!/bin/sh
exec java -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$dist/lib/*" kafka.admin.ConfigCommand "\$@"
TOOL
cat > "$work/bin/kafka-topics.sh" << TOOL
#!/bin/sh
echo "kafka-topics.sh \$*" >> "$work/creations"
exit 1
TOOL
chmod +x "$work/bin/"*.sh
configs() { "$work/bin/kafka-configs.sh" --bootstrap-server "$LINDUNG_KAFKA_BROKERS" --command-config "$admin" "$@"; }
create_topics() {
  KAFKA_BOOTSTRAP=$LINDUNG_KAFKA_BROKERS KAFKA_BIN_DIR=$work/bin KAFKA_COMMAND_CONFIG=$admin \
    LINDUNG_ACCESS_TABLE=$root/deploy/kafka/access LINDUNG_PARTNERS_FILE=$root/deploy/kafka/partners \
    "$root/deploy/compose/create-topics.sh"
}
# The topic-level settings of one topic, "k=v" sorted, one line.
settings_of() {
  configs --describe --entity-type topics --entity-name "$1" |
    sed -n 's/^ \{1,\}\([^ =]*=[^ ]*\) .*/\1/p' | sort | tr '\n' ' '
}

# A stale deployment: scan.accepted's settings replaced by a long retention
# alone, a segment.ms on audit.log, for which the table names none.
configs --alter --entity-type topics --entity-name scan.accepted \
  --delete-config segment.ms,min.insync.replicas,cleanup.policy > /dev/null ||
  fail "could not drop scan.accepted's settings"
configs --alter --entity-type topics --entity-name scan.accepted --add-config retention.ms=999999999 > /dev/null ||
  fail "could not stretch scan.accepted's retention"
configs --alter --entity-type topics --entity-name audit.log --add-config segment.ms=600000 > /dev/null ||
  fail "could not give audit.log a segment.ms"
stale=$(settings_of scan.accepted)
[ "$stale" = "retention.ms=999999999 " ] && pass "scan.accepted drifted: $stale" ||
  fail "scan.accepted did not drift as set up: $stale"

if create_topics > "$work/first" 2>&1; then pass "create-topics.sh ran"; else fail "create-topics.sh: $(tail -3 "$work/first")"; fi
[ ! -e "$work/creations" ] && pass "no topic was missing" || fail "it created: $(cat "$work/creations")"
changed=$(sed -n 's/^topic \([^:]*\): settings set back.*/\1/p' "$work/first" | sort | tr '\n' ' ')
[ "$changed" = "audit.log scan.accepted " ] && pass "exactly the two drifted topics set back" ||
  fail "topics set back: '$changed' (want audit.log and scan.accepted)"
got=$(settings_of scan.accepted)
want="cleanup.policy=delete min.insync.replicas=1 retention.ms=3600000 segment.ms=300000 "
[ "$got" = "$want" ] && pass "scan.accepted has the table's settings again" || fail "scan.accepted: '$got', want '$want'"
got=$(settings_of audit.log)
want="cleanup.policy=delete min.insync.replicas=1 retention.ms=7776000000 "
[ "$got" = "$want" ] && pass "audit.log lost the segment.ms the table does not name" || fail "audit.log: '$got', want '$want'"

if create_topics > "$work/second" 2>&1; then pass "create-topics.sh ran again"; else fail "second run: $(tail -3 "$work/second")"; fi
! grep -q 'settings set back' "$work/second" && pass "the second run found nothing to change" ||
  fail "the second run changed: $(grep 'settings set back' "$work/second")"
it_done
