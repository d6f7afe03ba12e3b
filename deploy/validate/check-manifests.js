#!/usr/bin/env node
// Checks the objects `kubectl kustomize` rendered for one overlay:
//   node check-manifests.js <dev|prod> <rendered.yaml> <rules.yml>
// 1. schema: Kubernetes objects against kubernetes-models, KEDA and
//    Prometheus-operator objects against their CRD models, Strimzi objects
//    against strimzi-schemas.js;
// 2. policy: what the deployment promises (docs/architecture.md and issue 7):
//    hardened pods, probes, PDBs and NetworkPolicies per service, every topic,
//    least-privilege ACLs, lag scaling capped at the partition count, the prod
//    durability settings, and alert rules identical to the promtool-tested file.
// Prints every problem and exits 1 if there is any.
'use strict';

const fs = require('fs');
const YAML = require('yaml');
const Ajv = require('ajv');
const strimziSchemas = require('./strimzi-schemas');

const [overlay, renderedPath, rulesPath] = process.argv.slice(2);
if (!overlay || !renderedPath || !rulesPath) {
  console.error('usage: check-manifests.js <overlay> <rendered.yaml> <rules.yml>');
  process.exit(2);
}
const prod = overlay === 'prod';
const problems = [];
const fail = (obj, msg) => problems.push(`${overlay}: ${obj ? `${obj.kind}/${obj.metadata && obj.metadata.name}: ` : ''}${msg}`);

const docs = YAML.parseAllDocuments(fs.readFileSync(renderedPath, 'utf8'));
const objects = [];
for (const d of docs) {
  if (d.errors.length) fail(null, `YAML: ${d.errors[0].message}`);
  const o = d.toJS();
  if (o) objects.push(o);
}
if (objects.length === 0) fail(null, 'kustomize rendered nothing');

