/* resolver_rule_audit: rule changes into the audit trail (see
 * resolver_rule_audit.h). */
#include "resolver_rule_audit.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "messages.h"
#include "pg_array.h"
#include "resolver_periodic.h"
#include "resolver_rules.h"
#include "topics.h"

static const char resolver_rule_audit_sql[] =
    "SELECT change_id, (extract(epoch FROM at) * 1000)::bigint, actor, table_name,"
    " lower(operation), coalesce(new_row, old_row)::text"
    " FROM rule_changes WHERE change_id > $1::bigint ORDER BY change_id"
    " LIMIT 200"; /* more wait for the next tick */

const pgq_statement resolver_rule_audit_statements[] = {
    {"rule_changes_since", resolver_rule_audit_sql, 1},
};
const size_t resolver_rule_audit_statement_count =
    sizeof resolver_rule_audit_statements / sizeof resolver_rule_audit_statements[0];

struct resolver_rule_audit {
  service *svc;
  resolver_periodic *job;
  int64_t last_sent; /* change_id of the last change produced */
};

void resolver_rule_audit_id(const resolver_rule_change *change, uint8_t out[16]) {
  static const char domain[] = "lindung rule_change v1";
  uint8_t fixed[16];
  uint64_t id = (uint64_t)change->change_id, at = (uint64_t)change->at_ms;
  for (int i = 0; i < 8; i++) {
    fixed[i] = (uint8_t)(id >> (56 - 8 * i));
    fixed[8 + i] = (uint8_t)(at >> (56 - 8 * i));
  }
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, 16);
  crypto_generichash_update(&st, (const uint8_t *)domain, sizeof domain - 1);
  crypto_generichash_update(&st, fixed, sizeof fixed);
  crypto_generichash_final(&st, out, 16);
}

/* Copies text into buf (of len bytes), cut at a character boundary. */
static const char *resolver_rule_audit_text(const char *text, char *buf, size_t len) {
  const char *t = text ? text : "";
  size_t max = len - 1 < RESOLVER_RULE_AUDIT_TEXT_MAX ? len - 1 : RESOLVER_RULE_AUDIT_TEXT_MAX;
  size_t keep = resolver_utf8_cut(t, strlen(t), max);
  memcpy(buf, t, keep);
  buf[keep] = '\0';
  return buf;
}

void resolver_rule_audit_fill(const resolver_rule_change *change, const uint8_t id[16],
                              uint64_t now_ms, char *detail_buf, size_t detail_len,
                              char *actor_buf, size_t actor_len, Lindung__V1__AuditEvent *out) {
  Lindung__V1__AuditEvent init = LINDUNG__V1__AUDIT_EVENT__INIT;
  *out = init;
  out->version = 1;
  out->stage = LINDUNG__V1__AUDIT_STAGE__AUDIT_STAGE_ADMIN;
  out->outcome = LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_APPLIED;
  out->request_id.data = (uint8_t *)id;
  out->request_id.len = 16;
  char whole[RESOLVER_RULE_AUDIT_TEXT_MAX * 2];
  snprintf(whole, sizeof whole, "rule_change %s %s %s",
           change->table_name ? change->table_name : "",
           change->operation ? change->operation : "", change->row_json ? change->row_json : "");
  out->detail = (char *)resolver_rule_audit_text(whole, detail_buf, detail_len);
  out->actor = (char *)resolver_rule_audit_text(change->actor, actor_buf, actor_len);
  out->handled_at_ms = now_ms;
  out->sent_at_ms = change->at_ms > 0 ? (uint64_t)change->at_ms : 0;
  out->service = (char *)RESOLVER_SERVICE_NAME;
}

static void resolver_rule_audit_on_result(void *arg, const PGresult *res, const char *error) {
  resolver_rule_audit *a = arg;
  if (error || !res || PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != 6) {
    LOG_WARN("rule_audit_failed", LOG_ERRTEXT("reason", error ? error : "unexpected result"));
    return;
  }
  for (int row = 0; row < PQntuples(res); row++) {
    resolver_rule_change change = {0};
    if (pg_cell_int(res, row, 0, &change.change_id) || pg_cell_int(res, row, 1, &change.at_ms)) {
      LOG_WARN("rule_audit_failed", LOG_TEXT("reason", "bad row"));
      return;
    }
    change.actor = pg_cell_text(res, row, 2);
    change.table_name = pg_cell_text(res, row, 3);
    change.operation = pg_cell_text(res, row, 4);
    change.row_json = pg_cell_text(res, row, 5);
    uint8_t id[16];
    resolver_rule_audit_id(&change, id);
    char detail[RESOLVER_RULE_AUDIT_TEXT_MAX + 1], actor[RESOLVER_RULE_AUDIT_TEXT_MAX + 1];
    Lindung__V1__AuditEvent event;
    resolver_rule_audit_fill(&change, id, service_now_ms(), detail, sizeof detail, actor,
                             sizeof actor, &event);
    uint8_t out[MESSAGES_MAX_BYTES];
    size_t len = messages_audit_event(&event, out, sizeof out);
    /* Not produced: tried again from this change at the next tick. */
    if (!len || service_produce(a->svc, NULL, TOPIC_AUDIT_EVENTS, id, sizeof id, out, len)) return;
    a->last_sent = change.change_id;
  }
  if (PQntuples(res) > 0)
    LOG_INFO("rule_changes_audited", LOG_INT("count", PQntuples(res)),
             LOG_INT("last_change_id", a->last_sent));
}

/* The statement's parameter: the last change carried. */
static void resolver_rule_audit_param(void *ctx, char *out, size_t len) {
  const resolver_rule_audit *a = ctx;
  snprintf(out, len, "%" PRId64, a->last_sent);
}

resolver_rule_audit *resolver_rule_audit_new(service *svc, uint32_t interval_ms) {
  resolver_rule_audit *a = calloc(1, sizeof *a);
  if (!a) return NULL;
  a->svc = svc;
  resolver_periodic_job job = {.statement = "rule_changes_since",
                               .first_ms = interval_ms,
                               .interval_ms = interval_ms,
                               .param = resolver_rule_audit_param,
                               .on_result = resolver_rule_audit_on_result,
                               .ctx = a};
  a->job = resolver_periodic_new(svc, &job);
  if (!a->job) {
    free(a);
    return NULL;
  }
  return a;
}

void resolver_rule_audit_stop(resolver_rule_audit *a) {
  if (a) resolver_periodic_stop(a->job);
}

void resolver_rule_audit_free(resolver_rule_audit *a) {
  if (!a) return;
  resolver_periodic_free(a->job);
  free(a);
}
