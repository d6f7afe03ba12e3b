/* resolver_service: the status-resolver's parts on one service loop: the
 * scan answers (resolver_db), health facts (resolver_facts), retention
 * (resolver_retention) and the rule-change audit (resolver_rule_audit) share one consumer and one PostgreSQL client; this
 * module splits each batch between them, gathers their statements, reads
 * the key files, and starts consuming once PostgreSQL is up.
 * Prefix resolver_. */
#ifndef LINDUNG_RESOLVER_SERVICE_H
#define LINDUNG_RESOLVER_SERVICE_H

#include <stdint.h>

#include "inner_seal.h"
#include "resolver_db.h"
#include "resolver_facts.h"
#include "resolver_retention.h"
#include "resolver_rule_audit.h"
#include "service.h"

#define RESOLVER_MAX_STATEMENTS 16

typedef struct resolver_parts {
  service *svc;
  resolver_db *scans;
  resolver_facts *facts;
  resolver_retention *retention;
  resolver_rule_audit *rule_audit;
  uv_timer_t db_wait;
  unsigned waited_ms;
} resolver_parts;

/* Every statement of every part, to prepare on each connection; returns
 * how many went into out. */
size_t resolver_statements(pgq_statement out[RESOLVER_MAX_STATEMENTS]);
/* service_settings.on_batch and .on_stop; ctx is the resolver_parts. */
void resolver_on_batch(void *ctx, kq_input *const *inputs, size_t count);
void resolver_on_stop(void *ctx);
/* The inner keys in dir (every key held opens), or NULL after logging why. */
inner_seal_keys *resolver_load_inner_keys(const char *dir);
/* Reads a key file of 64 hex characters into 32 bytes: 0, or -1 after
 * logging why (naming the variable, never the key). */
int resolver_read_key(const char *variable, const char *path, uint8_t out[32]);
/* Makes the parts on svc: 0, or -1 after logging why. */
int resolver_parts_open(resolver_parts *parts, service *svc, const resolver_db_keys *keys,
                        uint32_t pseudonym_period_s, uint32_t retention_interval_s,
                        uint32_t rule_audit_interval_ms);
/* Consuming starts once PostgreSQL is up, or after RESOLVER_DB_GRACE_MS
 * without it. */
void resolver_start_when_db_up(resolver_parts *parts);
void resolver_parts_free(resolver_parts *parts);

#endif
