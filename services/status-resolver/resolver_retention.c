/* resolver_retention: periodic deletion of what the rules no longer need
 * (see resolver_retention.h). */
#include "resolver_retention.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "messages.h"
#include "resolver_rules.h"
#include "topics.h"

/* The first run waits for the service to settle. */
#define RESOLVER_RETENTION_FIRST_MS 5000

static const char resolver_retention_sql[] =
    "SELECT o_check_ins, o_replay_records, o_health_facts FROM lindung_retention("
    "timestamptz 'epoch' + $1::bigint * interval '1 millisecond')";

const pgq_statement resolver_retention_statements[] = {
    {"lindung_retention", resolver_retention_sql, 1},
};
const size_t resolver_retention_statement_count =
    sizeof resolver_retention_statements / sizeof resolver_retention_statements[0];

struct resolver_retention {
  service *svc;
  uv_timer_t timer;
  bool running, stopping;
};

static void resolver_retention_on_result(void *arg, const PGresult *res, const char *error) {
  resolver_retention *r = arg;
  r->running = false;
  if (error || !res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
    LOG_WARN("retention_failed", LOG_ERRTEXT("reason", error ? error : "unexpected result"));
    return;
  }
  long long check_ins = atoll(PQgetvalue(res, 0, 0)), replays = atoll(PQgetvalue(res, 0, 1)),
            facts = atoll(PQgetvalue(res, 0, 2));
  char detail[128];
  snprintf(detail, sizeof detail, "retention check_ins=%lld replay_records=%lld health_facts=%lld",
           check_ins, replays, facts);
  uint8_t run_id[16];
  randombytes_buf(run_id, sizeof run_id);
  Lindung__V1__AuditEvent event = LINDUNG__V1__AUDIT_EVENT__INIT;
  event.version = 1;
  event.stage = LINDUNG__V1__AUDIT_STAGE__AUDIT_STAGE_ADMIN;
  event.outcome = LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_APPLIED;
  event.request_id.data = run_id;
  event.request_id.len = sizeof run_id;
  event.detail = detail;
  event.actor = (char *)RESOLVER_SERVICE_NAME;
  event.service = (char *)RESOLVER_SERVICE_NAME;
  event.handled_at_ms = service_now_ms();
  uint8_t out[MESSAGES_MAX_BYTES];
  size_t len = messages_audit_event(&event, out, sizeof out);
  if (len) service_produce(r->svc, NULL, TOPIC_AUDIT_EVENTS, run_id, sizeof run_id, out, len);
  LOG_INFO("retention_done", LOG_INT("check_ins", check_ins), LOG_INT("replay_records", replays),
           LOG_INT("health_facts", facts));
}

static void resolver_retention_on_timer(uv_timer_t *timer) {
  resolver_retention *r = timer->data;
  if (r->stopping || r->running || !pgq_connected(service_db(r->svc))) return;
  char now[24];
  snprintf(now, sizeof now, "%" PRIu64, service_now_ms());
  const char *values[1] = {now};
  if (pgq_exec_prepared(service_db(r->svc), "lindung_retention", 1, values, NULL, NULL,
                        resolver_retention_on_result, r) == 0)
    r->running = true;
}

resolver_retention *resolver_retention_new(service *svc, uint32_t interval_s) {
  resolver_retention *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->svc = svc;
  uv_timer_init(service_loop(svc), &r->timer);
  r->timer.data = r;
  if (interval_s > 0)
    uv_timer_start(&r->timer, resolver_retention_on_timer, RESOLVER_RETENTION_FIRST_MS,
                   (uint64_t)interval_s * 1000);
  return r;
}

void resolver_retention_stop(resolver_retention *r) {
  if (!r || r->stopping) return;
  r->stopping = true;
  uv_timer_stop(&r->timer);
  uv_close((uv_handle_t *)&r->timer, NULL);
}

void resolver_retention_free(resolver_retention *r) {
  free(r);
}
