#!/usr/bin/env bash
# Every script in scripts/ answers --help from the usage() beside its
# arguments: exit 0, its own name on the first line, and nothing started
# (no stack, no build, no apt: the help comes first).
set -uo pipefail
root=${LINDUNG_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}
failures=0
for script in "$root"/scripts/*; do
  [ -f "$script" ] && [ -x "$script" ] || continue
  name=$(basename "$script")
  if ! out=$(LINDUNG_RUN_DIR=/nonexistent "$script" --help 2>&1); then
    echo "FAIL: scripts/$name --help exited non-zero"
    failures=$((failures + 1))
  elif [[ "$(head -n 1 <<< "$out")" != *"scripts/$name"* ]]; then
    echo "FAIL: scripts/$name --help does not name itself first: $(head -n 1 <<< "$out")"
    failures=$((failures + 1))
  else
    echo "ok   scripts/$name --help ($(wc -l <<< "$out") lines)"
  fi
done
[ "$failures" -eq 0 ]
