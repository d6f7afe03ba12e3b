/* revocation_changes: the admin API's change queue (see
 * revocation_changes.h). */
#include "revocation_changes.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_api.h"
#include "admin_json.h"
#include "admin_operators.h"
#include "hex.h"
#include "json_write.h"
#include "log.h"
#include "messages.h"
#include "topics.h"

#define REVOCATION_MAX_QUEUE 256
/* Failed authentications are summed up in one audit record per interval:
 * a stranger's flood costs one counter increment each, not a queue place,
 * a Kafka message and an audit row. */
#define REVOCATION_UNAUTHORIZED_SUMMARY_MS 2000

typedef struct revocation_job {
  struct revocation_changes *changes;
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

struct revocation_changes {
  service *svc;
  admin_http *admin;
  admin_operators *operators;
  uint32_t settle_ms;
  uv_timer_t settle; /* delays the answer of the job at the head */
  metrics_family *published_total;
  metrics_family *admin_total;
  uv_timer_t unauthorized_summary;
  uint64_t unauthorized_pending;  /* since the last summary record */
  uint64_t unauthorized_first_ms; /* when the first of them arrived */
  char unauthorized_last[144];    /* "METHOD path" of the latest one */
  revocation_job *head, *tail;    /* head is the job being worked on */
  size_t queued;
  bool busy;
  bool stopping;
  bool timers_closed;
};

const pgq_statement revocation_changes_statements[] = {
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
const size_t revocation_changes_statement_count =
    sizeof revocation_changes_statements / sizeof revocation_changes_statements[0];

static void revocation_next(revocation_changes *a);

static void revocation_close_timers(revocation_changes *a) {
  if (a->timers_closed) return;
  a->timers_closed = true;
  uv_close((uv_handle_t *)&a->settle, NULL);
  uv_close((uv_handle_t *)&a->unauthorized_summary, NULL);
}

/* ---- answering ------------------------------------------------------- */

static void revocation_error_json(const admin_error *error, char *out, size_t out_len) {
  char message[400];
  if (json_write_escaped(error->message, message, sizeof message) < 0) message[0] = '\0';
  snprintf(out, out_len, "{\"error\":\"%s\",\"message\":\"%s\"}", error->code, message);
}

static void revocation_finish(revocation_changes *a, revocation_job *job, int status,
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

static void revocation_answer(revocation_changes *a, revocation_job *job) {
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
  revocation_changes *a = timer->data;
  if (a->head) revocation_answer(a, a->head);
}

/* An applied change is answered settle_ms after its acknowledgements: every
 * healthy instance fetches partner.events at least that often, so once the
 * operator has the answer, requests sent from then on meet the change. */
static void revocation_acked(revocation_changes *a, revocation_job *job) {
  if (job->db_ok && !job->delivery_error && a->settle_ms && !a->stopping) {
    uv_timer_start(&a->settle, revocation_on_settled, a->settle_ms, 0);
    return;
  }
  revocation_answer(a, job);
}

void revocation_changes_on_delivery(void *ctx, void *opaque, int err) {
  revocation_changes *a = ctx;
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
static void revocation_publish(revocation_changes *a, revocation_job *job) {
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
        service_publish(a->svc, TOPIC_PARTNER_EVENTS, key, strlen(key), event, event_len, job);
    if (rc) {
      job->acks_waiting--;
      job->delivery_error = -rc;
    } else {
      metrics_add(a->published_total, revocation_kind_label(job->op.kind), 1);
    }
  }
  int rc =
      service_publish(a->svc, TOPIC_AUDIT_EVENTS, job->request_id, 16, audit, audit_len, job);
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
  revocation_changes *a = job->changes;
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

static void revocation_run_db(revocation_changes *a, revocation_job *job) {
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
  int rc = statement ? pgq_exec(service_db(a->svc), "BEGIN", revocation_ignore, job) : -EINVAL;
  if (rc == 0)
    rc = pgq_exec_prepared(service_db(a->svc), statement, count, values, NULL, NULL, revocation_on_fn, job);
  if (rc == 0) rc = pgq_exec(service_db(a->svc), "COMMIT", revocation_on_commit, job);
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

static void revocation_next(revocation_changes *a) {
  if (a->busy) return;
  revocation_job *job = a->head;
  if (!job) {
    if (a->stopping) revocation_close_timers(a);
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
static void revocation_publish_unauthorized(revocation_changes *a) {
  if (!a->unauthorized_pending) return;
  uint8_t id[16], audit[MESSAGES_MAX_BYTES];
  char detail[ADMIN_DETAIL_MAX];
  randombytes_buf(id, sizeof id);
  snprintf(detail, sizeof detail, "unauthorized attempts=%llu last=%s",
           (unsigned long long)a->unauthorized_pending, a->unauthorized_last);
  size_t len = admin_audit_event(id, "", false, "unauthenticated", detail,
                                 a->unauthorized_first_ms, service_now_ms(), audit, sizeof audit);
  if (len && service_publish(a->svc, TOPIC_AUDIT_EVENTS, id, 16, audit, len, NULL) == 0) {
    a->unauthorized_pending = 0;
  }
}

static void revocation_on_unauthorized_summary(uv_timer_t *timer) {
  revocation_publish_unauthorized(timer->data);
}

/* Answers a request without a valid bearer token at once: it never takes a
 * place in the change queue. */
static void revocation_refuse_unauthorized(revocation_changes *a, admin_http_request *req) {
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

void revocation_changes_on_request(void *ctx, admin_http_request *req) {
  revocation_changes *a = ctx;
  char err[256];
  if (admin_operators_refresh(a->operators, service_now_ms(), err, sizeof err) < 0)
    LOG_ERROR("admin_operators_refused", LOG_ERRTEXT("reason", err));
  const admin_operator *who = admin_operators_match(a->operators, req->authorization);
  if (!who) {
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
  job->changes = a;
  job->req = req;
  job->received_at_ms = service_now_ms();
  randombytes_buf(job->request_id, sizeof job->request_id);
  char path[128];
  revocation_safe_path(req->path, path, sizeof path);
  /* The actor is who authenticated, never what the client says. */
  snprintf(job->actor, sizeof job->actor, "%s", who->name);
  if (admin_parse(req->method, req->path, req->body, req->body_len, &job->op, &job->error) !=
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

/* ---- lifetime ----------------------------------------------------------- */

void revocation_changes_on_stop(void *ctx) {
  revocation_changes *a = ctx;
  a->stopping = true;
  if (!a->svc) return; /* never attached: the admin API failed to start */
  revocation_publish_unauthorized(a);
  uv_timer_stop(&a->unauthorized_summary);
  admin_http_stop(a->admin);
  a->admin = NULL;
  /* The change being worked on finishes (its answer goes nowhere now). */
  if (!a->busy && !a->head) revocation_close_timers(a);
}

bool revocation_changes_busy(void *ctx) {
  revocation_changes *a = ctx;
  return a->head != NULL;
}

revocation_changes *revocation_changes_new(admin_operators *operators, uint32_t settle_ms) {
  revocation_changes *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->operators = operators;
  c->settle_ms = settle_ms;
  return c;
}

void revocation_changes_attach(revocation_changes *c, service *svc, admin_http *admin) {
  c->svc = svc;
  c->admin = admin;
  metrics_registry *m = service_metrics(svc);
  c->published_total =
      metrics_counter(m, "lindung_partner_events_published_total",
                      "PartnerEvents published on partner.events, by change.", "kind");
  /* Every kind at 0 from the start: a first event must be an increase for
   * LindungPartnerEventsNotApplied (a series born at 1 shows none). */
  for (admin_op_kind kind = ADMIN_OP_PARTNER_ADD; kind <= ADMIN_OP_SYSTEM_KEY_ROTATE; kind++)
    metrics_add(c->published_total, revocation_kind_label(kind), 0);
  c->admin_total = metrics_counter(m, "lindung_admin_requests_total",
                                   "Admin API requests answered, by outcome (applied or an "
                                   "error code).",
                                   "outcome");
  uv_loop_t *loop = service_loop(svc);
  uv_timer_init(loop, &c->settle);
  c->settle.data = c;
  uv_timer_init(loop, &c->unauthorized_summary);
  c->unauthorized_summary.data = c;
  uv_timer_start(&c->unauthorized_summary, revocation_on_unauthorized_summary,
                 REVOCATION_UNAUTHORIZED_SUMMARY_MS, REVOCATION_UNAUTHORIZED_SUMMARY_MS);
}

void revocation_changes_free(revocation_changes *c) { free(c); }
