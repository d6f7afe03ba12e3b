#!/usr/bin/env bash
# Runs after `scripts/stack down`: nothing the stack started may survive it:
# no process started from this build's binaries, none whose command line names
# this stack's run dir, and no PostgreSQL serving its data folder.
set -uo pipefail
: "${LINDUNG_RUN_DIR:?}" "${LINDUNG_BIN_DIR:?}"
patterns=("$LINDUNG_BIN_DIR/lindung" "$LINDUNG_RUN_DIR/")
[ -L "$LINDUNG_RUN_DIR/pg" ] && patterns+=("$(readlink "$LINDUNG_RUN_DIR/pg")/data")
survivors=0
for pattern in "${patterns[@]}"; do
  while read -r pid cmd; do
    [ -n "$pid" ] || continue
    [ "$pid" = $$ ] && continue
    echo "FAIL survivor: pid $pid: $cmd"
    survivors=$((survivors + 1))
  done < <(pgrep -a -f -- "$pattern" | grep -v -- "survivors.sh")
done
if [ "$survivors" -eq 0 ]; then echo "ok   no process of the stack survived 'stack down'"; fi
echo "$survivors failed"
[ "$survivors" -eq 0 ]
