#!/usr/bin/env bash
# Validates the deployment files (deploy/) offline: yamllint, Dockerfile
# structure, docker-compose config, kubectl kustomize of every overlay with
# schema and policy checks, promtool check/test rules. See deploy/validate/run.
set -euo pipefail
root=${LINDUNG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
"$root/deploy/install-tools"
"$root/deploy/validate/run" "$root/deploy"
