/* resolver_batch: what the three parts of the resolver's batch flow share
 * (resolver_db.c: the batch, its helpers and outputs; resolver_db_lookup.c:
 * phase 1; resolver_db_write.c: phase 2). Private to the status-resolver:
 * everything else uses resolver_db.h. */
#ifndef LINDUNG_RESOLVER_BATCH_H
#define LINDUNG_RESOLVER_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "health_rules.h"
#include "messages.h"
#include "pg_array.h"
#include "registry_rules.h"
#include "resolver_answers.h"
#include "resolver_db.h"
#include "resolver_rules.h"
#include "token.h"

struct resolver_db {
  service *svc;
  resolver_db_keys *keys; /* sodium_malloc'd */
  uint64_t pseudonym_period_ms;
  size_t batches;
  uint64_t last_log_ms;
  uint64_t unlogged_failures;
};

typedef struct resolver_batch resolver_batch;

typedef struct resolver_item {
  resolver_batch *batch;
  kq_input *input;
  Lindung__V1__DecryptedRequest *request; /* NULL when not decodable */
  const char *unreadable;                  /* why request is NULL */
  resolver_route route;
  Lindung__V1__ErrorCode error; /* an error answer (NONE: answered by a body) */
  bool needs_write;
  /* answer log: the request's digest, and whether an answer is on record */
  bool has_digest, answer_on_record;
  uint8_t digest[RESOLVER_ANSWER_DIGEST_BYTES];
  /* scan */
  resolver_scan_facts facts;
  resolver_scan_outcome outcome;
  char venue_name[RESOLVER_VENUE_NAME_MAX + 1];
  /* link: the NIK is wiped once hashed, so a retry uses the hash */
  bool nik_hashed;
  uint8_t nik_hash[REG_NIK_HASH_BYTES];
  bool person_known;
  int64_t person_id;
  uint64_t issued_at_ms;
  uint8_t token_hash[TOKEN_HASH_BYTES];
} resolver_item;

/* The items one statement of the current phase carries, in array order. */
typedef struct resolver_group {
  resolver_batch *batch;
  const char *statement;
  resolver_item **items;
  size_t count;
} resolver_group;

struct resolver_batch {
  resolver_db *resolver;
  size_t count;
  size_t pending; /* statements of the current phase not yet answered, +1 while submitting */
  int phase;
  int attempts;
  bool transient_failure; /* some statement failed for a passing reason */
  double started_s;
  uint64_t lookup_ms; /* "now" of the colour rules for this batch */
  resolver_group scans, links, answers;
  resolver_item items[];
};

/* The statements' text (resolver_db_lookup.c, resolver_db_write.c). */
extern const char resolver_db_scan_facts_sql[], resolver_db_link_facts_sql[];
extern const char resolver_db_record_scans_sql[], resolver_db_issue_tokens_sql[],
    resolver_db_record_answers_sql[];

/* Helpers (resolver_db.c). A failure answers UNAVAILABLE for the item or
 * every item of the group; resolver_db_release ends a statement of the
 * current phase (the last one moves the batch on and may free it). */
void resolver_db_note_failure(resolver_db *r, const char *what, const char *error);
bool resolver_db_row_is(const PGresult *res, int row);
void resolver_db_fail(resolver_item *item);
void resolver_db_fail_group(resolver_group *group);
bool resolver_db_result_ok(resolver_group *group, const PGresult *res, const char *error,
                           int columns);
void resolver_db_row_bad(resolver_item *item, const char *statement);
void resolver_db_release(resolver_batch *batch);
void resolver_db_submit(resolver_group *group, pg_array *arrays, int count,
                        pgq_result_fn on_result);
void resolver_db_arrays_fail(resolver_group *group, pg_array *a, size_t count, int rc);
int resolver_db_arrays_init(resolver_group *group, pg_array *a, size_t count,
                            const uint32_t *oids, size_t per_item);

/* Phase 1 (resolver_db_lookup.c). */
void resolver_db_lookup_scans(resolver_group *group);
void resolver_db_lookup_links(resolver_group *group);
void resolver_db_answer_row(resolver_item *item, const PGresult *res, int row, int col);

/* Phase 2 (resolver_db_write.c): decides the scans, then records what needs
 * recording in one sync. */
void resolver_db_start_writes(resolver_batch *batch);

#endif
