/* lindung-revocation: owns every change to the partner registry. An admin
 * HTTP API (admin_http.c, routes and validation in admin_api.c) takes one
 * change at a time: it is written to PostgreSQL in one transaction (one SQL
 * function per change, db/migrations/lindung/0200_revocation.sql), then
 * published as a PartnerEvent on partner.events and an AuditEvent on
 * audit.events, and only once the commit and both acknowledgements are in
 * does the HTTP answer go out. Refused requests (bad bearer token, bad
 * input, refused by the database) are audited too and change nothing.
 *
 * Changes run strictly one after another, so events are published in
 * commit order and every instance applies them in that order.
 * /healthz, /readyz and /metrics are on LINDUNG_HTTP_ADDR. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_api.h"
#include "admin_http.h"
#include "admin_json.h"
#include "config.h"
#include "hex.h"
#include "http_server.h"
#include "json_write.h"
#include "kafka_loop.h"
#include "log.h"
#include "messages.h"
#include "metrics.h"
#include "pg_client.h"
#include "service.h"
#include "topics.h"

#define REVOCATION_MAX_QUEUE 256
#define REVOCATION_DB_WAIT_MS 100
/* Failed authentications are summed up in one audit record per interval:
 * a stranger's flood costs one counter increment each, not a queue place,
 * a Kafka message and an audit row. */
#define REVOCATION_UNAUTHORIZED_SUMMARY_MS 2000

typedef struct revocation_job {
  admin_http_request *req;
  admin_op op;
  bool refused;      /* refused before the database */
  admin_error error; /* when refused */
  char actor[ADMIN_MAX_ACTOR + 1];
  char refused_detail[ADMIN_DETAIL_MAX];
  uint8_t request_id[16];
  uint64_t received_at_ms;
  /* Filled by the database step. */
  bool db_ok;
  char db_result[32];
  uint64_t version;
  uint64_t tokens_revoked;
  admin_rotation rotation;
  int acks_waiting;
  int delivery_error;
  struct revocation_job *next;
} revocation_job;

typedef struct revocation_app {
  uv_loop_t *loop;
  service_common common;
  const char *token_path;
  const char *admin_addr;
  uint32_t max_body;
  uint32_t settle_ms;
  uv_timer_t settle; /* delays the answer of the job at the head */
  char token[130];
  pgq_client *db;
  kq_producer *producer;
  http_server *health;
  admin_http *admin;
  metrics_registry *metrics;
  metrics_family *published_total;
  metrics_family *admin_total;
  metrics_family *db_connected;
  uv_timer_t unauthorized_summary;
  uint64_t unauthorized_pending;    /* since the last summary record */
  uint64_t unauthorized_first_ms;   /* when the first of them arrived */
  char unauthorized_last[144];      /* "METHOD path" of the latest one */
  revocation_job *head, *tail; /* head is the job being worked on */
  size_t queued;
  bool busy;
  bool stopping;
  uv_signal_t sigterm, sigint;
} revocation_app;

static revocation_app app;

static const pgq_statement revocation_statements[] = {
    {"admin_partner_add",
     "SELECT result, version, 0 FROM admin_partner_add($1, $2, $3::bigint, decode($4, 'hex'))", 4},
    {"admin_key_add",
     "SELECT result, version, 0 FROM admin_key_add($1, $2::bigint, decode($3, 'hex'))", 3},
    {"admin_key_revoke", "SELECT result, version, 0 FROM admin_key_revoke($1, $2::bigint)", 2},
    {"admin_partner_revoke",
     "SELECT result, version, tokens_revoked FROM admin_partner_revoke($1, $2)", 2},
    {"admin_partner_reinstate", "SELECT result, version, 0 FROM admin_partner_reinstate($1)", 1},
    {"admin_partner_quota",
     "SELECT result, version, 0 FROM admin_partner_quota($1, $2::bigint, $3::bigint)", 3},
    {"admin_system_key_rotate",
     "SELECT result, version, 0, key_id, encode(public_key, 'hex'), retire_after_ms "
     "FROM admin_system_key_rotate($1::bigint)",
     1},
};

static void revocation_next(revocation_app *a);

/* ---- answering ------------------------------------------------------- */

