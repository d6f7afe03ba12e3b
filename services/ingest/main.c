/* lindung-ingest: the edge of the scan path. Reads partner requests from
 * every partner's own scan.requests.<partner_id> (one pattern subscription:
 * a partner added at run time is read without a restart; the topic names the
 * sender), forwards the well-formed ones of known, active partners
 * within their quota to scan.accepted, answers the others with an error
 * code on the partner's topic, and dead-letters what cannot be attributed.
 * It never sees clear text. The rules are in ingest_rules.c; this file only
 * wires them to the runtime (service.h), which keeps the registry current. */
#include <stdlib.h>

#include "ingest_rules.h"
#include "log.h"
#include "quota.h"
#include "service.h"
#include "topics.h"

typedef struct ingest_service {
  service *svc;
  quota_table *quotas;
  ingest_result result; /* reused for every input: no allocation per message */
} ingest_service;

static ingest_service main_ingest;

static void ingest_handle(ingest_service *s, const registry *reg, kq_input *input) {
  double started = service_monotonic_s();
  ingest_result *r = &s->result;
  int rc = ingest_decide(reg, s->quotas, service_now_ms(), input, r);
  if (rc != 0 && r->outcome != INGEST_DEAD_LETTERED) {
    /* An output that does not fit is a bug; keep the input for operators. */
    r->outcome = INGEST_DEAD_LETTERED;
    r->reason = "internal_error";
    r->metric_label = "deadletter";
  }
  service_outputs outputs = {
      .dead_letter_reason =
          r->outcome == INGEST_DEAD_LETTERED ? (r->reason ? r->reason : "internal_error") : NULL,
      .topic = r->topic,
      .key = r->key,
      .key_len = r->key_len,
      .value = r->value,
      .value_len = r->value_len,
      .audit_key = r->audit_key,
      .audit_key_len = r->audit_key_len,
      .audit = r->audit,
      .audit_len = r->audit_len,
      .metric_label = r->metric_label,
  };
  service_finish_input(s->svc, input, &outputs, started);
}

static void ingest_on_batch(void *ctx, kq_input *const *inputs, size_t count) {
  ingest_service *s = ctx;
  /* One snapshot per batch: a reload or an event swaps it only between batches. */
  const registry *reg = service_registry(s->svc);
  for (size_t i = 0; i < count && !service_stopping(s->svc); i++) ingest_handle(s, reg, inputs[i]);
}

int main(int argc, char **argv) {
  static service_common common;
  static uint32_t poll_ms;
  const cfg_option options[] = {
      CFG_UINT("LINDUNG_REGISTRY_POLL_MS", &poll_ms, "500",
               "how often to look for registry changes in PostgreSQL"),
  };
  int rc = service_configure(argc, argv, "lindung-ingest",
                             "The edge of the scan path: checks partner requests on "
                             "every scan.requests.<partner_id> (shape, partner, keys, clock, quota) and forwards "
                             "them to scan.accepted, or answers an error code.",
                             &common, options, sizeof options / sizeof options[0]);
  if (rc) return rc > 0 ? 0 : 2;
  if (poll_ms == 0) {
    LOG_ERROR("bad_setting", LOG_ID("variable", "LINDUNG_REGISTRY_POLL_MS"),
              LOG_TEXT("expected", "at least 1"));
    return 2;
  }

  ingest_service *s = &main_ingest;
  s->quotas = quota_table_new();
  if (!s->quotas) {
    LOG_ERROR("out_of_memory");
    return 1;
  }
  service_settings settings = {
      .name = "ingest",
      .input_topic = TOPIC_SCAN_REQUESTS_PATTERN,
      .uses_db = true,
      /* exactly one scan.accepted record per request, even across a kill:
       * a redelivered copy downstream could otherwise get a second answer */
      .transactional = true,
      .on_batch = ingest_on_batch,
      .uses_registry = true,
      .registry_poll_ms = poll_ms,
      .ctx = s,
  };
  if (service_open(&s->svc, &settings, &common) != 0) return 1;
  int status = service_run(s->svc);
  quota_table_free(s->quotas);
  return status;
}
