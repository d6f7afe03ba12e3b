#!/usr/bin/env bash
# Sets each role's password from its pgpass file (host:port:db:role:password)
# as the role administrator lindung_dba (PGUSER; CREATEROLE), the one Lindung
# credential that can manage roles: the two database owners cannot (in
# PostgreSQL 15 CREATEROLE resets any role's password, so an owner holding it
# would reach the other owner's database). Used by the compose job
# db-passwords and the Kubernetes Job lindung-migrate, so a changed password
# file takes effect on the next run. PGPASS_DIR holds pgpass-<name>.
set -euo pipefail

dir=${PGPASS_DIR:-/run/secrets}
for name in admin audit-admin ingest decrypt resolver revocation audit; do
  f=$dir/pgpass-$name
  want=lindung_${name//-/_}
  IFS=: read -r _ _ _ role pw < "$f"
  [ "$role" = "$want" ] || { echo "db-passwords: $f names role '$role', expected $want" >&2; exit 1; }
  [ -n "$pw" ] || { echo "db-passwords: $f has no password" >&2; exit 1; }
  psql -v ON_ERROR_STOP=1 -q -v role="$role" -v pw="$pw" <<'SQL'
ALTER ROLE :"role" NOCREATEROLE PASSWORD :'pw';
SQL
done
echo "db-passwords: roles updated"