static void revocation_error_json(const admin_error *error, char *out, size_t out_len) {
  char message[400];
  if (json_write_escaped(error->message, message, sizeof message) < 0) message[0] = '\0';
  snprintf(out, out_len, "{\"error\":\"%s\",\"message\":\"%s\"}", error->code, message);
}

static void revocation_finish(revocation_app *a, revocation_job *job, int status,
                              const char *json) {
  admin_http_respond(job->req, status, json);
  char label[40];
  snprintf(label, sizeof label, "%s", status == 200 ? "applied" : job->error.code);
  metrics_add(a->admin_total, label, 1);
  a->head = job->next;
  if (!a->head) a->tail = NULL;
  a->queued--;
  a->busy = false;
  free(job);
  revocation_next(a);
}

static void revocation_answer(revocation_app *a, revocation_job *job) {
  char json[1024];
  if (job->delivery_error) {
    /* The change is committed but an event did not reach Kafka: services
     * still pick it up from PostgreSQL (they poll the registry version). */
    job->error = (admin_error){500, "publish_failed", ""};
    snprintf(job->error.message, sizeof job->error.message,
             "%s; services pick the change up from PostgreSQL within a second",
             job->db_ok ? "the change is committed but its event was not published"
                        : "the refusal could not be audited");
    LOG_ERROR("admin_publish_failed", LOG_ID("op", admin_op_name(job->op.kind)),
              LOG_ID("reason", kq_err2str(job->delivery_error)));
    revocation_error_json(&job->error, json, sizeof json);
    revocation_finish(a, job, 500, json);
    return;
  }
  if (!job->db_ok) {
    revocation_error_json(&job->error, json, sizeof json);
    revocation_finish(a, job, job->error.status, json);
    return;
  }
  char extra[160] = "";
  if (job->op.kind == ADMIN_OP_PARTNER_REVOKE)
    snprintf(extra, sizeof extra, ",\"tokens_revoked\":%llu",
             (unsigned long long)job->tokens_revoked);
  else if (job->op.kind == ADMIN_OP_SYSTEM_KEY_ROTATE)
    snprintf(extra, sizeof extra, ",\"system_key_id\":%u,\"retire_after_ms\":%llu",
             job->rotation.key_id, (unsigned long long)job->rotation.retire_after_ms);
  snprintf(
      json, sizeof json, "{\"applied\":\"%s\",\"partner_id\":\"%s\",\"registry_version\":%llu%s}",
      admin_op_name(job->op.kind), job->op.partner_id, (unsigned long long)job->version, extra);
  revocation_finish(a, job, 200, json);
}

/* ---- Kafka ------------------------------------------------------------ */

static void revocation_on_settled(uv_timer_t *timer) {
  revocation_app *a = timer->data;
  if (a->head) revocation_answer(a, a->head);
}

/* An applied change is answered settle_ms after its acknowledgements: every
 * healthy instance fetches partner.events at least that often, so once the
 * operator has the answer, requests sent from then on meet the change. */
static void revocation_acked(revocation_app *a, revocation_job *job) {
  if (job->db_ok && !job->delivery_error && a->settle_ms && !a->stopping) {
    uv_timer_start(&a->settle, revocation_on_settled, a->settle_ms, 0);
    return;
  }
  revocation_answer(a, job);
}

static void revocation_on_delivery(void *ctx, void *opaque, int err) {
  revocation_app *a = ctx;
  revocation_job *job = opaque;
  if (!job) {
    /* A summary of failed authentications: no one waits for it. */
    if (err) LOG_WARN("unauthorized_summary_unpublished", LOG_ID("reason", kq_err2str(err)));
    return;
  }
  if (err && !job->delivery_error) job->delivery_error = err;
  if (--job->acks_waiting == 0) revocation_acked(a, job);
}

static const char *revocation_kind_label(admin_op_kind kind) {
  return admin_op_name(kind);
}

/* Publishes the audit event, and the partner event for an applied change;
 * the answer goes out once both are acknowledged. */