// ---- 1. schemas
const coreGroups = { v1: 'v1' };
function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const candidates = [];
  if (group === '') candidates.push(`kubernetes-models/${coreGroups[version] || version}/${kind}`);
  else if (group === 'keda.sh') candidates.push(`@kubernetes-models/keda/${group}/${version}/${kind}`);
  else if (group === 'monitoring.coreos.com') candidates.push(`@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`);
  else candidates.push(`kubernetes-models/${group}/${version}/${kind}`);
  for (const c of candidates) {
    try {
      const mod = require(c);
      return mod[kind] || mod.default;
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  return null;
}

const ajv = new Ajv({ allErrors: true, strict: false });
const strimziValidators = Object.fromEntries(Object.entries(strimziSchemas).map(([k, s]) => [k, ajv.compile(s)]));

for (const o of objects) {
  if (!o.apiVersion || !o.kind || !o.metadata || !o.metadata.name) {
    fail(o, 'apiVersion, kind and metadata.name are required');
    continue;
  }
  if (o.apiVersion === 'kafka.strimzi.io/v1beta2') {
    const v = strimziValidators[o.kind];
    if (!v) fail(o, `unknown Strimzi kind ${o.kind}`);
    else if (!v(o)) v.errors.forEach((e) => fail(o, `schema: ${e.instancePath || '/'} ${e.message}`));
    continue;
  }
  const Model = modelFor(o.apiVersion, o.kind);
  if (!Model) {
    fail(o, `no schema for ${o.apiVersion} ${o.kind}`);
    continue;
  }
  try {
    new Model(o).validate();
  } catch (e) {
    fail(o, `schema: ${e.message}`);
  }
}

// ---- 2. policy
const byKind = (k) => objects.filter((o) => o.kind === k);
const named = (k, n) => objects.find((o) => o.kind === k && o.metadata.name === n);
const SERVICES = ['lindung-ingest', 'lindung-decrypt', 'lindung-status-resolver', 'lindung-audit', 'lindung-revocation'];
const PARTNERS = ['gojek', 'grab', 'tokopedia', 'tiketcom', 'dana', 'livin-mandiri', 'traveloka', 'cinema-xxi',
  'linkaja', 'goers', 'jaki'];
const TOPICS = ['scan.accepted', 'scan.decrypted', ...PARTNERS.map((p) => `scan.requests.${p}`),
  ...PARTNERS.map((p) => `scan.results.${p}`),
  'scan.deadletter', 'audit.events', 'audit.log', 'partner.events'];
const matches = (selector, labels) =>
  Object.entries((selector && selector.matchLabels) || {}).every(([k, v]) => labels && labels[k] === v);

// Hardened pods, everywhere (Deployments, StatefulSets, Jobs).
for (const o of objects.filter((x) => ['Deployment', 'StatefulSet', 'Job'].includes(x.kind))) {
  const pod = o.spec.template.spec;
  const psc = pod.securityContext || {};
  if (psc.runAsNonRoot !== true) fail(o, 'pod securityContext.runAsNonRoot must be true');
  if (!psc.seccompProfile || psc.seccompProfile.type !== 'RuntimeDefault') fail(o, 'pod seccompProfile must be RuntimeDefault');
  if (pod.automountServiceAccountToken !== false) fail(o, 'automountServiceAccountToken must be false');
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) fail(o, 'no host namespaces');
  const secretVolumes = new Set((pod.volumes || []).filter((v) => v.secret || v.projected).map((v) => v.name));
  for (const c of [...(pod.initContainers || []), ...pod.containers]) {
    const sc = c.securityContext || {};
    if (sc.readOnlyRootFilesystem !== true) fail(o, `${c.name}: readOnlyRootFilesystem must be true`);
    if (sc.allowPrivilegeEscalation !== false) fail(o, `${c.name}: allowPrivilegeEscalation must be false`);
    if (sc.privileged) fail(o, `${c.name}: privileged`);
    if (!sc.capabilities || !(sc.capabilities.drop || []).includes('ALL')) fail(o, `${c.name}: capabilities must drop ALL`);
    if ((sc.capabilities && sc.capabilities.add || []).length) fail(o, `${c.name}: adds capabilities`);
    const r = c.resources || {};
    for (const k of ['cpu', 'memory']) if (!r.requests || r.requests[k] === undefined) fail(o, `${c.name}: no ${k} request`);
    if (!r.limits || r.limits.memory === undefined) fail(o, `${c.name}: no memory limit`);
    for (const m of c.volumeMounts || []) {
      if (secretVolumes.has(m.name) && m.readOnly !== true) fail(o, `${c.name}: secret volume ${m.name} must be mounted readOnly`);
    }
    for (const e of c.env || []) {
      if (/PASSWORD|SECRET|TOKEN|_KEY$/.test(e.name) && !/_FILE$/.test(e.name) && e.value !== undefined)
        fail(o, `${c.name}: ${e.name} holds a secret in the environment; pass a file`);
      if (/password=/i.test(e.value || '')) fail(o, `${c.name}: ${e.name} carries a password in a URL`);
    }
    if (/:latest$/.test(c.image) || !/:/.test(c.image)) fail(o, `${c.name}: image ${c.image} has no fixed tag`);
  }
}

