/* cmd_kafka: Lindung's topics and ACLs on the cluster, from the access
 * table compiled into lindungctl (deploy/kafka/access), through librdkafka's
 * admin API: `kafka apply` for the fixed part and every registered partner,
 * and each partner's part when it is added (topics, ACLs and, on the
 * embedded stack, its client certificate), cut (its write ACL deleted) or
 * reinstated. The partner commands touch Kafka only where lindungctl manages
 * it (LINDUNG_KAFKA_MANAGE=1: the embedded stack, docker-compose); under
 * Strimzi the KafkaTopic/KafkaUser resources made from the same table do, and
 * lindung-devbroker makes topics on demand. ACLs are made only on a cluster
 * that authenticates (LINDUNG_KAFKA_SECURITY_PROTOCOL=ssl). */
#include <errno.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "kafka_access.h"
#include "kafka_security.h"

extern char **environ;
extern const char kafka_access_table[];

#define CTL_KAFKA_MAX_ROWS 256
#define CTL_KAFKA_TIMEOUT_MS 30000
/* An ACL change reaches the broker's authorizer through its metadata log a
 * moment after CreateAcls/DeleteAcls answered; lindungctl returns only once
 * DescribeAcls (answered from that authorizer) shows it, within this long. */
#define CTL_KAFKA_ACL_WAIT_MS 30000
#define CTL_KAFKA_ACL_POLL_MS 100

typedef struct ctl_kafka {
  rd_kafka_t *rk;
  kafka_security security;
  bool acls; /* the cluster authenticates, so ACLs mean something */
} ctl_kafka;

/* Connects as the principal of LINDUNG_KAFKA_SSL_* (the stack's admin).
 * Returns 1 when there is nothing to do (no brokers; for a command that
 * only follows a registry change, lindungctl not managing Kafka), 0, or an
 * error code. */
static int ctl_kafka_open(ctl_kafka *k, bool follow_up, const char *what) {
  const char *brokers = ctl_env("LINDUNG_KAFKA_BROKERS");
  const char *manage = ctl_env("LINDUNG_KAFKA_MANAGE");
  if (!brokers || (follow_up && !(manage && !strcmp(manage, "1")))) return 1;
  char err[512];
  if (ksec_load_env(&k->security, err, sizeof err)) return ctl_fail(CTL_USAGE, "%s: %s", what, err);
  k->acls = !strcmp(k->security.protocol, "ssl");
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof err) != RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "client.id", "lindungctl", err, sizeof err) != RD_KAFKA_CONF_OK ||
      ksec_conf_set(conf, &k->security, err, sizeof err)) {
    rd_kafka_conf_destroy(conf);
    return ctl_fail(CTL_USAGE, "%s: kafka settings: %s", what, err);
  }
  k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!k->rk) {
    rd_kafka_conf_destroy(conf);
    return ctl_fail(CTL_RUNTIME, "%s: %s", what, err);
  }
  return CTL_OK;
}

static void ctl_kafka_close(ctl_kafka *k) {
  if (k->rk) rd_kafka_destroy(k->rk);
  k->rk = NULL;
}

/* Waits for the admin result on queue; NULL after printing a reason. */
static rd_kafka_event_t *ctl_kafka_wait(rd_kafka_queue_t *queue, const char *what) {
  rd_kafka_event_t *event = rd_kafka_queue_poll(queue, CTL_KAFKA_TIMEOUT_MS);
  if (!event) {
    ctl_fail(CTL_RUNTIME, "%s: no answer from Kafka within %d s", what, CTL_KAFKA_TIMEOUT_MS / 1000);
    return NULL;
  }
  if (rd_kafka_event_error(event)) {
    ctl_fail(CTL_RUNTIME, "%s: %s", what, rd_kafka_event_error_string(event));
    rd_kafka_event_destroy(event);
    return NULL;
  }
  return event;
}