static void revocation_publish(revocation_app *a, revocation_job *job) {
  uint8_t audit[MESSAGES_MAX_BYTES], event[MESSAGES_MAX_BYTES];
  char detail[ADMIN_DETAIL_MAX];
  uint64_t now = service_now_ms();
  if (job->db_ok) {
    char extra[64] = "";
    if (job->op.kind == ADMIN_OP_PARTNER_REVOKE)
      snprintf(extra, sizeof extra, "tokens_revoked=%llu", (unsigned long long)job->tokens_revoked);
    else if (job->op.kind == ADMIN_OP_SYSTEM_KEY_ROTATE)
      snprintf(extra, sizeof extra, "new_key_id=%u", job->rotation.key_id);
    admin_detail(&job->op, extra[0] ? extra : NULL, detail, sizeof detail);
  } else if (job->refused_detail[0]) {
    snprintf(detail, sizeof detail, "%s", job->refused_detail);
  } else {
    char extra[64];
    snprintf(extra, sizeof extra, "refused=%s", job->error.code);
    admin_detail(&job->op, extra, detail, sizeof detail);
  }
  size_t audit_len = admin_audit_event(job->request_id, job->op.partner_id, job->db_ok, job->actor,
                                       detail, job->received_at_ms, now, audit, sizeof audit);
  size_t event_len = 0;
  if (job->db_ok) {
    event_len =
        admin_partner_event(&job->op, &job->rotation, job->version, now, event, sizeof event);
  }
  if (!audit_len || (job->db_ok && !event_len)) {
    job->db_ok = false;
    job->error = (admin_error){500, "internal", "an event could not be built"};
    revocation_answer(a, job);
    return;
  }
  job->acks_waiting = 1 + (job->db_ok ? 1 : 0);
  if (job->db_ok) {
    const char *key = admin_event_key(&job->op);
    int rc =
        kq_produce(a->producer, NULL, TOPIC_PARTNER_EVENTS, key, strlen(key), event, event_len, job);
    if (rc) {
      job->acks_waiting--;
      job->delivery_error = -rc;
    } else {
      metrics_add(a->published_total, revocation_kind_label(job->op.kind), 1);
    }
  }
  int rc =
      kq_produce(a->producer, NULL, TOPIC_AUDIT_EVENTS, job->request_id, 16, audit, audit_len, job);
  if (rc) {
    job->acks_waiting--;
    if (!job->delivery_error) job->delivery_error = -rc;
  }
  LOG_INFO("admin_request", LOG_ID("op", admin_op_name(job->op.kind)),
           LOG_ID("partner", job->op.partner_id[0] ? job->op.partner_id : "-"),
           LOG_ID("actor", job->actor), LOG_BOOL("applied", job->db_ok),
           LOG_ID("result", job->db_ok ? "applied" : job->error.code));
  if (job->acks_waiting == 0) revocation_answer(a, job);
}

/* ---- PostgreSQL -------------------------------------------------------- */

static void revocation_on_fn(void *arg, const PGresult *res, const char *error) {
  revocation_job *job = arg;
  (void)error;
  if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) return;
  snprintf(job->db_result, sizeof job->db_result, "%s", PQgetvalue(res, 0, 0));
  job->version = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
  job->tokens_revoked = strtoull(PQgetvalue(res, 0, 2), NULL, 10);
  if (job->op.kind == ADMIN_OP_SYSTEM_KEY_ROTATE && PQnfields(res) >= 6 &&
      !PQgetisnull(res, 0, 3)) {
    job->rotation.key_id = (uint32_t)strtoul(PQgetvalue(res, 0, 3), NULL, 10);
    if (hex_decode(PQgetvalue(res, 0, 4), job->rotation.public_key, 32) != 0)
      job->db_result[0] = '\0';
    job->rotation.retire_after_ms = strtoull(PQgetvalue(res, 0, 5), NULL, 10);
  }
}

static void revocation_on_commit(void *arg, const PGresult *res, const char *error) {
  revocation_job *job = arg;
  revocation_app *a = &app;
  (void)error;
  if (!res || PQresultStatus(res) != PGRES_COMMAND_OK || !job->db_result[0]) {
    /* Nothing was committed (the function failed or the connection went). */
    job->error = (admin_error){503, "unavailable", "the database did not take the change; retry"};
    LOG_WARN("admin_db_failed", LOG_ID("op", admin_op_name(job->op.kind)),
             LOG_ERRTEXT("reason", error ? error : "no result"));
  } else if (admin_db_result(job->db_result, &job->error) == 0) {
    job->db_ok = true;
  }
  revocation_publish(a, job);
}

