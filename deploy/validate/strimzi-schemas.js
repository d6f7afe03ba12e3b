// JSON schemas for the Strimzi custom resources Lindung uses (Kafka,
// KafkaNodePool, KafkaTopic, KafkaUser, kafka.strimzi.io/v1beta2): the
// required fields and types of the operator's CRDs, and closed objects where
// a misspelled key would be silently ignored by the operator.
'use strict';

const metadata = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', maxLength: 253 } },
};
const clusterLabel = {
  type: 'object',
  required: ['labels'],
  properties: {
    name: metadata.properties.name,
    labels: { type: 'object', required: ['strimzi.io/cluster'], properties: { 'strimzi.io/cluster': { type: 'string' } } },
  },
};
const quantity = { anyOf: [{ type: 'string', pattern: '^[0-9.]+(m|Ki|Mi|Gi|Ti|k|M|G|T)?$' }, { type: 'number' }] };
const resources = {
  type: 'object',
  additionalProperties: false,
  properties: {
    requests: { type: 'object', additionalProperties: false, properties: { cpu: quantity, memory: quantity } },
    limits: { type: 'object', additionalProperties: false, properties: { cpu: quantity, memory: quantity } },
  },
};
const volume = {
  type: 'object',
  required: ['type'],
  additionalProperties: false,
  properties: {
    id: { type: 'integer', minimum: 0 },
    type: { enum: ['ephemeral', 'persistent-claim'] },
    size: { type: 'string', pattern: '^[0-9]+(Mi|Gi|Ti)$' },
    class: { type: 'string' },
    deleteClaim: { type: 'boolean' },
    kraftMetadata: { enum: ['shared'] },
    sizeLimit: { type: 'string' },
  },
};
const storage = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { enum: ['ephemeral', 'persistent-claim', 'jbod'] },
    volumes: { type: 'array', minItems: 1, items: volume },
    size: { type: 'string' },
    deleteClaim: { type: 'boolean' },
  },
};
const listener = {
  type: 'object',
  required: ['name', 'port', 'type', 'tls'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9]{1,11}$' },
    port: { type: 'integer', minimum: 9092 },
    type: { enum: ['internal', 'route', 'loadbalancer', 'nodeport', 'ingress', 'cluster-ip'] },
    tls: { type: 'boolean' },
    authentication: {
      type: 'object',
      required: ['type'],
      properties: { type: { enum: ['tls', 'scram-sha-512', 'oauth', 'custom'] } },
    },
    configuration: { type: 'object' },
    networkPolicyPeers: { type: 'array', items: { type: 'object' } },
  },
};
const configMap = { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } };

const kafka = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    metadata: {
      type: 'object',
      required: ['name', 'annotations'],
      properties: {
        name: metadata.properties.name,
        annotations: {
          type: 'object',
          required: ['strimzi.io/node-pools', 'strimzi.io/kraft'],
          properties: { 'strimzi.io/node-pools': { const: 'enabled' }, 'strimzi.io/kraft': { const: 'enabled' } },
        },
      },
    },
    spec: {
      type: 'object',
      required: ['kafka'],
      additionalProperties: false,
      properties: {
        kafka: {
          type: 'object',
          required: ['listeners'],
          additionalProperties: false,
          properties: {
            version: { type: 'string', pattern: '^[0-9]+\\.[0-9]+\\.[0-9]+$' },
            metadataVersion: { type: 'string' },
            replicas: { type: 'integer', minimum: 1 },
            listeners: { type: 'array', minItems: 1, items: listener },
            authorization: {
              type: 'object',
              required: ['type'],
              properties: { type: { enum: ['simple', 'opa', 'keycloak', 'custom'] }, superUsers: { type: 'array' } },
            },
            config: configMap,
            storage,
            rack: { type: 'object', required: ['topologyKey'], properties: { topologyKey: { type: 'string' } } },
            resources,
            metricsConfig: {
              type: 'object',
              required: ['type', 'valueFrom'],
              properties: { type: { enum: ['jmxPrometheusExporter'] }, valueFrom: { type: 'object' } },
            },
            template: { type: 'object' },
          },
        },
        zookeeper: false,
        entityOperator: {
          type: 'object',
          additionalProperties: false,
          properties: { topicOperator: { type: 'object' }, userOperator: { type: 'object' }, template: { type: 'object' } },
        },
        cruiseControl: { type: 'object' },
        kafkaExporter: { type: 'object' },
      },
    },
  },
};

const nodePool = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    metadata: clusterLabel,
    spec: {
      type: 'object',
      required: ['replicas', 'roles', 'storage'],
      additionalProperties: false,
      properties: {
        replicas: { type: 'integer', minimum: 0 },
        roles: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: ['controller', 'broker'] } },
        storage,
        resources,
        jvmOptions: { type: 'object' },
        template: { type: 'object' },
      },
    },
  },
};

const topic = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    metadata: clusterLabel,
    spec: {
      type: 'object',
      required: ['partitions', 'replicas'],
      additionalProperties: false,
      properties: {
        topicName: { type: 'string', pattern: '^[a-zA-Z0-9._-]{1,249}$' },
        partitions: { type: 'integer', minimum: 1 },
        replicas: { type: 'integer', minimum: 1, maximum: 32767 },
        config: configMap,
      },
    },
  },
};

const aclRule = {
  type: 'object',
  required: ['resource', 'operations'],
  additionalProperties: false,
  properties: {
    type: { enum: ['allow', 'deny'] },
    host: { type: 'string' },
    resource: {
      type: 'object',
      required: ['type'],
      additionalProperties: false,
      properties: {
        type: { enum: ['topic', 'group', 'cluster', 'transactionalId'] },
        name: { type: 'string' },
        patternType: { enum: ['literal', 'prefix'] },
      },
      if: { properties: { type: { enum: ['topic', 'group', 'transactionalId'] } } },
      then: { required: ['name'] },
    },
    operations: {
      type: 'array',
      minItems: 1,
      items: {
        enum: ['Read', 'Write', 'Create', 'Delete', 'Alter', 'Describe', 'ClusterAction', 'AlterConfigs',
          'DescribeConfigs', 'IdempotentWrite', 'All'],
      },
    },
  },
};

const user = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    metadata: clusterLabel,
    spec: {
      type: 'object',
      required: ['authentication', 'authorization'],
      additionalProperties: false,
      properties: {
        authentication: {
          type: 'object',
          required: ['type'],
          properties: { type: { enum: ['tls', 'tls-external', 'scram-sha-512'] } },
        },
        authorization: {
          type: 'object',
          required: ['type', 'acls'],
          additionalProperties: false,
          properties: { type: { const: 'simple' }, acls: { type: 'array', minItems: 1, items: aclRule } },
        },
        quotas: { type: 'object' },
        template: { type: 'object' },
      },
    },
  },
};

module.exports = { Kafka: kafka, KafkaNodePool: nodePool, KafkaTopic: topic, KafkaUser: user };
