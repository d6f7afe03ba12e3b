/* partner_kafka: plain librdkafka producer and assigned reader (partner_kafka.h). */
#include "partner_kafka.h"
#include "topics.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct partner_kafka {
  rd_kafka_t *producer;
  rd_kafka_t *consumer;
};

static rd_kafka_conf_t *partner_kafka_conf(const char *brokers, const kafka_security *security,
                                           const char *const *pairs, char *err, size_t err_len) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, err_len) != RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "client.id", "lindung-partner-client", err, err_len) != RD_KAFKA_CONF_OK ||
      (security && ksec_conf_set(conf, security, err, err_len))) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  for (size_t i = 0; pairs[i]; i += 2) {
    if (rd_kafka_conf_set(conf, pairs[i], pairs[i + 1], err, err_len) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return NULL;
    }
  }
  return conf;
}

partner_kafka *partner_kafka_open(const char *brokers, const kafka_security *security,
                                  const char *const *result_topics,
                                  size_t topic_count, char *err, size_t err_len) {
  partner_kafka *k = calloc(1, sizeof *k);
  rd_kafka_topic_partition_list_t *assignment = NULL;
  if (!k) {
    snprintf(err, err_len, "out of memory");
    return NULL;
  }
  static const char *const producer_conf[] = {
      "linger.ms", "1", "queue.buffering.max.messages", "1000000", "acks", "all",
      "enable.idempotence", "true", NULL};
  rd_kafka_conf_t *conf = partner_kafka_conf(brokers, security, producer_conf, err, err_len);
  if (!conf) goto fail;
  k->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, err_len);
  if (!k->producer) goto fail;

  char group[64];
  snprintf(group, sizeof group, "lindung-partner-client-%ld", (long)getpid());
  /* Kafka answers a waiting fetch as soon as an answer arrives; only the
   * devbroker needs a short wait (its stack exports one). read_committed:
   * answers a resolver produced in a transaction it then aborted are never
   * seen (librdkafka's default, said here on purpose). */
  const char *wait_env = getenv("LINDUNG_KAFKA_FETCH_WAIT_MS");
  const char *consumer_conf[] = {"group.id", group, "enable.auto.commit", "false",
                                 "isolation.level", "read_committed",
                                 "fetch.wait.max.ms", wait_env && *wait_env ? wait_env : "500",
                                 "fetch.error.backoff.ms", "10",
                                 "enable.partition.eof", "false", NULL};
  conf = partner_kafka_conf(brokers, security, consumer_conf, err, err_len);
  if (!conf) goto fail;
  k->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, err_len);
  if (!k->consumer) goto fail;
  rd_kafka_poll_set_consumer(k->consumer);

  /* Start every result partition at its current end, known before we send. */
  assignment = rd_kafka_topic_partition_list_new((int)topic_count * 8);
  for (size_t t = 0; t < topic_count; t++) {
    rd_kafka_topic_t *topic = rd_kafka_topic_new(k->consumer, result_topics[t], NULL);
    const struct rd_kafka_metadata *metadata = NULL;
    rd_kafka_resp_err_t rc = rd_kafka_metadata(k->consumer, 0, topic, &metadata, 10000);
    rd_kafka_topic_destroy(topic);
    if (rc || metadata->topic_cnt != 1 || metadata->topics[0].err) {
      snprintf(err, err_len, "no metadata for %s", result_topics[t]);
      if (metadata) rd_kafka_metadata_destroy(metadata);
      goto fail;
    }
    for (int p = 0; p < metadata->topics[0].partition_cnt; p++) {
      int32_t partition = metadata->topics[0].partitions[p].id;
      int64_t low, high;
      rd_kafka_resp_err_t werr;
      /* A topic created a moment ago may not have its leader everywhere yet. */
      for (int attempt = 0;; attempt++) {
        werr = rd_kafka_query_watermark_offsets(k->consumer, result_topics[t], partition, &low,
                                                &high, 10000);
        if (!werr || attempt == 50 ||
            (werr != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE &&
             werr != RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION &&
             werr != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART &&
             werr != RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION &&
             werr != RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE))
          break;
        usleep(100000);
      }
      if (werr) {
        snprintf(err, err_len, "cannot read the end of %s: %s", result_topics[t],
                 rd_kafka_err2str(werr));
        rd_kafka_metadata_destroy(metadata);
        goto fail;
      }
      rd_kafka_topic_partition_list_add(assignment, result_topics[t], partition)->offset = high;
    }
    rd_kafka_metadata_destroy(metadata);
  }
  rd_kafka_resp_err_t rc = rd_kafka_assign(k->consumer, assignment);
  rd_kafka_topic_partition_list_destroy(assignment);
  assignment = NULL;
  if (rc) {
    snprintf(err, err_len, "assign failed: %s", rd_kafka_err2str(rc));
    goto fail;
  }
  return k;

fail:
  if (assignment) rd_kafka_topic_partition_list_destroy(assignment);
  if (k->consumer) rd_kafka_destroy(k->consumer);
  if (k->producer) rd_kafka_destroy(k->producer);
  free(k);
  return NULL;
}

/* Asks the cluster to create the topics (broker defaults for partitions and
 * replication); one that exists already is fine. */
