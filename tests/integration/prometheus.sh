# tests/integration/prometheus.sh: a real Prometheus scraping every service
# of the test stack each second and evaluating a rule file (scripts/lib.sh's
# prometheus_start). Source it after lib.sh, then
#
#   prom_start RULE_FILE    # starts it, waits until all five services are up
#   prom_query PROMQL       # the result vector as JSON
#
# Stop it with prom_stop from the script's EXIT trap. Needs $tmp, a scratch
# folder.
prom_stop() {
  [ -n "${prometheus_pid:-}" ] && kill "$prometheus_pid" 2> /dev/null && wait "$prometheus_pid" 2> /dev/null
  prometheus_pid=
}
prom_query() { prometheus_query "$@"; }
# wait_for WHAT SECONDS COMMAND...: true once COMMAND is, else a failed check.
wait_for() {
  local what=$1 seconds=$2 deadline=$(($(date +%s) + $2))
  shift 2
  until "$@"; do
    [ "$(date +%s)" -ge "$deadline" ] && { fail "$what: not within $seconds s"; return 1; }
    sleep 0.5
  done
}
prom_start() { # rule file
  prometheus_start "$1" "$tmp" || { fail "prometheus not ready"; cat "$tmp/prometheus.log" >&2; return 1; }
  prom_api=$prometheus_api
  prom_all_up() { [ "$(prom_query 'count(up == 1)' | jq -r '.[0].value[1] // 0')" = 5 ]; }
  wait_for "all five services scraped" 30 prom_all_up
}
