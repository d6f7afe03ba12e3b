/* devbroker_cluster: topics, mock cluster and bootstrap file (see
 * devbroker_cluster.h). */
#include "devbroker_cluster.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const devbroker_core_topics[] = {
    "scan.accepted", "scan.decrypted", "scan.deadletter", "audit.events",
    "audit.log",     "partner.events", "health.facts",
};

/* Partners onboarded at launch; each has its own request and results topics. */
static const char *const devbroker_partners[] = {
    "gojek",     "grab",       "tokopedia", "tiketcom", "dana", "livin-mandiri",
    "traveloka", "cinema-xxi", "linkaja",   "goers",    "jaki",
};

/* Writes "host:port,...\n" to path through a temporary file and rename(), so
 * a reader never sees half an address. */
int devbroker_write_bootstrap(const char *path, const char *bootstraps) {
  char tmp[4096];
  int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof(tmp)) {
    fprintf(stderr, "lindung-devbroker: bootstrap file path too long\n");
    return -1;
  }
  FILE *f = fopen(tmp, "w");
  if (!f) {
    fprintf(stderr, "lindung-devbroker: cannot create %s: %s\n", tmp, strerror(errno));
    return -1;
  }
  int failed = fprintf(f, "%s\n", bootstraps) < 0;
  failed |= fflush(f) != 0;
  failed |= fsync(fileno(f)) != 0;
  failed |= fclose(f) != 0;
  if (failed || rename(tmp, path) != 0) {
    fprintf(stderr, "lindung-devbroker: cannot write %s: %s\n", path, strerror(errno));
    unlink(tmp);
    return -1;
  }
  return 0;
}

int devbroker_add_topic(const char **topics, size_t *count, const char *name) {
  if (*count >= DEVBROKER_MAX_TOPICS) {
    fprintf(stderr, "lindung-devbroker: too many topics\n");
    return -1;
  }
  topics[(*count)++] = name;
  return 0;
}

void devbroker_add_launch_topics(const char **topics, size_t *count) {
  static char result_topics[sizeof(devbroker_partners) / sizeof(devbroker_partners[0])][64];
  static char request_topics[sizeof(devbroker_partners) / sizeof(devbroker_partners[0])][64];
  for (size_t i = 0; i < sizeof(devbroker_core_topics) / sizeof(devbroker_core_topics[0]); i++)
    devbroker_add_topic(topics, count, devbroker_core_topics[i]);
  for (size_t i = 0; i < sizeof(devbroker_partners) / sizeof(devbroker_partners[0]); i++) {
    snprintf(request_topics[i], sizeof(request_topics[i]), "scan.requests.%s",
             devbroker_partners[i]);
    devbroker_add_topic(topics, count, request_topics[i]);
    snprintf(result_topics[i], sizeof(result_topics[i]), "scan.results.%s", devbroker_partners[i]);
    devbroker_add_topic(topics, count, result_topics[i]);
  }
}

int devbroker_cluster_start(int brokers, int partitions, const char *const *topics,
                            size_t topic_count, rd_kafka_t **rk_out,
                            rd_kafka_mock_cluster_t **cluster_out) {
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* The handle only hosts the cluster; it never connects anywhere itself. */
  if (rd_kafka_conf_set(conf, "client.id", "lindung-devbroker", errstr, sizeof(errstr)) !=
          RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "lindung-devbroker: %s\n", errstr);
    return -1;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk) {
    fprintf(stderr, "lindung-devbroker: %s\n", errstr);
    return -1;
  }
  rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (!cluster) {
    fprintf(stderr, "lindung-devbroker: cannot start the mock cluster\n");
    rd_kafka_destroy(rk);
    return -1;
  }
  int replication = brokers < 3 ? brokers : 3;
  for (size_t i = 0; i < topic_count; i++) {
    rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(cluster, topics[i], partitions, replication);
    if (err) {
      fprintf(stderr, "lindung-devbroker: cannot create topic %s: %s\n", topics[i],
              rd_kafka_err2str(err));
      rd_kafka_mock_cluster_destroy(cluster);
      rd_kafka_destroy(rk);
      return -1;
    }
  }

  *rk_out = rk;
  *cluster_out = cluster;
  return 0;
}
