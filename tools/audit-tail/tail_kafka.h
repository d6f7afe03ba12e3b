/* tail_kafka: the consumer of lindung-audit-tail: every partition of
 * audit.log assigned directly (no consumer group, no committed offsets),
 * from the beginning or the end. Prefix tail_kafka_. */
#ifndef LINDUNG_TAIL_KAFKA_H
#define LINDUNG_TAIL_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>

#include "kafka_security.h"

#define TAIL_TOPIC "audit.log"

/* The consumer, with the number of partitions; NULL after printing why,
 * with *status 2 (bad settings) or 1 (Kafka error). */
rd_kafka_t *tail_kafka_open(const char *brokers, const kafka_security *security, bool from_end,
                            int *partitions_out, int *status);

#endif
