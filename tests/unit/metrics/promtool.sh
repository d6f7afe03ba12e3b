#!/bin/sh
# Lints a realistic registry rendered by metrics.c with `promtool check
# metrics`: any complaint (format or lint) fails the test.
set -eu
bin="${LINDUNG_BIN_DIR:?LINDUNG_BIN_DIR not set}/../tests/unit_metrics"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin" render-sample >"$tmp/metrics.txt"
# Guard against linting an empty or truncated page.
grep -q '^lindung_scan_processing_seconds_bucket{stage="decrypt",le="+Inf"} ' "$tmp/metrics.txt"
grep -q '^lindung_scan_requests_total{outcome="invalid"} 1$' "$tmp/metrics.txt"

status=0
promtool check metrics <"$tmp/metrics.txt" >"$tmp/out.txt" 2>&1 || status=$?
if [ "$status" -ne 0 ] || [ -s "$tmp/out.txt" ]; then
  echo "promtool check metrics failed (exit $status):" >&2
  cat "$tmp/out.txt" >&2
  exit 1
fi
echo "promtool: $(grep -c '^# TYPE' "$tmp/metrics.txt") families clean"
