#!/usr/bin/env bash
# The status-resolver's set-based batch statements (migration 0101 and
# resolver_db.c's binary arrays) against the stack's PostgreSQL, as the
# resolver's role: order, quoting, seats within a batch, redelivery.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../lib.sh"
lindung_ensure_seeded
"$LINDUNG_TEST_BIN_DIR/it_resolver_batch"
