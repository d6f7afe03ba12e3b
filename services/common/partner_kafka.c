/* partner_kafka: plain librdkafka producer and assigned reader (partner_kafka.h). */
#include "partner_kafka.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct partner_kafka {
  rd_kafka_t *producer;
  rd_kafka_t *consumer;
  rd_kafka_topic_t *requests;
};

static rd_kafka_conf_t *partner_kafka_conf(const char *brokers, const char *const *pairs, char *err,
                                           size_t err_len) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, err_len) != RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "client.id", "lindung-partner-client", err, err_len) != RD_KAFKA_CONF_OK) {
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

partner_kafka *partner_kafka_open(const char *brokers, const char *const *result_topics,
                                  size_t topic_count, char *err, size_t err_len) {
  partner_kafka *k = calloc(1, sizeof *k);
  rd_kafka_topic_partition_list_t *assignment = NULL;
  if (!k) {
    snprintf(err, err_len, "out of memory");
    return NULL;
  }
  static const char *const producer_conf[] = {
      "linger.ms", "1", "queue.buffering.max.messages", "1000000", "acks", "all", NULL};
  rd_kafka_conf_t *conf = partner_kafka_conf(brokers, producer_conf, err, err_len);
  if (!conf) goto fail;
  k->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, err_len);
  if (!k->producer) goto fail;
  k->requests = rd_kafka_topic_new(k->producer, "scan.requests", NULL);

  char group[64];
  snprintf(group, sizeof group, "lindung-partner-client-%ld", (long)getpid());
  const char *consumer_conf[] = {"group.id", group, "enable.auto.commit", "false",
                                 "fetch.wait.max.ms", "5", "fetch.error.backoff.ms", "10",
                                 "enable.partition.eof", "false", NULL};
  conf = partner_kafka_conf(brokers, consumer_conf, err, err_len);
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
      if (rd_kafka_query_watermark_offsets(k->consumer, result_topics[t], partition, &low, &high, 10000)) {
        snprintf(err, err_len, "cannot read the end of %s", result_topics[t]);
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
  if (k->requests) rd_kafka_topic_destroy(k->requests);
  if (k->producer) rd_kafka_destroy(k->producer);
  free(k);
  return NULL;
}

int partner_kafka_ensure_topics(const char *brokers, const char *const *topics, size_t topic_count,
                                char *err, size_t err_len) {
  static const char *const none[] = {NULL};
  rd_kafka_conf_t *conf = partner_kafka_conf(brokers, none, err, err_len);
  if (!conf) return -1;
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, err_len);
  if (!rk) return -1;
  int rc = 0;
  for (size_t t = 0; t < topic_count && rc == 0; t++) {
    rc = -1;
    /* A topic created on demand may answer "unknown" once or twice first. */
    for (int attempt = 0; attempt < 50 && rc != 0; attempt++) {
      rd_kafka_topic_t *topic = rd_kafka_topic_new(rk, topics[t], NULL);
      const struct rd_kafka_metadata *metadata = NULL;
      if (rd_kafka_metadata(rk, 0, topic, &metadata, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
          metadata->topic_cnt == 1 && !metadata->topics[0].err &&
          metadata->topics[0].partition_cnt > 0)
        rc = 0;
      if (metadata) rd_kafka_metadata_destroy(metadata);
      rd_kafka_topic_destroy(topic);
      if (rc != 0) usleep(100000);
    }
    if (rc != 0) snprintf(err, err_len, "topic %s does not exist and was not created", topics[t]);
  }
  rd_kafka_destroy(rk);
  return rc;
}

int partner_kafka_send(partner_kafka *k, const uint8_t request_id[16], const void *value, size_t len) {
  for (int attempt = 0; attempt < 1000; attempt++) {
    if (rd_kafka_produce(k->requests, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)value, len,
                         request_id, 16, NULL) == 0)
      return 0;
    if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) return -1;
    rd_kafka_poll(k->producer, 10);
  }
  return -1;
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
  rd_kafka_topic_destroy(k->requests);
  rd_kafka_destroy(k->producer);
  rd_kafka_consumer_close(k->consumer);
  rd_kafka_destroy(k->consumer);
  free(k);
}