// The five services.
const config = named('ConfigMap', 'lindung-config') || objects.find((o) => o.kind === 'ConfigMap' && /^lindung-config/.test(o.metadata.name));
const pgSslMode = config && config.data ? config.data['postgres-sslmode'] : undefined;
const pdbs = byKind('PodDisruptionBudget');
const policies = byKind('NetworkPolicy');
const scaledObjects = byKind('ScaledObject');
const ALLOWED_EGRESS_PORTS = new Set([53, 9093, 5432]);
for (const name of SERVICES) {
  const d = named('Deployment', name);
  if (!d) {
    fail(null, `Deployment ${name} missing`);
    continue;
  }
  const pod = d.spec.template;
  const c = pod.spec.containers[0];
  const probe = (p, path) => p && p.httpGet && p.httpGet.path === path && (p.httpGet.port === 'http' || p.httpGet.port === 8080);
  if (!probe(c.readinessProbe, '/readyz')) fail(d, 'readinessProbe must be GET /readyz on the http port');
  if (!probe(c.livenessProbe, '/healthz')) fail(d, 'livenessProbe must be GET /healthz on the http port');
  if (!(c.ports || []).some((p) => p.containerPort === 8080 && p.name === 'http')) fail(d, 'container port http 8080 missing');
  const env = Object.fromEntries((c.env || []).map((e) => [e.name, e]));
  for (const v of ['LINDUNG_KAFKA_BROKERS', 'LINDUNG_HTTP_ADDR', 'LINDUNG_DB_URL']) if (!env[v]) fail(d, `env ${v} missing`);
  if (env.LINDUNG_HTTP_ADDR && env.LINDUNG_HTTP_ADDR.value !== '0.0.0.0:8080') fail(d, 'LINDUNG_HTTP_ADDR must be 0.0.0.0:8080');
  if (env.LINDUNG_DB_URL && !/passfile=/.test(env.LINDUNG_DB_URL.value || '')) fail(d, 'LINDUNG_DB_URL must use passfile=');
  // Outside the dev overlay's in-namespace server, PostgreSQL is reached over
  // TLS with its certificate checked against the CA and the host name.
  const sslFrom = env.PGSSLMODE && env.PGSSLMODE.valueFrom && env.PGSSLMODE.valueFrom.configMapKeyRef;
  if (!sslFrom || sslFrom.key !== 'postgres-sslmode') fail(d, 'PGSSLMODE must come from lindung-config postgres-sslmode');
  if (/sslmode=/.test((env.LINDUNG_DB_URL && env.LINDUNG_DB_URL.value) || '')) fail(d, 'LINDUNG_DB_URL must not override PGSSLMODE');
  if (!env.PGSSLROOTCERT) fail(d, 'PGSSLROOTCERT missing');
  if (prod && pgSslMode !== 'verify-full') fail(d, `prod PostgreSQL sslmode must be verify-full (is ${pgSslMode})`);
  if (!pdbs.some((p) => matches(p.spec.selector, pod.metadata.labels))) fail(d, 'no PodDisruptionBudget selects it');
  const np = policies.find((p) => matches(p.spec.podSelector, pod.metadata.labels) && Object.keys(p.spec.podSelector.matchLabels || {}).length);
  if (!np) fail(d, 'no NetworkPolicy selects it');
  else {
    const types = np.spec.policyTypes || [];
    if (!types.includes('Ingress') || !types.includes('Egress')) fail(np, 'policyTypes must be Ingress and Egress');
    for (const rule of np.spec.egress || []) {
      if (!rule.ports || !rule.ports.length) fail(np, 'an egress rule without ports allows everything');
      for (const p of rule.ports || []) if (!ALLOWED_EGRESS_PORTS.has(p.port)) fail(np, `egress to port ${p.port} (only DNS, Kafka, PostgreSQL)`);
      if (!rule.to || !rule.to.length) fail(np, 'an egress rule without destinations allows every address');
    }
    const ports = new Set((np.spec.egress || []).flatMap((r) => (r.ports || []).map((p) => p.port)));
    for (const p of [53, 9093, 5432]) if (!ports.has(p)) fail(np, `no egress on port ${p}`);
  }
  const scraped = (pod.metadata.annotations || {})['prometheus.io/scrape'] === 'true' ||
    byKind('ServiceMonitor').some((m) => objects.some((s) => s.kind === 'Service' && matches(s.spec.selector, pod.metadata.labels) &&
      matches(m.spec.selector, s.metadata.labels)));
  if (!scraped) fail(d, 'not scraped: no prometheus.io/scrape annotation and no ServiceMonitor');
  const so = scaledObjects.find((s) => s.spec.scaleTargetRef.name === name);
  const minReplicas = so ? so.spec.minReplicaCount : d.spec.replicas;
  if (prod && !(minReplicas >= 2)) fail(d, `prod needs at least 2 replicas (has ${minReplicas})`);
  if (prod && !(d.spec.replicas >= 2)) fail(d, `prod needs spec.replicas >= 2 (has ${d.spec.replicas})`);
}

// Topics: every one of docs/architecture.md, with retention; replication per overlay.
const topics = Object.fromEntries(byKind('KafkaTopic').map((t) => [t.spec.topicName || t.metadata.name, t]));
for (const name of TOPICS) {
  const t = topics[name];
  if (!t) {
    fail(null, `KafkaTopic ${name} missing`);
    continue;
  }
  if (!t.spec.config || t.spec.config['retention.ms'] === undefined) fail(t, 'retention.ms not set');
  if (prod && t.spec.replicas < 3) fail(t, 'prod topics need 3 replicas');
  if (prod && Number(t.spec.config && t.spec.config['min.insync.replicas']) !== 2) fail(t, 'prod topics need min.insync.replicas 2');
}