static int ctl_kafka_create_topics(ctl_kafka *k, const ka_row *rows, size_t n, const char *what) {
  rd_kafka_NewTopic_t *topics[CTL_KAFKA_MAX_ROWS];
  size_t count = 0;
  char errstr[256], retention[24], isr[8];
  for (size_t i = 0; i < n; i++) {
    if (rows[i].kind != KA_TOPIC) continue;
    rd_kafka_NewTopic_t *t = rd_kafka_NewTopic_new(rows[i].name, rows[i].partitions,
                                                   rows[i].replicas, errstr, sizeof errstr);
    if (!t) {
      rd_kafka_NewTopic_destroy_array(topics, count);
      return ctl_fail(CTL_RUNTIME, "%s: topic %s: %s", what, rows[i].name, errstr);
    }
    snprintf(retention, sizeof retention, "%lld", (long long)rows[i].retention_ms);
    snprintf(isr, sizeof isr, "%d", rows[i].min_insync_replicas);
    rd_kafka_NewTopic_set_config(t, "retention.ms", retention);
    rd_kafka_NewTopic_set_config(t, "min.insync.replicas", isr);
    rd_kafka_NewTopic_set_config(t, "cleanup.policy", "delete");
    topics[count++] = t;
  }
  if (count == 0) return CTL_OK;
  rd_kafka_queue_t *queue = rd_kafka_queue_new(k->rk);
  rd_kafka_CreateTopics(k->rk, topics, count, NULL, queue);
  rd_kafka_event_t *event = ctl_kafka_wait(queue, what);
  int rc = event ? CTL_OK : CTL_RUNTIME;
  if (event) {
    size_t m = 0;
    const rd_kafka_topic_result_t **results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &m);
    for (size_t i = 0; i < m && rc == CTL_OK; i++) {
      rd_kafka_resp_err_t code = rd_kafka_topic_result_error(results[i]);
      /* Applying again leaves existing topics as they are. */
      if (code && code != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        rc = ctl_fail(CTL_RUNTIME, "%s: topic %s: %s", what, rd_kafka_topic_result_name(results[i]),
                      rd_kafka_err2str(code));
    }
    rd_kafka_event_destroy(event);
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy_array(topics, count);
  return rc;
}

static rd_kafka_ResourceType_t ctl_kafka_resource(const char *name) {
  return !strcmp(name, "topic")   ? RD_KAFKA_RESOURCE_TOPIC
         : !strcmp(name, "group") ? RD_KAFKA_RESOURCE_GROUP
                                  : RD_KAFKA_RESOURCE_BROKER; /* the cluster */
}

static rd_kafka_AclOperation_t ctl_kafka_operation(const char *name) {
  static const struct {
    const char *name;
    rd_kafka_AclOperation_t op;
  } ops[] = {
      {"Read", RD_KAFKA_ACL_OPERATION_READ},
      {"Write", RD_KAFKA_ACL_OPERATION_WRITE},
      {"Create", RD_KAFKA_ACL_OPERATION_CREATE},
      {"Delete", RD_KAFKA_ACL_OPERATION_DELETE},
      {"Alter", RD_KAFKA_ACL_OPERATION_ALTER},
      {"Describe", RD_KAFKA_ACL_OPERATION_DESCRIBE},
      {"DescribeConfigs", RD_KAFKA_ACL_OPERATION_DESCRIBE_CONFIGS},
      {"IdempotentWrite", RD_KAFKA_ACL_OPERATION_IDEMPOTENT_WRITE},
  };
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (!strcmp(ops[i].name, name)) return ops[i].op;
  return RD_KAFKA_ACL_OPERATION_UNKNOWN;
}

/* One binding per (row, operation); only_op limits them to that operation. */
static int ctl_kafka_bindings(const ka_row *rows, size_t n, const char *only_op,
                              rd_kafka_AclBinding_t **out, size_t cap, size_t *count,
                              const char *what) {
  char errstr[256], principal[80];
  *count = 0;
  for (size_t i = 0; i < n; i++) {
    if (rows[i].kind != KA_ALLOW) continue;
    char ops[sizeof rows[i].operations], *save = NULL;
    snprintf(ops, sizeof ops, "%s", rows[i].operations);
    snprintf(principal, sizeof principal, "User:%s", rows[i].principal);
    for (char *op = strtok_r(ops, ",", &save); op; op = strtok_r(NULL, ",", &save)) {
      if (only_op && strcmp(op, only_op)) continue;
      rd_kafka_AclOperation_t operation = ctl_kafka_operation(op);
      if (operation == RD_KAFKA_ACL_OPERATION_UNKNOWN || *count == cap)
        return ctl_fail(CTL_RUNTIME, "%s: ACL operation %s of %s is not supported", what, op,
                        rows[i].principal);
      /* The cluster resource is named kafka-cluster and is always literal. */
      bool cluster = !strcmp(rows[i].resource, "cluster");
      out[*count] = rd_kafka_AclBinding_new(
          ctl_kafka_resource(rows[i].resource), cluster ? "kafka-cluster" : rows[i].name,
          rows[i].prefixed ? RD_KAFKA_RESOURCE_PATTERN_PREFIXED : RD_KAFKA_RESOURCE_PATTERN_LITERAL,
          principal, "*", operation, RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW, errstr, sizeof errstr);
      if (!out[*count]) return ctl_fail(CTL_RUNTIME, "%s: ACL of %s: %s", what, principal, errstr);
      (*count)++;
    }
  }
  return CTL_OK;
}

/* How many of the bindings DescribeAcls finds (each binding is an exact
 * filter for itself); -1 after printing a reason. */
static int ctl_kafka_count_acls(ctl_kafka *k, rd_kafka_AclBinding_t **acls, size_t count,
                                const char *what) {
  rd_kafka_queue_t *queue = rd_kafka_queue_new(k->rk);
  for (size_t i = 0; i < count; i++) rd_kafka_DescribeAcls(k->rk, acls[i], NULL, queue);
  int found = 0;
  for (size_t i = 0; i < count; i++) {
    rd_kafka_event_t *event = ctl_kafka_wait(queue, what);
    if (!event) {
      found = -1;
      break;
    }
    size_t m = 0;
    rd_kafka_DescribeAcls_result_acls(rd_kafka_event_DescribeAcls_result(event), &m);
    if (m > 0) found++;
    rd_kafka_event_destroy(event);
  }
  rd_kafka_queue_destroy(queue);
  return found;
}

/* Waits until the broker enforces the change: every binding present, or
 * every one gone. */
static int ctl_kafka_await_acls(ctl_kafka *k, rd_kafka_AclBinding_t **acls, size_t count,
                                bool present, const char *what) {
  int want = present ? (int)count : 0;
  for (int waited = 0;; waited += CTL_KAFKA_ACL_POLL_MS) {
    int found = ctl_kafka_count_acls(k, acls, count, what);
    if (found < 0) return CTL_RUNTIME;
    if (found == want) return CTL_OK;
    if (waited >= CTL_KAFKA_ACL_WAIT_MS)
      return ctl_fail(CTL_RUNTIME,
                      "%s: the broker still %s %d of %zu ACLs after %d s; the change is "
                      "recorded but not yet enforced: check the broker, then run "
                      "`lindungctl kafka apply`",
                      what, present ? "lacks" : "holds", present ? want - found : found, count,
                      CTL_KAFKA_ACL_WAIT_MS / 1000);
    usleep(CTL_KAFKA_ACL_POLL_MS * 1000);
  }
}

static int ctl_kafka_create_acls(ctl_kafka *k, const ka_row *rows, size_t n, const char *what) {
  if (!k->acls) return CTL_OK;
  rd_kafka_AclBinding_t *acls[CTL_KAFKA_MAX_ROWS * 2];
  size_t count = 0;
  int rc = ctl_kafka_bindings(rows, n, NULL, acls, sizeof acls / sizeof acls[0], &count, what);
  if (rc == CTL_OK && count) {
    rd_kafka_queue_t *queue = rd_kafka_queue_new(k->rk);
    rd_kafka_CreateAcls(k->rk, acls, count, NULL, queue);
    rd_kafka_event_t *event = ctl_kafka_wait(queue, what);
    rc = event ? CTL_OK : CTL_RUNTIME;
    if (event) {
      size_t m = 0;
      const rd_kafka_acl_result_t **results =
          rd_kafka_CreateAcls_result_acls(rd_kafka_event_CreateAcls_result(event), &m);
      for (size_t i = 0; i < m && rc == CTL_OK; i++) {
        const rd_kafka_error_t *e = rd_kafka_acl_result_error(results[i]);
        if (e) rc = ctl_fail(CTL_RUNTIME, "%s: ACL refused: %s", what, rd_kafka_error_string(e));
      }
      rd_kafka_event_destroy(event);
    }
    rd_kafka_queue_destroy(queue);
    if (rc == CTL_OK) rc = ctl_kafka_await_acls(k, acls, count, true, what);
  }
  rd_kafka_AclBinding_destroy_array(acls, count);
  return rc;
}

static int ctl_kafka_rows(const char *partner, ka_row *rows, size_t *n, const char *what) {
  char err[256];
  int count = ka_rows(kafka_access_table, partner, rows, CTL_KAFKA_MAX_ROWS, err, sizeof err);
  if (count < 0) return ctl_fail(CTL_RUNTIME, "%s: access table: %s", what, err);
  *n = (size_t)count;
  return CTL_OK;
}

/* Runs argv (no shell), its output discarded; 0 when it exits 0. */
static int ctl_kafka_run(char *const argv[]) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc) return -1;
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* On the embedded stack (LINDUNG_KAFKA_CA_KEY_FILE names its throwaway CA's
 * key), a client certificate CN=partner-<id> in dir/kafka.crt and its key
 * in dir/kafka.key (0600), made with openssl like the stack's own. */