static void revocation_ignore(void *arg, const PGresult *res, const char *error) {
  (void)arg;
  (void)res;
  (void)error;
}

static void revocation_run_db(revocation_app *a, revocation_job *job) {
  const admin_op *op = &job->op;
  char key_id[16], pk[65], n1[16], n2[16];
  snprintf(key_id, sizeof key_id, "%u", op->key_id);
  hex_encode(op->public_key, 32, pk);
  const char *values[4] = {0};
  const char *statement = NULL;
  int count = 0;
  switch (op->kind) {
    case ADMIN_OP_PARTNER_ADD:
      statement = "admin_partner_add";
      values[0] = op->partner_id, values[1] = op->name, values[2] = key_id, values[3] = pk;
      count = 4;
      break;
    case ADMIN_OP_KEY_ADD:
      statement = "admin_key_add";
      values[0] = op->partner_id, values[1] = key_id, values[2] = pk;
      count = 3;
      break;
    case ADMIN_OP_KEY_REVOKE:
      statement = "admin_key_revoke";
      values[0] = op->partner_id, values[1] = key_id;
      count = 2;
      break;
    case ADMIN_OP_PARTNER_REVOKE:
      statement = "admin_partner_revoke";
      values[0] = op->partner_id, values[1] = op->reason;
      count = 2;
      break;
    case ADMIN_OP_PARTNER_REINSTATE:
      statement = "admin_partner_reinstate";
      values[0] = op->partner_id;
      count = 1;
      break;
    case ADMIN_OP_PARTNER_QUOTA:
      statement = "admin_partner_quota";
      snprintf(n1, sizeof n1, "%u", op->rate);
      snprintf(n2, sizeof n2, "%u", op->burst);
      values[0] = op->partner_id, values[1] = n1, values[2] = n2;
      count = 3;
      break;
    case ADMIN_OP_SYSTEM_KEY_ROTATE:
      statement = "admin_system_key_rotate";
      snprintf(n1, sizeof n1, "%u", op->grace_s);
      values[0] = n1;
      count = 1;
      break;
    default:
      break;
  }
  /* Explicit BEGIN/COMMIT: the answer waits for COMMIT's result, so nothing
   * is published for a change that did not commit. */
  int rc = statement ? pgq_exec(a->db, "BEGIN", revocation_ignore, job) : -EINVAL;
  if (rc == 0)
    rc = pgq_exec_prepared(a->db, statement, count, values, NULL, NULL, revocation_on_fn, job);
  if (rc == 0) rc = pgq_exec(a->db, "COMMIT", revocation_on_commit, job);
  sodium_memzero(pk, sizeof pk);
  if (rc) {
    /* Queries already queued fail with the connection; BEGIN alone changes
     * nothing. The answer comes from COMMIT's callback when it was queued. */
    if (rc == -ENOTCONN || rc == -EINVAL) {
      job->error = (admin_error){503, "unavailable", "the database is not reachable; retry"};
      revocation_publish(a, job);
    }
  }
}

/* ---- the queue ---------------------------------------------------------- */

static void revocation_next(revocation_app *a) {
  if (a->busy) return;
  revocation_job *job = a->head;
  if (!job) {
    if (a->stopping) uv_stop(a->loop);
    return;
  }
  a->busy = true;
  if (job->refused) {
    revocation_publish(a, job);
  } else {
    revocation_run_db(a, job);
  }
}

/* Only printable ASCII of a path goes into the audit trail, shortened. */
static void revocation_safe_path(const char *path, char *out, size_t out_len) {
  size_t n = 0;
  for (const char *p = path; *p && n + 1 < out_len && n < 100; p++)
    out[n++] = (*p > 0x20 && *p < 0x7f && *p != '"' && *p != '\\') ? *p : '?';
  out[n] = '\0';
}

/* Publishes one audit record for the failed authentications since the last
 * one, if any. */
