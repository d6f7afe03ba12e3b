/* resolver_db: the status-resolver's batch flow over PostgreSQL.
 *
 * A whole Kafka batch of DecryptedRequests is handled in at most two
 * pipelined round trips through pgq:
 *   1. one prepared lookup per request (scan: token, person's status, venue
 *      and category, an earlier answer; link: the NIK's person, an earlier
 *      token), all sent with one sync;
 *   2. where needed, one write per request (scan: resolver_record_scan(),
 *      which takes or frees a seat and records the verdict; link:
 *      resolver_issue_token()), again with one sync, sorted by venue so that
 *      concurrent batches lock venues in the same order.
 * Then every input gets its outputs (sealed answer or error response, and an
 * audit event) and kq_input_done(). A query that cannot run or fails answers
 * UNAVAILABLE for its request: no input is ever left unanswered.
 * Prefix resolver_db_. */
#ifndef LINDUNG_RESOLVER_DB_H
#define LINDUNG_RESOLVER_DB_H

#include <stddef.h>
#include <stdint.h>

#include "kafka_loop.h"
#include "pg_client.h"
#include "service.h"

/* Key material, each 32 bytes (from the *_KEY_FILE files). */
typedef struct resolver_db_keys {
  uint8_t nik[32];       /* people.nik_hash = keyed BLAKE2b of the NIK */
  uint8_t token[32];     /* derives the per-partner tokens */
  uint8_t pseudonym[32]; /* audit pseudonyms */
} resolver_db_keys;

typedef struct resolver_db resolver_db;

/* The statements to prepare on every connection (pass to service_open). */
extern const pgq_statement resolver_db_statements[];
extern const size_t resolver_db_statement_count;

/* keys are copied into guarded memory; pseudonym_period_s > 0. NULL when
 * out of memory. svc must outlive the resolver. */
resolver_db *resolver_db_new(service *svc, const resolver_db_keys *keys,
                             uint64_t pseudonym_period_s);

/* The kq_batch_fn of the service (ctx: the resolver_db). */
void resolver_db_on_batch(void *ctx, kq_input *const *inputs, size_t count);

/* Batches still waiting for PostgreSQL. */
size_t resolver_db_batches_in_flight(const resolver_db *resolver);

/* Wipes the keys and frees; call once no batch is in flight. */
void resolver_db_free(resolver_db *resolver);

#endif
