#!/usr/bin/env bash
# Integration: pg_client (services/common/pg_client.c) against the stack's
# PostgreSQL. The driver restarts the server itself, through the command
# below, while its loop keeps running, so it sees the connection go and come
# back. The server log goes to a file: a restarted postmaster must not hold
# the test's output pipe open.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../lib.sh"
log=$(dirname "$LINDUNG_PG_DATA")/server.log
export PGQ_IT_RESTART_CMD="runuser -u postgres -- '$LINDUNG_PG_BIN/pg_ctl' -D '$LINDUNG_PG_DATA' -l '$log' restart -m fast -w -t 60 > /dev/null"
exec "$LINDUNG_TEST_BIN_DIR/it_pg_client"
