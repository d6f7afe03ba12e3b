# scripts/lib.sh: what Lindung's scripts share. Source it first:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# It sets the repository's paths (each overridable through the environment,
# as every script documents), the PostgreSQL binaries, and defines say/die
# (messages on stderr, prefixed with the script's name) and wants_help.
# Each script keeps its own help text in a usage() function beside its
# arguments; nothing cuts help out of comments.

# shellcheck disable=SC2034 # used by the scripts that source this file
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck disable=SC2034
build_dir=${LINDUNG_BUILD_DIR:-$root/build}
# shellcheck disable=SC2034
bin_dir=${LINDUNG_BIN_DIR:-$build_dir/bin}
# shellcheck disable=SC2034
run_dir=${LINDUNG_RUN_DIR:-$root/.run}
# PostgreSQL 15's server and client programs as Debian installs them
# (scripts/install-deps); LINDUNG_PG_BIN names another folder.
# shellcheck disable=SC2034
pg_bin=${LINDUNG_PG_BIN:-/usr/lib/postgresql/15/bin}

script_name=$(basename "$0")
say() { printf '%s: %s\n' "$script_name" "$*" >&2; }
# die MESSAGE [STATUS]: says it and exits with STATUS, else $die_status
# (a script may set it), else 1.
die() {
  say "$1"
  exit "${2:-${die_status:-1}}"
}

# True when the first argument asks for help (-h or --help).
wants_help() { [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; }

# prometheus_start RULE_FILE DIR: a Prometheus (deploy/install-tools
# installs it) in DIR, scraping every service of the stack whose settings
# are in the environment (stack.env's LINDUNG_*_HTTP) each second as job
# lindung-<service>, and evaluating RULE_FILE each second. Sets
# prometheus_pid and prometheus_api (.../api/v1); false if it is not ready
# within 30 s. prometheus_query PROMQL prints the result vector as JSON.
prometheus_start() {
  local rules=$1 dir=$2 var name port
  {
    printf 'global: {scrape_interval: 1s, evaluation_interval: 1s}\n'
    printf 'rule_files: ["%s"]\n' "$rules"
    printf 'scrape_configs:\n'
    for var in $(compgen -v | grep -E '^LINDUNG_[A-Z_]+_HTTP$'); do
      name=${var#LINDUNG_}
      name=${name%_HTTP}
      name=$(tr 'A-Z_' 'a-z-' <<< "$name")
      [ "$name" = resolver ] && name=status-resolver
      printf '  - {job_name: lindung-%s, static_configs: [{targets: ["%s"]}]}\n' "$name" "${!var}"
    done
  } > "$dir/prometheus.yml"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" \
    --web.listen-address="127.0.0.1:$port" > "$dir/prometheus.log" 2>&1 &
  prometheus_pid=$!
  prometheus_api="http://127.0.0.1:$port/api/v1"
  local deadline=$(($(date +%s) + 30))
  until curl -fsS "http://127.0.0.1:$port/-/ready" > /dev/null 2>&1; do
    [ "$(date +%s)" -ge "$deadline" ] && return 1
    sleep 0.5
  done
}
prometheus_query() { curl -fsS --data-urlencode "query=$1" "$prometheus_api/query" | jq -r '.data.result'; }