static void revocation_publish_unauthorized(revocation_app *a) {
  if (!a->unauthorized_pending) return;
  uint8_t id[16], audit[MESSAGES_MAX_BYTES];
  char detail[ADMIN_DETAIL_MAX];
  randombytes_buf(id, sizeof id);
  snprintf(detail, sizeof detail, "unauthorized attempts=%llu last=%s",
           (unsigned long long)a->unauthorized_pending, a->unauthorized_last);
  size_t len = admin_audit_event(id, "", false, "unauthenticated", detail,
                                 a->unauthorized_first_ms, service_now_ms(), audit, sizeof audit);
  if (len && kq_produce(a->producer, NULL, TOPIC_AUDIT_EVENTS, id, 16, audit, len, NULL) == 0) {
    a->unauthorized_pending = 0;
  }
}

static void revocation_on_unauthorized_summary(uv_timer_t *timer) {
  revocation_publish_unauthorized(timer->data);
}

/* Answers a request without a valid bearer token at once: it never takes a
 * place in the change queue. */
static void revocation_refuse_unauthorized(revocation_app *a, admin_http_request *req) {
  char path[128];
  revocation_safe_path(req->path, path, sizeof path);
  if (!a->unauthorized_pending) a->unauthorized_first_ms = service_now_ms();
  a->unauthorized_pending++;
  snprintf(a->unauthorized_last, sizeof a->unauthorized_last, "%s %s",
           req->method[0] ? req->method : "?", path);
  metrics_add(a->admin_total, "unauthorized", 1);
  admin_http_respond(req, 401,
                     "{\"error\":\"unauthorized\",\"message\":\"missing or wrong bearer token\"}");
}

static void revocation_on_request(void *ctx, admin_http_request *req) {
  revocation_app *a = ctx;
  if (!admin_authorized(req->authorization, a->token)) {
    revocation_refuse_unauthorized(a, req);
    return;
  }
  if (a->stopping || a->queued >= REVOCATION_MAX_QUEUE) {
    admin_http_respond(req, 503,
                       "{\"error\":\"unavailable\",\"message\":\"too many changes waiting or "
                       "stopping; retry\"}");
    return;
  }
  revocation_job *job = calloc(1, sizeof *job);
  if (!job) {
    admin_http_respond(req, 503, "{\"error\":\"unavailable\",\"message\":\"out of memory\"}");
    return;
  }
  job->req = req;
  job->received_at_ms = service_now_ms();
  randombytes_buf(job->request_id, sizeof job->request_id);
  char path[128];
  revocation_safe_path(req->path, path, sizeof path);
  if (admin_actor(req->actor, job->actor) != 0) {
    job->refused = true;
    snprintf(job->actor, sizeof job->actor, "invalid");
    job->error = (admin_error){400, "invalid_actor",
                               "X-Lindung-Actor must be 1 to 64 characters of A-Z a-z 0-9 . _ @ -"};
    snprintf(job->refused_detail, sizeof job->refused_detail, "refused=invalid_actor %s %s",
             req->method, path);
  } else if (admin_parse(req->method, req->path, req->body, req->body_len, &job->op, &job->error) !=
             0) {
    job->refused = true;
    char partner[sizeof job->op.partner_id];
    memcpy(partner, job->op.partner_id, sizeof partner);
    /* What was asked is kept; the parsed fields may be partial. */
    snprintf(job->refused_detail, sizeof job->refused_detail, "refused=%s %s %s", job->error.code,
             req->method, path);
    memset(&job->op, 0, sizeof job->op);
    memcpy(job->op.partner_id, partner, sizeof partner);
  }
  if (job->refused) job->op.reason[0] = '\0';
  if (a->tail)
    a->tail->next = job;
  else
    a->head = job;
  a->tail = job;
  a->queued++;
  revocation_next(a);
}

/* ---- runtime ------------------------------------------------------------ */

static bool revocation_ready(void *ctx, const char **reason) {
  revocation_app *a = ctx;
  if (a->stopping) {
    *reason = "stopping";
    return false;
  }
  if (!pgq_connected(a->db)) {
    *reason = "postgres";
    return false;
  }
  if (!kq_producer_connected(a->producer)) {
    *reason = "kafka";
    return false;
  }
  return true;
}

static void revocation_on_db_state(void *ctx, bool connected, const char *reason) {
  revocation_app *a = ctx;
  metrics_set(a->db_connected, NULL, connected ? 1 : 0);
  if (connected)
    LOG_INFO("postgres_connected");
  else
    LOG_WARN("postgres_disconnected", LOG_ERRTEXT("reason", reason ? reason : ""));
}

