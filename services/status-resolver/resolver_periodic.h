/* resolver_periodic: a job of the resolver that runs one prepared
 * statement at intervals on the service's loop (retention, rule changes
 * into the audit trail): never two runs at once, none while PostgreSQL is
 * away, none once the service stops. Prefix resolver_periodic_. */
#ifndef LINDUNG_RESOLVER_PERIODIC_H
#define LINDUNG_RESOLVER_PERIODIC_H

#include <stddef.h>
#include <stdint.h>

#include "pg_client.h"
#include "service.h"

typedef struct resolver_periodic resolver_periodic;

/* Writes the statement's one text parameter into out (len bytes). */
typedef void (*resolver_periodic_param_fn)(void *ctx, char *out, size_t len);

typedef struct resolver_periodic_job {
  const char *statement; /* registered with the service's statements, one parameter */
  uint64_t first_ms, interval_ms;
  resolver_periodic_param_fn param;
  pgq_result_fn on_result; /* called with ctx */
  void *ctx;
} resolver_periodic_job;

/* interval_ms 0: never runs. NULL when out of memory. */
resolver_periodic *resolver_periodic_new(service *svc, const resolver_periodic_job *job);
void resolver_periodic_stop(resolver_periodic *periodic);
void resolver_periodic_free(resolver_periodic *periodic);

#endif
