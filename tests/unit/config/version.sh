#!/usr/bin/env bash
# Every program answers --version with its name and the one version of the
# project (CMakeLists.txt's project(... VERSION x.y.z)), and exits 0.
set -uo pipefail
: "${LINDUNG_SOURCE_DIR:?}" "${LINDUNG_BIN_DIR:?}"
version=$(sed -n 's/^project(lindung VERSION \([0-9.]*\) .*/\1/p' "$LINDUNG_SOURCE_DIR/CMakeLists.txt")
[ -n "$version" ] || { echo "no project version in CMakeLists.txt"; exit 1; }
failures=0 programs=0
for program in "$LINDUNG_BIN_DIR"/*; do
  [ -x "$program" ] || continue
  programs=$((programs + 1))
  name=$(basename "$program")
  out=$("$program" --version 2>&1)
  rc=$?
  if [ $rc != 0 ] || [ "$out" != "$name $version" ]; then
    echo "FAIL: $name --version: rc $rc, '$out' (expected '$name $version')"
    failures=$((failures + 1))
  fi
done
# Five services and the tools: fewer means the build or this test lost some.
[ "$programs" -ge 12 ] || { echo "FAIL: only $programs programs in $LINDUNG_BIN_DIR"; failures=$((failures + 1)); }
echo "version: $programs programs checked, $failures failed"
[ "$failures" = 0 ]
