/* it_broker_acl: one Kafka operation as one principal, to see what the
 * broker allows, and (as the stack's admin) ACLs added or deleted to loosen
 * a check on purpose.
 *
 *   it_broker_acl <cert> <key> produce <topic>          one record, authorized or not
 *   it_broker_acl <cert> <key> consume <topic> <group>  read partition 0 from the start
 *   it_broker_acl <cert> <key> create <topic>           create the topic (validate only)
 *   it_broker_acl acl add|delete <principal> <topic> Read|Write|Create
 *       one literal ALLOW ACL on the topic, as LINDUNG_KAFKA_SSL_* (the admin)
 *
 * Checks change nothing on the cluster, so they can run again and again:
 * the record produced is stamped a day ahead, which the broker refuses
 * (INVALID_TIMESTAMP: message.timestamp.after.max.ms, an hour by default
 * since Kafka 4.0) only after it authorized the write, so that answer
 * counts as allowed and nothing is stored; a topic is created with
 * validate_only, which the broker authorizes like a real creation.
 *
 * The brokers and CA come from LINDUNG_KAFKA_* (stack.env); the principal
 * is the certificate given. consume names a consumer group the principal
 * may use (assigned partitions, nothing committed), so that only the
 * topic's ACL decides. Prints one line: "allowed" or the broker's error
 * name. Exit 0 allowed, 3 refused by the topic's (create: the cluster's)
 * ACL, 1 anything else (so a broken setup never passes for a refusal). */
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testing_kafka.h"

#define WAIT_MS 15000
#define FUTURE_MS (24LL * 3600 * 1000)

static int verdict(rd_kafka_resp_err_t err, bool cluster_counts) {
  if (!err) {
    puts("allowed");
    return 0;
  }
  if (err == RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP) {
    puts("allowed (authorized; the future-dated record was refused, nothing stored)");
    return 0;
  }
  puts(rd_kafka_err2name(err));
  return err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                 (cluster_counts && err == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED)
             ? 3
             : 1;
}

static rd_kafka_resp_err_t delivery_err = RD_KAFKA_RESP_ERR__IN_PROGRESS;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

static void set(rd_kafka_conf_t *conf, const char *name, const char *value) {
  char err[256];
  if (rd_kafka_conf_set(conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "it_broker_acl: %s\n", err);
    exit(1);
  }
}

/* group: the consumer's group id, NULL for a producer. */
static rd_kafka_t *client(const char *cert, const char *key, const char *group) {
  kafka_security security = *testing_kafka_security();
  security.cert_file = cert;
  security.key_file = key;
  char err[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", getenv("LINDUNG_KAFKA_BROKERS"));
  set(conf, "allow.auto.create.topics", "false");
  if (group) {
    set(conf, "group.id", group);
    set(conf, "enable.partition.eof", "true");
    set(conf, "enable.auto.commit", "false");
  } else {
    set(conf, "message.timeout.ms", "10000");
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  }
  if (ksec_conf_set(conf, &security, err, sizeof err)) {
    fprintf(stderr, "it_broker_acl: %s\n", err);
    exit(1);
  }
  rd_kafka_type_t type = group ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER;
  rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "it_broker_acl: %s\n", err);
    exit(1);
  }
  return rk;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)opaque;
  delivery_err = m->err;
}

static int produce(const char *cert, const char *key, const char *topic) {
  rd_kafka_t *rk = client(cert, key, NULL);
  rd_kafka_resp_err_t err = rd_kafka_producev(
      rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY("it-broker-acl", 13),
      RD_KAFKA_V_VALUE("not a request", 13), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_TIMESTAMP((int64_t)time(NULL) * 1000 + FUTURE_MS), RD_KAFKA_V_END);
  if (!err) {
    for (int i = 0; i < WAIT_MS / 100 && delivery_err == RD_KAFKA_RESP_ERR__IN_PROGRESS; i++)
      rd_kafka_poll(rk, 100);
    err = delivery_err;
  }
  rd_kafka_destroy(rk);
  return verdict(err, false);
}

/* The topic as its metadata shows it to this principal: a topic it may not
 * even Describe answers TOPIC_AUTHORIZATION_FAILED here (a fetch would only
 * wait for a topic it cannot see). */
static rd_kafka_resp_err_t topic_visible(rd_kafka_t *rk, const char *topic) {
  rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, t, &md, WAIT_MS);
  if (!err) err = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__FAIL;
  if (md) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(t);
  return err;
}

static int consume(const char *cert, const char *key, const char *topic, const char *group) {
  rd_kafka_t *rk = client(cert, key, group);
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_resp_err_t visible = topic_visible(rk, topic);
  if (visible) {
    rd_kafka_destroy(rk);
    return verdict(visible, false);
  }
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
  return verdict(result, false);
}

static int create(const char *cert, const char *key, const char *topic) {
  rd_kafka_t *rk = client(cert, key, NULL);
  char errstr[256];
  rd_kafka_NewTopic_t *t = rd_kafka_NewTopic_new(topic, 1, 1, errstr, sizeof errstr);
  rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t *options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  if (rd_kafka_AdminOptions_set_validate_only(options, 1, errstr, sizeof errstr)) {
    fprintf(stderr, "it_broker_acl: %s\n", errstr);
    exit(1);
  }
  rd_kafka_CreateTopics(rk, &t, 1, options, queue);
  rd_kafka_AdminOptions_destroy(options);
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
  return verdict(err, true);
}