static void revocation_on_kafka_log(void *ctx, int level, const char *facility,
                                    const char *message) {
  (void)ctx;
  if (level > 4) return;
  if (level <= 3)
    LOG_ERROR("kafka_client", LOG_ID("facility", facility), LOG_ERRTEXT("message", message));
  else
    LOG_WARN("kafka_client", LOG_ID("facility", facility), LOG_ERRTEXT("message", message));
}

static void revocation_on_signal(uv_signal_t *handle, int signum) {
  revocation_app *a = handle->data;
  if (a->stopping) return;
  a->stopping = true;
  LOG_INFO("stopping", LOG_INT("signal", signum));
  uv_signal_stop(&a->sigterm);
  uv_signal_stop(&a->sigint);
  uv_close((uv_handle_t *)&a->sigterm, NULL);
  uv_close((uv_handle_t *)&a->sigint, NULL);
  revocation_publish_unauthorized(a);
  uv_close((uv_handle_t *)&a->unauthorized_summary, NULL);
  admin_http_stop(a->admin);
  a->admin = NULL;
  http_server_stop(a->health);
  a->health = NULL;
  /* The change being worked on finishes (its answer goes nowhere now). */
  if (!a->busy && !a->head) uv_stop(a->loop);
}

static int revocation_parse_addr(const char *addr, char *host, size_t host_len, int *port) {
  const char *colon = strrchr(addr, ':');
  if (!colon || colon == addr || (size_t)(colon - addr) >= host_len) return -1;
  memcpy(host, addr, (size_t)(colon - addr));
  host[colon - addr] = '\0';
  char *end;
  long value = strtol(colon + 1, &end, 10);
  if (*end || colon[1] == '\0' || value < 0 || value > 65535) return -1;
  *port = (int)value;
  return 0;
}

