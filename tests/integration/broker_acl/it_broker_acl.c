/* it_broker_acl: one Kafka operation as one principal, to see what the
 * broker allows.
 *
 *   it_broker_acl <cert> <key> produce <topic>   one record, acknowledged or not
 *   it_broker_acl <cert> <key> consume <topic>   read partition 0 from the start
 *   it_broker_acl <cert> <key> create <topic>    create the topic
 *
 * The brokers and CA come from LINDUNG_KAFKA_* (stack.env); the principal
 * is the certificate given. Prints one line: "allowed" or the broker's
 * error name. Exit 0 allowed, 3 refused for authorization, 1 anything else
 * (so a broken setup never passes for a refusal). */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testing_kafka.h"

#define WAIT_MS 15000

static int verdict(rd_kafka_resp_err_t err) {
  if (!err) {
    puts("allowed");
    return 0;
  }
  puts(rd_kafka_err2name(err));
  return err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                 err == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED ||
                 err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED
             ? 3
             : 1;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

static rd_kafka_t *client(rd_kafka_type_t type, const char *cert, const char *key) {
  kafka_security security = *testing_kafka_security();
  security.cert_file = cert;
  security.key_file = key;
  char err[256], group[64];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  snprintf(group, sizeof group, "it-broker-acl-%ld", (long)getpid());
  if (rd_kafka_conf_set(conf, "bootstrap.servers", getenv("LINDUNG_KAFKA_BROKERS"), err,
                        sizeof err) ||
      rd_kafka_conf_set(conf, "group.id", group, err, sizeof err) ||
      rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err) ||
      rd_kafka_conf_set(conf, "message.timeout.ms", "10000", err, sizeof err) ||
      rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", err, sizeof err) ||
      ksec_conf_set(conf, &security, err, sizeof err)) {
    fprintf(stderr, "it_broker_acl: %s\n", err);
    exit(1);
  }
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "it_broker_acl: %s\n", err);
    exit(1);
  }
  return rk;
}

static rd_kafka_resp_err_t delivery_err = RD_KAFKA_RESP_ERR__IN_PROGRESS;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)opaque;
  delivery_err = m->err;
}

static int produce(const char *cert, const char *key, const char *topic) {
  rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, cert, key);
  rd_kafka_resp_err_t err = rd_kafka_producev(
      rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY("it-broker-acl", 13),
      RD_KAFKA_V_VALUE("not a request", 13), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_END);
  if (!err) {
    for (int i = 0; i < WAIT_MS / 100 && delivery_err == RD_KAFKA_RESP_ERR__IN_PROGRESS; i++)
      rd_kafka_poll(rk, 100);
    err = delivery_err;
  }
  rd_kafka_destroy(rk);
  return verdict(err);
}

static int consume(const char *cert, const char *key, const char *topic) {
  rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, cert, key);
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_resp_err_t err = rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  /* A record or the end of the partition means the broker let us read. */
  rd_kafka_resp_err_t result = RD_KAFKA_RESP_ERR__TIMED_OUT;
  for (int i = 0; !err && i < WAIT_MS / 100 && result == RD_KAFKA_RESP_ERR__TIMED_OUT; i++) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (!m->err || m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
      result = RD_KAFKA_RESP_ERR_NO_ERROR;
    else if (m->err != RD_KAFKA_RESP_ERR__TRANSPORT)
      result = m->err;
    rd_kafka_message_destroy(m);
  }
  if (err) result = err;
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return verdict(result);
}

static int create(const char *cert, const char *key, const char *topic) {
  rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, cert, key);
  char errstr[256];
  rd_kafka_NewTopic_t *t = rd_kafka_NewTopic_new(topic, 1, 1, errstr, sizeof errstr);
  rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &t, 1, NULL, queue);
  rd_kafka_event_t *event = rd_kafka_queue_poll(queue, WAIT_MS);
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
  if (event) {
    err = rd_kafka_event_error(event);
    if (!err) {
      size_t n = 0;
      const rd_kafka_topic_result_t **r =
          rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &n);
      err = n == 1 ? rd_kafka_topic_result_error(r[0]) : RD_KAFKA_RESP_ERR__FAIL;
    }
    rd_kafka_event_destroy(event);
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(t);
  rd_kafka_destroy(rk);
  return verdict(err);
}

int main(int argc, char **argv) {
  if (argc != 5 || !getenv("LINDUNG_KAFKA_BROKERS")) {
    fprintf(stderr, "usage: it_broker_acl <cert> <key> produce|consume|create <topic>\n");
    return 2;
  }
  if (!strcmp(argv[3], "produce")) return produce(argv[1], argv[2], argv[4]);
  if (!strcmp(argv[3], "consume")) return consume(argv[1], argv[2], argv[4]);
  if (!strcmp(argv[3], "create")) return create(argv[1], argv[2], argv[4]);
  fprintf(stderr, "it_broker_acl: unknown operation %s\n", argv[3]);
  return 2;
}
