/* resolver_periodic: one prepared statement at intervals (see
 * resolver_periodic.h). */
#include "resolver_periodic.h"

#include <stdbool.h>
#include <stdlib.h>

struct resolver_periodic {
  service *svc;
  resolver_periodic_job job;
  uv_timer_t timer;
  bool running, stopping;
};

static void resolver_periodic_on_result(void *arg, const PGresult *res, const char *error) {
  resolver_periodic *p = arg;
  p->running = false;
  p->job.on_result(p->job.ctx, res, error);
}

static void resolver_periodic_on_timer(uv_timer_t *timer) {
  resolver_periodic *p = timer->data;
  if (p->stopping || p->running || !pgq_connected(service_db(p->svc))) return;
  char param[64];
  p->job.param(p->job.ctx, param, sizeof param);
  const char *values[1] = {param};
  if (pgq_exec_prepared(service_db(p->svc), p->job.statement, 1, values, NULL, NULL,
                        resolver_periodic_on_result, p) == 0)
    p->running = true;
}

resolver_periodic *resolver_periodic_new(service *svc, const resolver_periodic_job *job) {
  resolver_periodic *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->svc = svc;
  p->job = *job;
  uv_timer_init(service_loop(svc), &p->timer);
  p->timer.data = p;
  if (job->interval_ms > 0)
    uv_timer_start(&p->timer, resolver_periodic_on_timer, job->first_ms, job->interval_ms);
  return p;
}

void resolver_periodic_stop(resolver_periodic *p) {
  if (!p || p->stopping) return;
  p->stopping = true;
  uv_timer_stop(&p->timer);
  uv_close((uv_handle_t *)&p->timer, NULL);
}

void resolver_periodic_free(resolver_periodic *p) {
  free(p);
}
