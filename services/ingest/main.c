/* lindung-ingest: the edge of the scan path. Reads partner requests from
 * scan.requests, forwards the well-formed ones of known, active partners
 * within their quota to scan.accepted, answers the others with an error
 * code on the partner's topic, and dead-letters what cannot be attributed.
 * It never sees clear text. The rules are in ingest_rules.c; this file only
 * wires them to the runtime (service.h) and the registry (registry_pg.h). */
#include <stdlib.h>

#include "ingest_rules.h"
#include "log.h"
#include "partner_events.h"
#include "quota.h"
#include "registry_pg.h"
#include "service.h"

typedef struct ingest_service {
  service svc;
  registry_pg *registry;
  partner_events *events; /* partner.events applied live */
  quota_table *quotas;
  uv_signal_t sigterm, sigint; /* besides the runtime's own, see ingest_stop */
  bool consuming;
  bool stopped;
  bool failed;
  int exit_status;
  ingest_result result; /* reused for every input: no allocation per message */
} ingest_service;

static ingest_service main_ingest;

static void ingest_stop_registry_timer(uv_handle_t *handle, void *loader) {
  if (handle->type == UV_TIMER && handle->data == loader && !uv_is_closing(handle)) {
    uv_timer_stop((uv_timer_t *)handle);
  }
}

/* Every way out goes through here. The runtime's stop runs the loop until
 * no handle is active, so the registry's poll timer must stop first; the
 * loader itself is freed only after service_run, once the database client
 * has failed its pending queries (whose callbacks still use the loader). */
static void ingest_stop(ingest_service *s) {
  if (s->stopped) return;
  s->stopped = true;
  uv_walk(s->svc.loop, ingest_stop_registry_timer, s->registry);
  partner_events_stop(s->events);
  uv_signal_stop(&s->sigterm);
  uv_signal_stop(&s->sigint);
  uv_close((uv_handle_t *)&s->sigterm, NULL);
  uv_close((uv_handle_t *)&s->sigint, NULL);
  uv_stop(s->svc.loop);
}

static void ingest_on_signal(uv_signal_t *handle, int signum) {
  (void)signum;
  ingest_stop(handle->data);
}

/* A produce that fails means the producer is broken (fatal error or a local
 * queue that stays full). The input is left incomplete so its offset is
 * never stored, and the service stops: a restart reads it again. */
static void ingest_fail(ingest_service *s, int rc) {
  if (s->failed) return;
  s->failed = true;
  s->exit_status = 1;
  LOG_ERROR("produce_failed", LOG_INT("rc", rc));
  ingest_stop(s);
}

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
  if (r->outcome == INGEST_DEAD_LETTERED) {
    rc = service_dead_letter(&s->svc, input, r->reason ? r->reason : "internal_error");
  } else {
    rc = service_produce(&s->svc, input, r->topic, r->key_len ? r->key : NULL, r->key_len, r->value,
                         r->value_len);
  }
  if (rc == 0 && r->audit_len) {
    rc = service_produce(&s->svc, input, "audit.events", r->audit_key, r->audit_key_len, r->audit,
                         r->audit_len);
  }
  if (rc != 0) {
    ingest_fail(s, rc);
    return;
  }
  kq_input_done(input);
  service_count(&s->svc, r->metric_label, service_monotonic_s() - started);
}

static void ingest_on_batch(void *ctx, kq_input *const *inputs, size_t count) {
  ingest_service *s = ctx;
  /* Events already fetched apply first: a revocation acknowledged before
   * these requests were read is never missed because of serving order. */
  partner_events_poll(s->events);
  /* One snapshot per batch: a reload swaps it only between batches. */
  const registry *reg = registry_pg_current(s->registry);
  for (size_t i = 0; i < count && !s->failed; i++) ingest_handle(s, reg, inputs[i]);
}

static bool ingest_ready(void *ctx, const char **reason) {
  ingest_service *s = ctx;
  if (!registry_pg_current(s->registry)) {
    *reason = "registry";
    return false;
  }
  return partner_events_ready(s->events, reason);
}

static void ingest_on_registry(void *ctx, const registry *current) {
  ingest_service *s = ctx;
  /* A load older than events already applied is brought forward first. */
  if (partner_events_registry_changed(s->events, current)) return;
  LOG_INFO("registry_loaded", LOG_INT("version", registry_version(current)),
           LOG_INT("partners", registry_partner_count(current)));
  /* Inputs are taken only once the registry is known: before that every
   * partner would look unknown. */
  if (!s->consuming && !s->stopped) {
    s->consuming = true;
    if (service_start_consuming(&s->svc) != 0) {
      s->exit_status = 1;
      ingest_stop(s);
    }
  }
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
                             "scan.requests (shape, partner, keys, clock, quota) and forwards "
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
      .input_topic = "scan.requests",
      .uses_db = true,
      .statements = registry_pg_statements,
      .statement_count = registry_pg_statement_count,
      .on_batch = ingest_on_batch,
      .ready = ingest_ready,
      .ctx = s,
  };
  if (service_open(&s->svc, &settings, &common) != 0) return 1;
  s->registry = registry_pg_start(s->svc.loop, s->svc.db, poll_ms, ingest_on_registry, s);
  if (!s->registry) {
    LOG_ERROR("registry_start_failed");
    return 1;
  }
  if (partner_events_start(&s->svc, s->registry, &s->events) != 0) {
    LOG_ERROR("partner_events_start_failed");
    return 1;
  }
  uv_signal_init(s->svc.loop, &s->sigterm);
  uv_signal_init(s->svc.loop, &s->sigint);
  s->sigterm.data = s->sigint.data = s;
  uv_signal_start(&s->sigterm, ingest_on_signal, SIGTERM);
  uv_signal_start(&s->sigint, ingest_on_signal, SIGINT);
  int status = service_run(&s->svc);
  /* The loader's timer was stopped, not closed: close it now and let the
   * loop run its close callback. */
  ingest_stop(s);
  registry_pg_stop(s->registry);
  uv_run(s->svc.loop, UV_RUN_DEFAULT);
  uv_loop_close(s->svc.loop);
  partner_events_free(s->events);
  quota_table_free(s->quotas);
  return s->exit_status ? s->exit_status : status;
}
