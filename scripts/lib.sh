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
