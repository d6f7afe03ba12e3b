#!/usr/bin/env bash
# integration.metric_names: every metric an alert rule or a dashboard names
# is exported by a running service. Scrapes /metrics of every service of the
# stack (each family is listed by its # TYPE line from the start, labelled
# or not), then reads every lindung_* name in deploy/prometheus/*.rules.yml
# and the Grafana dashboards (deploy/k8s/base/monitoring/dashboards/*.json,
# which compose provisions too). A rule about a metric nobody exports
# never fires (or, with absent(), always does).
set -uo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../lib.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

services=0
for var in $(compgen -v | grep -E '^LINDUNG_[A-Z_]+_HTTP$'); do
  if ! curl -fsS "http://${!var}/metrics" > "$tmp/scrape"; then
    fail "${var%_HTTP}: /metrics not answered"
    continue
  fi
  services=$((services + 1))
  # A histogram's samples are <name>_bucket, _sum and _count.
  awk '$1 == "#" && $2 == "TYPE" {
         print $3
         if ($4 == "histogram") { print $3 "_bucket"; print $3 "_sum"; print $3 "_count" }
       }' "$tmp/scrape" >> "$tmp/exported"
done
[ "$services" -ge 5 ] || fail "scraped $services services, expected the five"
sort -u -o "$tmp/exported" "$tmp/exported"

shopt -s nullglob
sources=("$LINDUNG_SOURCE_DIR"/deploy/prometheus/*.rules.yml "$LINDUNG_SOURCE_DIR"/deploy/k8s/base/monitoring/dashboards/*.json)
[ ${#sources[@]} -ge 1 ] || fail "no rule file found"
named=0
for file in "${sources[@]}"; do
  while read -r name; do
    named=$((named + 1))
    grep -qxF "$name" "$tmp/exported" || fail "${file#"$LINDUNG_SOURCE_DIR"/} names $name, which no service exports"
  done < <(grep -oE '\blindung_[a-z0-9_]+' "$file" | sort -u)
done
[ "$named" -ge 10 ] || fail "only $named metric names found in ${#sources[@]} files"
echo "integration.metric_names: $(wc -l < "$tmp/exported") names exported by $services services;" \
  "$named names in ${#sources[@]} rule and dashboard files checked; $failures failed"
[ "$failures" = 0 ]
