# tests/integration/prometheus.sh: a real Prometheus (Debian's, as
# deploy/install-tools installs it) scraping every service of the test stack
# each second and evaluating a rule file. Source it after lib.sh, then
#
#   prom_start RULE_FILE    # starts it, waits until all five services are up
#   prom_query PROMQL       # the result vector as JSON
#   prom_alerts             # [{alertname, alertstate, job}] pending or firing
#
# It stops with the script (an EXIT trap; call prom_stop from your own trap
# if you set one). Needs $tmp, a scratch folder.
prom_pid=
prom_stop() { [ -n "$prom_pid" ] && kill "$prom_pid" 2> /dev/null && wait "$prom_pid" 2> /dev/null; prom_pid=; }
prom_query() { curl -fsS --data-urlencode "query=$1" "$prom_api/query" | jq -r '.data.result'; }
prom_alerts() { prom_query ALERTS | jq -c '[.[] | .metric | {alertname, alertstate, job}]'; }
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
  # One job per service, named as in Kubernetes and compose (lindung-<service>).
  {
    printf 'global: {scrape_interval: 1s, evaluation_interval: 1s}\n'
    printf 'rule_files: ["%s"]\n' "$1"
    printf 'scrape_configs:\n'
    local var name
    for var in $(compgen -v | grep -E '^LINDUNG_[A-Z_]+_HTTP$'); do
      name=${var#LINDUNG_}
      name=${name%_HTTP}
      name=$(tr 'A-Z_' 'a-z-' <<< "$name")
      [ "$name" = resolver ] && name=status-resolver
      printf '  - {job_name: lindung-%s, static_configs: [{targets: ["%s"]}]}\n' "$name" "${!var}"
    done
  } > "$tmp/prometheus.yml"
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
    --web.listen-address="127.0.0.1:$port" > "$tmp/prometheus.log" 2>&1 &
  prom_pid=$!
  prom_api="http://127.0.0.1:$port/api/v1"
  prom_ready() { curl -fsS "http://127.0.0.1:$port/-/ready" > /dev/null 2>&1; }
  wait_for "prometheus ready" 30 prom_ready || { cat "$tmp/prometheus.log" >&2; return 1; }
  prom_all_up() { [ "$(prom_query 'count(up == 1)' | jq -r '.[0].value[1] // 0')" = 5 ]; }
  wait_for "all five services scraped" 30 prom_all_up
}
