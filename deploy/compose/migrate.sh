#!/usr/bin/env bash
# One-shot job of docker-compose: applies the migrations of both databases
# (a no-op when applied already) and makes sure a system key exists, its
# secret half in the system-keys volume that only decrypt mounts.
set -euo pipefail

lindungctl db migrate
dir=${LINDUNG_SYSTEM_KEY_DIR:?}
if lindungctl system-key show > /tmp/system-key 2>/dev/null; then
  read -r id _ < /tmp/system-key
  [ -f "$dir/system-$id.key" ] || { echo "migrate: system key $id is registered but $dir/system-$id.key is missing" >&2; exit 1; }
else
  rm -f "$dir/new.key"
  lindungctl system-key create --secret-out "$dir/new.key" > /tmp/system-key
  read -r id _ < /tmp/system-key
  mv "$dir/new.key" "$dir/system-$id.key"
  echo "migrate: created system key $id"
fi