static rd_kafka_AclOperation_t acl_operation(const char *name) {
  return !strcmp(name, "Read")     ? RD_KAFKA_ACL_OPERATION_READ
         : !strcmp(name, "Write")  ? RD_KAFKA_ACL_OPERATION_WRITE
         : !strcmp(name, "Create") ? RD_KAFKA_ACL_OPERATION_CREATE
                                   : RD_KAFKA_ACL_OPERATION_UNKNOWN;
}

/* The admin's answer to one CreateAcls or DeleteAcls of one binding. */
static rd_kafka_resp_err_t acl_result(rd_kafka_event_t *event, bool adding, char *errstr,
                                      size_t size) {
  size_t n = 0;
  const rd_kafka_error_t *error = NULL;
  if (adding) {
    const rd_kafka_acl_result_t **r =
        rd_kafka_CreateAcls_result_acls(rd_kafka_event_CreateAcls_result(event), &n);
    if (n == 1) error = rd_kafka_acl_result_error(r[0]);
  } else {
    const rd_kafka_DeleteAcls_result_response_t **r =
        rd_kafka_DeleteAcls_result_responses(rd_kafka_event_DeleteAcls_result(event), &n);
    if (n == 1) error = rd_kafka_DeleteAcls_result_response_error(r[0]);
  }
  if (n != 1) return RD_KAFKA_RESP_ERR__FAIL;
  if (error) snprintf(errstr, size, "%s", rd_kafka_error_string(error));
  return error ? rd_kafka_error_code(error) : RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* acl add|delete <principal> <topic> <operation>, as the stack's admin. The
 * broker enforces a change a moment after it answers (run.sh waits). */
static int acl(const char *action, const char *principal, const char *topic, const char *op) {
  bool adding = !strcmp(action, "add");
  rd_kafka_AclOperation_t operation = acl_operation(op);
  if ((!adding && strcmp(action, "delete")) || operation == RD_KAFKA_ACL_OPERATION_UNKNOWN) {
    fprintf(stderr, "it_broker_acl: acl add|delete <principal> <topic> Read|Write|Create\n");
    return 2;
  }
  const kafka_security *admin = testing_kafka_security();
  rd_kafka_t *rk = client(admin->cert_file, admin->key_file, NULL);
  char errstr[512], user[160];
  snprintf(user, sizeof user, "User:%s", principal);
  rd_kafka_AclBinding_t *binding =
      rd_kafka_AclBinding_new(RD_KAFKA_RESOURCE_TOPIC, topic, RD_KAFKA_RESOURCE_PATTERN_LITERAL,
                              user, "*", operation, RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW, errstr,
                              sizeof errstr);
  if (!binding) {
    fprintf(stderr, "it_broker_acl: %s\n", errstr);
    rd_kafka_destroy(rk);
    return 1;
  }
  rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
  if (adding)
    rd_kafka_CreateAcls(rk, &binding, 1, NULL, queue);
  else /* a binding is an exact filter for itself */
    rd_kafka_DeleteAcls(rk, (rd_kafka_AclBindingFilter_t **)&binding, 1, NULL, queue);
  rd_kafka_event_t *event = rd_kafka_queue_poll(queue, WAIT_MS);
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
  snprintf(errstr, sizeof errstr, "no answer");
  if (event) {
    err = rd_kafka_event_error(event);
    if (err)
      snprintf(errstr, sizeof errstr, "%s", rd_kafka_event_error_string(event));
    else
      err = acl_result(event, adding, errstr, sizeof errstr);
    rd_kafka_event_destroy(event);
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_AclBinding_destroy(binding);
  rd_kafka_destroy(rk);
  if (err) fprintf(stderr, "it_broker_acl: acl %s %s %s %s: %s\n", action, principal, topic, op, errstr);
  return err ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc == 6 && !strcmp(argv[1], "acl") && getenv("LINDUNG_KAFKA_BROKERS"))
    return acl(argv[2], argv[3], argv[4], argv[5]);
  bool consuming = argc == 6 && !strcmp(argv[3], "consume");
  if ((argc != 5 && !consuming) || !getenv("LINDUNG_KAFKA_BROKERS")) {
    fprintf(stderr,
            "usage: it_broker_acl <cert> <key> produce|create <topic>\n"
            "       it_broker_acl <cert> <key> consume <topic> <group>\n"
            "       it_broker_acl acl add|delete <principal> <topic> Read|Write|Create\n");
    return 2;
  }
  if (consuming) return consume(argv[1], argv[2], argv[4], argv[5]);
  if (!strcmp(argv[3], "produce")) return produce(argv[1], argv[2], argv[4]);
  if (!strcmp(argv[3], "create")) return create(argv[1], argv[2], argv[4]);
  fprintf(stderr, "it_broker_acl: unknown operation %s\n", argv[3]);
  return 2;
}
