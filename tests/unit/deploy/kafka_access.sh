#!/usr/bin/env bash
# The one table of who may do what (deploy/kafka/access) drives every Kafka
# deployment: the Strimzi KafkaTopic/KafkaUser files are exactly what
# deploy/kafka/render makes of it, docker-compose creates its topics from the
# table itself (mounted, no topic named in its script), and the prod overlay's
# partition patch still names the per-partner request topics.
set -euo pipefail
root=${LINDUNG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

"$root/deploy/kafka/render" "$tmp"
for f in topics.yaml users-services.yaml users-partners.yaml; do
  if diff -u "$root/deploy/k8s/base/kafka/$f" "$tmp/$f" > "$tmp/$f.diff"; then
    echo "ok   deploy/k8s/base/kafka/$f is what deploy/kafka/render makes of the table"
  else
    echo "FAIL deploy/k8s/base/kafka/$f differs from the table (run deploy/kafka/render):"
    head -40 "$tmp/$f.diff"
    fail=1
  fi
done

compose=$root/deploy/compose
if grep -q '\.\./kafka/access:/lindung/access:ro' "$compose/docker-compose.yml" &&
   grep -q '\.\./kafka/partners:/lindung/partners:ro' "$compose/docker-compose.yml"; then
  echo "ok   docker-compose mounts the access table and the partner list"
else
  echo "FAIL docker-compose does not mount deploy/kafka/access and deploy/kafka/partners"
  fail=1
fi
if sed -e 's/#.*//' "$compose/create-topics.sh" | grep -E -q '(scan|audit|partner)\.[a-z]'; then
  echo "FAIL deploy/compose/create-topics.sh names topics of its own instead of reading the table"
  fail=1
else
  echo "ok   deploy/compose/create-topics.sh names no topic: they all come from the table"
fi

if grep -q 'name: "scan-(requests-\.\*|' "$root/deploy/k8s/overlays/prod/kustomization.yaml"; then
  echo "ok   the prod overlay's partition patch covers the per-partner request topics"
else
  echo "FAIL the prod overlay's partition patch misses scan-requests-<partner>"
  fail=1
fi
exit $fail
