/* resolver_retention: periodic deletion of what the rules no longer need
 * (see resolver_retention.h). */
#include "resolver_retention.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "messages.h"
#include "resolver_periodic.h"
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
  resolver_periodic *job;
};

static void resolver_retention_on_result(void *arg, const PGresult *res, const char *error) {
  resolver_retention *r = arg;
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

/* The statement's parameter: now, in milliseconds. */
static void resolver_retention_param(void *ctx, char *out, size_t len) {
  (void)ctx;
  snprintf(out, len, "%" PRIu64, service_now_ms());
}

resolver_retention *resolver_retention_new(service *svc, uint32_t interval_s) {
  resolver_retention *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->svc = svc;
  resolver_periodic_job job = {.statement = "lindung_retention",
                               .first_ms = RESOLVER_RETENTION_FIRST_MS,
                               .interval_ms = (uint64_t)interval_s * 1000,
                               .param = resolver_retention_param,
                               .on_result = resolver_retention_on_result,
                               .ctx = r};
  r->job = resolver_periodic_new(svc, &job);
  if (!r->job) {
    free(r);
    return NULL;
  }
  return r;
}

void resolver_retention_stop(resolver_retention *r) {
  if (r) resolver_periodic_stop(r->job);
}

void resolver_retention_free(resolver_retention *r) {
  if (!r) return;
  resolver_periodic_free(r->job);
  free(r);
}
