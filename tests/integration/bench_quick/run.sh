#!/usr/bin/env bash
# scripts/bench --quick on its own embedded stack (beside the fixture's, in
# its own run dir): the whole benchmark runs, writes its result, summary and
# plots, and every scan under load gets a correct answer. Speed is printed,
# never asserted.
set -euo pipefail
root=$LINDUNG_SOURCE_DIR
out=$(dirname "$LINDUNG_RUN_DIR")/bench-quick
rm -rf "$out"
status=0
LINDUNG_NO_BUILD=1 LINDUNG_BIN_DIR=$LINDUNG_BIN_DIR LINDUNG_BENCH_DIR=$out \
  "$root/scripts/bench" --quick > "$out.log" 2>&1 || status=$?
cat "$out.log"
result=$out/result.json
[ -s "$result" ] || { echo "FAIL: no result.json (exit $status)"; exit 1; }

fail=0
check() { # jq expression, what it means
  if jq -e "$1" "$result" > /dev/null; then echo "ok   $2"; else echo "FAIL: $2"; fail=1; fi
}
check '.baseline.hops == 3 and .baseline.msgs_per_s > 0 and .baseline.lost == 0' \
  "the relay chain carried messages with none lost"
check '.pipeline.scans_per_s > 0 and .pipeline.wrong == 0 and .pipeline.unanswered == 0' \
  "closed loop: every scan answered, none wrong"
check '.fixed_rate.answered > 0 and .fixed_rate.wrong == 0 and .fixed_rate.unanswered == 0' \
  "fixed rate: every scan answered, none wrong"
check '.ratio > 0 and (.fixed_rate | has("p50_ms") and has("p99_ms") and has("p999_ms"))' \
  "ratio and latency quantiles present"
check '[.services["ingest","decrypt","status-resolver","audit"] | .peak_rss_mib > 0 and
        .cpu_ms_per_1000_scans != null] | all' "CPU and peak RSS of every service"
# The knee search ran its probes (its figures on a CI machine mean nothing)
# and CPU per scan is recorded by process for CI to print.
check '(.knee | has("relay_msgs_per_s") and has("pipeline_scans_per_s") and has("ratio")) and
       (.knee.probes.relay | length > 0) and (.knee.probes.scan | length > 0)' "knee search probed both"
check '(.at_rate | length == 1) and .at_rate[0].rate == 100 and .at_rate[0].unanswered == 0' \
  "the scan path at 100/s, every scan answered"
check '.cpu_ms_per_scan | (.total > 0 and .broker > 0 and .postgres > 0 and .["status-resolver"] > 0)' \
  "CPU per scan by process"
# The real broker's request counters were read around the fixed rate and
# the measured rate: a transactional scan path makes produce requests and
# ends transactions.
check '(.broker_requests_per_scan | .total > 0 and .Produce > 0 and .EndTxn > 0 and .records_appended > 0
        and (.error_answers | type == "object")) and
       (.at_rate[0].broker_requests_per_scan | .total > 0 and .Fetch > 0)' "broker requests per scan by type"
echo "CPU ms per scan at 100 scans/s: $(jq -c .cpu_ms_per_scan "$result")"
echo "Broker requests per scan at 100 scans/s: $(jq -c .at_rate[0].broker_requests_per_scan "$result")"
for f in summary.md latency.png throughput.png knee.png; do
  [ -s "$out/$f" ] && echo "ok   $f written" || { echo "FAIL: no $f"; fail=1; }
done
[ "$status" = 0 ] || { echo "FAIL: scripts/bench exited $status"; fail=1; }
exit $fail
