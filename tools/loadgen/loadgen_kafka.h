/* loadgen_kafka: the load generator's Kafka side, as a partner would write
 * it with plain librdkafka: a producer to scan.requests and a reader of the
 * partners' result topics, assigned at their current ends before the first
 * request goes out so no answer is missed. */
#ifndef LINDUNG_LOADGEN_KAFKA_H
#define LINDUNG_LOADGEN_KAFKA_H

#include <stddef.h>
#include <stdint.h>

typedef struct loadgen_kafka loadgen_kafka;

typedef void (*loadgen_answer_fn)(const char *topic, const void *value, size_t len);

loadgen_kafka *loadgen_kafka_open(const char *brokers, const char *const *result_topics,
                                  size_t topic_count, char *err, size_t err_len);
int loadgen_kafka_send(loadgen_kafka *kafka, const uint8_t request_id[16], const void *value,
                       size_t len);
/* Serves delivery reports and hands over every answer that arrived,
 * waiting up to wait_ms for the first. */
void loadgen_kafka_poll(loadgen_kafka *kafka, int wait_ms, loadgen_answer_fn on_answer);
void loadgen_kafka_close(loadgen_kafka *kafka);

#endif
