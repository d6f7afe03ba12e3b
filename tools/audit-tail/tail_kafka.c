/* tail_kafka: lindung-audit-tail's consumer (see tail_kafka.h). */
#include "tail_kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int tail_set(rd_kafka_conf_t *conf, const char *name, const char *value) {
  char err[256];
  if (rd_kafka_conf_set(conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "lindung-audit-tail: %s: %s\n", name, err);
    return -1;
  }
  return 0;
}

rd_kafka_t *tail_kafka_open(const char *brokers, const kafka_security *security, bool from_end,
                            int *partitions_out, int *status) {
  char err[512];
  *status = 2;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* librdkafka wants a group id even for assign(); this one never joins a
   * group (no subscribe) and never commits. It starts with "analyst-", the
   * only group prefix the analysts' principal may use. */
  char group[64];
  snprintf(group, sizeof group, "analyst-audit-tail-%ld", (long)getpid());
  if (tail_set(conf, "bootstrap.servers", brokers) || tail_set(conf, "group.id", group) ||
      tail_set(conf, "client.id", "lindung-audit-tail") ||
      tail_set(conf, "enable.partition.eof", "true") ||
      tail_set(conf, "enable.auto.commit", "false") ||
      tail_set(conf, "enable.auto.offset.store", "false"))
    return NULL;
  if (ksec_conf_set(conf, security, err, sizeof err)) {
    fprintf(stderr, "lindung-audit-tail: %s\n", err);
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  const char *props = getenv("LINDUNG_KAFKA_PROPERTIES");
  if (props && *props) {
    char *copy = strdup(props), *save = NULL;
    for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
      char *eq = strchr(kv, '=');
      if (!eq) {
        free(copy);
        fprintf(stderr, "lindung-audit-tail: LINDUNG_KAFKA_PROPERTIES: expected name=value (see --help)\n");
        *status = 2;
        return NULL;
      }
      *eq = '\0';
      if (tail_set(conf, kv, eq + 1)) {
        free(copy);
        return NULL;
      }
    }
    free(copy);
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "lindung-audit-tail: %s\n", err);
    *status = 1;
    return NULL;
  }
  rd_kafka_topic_t *topic = rd_kafka_topic_new(rk, TAIL_TOPIC, NULL);
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t rerr = rd_kafka_metadata(rk, 0, topic, &md, 10000);
  if (rerr || md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0) {
    fprintf(stderr, "lindung-audit-tail: cannot read the partitions of %s: %s\n", TAIL_TOPIC,
            rd_kafka_err2str(rerr ? rerr
                                  : (md && md->topic_cnt ? md->topics[0].err
                                                         : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)));
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(topic);
    rd_kafka_destroy(rk);
    *status = 1;
    return NULL;
  }
  int partitions = md->topics[0].partition_cnt;
  *partitions_out = partitions;
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; p++)
    rd_kafka_topic_partition_list_add(list, TAIL_TOPIC, md->topics[0].partitions[p].id)->offset =
        from_end ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(topic);
  rerr = rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (rerr) {
    fprintf(stderr, "lindung-audit-tail: assign: %s\n", rd_kafka_err2str(rerr));
    rd_kafka_destroy(rk);
    *status = 1;
    return NULL;
  }
  *status = 0;
  return rk;
}