static int ctl_kafka_partner_certificate(const char *partner_id, const char *dir,
                                         const char *what) {
  const char *ca_key = ctl_env("LINDUNG_KAFKA_CA_KEY_FILE");
  const char *ca = ctl_env("LINDUNG_KAFKA_SSL_CA_FILE");
  if (!ca_key || !ca) return CTL_OK;
  char crt[4096], key[4096], csr[4096], subject[96];
  snprintf(crt, sizeof crt, "%s/kafka.crt", dir);
  snprintf(key, sizeof key, "%s/kafka.key", dir);
  snprintf(csr, sizeof csr, "%s/kafka.csr", dir);
  if (access(crt, R_OK) == 0 && access(key, R_OK) == 0) return CTL_OK;
  if (ctl_mkdirs(dir) != 0) return ctl_fail(CTL_RUNTIME, "%s: cannot create %s", what, dir);
  snprintf(subject, sizeof subject, "/CN=partner-%s", partner_id);
  mode_t old = umask(077);
  char *req[] = {"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-noenc", "-keyout", key, "-subj", subject,
                 "-out", csr, NULL};
  char *sign[] = {"openssl", "x509", "-req", "-in", csr, "-CA", (char *)ca, "-CAkey",
                  (char *)ca_key, "-days", "30", "-out", crt, NULL};
  int rc = ctl_kafka_run(req) == 0 && ctl_kafka_run(sign) == 0 ? CTL_OK : CTL_RUNTIME;
  umask(old);
  unlink(csr);
  if (rc != CTL_OK) {
    unlink(crt);
    unlink(key);
    return ctl_fail(CTL_RUNTIME, "%s: openssl could not make the client certificate", what);
  }
  return CTL_OK;
}

