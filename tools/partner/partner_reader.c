/* pcli_reader: reads scan.results.<partner_id> with librdkafka directly.
 *
 * kq_consumer (kafka_loop.h) is built for services: it joins a consumer
 * group and stores offsets. A client waiting for one answer must instead be
 * reading before it publishes, without the seconds a group join takes, so it
 * assigns every partition itself at offsets it resolved beforehand. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partner_cli.h"

#define PCLI_METADATA_TIMEOUT_MS 5000
#define PCLI_MAX_PARTITIONS 1024

struct pcli_reader {
  rd_kafka_t *rk;
  int partition_count;
  bool *at_end; /* per partition */
};

static int pcli_fail(char *err, size_t err_len, const char *what, const char *detail) {
  snprintf(err, err_len, "%s: %s", what, detail);
  return -1;
}

static rd_kafka_t *pcli_reader_kafka(const char *brokers, const kafka_security *security,
                                     const char *partner_id, int fetch_wait_ms, char *err,
                                     size_t err_len) {
  char group[96], fetch_wait[16];
  snprintf(fetch_wait, sizeof(fetch_wait), "%d", fetch_wait_ms);
  /* A private group id: nothing is committed, but librdkafka wants one; it
   * starts with the partner id, the only group prefix a partner may use. */
  snprintf(group, sizeof(group), "%s-cli-%ld-%08x", partner_id, (long)getpid(),
           (unsigned)randombytes_random());
  const char *const settings[] = {
      "bootstrap.servers",
      brokers,
      "client.id",
      "lindung-partner",
      "group.id",
      group,
      "enable.auto.commit",
      "false",
      "enable.auto.offset.store",
      "false",
      "enable.partition.eof",
      "true",
      /* never an answer of an aborted transaction (librdkafka's default) */
      "isolation.level",
      "read_committed",
      "fetch.wait.max.ms",
      fetch_wait,
      NULL,
  };
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char errstr[512];
  for (int i = 0; settings[i]; i += 2) {
    if (rd_kafka_conf_set(conf, settings[i], settings[i + 1], errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      pcli_fail(err, err_len, "kafka configuration", errstr);
      return NULL;
    }
  }
  if (ksec_conf_set(conf, security, errstr, sizeof(errstr)) != 0) {
    rd_kafka_conf_destroy(conf);
    pcli_fail(err, err_len, "kafka configuration", errstr);
    return NULL;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    pcli_fail(err, err_len, "cannot create kafka consumer", errstr);
    return NULL;
  }
  rd_kafka_poll_set_consumer(rk);
  return rk;
}

/* Number of partitions of topic, or -1. */
static int pcli_partition_count(rd_kafka_t *rk, const char *topic, char *err, size_t err_len) {
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
  if (!rkt) return pcli_fail(err, err_len, "cannot open topic", topic);
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t rc = rd_kafka_metadata(rk, 0, rkt, &md, PCLI_METADATA_TIMEOUT_MS);
  rd_kafka_topic_destroy(rkt);
  if (rc != RD_KAFKA_RESP_ERR_NO_ERROR)
    return pcli_fail(err, err_len, "cannot read kafka metadata", rd_kafka_err2str(rc));
  int count = -1;
  for (int i = 0; i < md->topic_cnt; i++) {
    if (strcmp(md->topics[i].topic, topic) != 0) continue;
    if (md->topics[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      snprintf(err, err_len, "topic %s: %s", topic, rd_kafka_err2str(md->topics[i].err));
      break;
    }
    count = md->topics[i].partition_cnt;
  }
  rd_kafka_metadata_destroy(md);
  if (count == 0 || count > PCLI_MAX_PARTITIONS) {
    snprintf(err, err_len, "topic %s has %d partitions", topic, count);
    count = -1;
  } else if (count < 0 && !err[0]) {
    snprintf(err, err_len, "topic %s does not exist", topic);
  }
  return count;
}

int pcli_reader_open(const char *brokers, const kafka_security *security, const char *partner_id,
                     const char *topic, bool from_beginning, int fetch_wait_ms, pcli_reader **out,
                     char *err, size_t err_len) {
  *out = NULL;
  err[0] = '\0';
  pcli_reader *r = calloc(1, sizeof(*r));
  if (!r) return pcli_fail(err, err_len, "reader", "out of memory");
  r->rk = pcli_reader_kafka(brokers, security, partner_id, fetch_wait_ms, err, err_len);
  if (!r->rk) {
    free(r);
    return -1;
  }
  r->partition_count = pcli_partition_count(r->rk, topic, err, err_len);
  if (r->partition_count < 0) {
    pcli_reader_close(r);
    return -1;
  }
  r->at_end = calloc((size_t)r->partition_count, sizeof(bool));
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(r->partition_count);
  int rc = r->at_end ? 0 : pcli_fail(err, err_len, "reader", "out of memory");
  for (int p = 0; rc == 0 && p < r->partition_count; p++) {
    int64_t offset = RD_KAFKA_OFFSET_BEGINNING;
    if (!from_beginning) {
      /* The end as of now, as a number: RD_KAFKA_OFFSET_END would be resolved
       * only when fetching starts, possibly after our answer arrived. */
      int64_t low = 0, high = 0;
      rd_kafka_resp_err_t e =
          rd_kafka_query_watermark_offsets(r->rk, topic, p, &low, &high, PCLI_METADATA_TIMEOUT_MS);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rc = pcli_fail(err, err_len, "cannot read the end of the results topic",
                       rd_kafka_err2str(e));
        break;
      }
      offset = high;
    }
    rd_kafka_topic_partition_list_add(list, topic, p)->offset = offset;
  }
  if (rc == 0) {
    rd_kafka_resp_err_t e = rd_kafka_assign(r->rk, list);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
      rc = pcli_fail(err, err_len, "cannot assign partitions", rd_kafka_err2str(e));
  }
  rd_kafka_topic_partition_list_destroy(list);
  if (rc != 0) {
    pcli_reader_close(r);
    return -1;
  }
  *out = r;
  return 0;
}

rd_kafka_message_t *pcli_reader_poll(pcli_reader *r, int timeout_ms) {
  rd_kafka_message_t *msg = rd_kafka_consumer_poll(r->rk, timeout_ms);
  if (!msg) return NULL;
  bool known = msg->partition >= 0 && msg->partition < r->partition_count;
  if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    if (known) r->at_end[msg->partition] = true;
    rd_kafka_message_destroy(msg);
    return NULL;
  }
  if (msg->err) {
    /* Transport errors are retried by librdkafka; the caller's timeout
     * decides how long to wait. */
    rd_kafka_message_destroy(msg);
    return NULL;
  }
  if (known) r->at_end[msg->partition] = false;
  return msg;
}

bool pcli_reader_at_end(const pcli_reader *r) {
  for (int p = 0; p < r->partition_count; p++)
    if (!r->at_end[p]) return false;
  return true;
}

void pcli_reader_close(pcli_reader *r) {
  if (!r) return;
  if (r->rk) {
    rd_kafka_consumer_close(r->rk);
    rd_kafka_destroy(r->rk);
  }
  free(r->at_end);
  free(r);
}