// Kafka cluster durability in prod.
const kafka = byKind('Kafka')[0];
if (!kafka) fail(null, 'Kafka missing');
const pools = byKind('KafkaNodePool');
const brokers = pools.filter((p) => p.spec.roles.includes('broker')).reduce((n, p) => n + p.spec.replicas, 0);
if (brokers < 1) fail(null, 'no broker node pool');
if (prod && kafka) {
  const cfg = kafka.spec.kafka.config || {};
  if (brokers < 3) fail(kafka, `prod needs 3 brokers (has ${brokers})`);
  if (Number(cfg['default.replication.factor']) !== 3) fail(kafka, 'prod default.replication.factor must be 3');
  if (Number(cfg['min.insync.replicas']) !== 2) fail(kafka, 'prod min.insync.replicas must be 2');
  if (Number(cfg['offsets.topic.replication.factor']) !== 3) fail(kafka, 'prod offsets.topic.replication.factor must be 3');
}
for (const t of Object.values(topics)) if (t.spec.replicas > brokers) fail(t, `replicas ${t.spec.replicas} > ${brokers} brokers`);

// ACLs: a partner writes only its own requests and reads only its own results.
const users = Object.fromEntries(byKind('KafkaUser').map((u) => [u.metadata.name, u]));
const aclsOf = (u) => u.spec.authorization.acls;
for (const p of PARTNERS) {
  const u = users[`partner-${p}`];
  if (!u) {
    fail(null, `KafkaUser partner-${p} missing`);
    continue;
  }
  for (const a of aclsOf(u)) {
    const r = a.resource;
    if (a.type === 'deny') continue;
    const ops = a.operations;
    if (r.type === 'topic') {
      const ok = (r.name === `scan.requests.${p}` && r.patternType !== 'prefix' && ops.every((o) => ['Write', 'Describe'].includes(o))) ||
        (r.name === `scan.results.${p}` && r.patternType !== 'prefix' && ops.every((o) => ['Read', 'Describe'].includes(o)));
      if (!ok) fail(u, `ACL ${ops} on topic ${r.patternType || 'literal'}:${r.name} is more than write scan.requests.${p} / read scan.results.${p}`);
    } else if (r.type === 'group') {
      if (!(r.name.startsWith(`${p}`) && ops.every((o) => o === 'Read'))) fail(u, `ACL ${ops} on group ${r.name}`);
    } else if (!(r.type === 'cluster' && ops.every((o) => o === 'IdempotentWrite'))) fail(u, `ACL ${ops} on ${r.type}`);
  }
  const has = (topic, op) => aclsOf(u).some((a) => a.resource.type === 'topic' && a.resource.name === topic && a.operations.includes(op));
  if (!has(`scan.requests.${p}`, 'Write')) fail(u, `cannot write scan.requests.${p}`);
  if (!has(`scan.results.${p}`, 'Read')) fail(u, `cannot read scan.results.${p}`);
}
for (const name of SERVICES) {
  const u = users[name];
  if (!u) fail(null, `KafkaUser ${name} missing`);
  else if (aclsOf(u).some((a) => a.operations.includes('All') || (a.resource.name === '*'))) fail(u, 'wildcard ACL');
}

// Lag scaling: on the service's own group and topic, capped at its partitions.
for (const so of scaledObjects) {
  const target = named('Deployment', so.spec.scaleTargetRef.name);
  if (!target) fail(so, `scale target ${so.spec.scaleTargetRef.name} missing`);
  for (const t of so.spec.triggers) {
    if (t.type !== 'kafka') {
      fail(so, `trigger ${t.type}: expected kafka`);
      continue;
    }
    // Without a topic, KEDA sums the lag of every topic the group reads: a
    // pattern subscription, the topics of the service's prefixed read ACL.
    const u0 = users[so.spec.scaleTargetRef.name];
    const reads = (name) => u0 && aclsOf(u0).some((a) => a.resource.type === 'topic' && a.operations.includes('Read') &&
      a.resource.patternType === 'prefix' && name.startsWith(a.resource.name));
    const triggerTopics = t.metadata.topic ? [topics[t.metadata.topic]]
      : Object.values(topics).filter((x) => reads(x.spec.topicName || x.metadata.name));
    if (t.metadata.topic && !triggerTopics[0]) fail(so, `trigger topic ${t.metadata.topic} is not a KafkaTopic`);
    else if (!triggerTopics.length) fail(so, 'the trigger names no topic and its service reads none');
    for (const topic of triggerTopics.filter(Boolean))
      if (so.spec.maxReplicaCount > topic.spec.partitions)
        fail(so, `maxReplicaCount ${so.spec.maxReplicaCount} exceeds the ${topic.spec.partitions} partitions of ${topic.spec.topicName}`);
    if (!t.metadata.consumerGroup) fail(so, 'trigger has no consumerGroup');
    const u = users[so.spec.scaleTargetRef.name];
    if (u && !aclsOf(u).some((a) => a.resource.type === 'group' && a.resource.name === t.metadata.consumerGroup))
      fail(so, `consumerGroup ${t.metadata.consumerGroup} is not the group ${so.spec.scaleTargetRef.name} consumes in`);
  }
  if (!(so.spec.maxReplicaCount >= (so.spec.minReplicaCount || 1))) fail(so, 'maxReplicaCount below minReplicaCount');
}