static int ctl_kafka_partner_apply(const char *partner_id, const char *dir, bool follow_up) {
  const char *what = "kafka setup of the partner";
  ctl_kafka k = {0};
  int rc = ctl_kafka_open(&k, follow_up, what);
  if (rc == 1) return CTL_OK;
  if (rc) return rc;
  static ka_row rows[CTL_KAFKA_MAX_ROWS];
  size_t n = 0;
  if ((rc = ctl_kafka_rows(partner_id, rows, &n, what)) == CTL_OK &&
      (rc = ctl_kafka_create_topics(&k, rows, n, what)) == CTL_OK &&
      (rc = ctl_kafka_create_acls(&k, rows, n, what)) == CTL_OK && k.acls && dir)
    rc = ctl_kafka_partner_certificate(partner_id, dir, what);
  ctl_kafka_close(&k);
  return rc;
}

static int ctl_kafka_partner_remove_write(const char *partner_id, bool follow_up) {
  const char *what = "removing the partner's write ACL";
  ctl_kafka k = {0};
  int rc = ctl_kafka_open(&k, follow_up, what);
  if (rc == 1) return CTL_OK;
  if (rc) return rc;
  static ka_row rows[CTL_KAFKA_MAX_ROWS];
  size_t n = 0, count = 0;
  rd_kafka_AclBinding_t *acls[CTL_KAFKA_MAX_ROWS];
  if (k.acls && (rc = ctl_kafka_rows(partner_id, rows, &n, what)) == CTL_OK &&
      (rc = ctl_kafka_bindings(rows, n, "Write", acls, CTL_KAFKA_MAX_ROWS, &count, what)) ==
          CTL_OK &&
      count) {
    /* An ACL binding is also an exact filter for itself. */
    rd_kafka_queue_t *queue = rd_kafka_queue_new(k.rk);
    rd_kafka_DeleteAcls(k.rk, (rd_kafka_AclBindingFilter_t **)acls, count, NULL, queue);
    rd_kafka_event_t *event = ctl_kafka_wait(queue, what);
    rc = event ? CTL_OK : CTL_RUNTIME;
    if (event) {
      size_t m = 0;
      const rd_kafka_DeleteAcls_result_response_t **responses =
          rd_kafka_DeleteAcls_result_responses(rd_kafka_event_DeleteAcls_result(event), &m);
      for (size_t i = 0; i < m && rc == CTL_OK; i++) {
        const rd_kafka_error_t *e = rd_kafka_DeleteAcls_result_response_error(responses[i]);
        if (e) rc = ctl_fail(CTL_RUNTIME, "%s: %s", what, rd_kafka_error_string(e));
      }
      rd_kafka_event_destroy(event);
    }
    rd_kafka_queue_destroy(queue);
    if (rc == CTL_OK) rc = ctl_kafka_await_acls(&k, acls, count, false, what);
  }
  rd_kafka_AclBinding_destroy_array(acls, count);
  ctl_kafka_close(&k);
  return rc;
}

