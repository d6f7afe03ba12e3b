/* partner_kafka: a partner's side of Kafka, written as a partner would with
 * plain librdkafka (no libuv): a producer to scan.requests.<partner_id> and a reader of
 * result topics (or any topics), assigned at their current ends before the
 * first request goes out, so no answer is missed and no group join waits.
 * Used by the load generator and the integration tests. */
#ifndef LINDUNG_PARTNER_KAFKA_H
#define LINDUNG_PARTNER_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include "kafka_security.h"

/* Room for "scan.requests." and the longest partner id, and more. */
#define PARTNER_KAFKA_TOPIC_MAX 64

typedef struct partner_kafka partner_kafka;

/* key is the Kafka key (the request id on result topics). */
typedef void (*partner_kafka_message_fn)(const char *topic, const void *key, size_t key_len,
                                        const void *value, size_t len);

/* security: how to authenticate (a partner's own certificate), NULL for plaintext. */
partner_kafka *partner_kafka_open(const char *brokers, const kafka_security *security,
                                  const char *const *result_topics,
                                  size_t topic_count, char *err, size_t err_len);
/* Creates any of these topics that is missing (broker defaults; the
 * principal needs Create), then 0 once every one has a partition. */
int partner_kafka_ensure_topics(const char *brokers, const kafka_security *security,
                                const char *const *topics, size_t topic_count, char *err,
                                size_t err_len);
/* The partner's own request topic, scan.requests.<partner_id>; -1 if it does not fit. */
int partner_kafka_request_topic(const char *partner_id, char *out, size_t out_len);
/* One request on the partner's own topic, keyed by its request id. */
int partner_kafka_send(partner_kafka *kafka, const char *partner_id, const uint8_t request_id[16],
                       const void *value, size_t len);
/* Any topic and key, e.g. a crafted bad request with a key unlike its id. */
int partner_kafka_send_raw(partner_kafka *kafka, const char *topic, const void *key, size_t key_len,
                           const void *value, size_t len);
/* Waits until every message sent so far is acknowledged (or timeout_ms). */
int partner_kafka_flush(partner_kafka *kafka, int timeout_ms);
/* Serves delivery reports and hands over every answer that arrived,
 * waiting up to wait_ms for the first. */
void partner_kafka_poll(partner_kafka *kafka, int wait_ms, partner_kafka_message_fn on_message);
void partner_kafka_close(partner_kafka *kafka);

#endif
