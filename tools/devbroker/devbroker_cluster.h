/* devbroker_cluster: the topics and the mock cluster of lindung-devbroker
 * (librdkafka's rdkafka_mock.h), and the bootstrap file. Errors are printed
 * to stderr: this is a tool's module. Prefix devbroker_. */
#ifndef LINDUNG_DEVBROKER_CLUSTER_H
#define LINDUNG_DEVBROKER_CLUSTER_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stddef.h>

#define DEVBROKER_MAX_TOPICS 256

/* Appends one topic name (kept by pointer); -1 when the list is full. */
int devbroker_add_topic(const char **topics, size_t *count, const char *name);

/* Appends every Lindung topic and the launch partners' request and results
 * topics. */
void devbroker_add_launch_topics(const char **topics, size_t *count);

/* Starts the cluster with these topics; 0, or -1 after printing why. */
int devbroker_cluster_start(int brokers, int partitions, const char *const *topics,
                            size_t topic_count, rd_kafka_t **rk_out,
                            rd_kafka_mock_cluster_t **cluster_out);

/* Writes "host:port,...\n" to path atomically; 0 or -1 after printing why. */
int devbroker_write_bootstrap(const char *path, const char *bootstraps);

#endif