int ctl_kafka_partner_setup(const char *partner_id, const char *dir) {
  return ctl_kafka_partner_apply(partner_id, dir, true);
}

int ctl_kafka_partner_cut(const char *partner_id) {
  return ctl_kafka_partner_remove_write(partner_id, true);
}

/* Every partner of the registry: its topics and ACLs, and a revoked one
 * without its write ACL, so a fresh broker matches the registry. */
static int ctl_kafka_apply_registered_partners(void) {
  int code = CTL_OK;
  PGconn *conn = ctl_connect(NULL, &code);
  if (!conn) return code;
  PGresult *res = PQexec(conn, "SELECT partner_id, status FROM partners ORDER BY partner_id");
  int rc = CTL_OK;
  if (PQresultStatus(res) != PGRES_TUPLES_OK)
    rc = ctl_fail(CTL_RUNTIME, "kafka apply: %s", ctl_result_reason(res));
  for (int i = 0; rc == CTL_OK && i < PQntuples(res); i++) {
    const char *id = PQgetvalue(res, i, 0);
    rc = ctl_kafka_partner_apply(id, ctl_partner_dir(id), false);
    if (rc == CTL_OK && !strcmp(PQgetvalue(res, i, 1), "revoked"))
      rc = ctl_kafka_partner_remove_write(id, false);
  }
  PQclear(res);
  PQfinish(conn);
  return rc;
}

int ctl_cmd_kafka_apply(int argc, char **argv) {
  const char *partner = NULL;
  const ctl_option options[] = {{"partner", &partner, NULL}};
  size_t npos = 0;
  int rc = ctl_parse(argc, argv, options, 1, NULL, 0, &npos);
  if (rc) return rc;
  if (partner && !reg_partner_id_valid(partner))
    return ctl_fail(CTL_USAGE, "kafka apply: invalid partner id");
  if (partner) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/partners/%s", ctl_run_dir(), partner);
    return ctl_kafka_partner_apply(partner, dir, false);
  }
  const char *what = "kafka apply";
  ctl_kafka k = {0};
  rc = ctl_kafka_open(&k, false, what);
  if (rc == 1) return ctl_fail(CTL_USAGE, "kafka apply: LINDUNG_KAFKA_BROKERS is not set");
  if (rc) return rc;
  static ka_row rows[CTL_KAFKA_MAX_ROWS];
  size_t n = 0;
  if ((rc = ctl_kafka_rows(NULL, rows, &n, what)) == CTL_OK &&
      (rc = ctl_kafka_create_topics(&k, rows, n, what)) == CTL_OK)
    rc = ctl_kafka_create_acls(&k, rows, n, what);
  ctl_kafka_close(&k);
  if (rc != CTL_OK || !ctl_env("LINDUNG_DB_URL")) return rc;
  return ctl_kafka_apply_registered_partners();
}