// Services select a Deployment's pods.
for (const s of byKind('Service')) {
  const found = objects.some((o) => ['Deployment', 'StatefulSet'].includes(o.kind) && matches({ matchLabels: s.spec.selector }, o.spec.template.metadata.labels));
  if (!found) fail(s, 'selects no pods');
}

// Alert rules: the PrometheusRule holds exactly the promtool-tested groups
// (compared with keys sorted: kustomize reorders them).
const canonical = (v) => JSON.stringify(v, (k, x) =>
  x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.keys(x).sort().map((key) => [key, x[key]])) : x);
const rules = YAML.parse(fs.readFileSync(rulesPath, 'utf8'));
const prs = byKind('PrometheusRule');
if (prs.length !== 1) fail(null, `expected one PrometheusRule, found ${prs.length}`);
else if (canonical(prs[0].spec.groups) !== canonical(rules.groups))
  fail(prs[0], `spec.groups differ from ${rulesPath}: copy the tested rules into the PrometheusRule`);
const alerts = new Set(rules.groups.flatMap((g) => g.rules.map((r) => r.alert).filter(Boolean)));
for (const a of ['LindungConsumerLagHigh', 'LindungErrorRateHigh', 'LindungAuditChainBroken', 'LindungPartnerEventsNotApplied'])
  if (!alerts.has(a)) fail(null, `alert ${a} missing from ${rulesPath}`);

// Grafana dashboards: one ConfigMap labelled for the Grafana sidecar; every
// dashboard parses, has a uid, and each panel queries through the
// datasource variable (so it works whatever the Prometheus is called).
const boards = byKind('ConfigMap').filter((c) => c.metadata.labels && c.metadata.labels.grafana_dashboard === '1');
if (boards.length !== 1) fail(null, `expected one ConfigMap labelled grafana_dashboard, found ${boards.length}`);
for (const cm of boards) {
  for (const [file, text] of Object.entries(cm.data || {})) {
    let d;
    try {
      d = JSON.parse(text);
    } catch (e) {
      fail(cm, `dashboard ${file}: not JSON: ${e.message}`);
      continue;
    }
    if (!d.uid || !d.title) fail(cm, `dashboard ${file}: no uid or title`);
    const panels = d.panels || [];
    if (!panels.some((p) => p.type !== 'row')) fail(cm, `dashboard ${file}: no panels`);
    const ids = new Set();
    for (const p of panels) {
      if (ids.has(p.id)) fail(cm, `dashboard ${file}: panel id ${p.id} used twice`);
      ids.add(p.id);
      if (p.type === 'row') continue;
      if (!p.datasource || p.datasource.uid !== '${datasource}')
        fail(cm, `dashboard ${file}: panel "${p.title}" does not use the datasource variable`);
      if (!(p.targets || []).length || p.targets.some((t) => !t.expr)) fail(cm, `dashboard ${file}: panel "${p.title}" has no query`);
    }
  }
}

for (const p of problems) console.error(`  ${p}`);
if (problems.length) {
  console.error(`check-manifests: ${overlay}: ${problems.length} problem(s) in ${objects.length} objects`);
  process.exit(1);
}
console.log(`check-manifests: ${overlay}: ${objects.length} objects valid`);
