/* resolver_db: the status-resolver's batch flow over PostgreSQL.
 *
 * A whole Kafka batch of DecryptedRequests is handled in at most two
 * pipelined round trips through pgq, each of at most two set-based
 * statements that carry the batch as arrays (one element per request):
 *   1. one lookup for all scans (token, person's status, venue and category,
 *      an earlier answer) and one for all links (the NIK's person, an earlier
 *      token), sent with one sync;
 *   2. where needed, one call of resolver_record_scans() for the scans (takes
 *      or frees seats row by row in batch order and records the verdicts; it
 *      locks the venues in venue order), one of resolver_issue_tokens() for
 *      the links and one of resolver_record_answers() for the answer log,
 *      again with one sync: one transaction, all or nothing.
 * Then every input gets its outputs (sealed answer or error response, and an
 * audit event) and kq_input_done(). A batch whose transaction failed for a
 * passing reason (a deadlock with another instance, a serialization
 * failure) starts again from phase 1, up to RESOLVER_DB_ATTEMPTS times.
 * Otherwise a statement that cannot run or fails answers UNAVAILABLE for
 * every request it carried (a row with an unexpected value, for its request
 * only): no input is ever left unanswered.
 * The code: resolver_db.c (the batch, helpers, outputs), resolver_db_lookup.c
 * (phase 1), resolver_db_write.c (phase 2), resolver_batch.h (what they share).
 * Prefix resolver_db_. */
#ifndef LINDUNG_RESOLVER_DB_H
#define LINDUNG_RESOLVER_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inner_seal.h"
#include "kafka_loop.h"
#include "pg_client.h"
#include "service.h"

/* Key material, each 32 bytes (from the *_KEY_FILE files). */
typedef struct resolver_db_keys {
  const inner_seal_keys *inner; /* opens scan.decrypted; owned by the caller */
  uint8_t nik[32];       /* people.nik_hash = keyed BLAKE2b of the NIK */
  uint8_t token[32];     /* derives the per-partner tokens */
  uint8_t pseudonym[32]; /* audit pseudonyms */
} resolver_db_keys;

typedef struct resolver_db resolver_db;

/* The shape of a resolver_scan_facts row (the statements' contract with
 * the tests that run them): its width, and where the health summary and
 * the rule set start. */
#define RESOLVER_DB_SCAN_FACTS_COLUMNS 34
/* The answer log's digest and error code (resolver_answers) end a scan row. */
#define RESOLVER_DB_SCAN_COL_ANSWER 32
#define RESOLVER_DB_COL_FACTS 4
#define RESOLVER_DB_COL_SUMMARY 15
#define RESOLVER_DB_COL_RULES 23

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