static int partner_kafka_create_topics(rd_kafka_t *rk, const char *const *topics,
                                       size_t topic_count, char *err, size_t err_len) {
  rd_kafka_NewTopic_t *new_topics[64];
  if (topic_count > 64) {
    snprintf(err, err_len, "too many topics");
    return -1;
  }
  char errstr[256];
  for (size_t t = 0; t < topic_count; t++)
    new_topics[t] = rd_kafka_NewTopic_new(topics[t], -1, -1, errstr, sizeof errstr);
  rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, new_topics, topic_count, NULL, queue);
  rd_kafka_event_t *event = rd_kafka_queue_poll(queue, 30000);
  int rc = 0;
  if (!event || rd_kafka_event_error(event)) {
    snprintf(err, err_len, "cannot create topics: %s",
             event ? rd_kafka_event_error_string(event) : "no answer within 30 s");
    rc = -1;
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t **results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &n);
    for (size_t r = 0; r < n && rc == 0; r++) {
      rd_kafka_resp_err_t code = rd_kafka_topic_result_error(results[r]);
      if (code && code != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        snprintf(err, err_len, "cannot create %s: %s", rd_kafka_topic_result_name(results[r]),
                 rd_kafka_err2str(code));
        rc = -1;
      }
    }
  }
  if (event) rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy_array(new_topics, topic_count);
  return rc;
}

/* 0 once the topic exists and every partition has a leader. */
static int partner_kafka_topic_ready(rd_kafka_t *rk, const char *name) {
  rd_kafka_topic_t *topic = rd_kafka_topic_new(rk, name, NULL);
  const struct rd_kafka_metadata *metadata = NULL;
  int rc = -1;
  if (rd_kafka_metadata(rk, 0, topic, &metadata, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
      metadata->topic_cnt == 1 && !metadata->topics[0].err &&
      metadata->topics[0].partition_cnt > 0) {
    rc = 0;
    for (int p = 0; p < metadata->topics[0].partition_cnt; p++)
      if (metadata->topics[0].partitions[p].err || metadata->topics[0].partitions[p].leader < 0)
        rc = -1;
  }
  if (metadata) rd_kafka_metadata_destroy(metadata);
  rd_kafka_topic_destroy(topic);
  return rc;
}

int partner_kafka_ensure_topics(const char *brokers, const kafka_security *security,
                                const char *const *topics, size_t topic_count, char *err,
                                size_t err_len) {
  static const char *const none[] = {NULL};
  rd_kafka_conf_t *conf = partner_kafka_conf(brokers, security, none, err, err_len);
  if (!conf) return -1;
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, err_len);
  if (!rk) return -1;
  /* Only missing topics are created: a broker that made them already (the
   * devbroker, at start) need not support CreateTopics. */
  const char *missing[64];
  size_t missing_count = 0;
  int rc = 0;
  for (size_t t = 0; t < topic_count; t++) {
    if (partner_kafka_topic_ready(rk, topics[t]) == 0) continue;
    if (missing_count == 64) {
      snprintf(err, err_len, "too many topics");
      rc = -1;
      break;
    }
    missing[missing_count++] = topics[t];
  }
  if (rc == 0 && missing_count)
    rc = partner_kafka_create_topics(rk, missing, missing_count, err, err_len);
  for (size_t t = 0; t < missing_count && rc == 0; t++) {
    rc = -1;
    /* A new topic may answer "unknown" once or twice while its leaders are elected. */
    for (int attempt = 0; attempt < 50 && rc != 0; attempt++) {
      rc = partner_kafka_topic_ready(rk, missing[t]);
      if (rc != 0) usleep(100000);
    }
    if (rc != 0) snprintf(err, err_len, "topic %s was not created", missing[t]);
  }
  rd_kafka_destroy(rk);
  return rc;
}

int partner_kafka_send(partner_kafka *k, const char *partner_id, const uint8_t request_id[16],
                       const void *value, size_t len) {
  char topic[PARTNER_KAFKA_TOPIC_MAX];
  if (partner_kafka_request_topic(partner_id, topic, sizeof topic)) return -1;
  return partner_kafka_send_raw(k, topic, request_id, 16, value, len);
}

int partner_kafka_request_topic(const char *partner_id, char *out, size_t out_len) {
  return topics_scan_requests(partner_id, out, out_len);
}

int partner_kafka_send_raw(partner_kafka *k, const char *topic, const void *key, size_t key_len,
                           const void *value, size_t len) {
  for (int attempt = 0; attempt < 1000; attempt++) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        k->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_END);
    if (!err) return 0;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return -1;
    rd_kafka_poll(k->producer, 10);
  }
  return -1;
}

int partner_kafka_flush(partner_kafka *k, int timeout_ms) {
  return rd_kafka_flush(k->producer, timeout_ms) ? -1 : 0;
}

void partner_kafka_poll(partner_kafka *k, int wait_ms, partner_kafka_message_fn on_message) {
  rd_kafka_poll(k->producer, 0);
  for (int n = 0; n < 10000; n++) {
    rd_kafka_message_t *message = rd_kafka_consumer_poll(k->consumer, n == 0 ? wait_ms : 0);
    if (!message) return;
    if (!message->err)
      on_message(rd_kafka_topic_name(message->rkt), message->key, message->key_len, message->payload,
                 message->len);
    rd_kafka_message_destroy(message);
  }
}

void partner_kafka_close(partner_kafka *k) {
  rd_kafka_flush(k->producer, 5000);
  rd_kafka_destroy(k->producer);
  rd_kafka_consumer_close(k->consumer);
  rd_kafka_destroy(k->consumer);
  free(k);
}
