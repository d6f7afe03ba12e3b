/* resolver_facts: applies HealthFacts read from health.facts. A batch of
 * facts is one call of health_facts_apply() (0300_health_facts.sql), which
 * applies them in order, each at most once by fact id, and flags the close
 * contacts of a new positive result. Every fact gets an audit event (never
 * a NIK hash); a fact that fails resolver_fact_check() is dead-lettered.
 * When PostgreSQL cannot take the batch it is tried again every second:
 * a fact is never dropped, and its offset is stored only once applied.
 * Prefix resolver_facts_. */
#ifndef LINDUNG_RESOLVER_FACTS_H
#define LINDUNG_RESOLVER_FACTS_H

#include <stddef.h>

#include "kafka_loop.h"
#include "pg_array.h"
#include "pg_client.h"
#include "resolver_db.h"
#include "resolver_rules.h"
#include "service.h"

typedef struct resolver_facts resolver_facts;

extern const pgq_statement resolver_facts_statements[];
extern const size_t resolver_facts_statement_count;

/* The pure part, exposed for the fuzz harness. Decodes and checks one
 * health.facts value: 0 with *fact pointing into *message, or -1 with the
 * dead-letter reason. *message (NULL when not decodable) is freed with
 * protobuf_c_message_free_unpacked. */
int resolver_facts_decode(const void *value, size_t len, uint64_t now_ms,
                          Lindung__V1__HealthFact **message, resolver_fact *fact,
                          const char **reason);

/* The parameter arrays of health_facts_apply(), one per column: init for
 * count facts, then put each checked fact in batch order. */
#define RESOLVER_FACTS_COLUMNS 7
int resolver_facts_columns_init(pg_array columns[RESOLVER_FACTS_COLUMNS], size_t count);
void resolver_facts_columns_put(pg_array columns[RESOLVER_FACTS_COLUMNS],
                                const resolver_fact *fact);

/* NULL when out of memory. Call after service_open (uses its loop). */
resolver_facts *resolver_facts_new(service *svc);
/* The inputs of one consumed batch that came from health.facts. */
void resolver_facts_on_batch(resolver_facts *facts, kq_input *const *inputs, size_t count);
/* The service stops: no more retries; waiting batches stay unapplied (their
 * offsets are not stored, so they are read again after a restart). */
void resolver_facts_stop(resolver_facts *facts);
/* After the loop has ended. */
void resolver_facts_free(resolver_facts *facts);

#endif
