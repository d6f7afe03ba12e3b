#!/usr/bin/env bash
# Shows that the deploy validation fails on a broken copy of each kind of
# file: for every case, copy deploy/ to a temporary directory, break one file
# deliberately, and require deploy/validate/run to fail at the right step.
set -euo pipefail
root=${LINDUNG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
"$root/deploy/install-tools"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# case NAME EXPECTED_MESSAGE FILE SED_SCRIPT: runs in the background (the
# checks mostly wait on process start-up), writing its verdict to NAME.result.
case_() {
  while [ "$(jobs -rp | wc -l)" -ge 4 ]; do wait -n || true; done
  one_case "$@" > "$tmp/$1.result" &
}
one_case() {
  local name=$1 expect=$2 file=$3 script=$4 copy=$tmp/$1
  mkdir -p "$copy"
  (cd "$root/deploy" && tar --exclude=node_modules -cf - .) | (cd "$copy" && tar -xf -)
  cp "$copy/$file" "$copy/$file.orig"
  sed -i -e "$script" "$copy/$file"
  if cmp -s "$copy/$file" "$copy/$file.orig"; then
    echo "FAIL $name: the edit changed nothing in $file"; return
  fi
  rm "$copy/$file.orig"
  local out status=0
  out=$("$copy/validate/run" "$copy" 2>&1) || status=$?
  if [ "$status" -eq 0 ]; then
    echo "FAIL $name: validation passed on a broken $file"
  elif ! grep -qF -- "$expect" <<< "$out"; then
    echo "FAIL $name: failed, but without '$expect':"; sed 's/^/    /' <<< "$out" | tail -5
  else
    echo "ok   $name"
  fi
  rm -rf "$copy"
}

# YAML style
case_ yaml-trailing-space "FAILED: yamllint" k8s/base/common.yaml 's/^  log-level: info$/  log-level: info   /'
# Dockerfile
case_ dockerfile-root "USER" docker/Dockerfile '/^USER /d'
case_ dockerfile-root-arg "runs as root" docker/Dockerfile 's/^ARG LINDUNG_UID=10001$/ARG LINDUNG_UID=0/'
case_ dockerfile-single-stage "not multi-stage" docker/Dockerfile '/^FROM .* AS build$/,/^FROM .* AS runtime$/{/^FROM .* AS runtime$/!d}'
case_ dockerfile-secret "secret" docker/Dockerfile 's/^ENV LINDUNG_HTTP_ADDR=0.0.0.0:8080/ENV LINDUNG_ADMIN_TOKEN=abc LINDUNG_HTTP_ADDR=0.0.0.0:8080/'
case_ dockerfile-other-build "CMake build" docker/Dockerfile 's/cmake --build build/make -C build/'
# docker-compose
case_ compose-unknown-key "FAILED: docker-compose config" compose/docker-compose.yml 's/^    restart: unless-stopped$/    restart_policy: unless-stopped/'
case_ compose-bad-condition "FAILED: docker-compose config" compose/docker-compose.yml '0,/condition: service_healthy/s//condition: when_ready/'
# kustomize
case_ kustomize-missing-file "FAILED: kustomize overlays" k8s/base/kustomization.yaml 's#  - services/audit.yaml#  - services/auditor.yaml#'
case_ kustomize-bad-patch "FAILED: kustomize overlays/prod" k8s/overlays/prod/kustomization.yaml 's#path: /spec/minReplicaCount#path: /spec/minReplicas/count#'
# Kubernetes objects: schema, Strimzi schema, policies
case_ k8s-schema-type "schema" k8s/base/services/ingest.yaml '0,/^  replicas: 1$/s//  replicas: one/'
case_ strimzi-typo "KafkaTopic/scan-requests: schema" k8s/base/kafka/topics.yaml '0,/  partitions: 4/s//  partitons: 4/'
case_ k8s-writable-root "readOnlyRootFilesystem" k8s/base/services/decrypt.yaml 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/'
case_ k8s-no-readiness "readinessProbe" k8s/base/services/audit.yaml 's#path: /readyz#path: /healthz#'
case_ partner-acl-too-wide "scan.results" k8s/base/kafka/users-partners.yaml '0,/name: scan.results.gojek/s//name: scan.results./'
case_ keda-over-partitions "exceeds the 4 partitions" k8s/base/services/ingest.yaml 's/maxReplicaCount: 4/maxReplicaCount: 8/'
case_ prod-min-isr "min.insync.replicas" k8s/overlays/prod/kafka-cluster.yaml 's/      min.insync.replicas: 2/      min.insync.replicas: 1/'
# Alert rules
case_ rules-syntax "FAILED: promtool check rules" prometheus/lindung.rules.yml 's/> 10000$/>> 10000/'
case_ rules-test "FAILED: promtool test rules" prometheus/lindung.rules.yml 's/> 0.02$/> 0.5/'
case_ rules-no-for "alerts without for: LindungAuditChainBroken" prometheus/lindung.rules.yml '/alert: LindungAuditChainBroken/,/for:/{/for: 1m/d}'
case_ dashboard-not-json "dashboard lindung.json: not JSON" k8s/base/monitoring/dashboards/lindung.json '0,/"uid": "lindung-overview",/s//"uid": lindung-overview,/'
case_ dashboard-no-datasource "does not use the datasource variable" k8s/base/monitoring/dashboards/lindung.json '0,/"uid": "${datasource}"/s//"uid": "prometheus"/'
case_ rules-drift "differ from" k8s/base/monitoring/prometheusrule.yaml 's/> 100000$/> 200000/'

wait
passed=0 failed=0 cases=0
for r in "$tmp"/*.result; do
  cat "$r"
  cases=$((cases + 1))
  if grep -q '^ok ' "$r"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
[ "$cases" -eq 23 ] || { echo "expected 23 cases, ran $cases"; failed=$((failed + 1)); }
echo "deploy broken copies: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