static int revocation_read_token(revocation_app *a) {
  char err[256];
  long n = cfg_read_secret(a->token_path, (uint8_t *)a->token, sizeof a->token - 1, true, err,
                           sizeof err);
  if (n < 0) {
    LOG_ERROR("admin_token_unreadable", LOG_ERRTEXT("reason", err));
    return -1;
  }
  a->token[n] = '\0';
  if (n < 32) {
    sodium_memzero(a->token, sizeof a->token);
    LOG_ERROR("admin_token_too_short", LOG_TEXT("expected", "at least 32 characters"));
    return -1;
  }
  for (long i = 0; i < n; i++) {
    if ((unsigned char)a->token[i] <= 0x20 || (unsigned char)a->token[i] >= 0x7f) {
      sodium_memzero(a->token, sizeof a->token);
      LOG_ERROR("admin_token_invalid", LOG_TEXT("expected", "printable characters only"));
      return -1;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  revocation_app *a = &app;
  const cfg_option options[] = {
      CFG_STRING("LINDUNG_ADMIN_ADDR", &a->admin_addr, "127.0.0.1:8081",
                 "host:port of the admin API (TLS is the deployment's job)"),
      CFG_STRING("LINDUNG_ADMIN_TOKEN_FILE", &a->token_path, NULL,
                 "file holding the admin API's bearer token (at least 32 printable characters, "
                 "mode 0600 or stricter)"),
      CFG_UINT("LINDUNG_ADMIN_MAX_BODY", &a->max_body, "16384",
               "largest admin request body in bytes (413 above)"),
      CFG_UINT("LINDUNG_ADMIN_SETTLE_MS", &a->settle_ms, "30",
               "after a change is committed and its events acknowledged, wait this long before "
               "answering, so every healthy instance (which fetches partner.events every few "
               "milliseconds) has applied it when the operator gets the answer"),
  };
  int rc = service_configure(argc, argv, "lindung-revocation",
                             "Owns every change to the partner registry: an admin HTTP API that "
                             "writes each change to PostgreSQL and publishes it on partner.events "
                             "and audit.events before answering.",
                             &a->common, options, sizeof options / sizeof options[0]);
  if (rc) return rc > 0 ? 0 : 2;
  if (sodium_init() < 0) {
    LOG_ERROR("sodium_init_failed");
    return 1;
  }
  if (a->max_body == 0 || a->max_body > 1048576) {
    LOG_ERROR("bad_setting", LOG_ID("variable", "LINDUNG_ADMIN_MAX_BODY"),
              LOG_TEXT("expected", "1 to 1048576"));
    return 2;
  }
  if (revocation_read_token(a)) return 1;
  char admin_host[128], health_host[128];
  int admin_port, health_port;
  if (revocation_parse_addr(a->admin_addr, admin_host, sizeof admin_host, &admin_port) ||
      revocation_parse_addr(a->common.http_addr, health_host, sizeof health_host, &health_port)) {
    LOG_ERROR("bad_setting", LOG_TEXT("variable", "LINDUNG_ADMIN_ADDR or LINDUNG_HTTP_ADDR"),
              LOG_TEXT("expected", "host:port"));
    return 2;
  }
  a->loop = uv_default_loop();
  a->metrics = metrics_registry_new();
  a->published_total =
      metrics_counter(a->metrics, "lindung_partner_events_published_total",
                      "PartnerEvents published on partner.events, by change.", "kind");
  a->admin_total = metrics_counter(a->metrics, "lindung_admin_requests_total",
                                   "Admin API requests answered, by outcome (applied or an "
                                   "error code).",
                                   "outcome");
  a->db_connected = metrics_gauge(a->metrics, "lindung_postgres_connected",
                                  "1 while the PostgreSQL connection is up.", NULL);
  char err[256];
  const char *properties[] = {"message.timeout.ms", "10000", "linger.ms", "0", NULL};
  kq_settings kafka = {.brokers = a->common.brokers,
                       .client_id = "lindung-revocation",
                       .security = &a->common.kafka_security,
                       .properties = properties,
                       .log = revocation_on_kafka_log,
                       .log_ctx = a};
  if (kq_producer_open(a->loop, &kafka, revocation_on_delivery, a, &a->producer, err, sizeof err)) {
    LOG_ERROR("kafka_producer_failed", LOG_ERRTEXT("reason", err));
    return 1;
  }
  if (pgq_open(a->loop, a->common.db_url, revocation_statements,
               sizeof revocation_statements / sizeof revocation_statements[0],
               revocation_on_db_state, a, &a->db, err, sizeof err)) {
    LOG_ERROR("postgres_open_failed", LOG_ERRTEXT("reason", err));
    return 1;
  }
  http_settings health = {.host = health_host,
                          .port = health_port,
                          .metrics = a->metrics,
                          .ready = revocation_ready,
                          .ctx = a};
  if (http_server_start(a->loop, &health, &a->health, err, sizeof err)) {
    LOG_ERROR("http_listen_failed", LOG_ERRTEXT("reason", err));
    return 1;
  }
  if (admin_http_start(a->loop, admin_host, admin_port, a->max_body, revocation_on_request, a,
                       &a->admin, err, sizeof err)) {
    LOG_ERROR("admin_listen_failed", LOG_ERRTEXT("reason", err));
    return 1;
  }
  uv_timer_init(a->loop, &a->settle);
  a->settle.data = a;
  uv_timer_init(a->loop, &a->unauthorized_summary);
  a->unauthorized_summary.data = a;
  uv_timer_start(&a->unauthorized_summary, revocation_on_unauthorized_summary,
                 REVOCATION_UNAUTHORIZED_SUMMARY_MS, REVOCATION_UNAUTHORIZED_SUMMARY_MS);
  uv_signal_init(a->loop, &a->sigterm);
  uv_signal_init(a->loop, &a->sigint);
  a->sigterm.data = a->sigint.data = a;
  uv_signal_start(&a->sigterm, revocation_on_signal, SIGTERM);
  uv_signal_start(&a->sigint, revocation_on_signal, SIGINT);
  LOG_INFO("started", LOG_INT("admin_port", admin_http_port(a->admin)),
           LOG_INT("http_port", http_server_port(a->health)));
  uv_run(a->loop, UV_RUN_DEFAULT);
  kq_producer_close(a->producer, 10000);
  pgq_close(a->db);
  uv_close((uv_handle_t *)&a->settle, NULL);
  uv_run(a->loop, UV_RUN_DEFAULT);
  metrics_registry_free(a->metrics);
  sodium_memzero(a->token, sizeof a->token);
  LOG_INFO("stopped");
  uv_loop_close(a->loop);
  return 0;
}
