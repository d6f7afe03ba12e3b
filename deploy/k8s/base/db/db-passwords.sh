#!/usr/bin/env bash
# Sets each service role's password from its pgpass file
# (host:port:db:role:password), as lindung_admin (which holds CREATEROLE);
# the migrations create the roles without one. Used by the compose job
# db-passwords and the Kubernetes Job lindung-migrate, so a changed password
# file takes effect on the next run. PGPASS_DIR holds pgpass-<service>.
set -euo pipefail

dir=${PGPASS_DIR:-/run/secrets}
for svc in ingest decrypt resolver revocation audit; do
  f=$dir/pgpass-$svc
  IFS=: read -r _ _ _ role pw < "$f"
  [ "$role" = "lindung_$svc" ] || { echo "db-passwords: $f names role '$role', expected lindung_$svc" >&2; exit 1; }
  [ -n "$pw" ] || { echo "db-passwords: $f has no password" >&2; exit 1; }
  psql -v ON_ERROR_STOP=1 -q -v role="$role" -v pw="$pw" <<'SQL'
ALTER ROLE :"role" PASSWORD :'pw';
SQL
done
echo "db-passwords: service roles updated"
