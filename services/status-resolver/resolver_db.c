/* resolver_db: the status-resolver's batch flow over PostgreSQL (see
 * resolver_db.h): a batch's life (phase 1 in resolver_db_lookup.c, phase 2
 * in resolver_db_write.c, retries), the helpers they share, and the
 * outputs. The verdict itself is resolver_rules.c's. */
#include "resolver_batch.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "log.h"
#include "proto_limits.h"
#include "topics.h"

/* At most one log line per this many milliseconds about failing queries. */
#define RESOLVER_DB_LOG_INTERVAL_MS 10000
/* A batch whose transaction failed for a passing reason (a deadlock with
 * another instance, work undone by another query's failure) is worked
 * through again, at most this many times in all, before it is answered
 * UNAVAILABLE. */
#define RESOLVER_DB_ATTEMPTS 4

const pgq_statement resolver_db_statements[] = {
    {"resolver_scan_facts", resolver_db_scan_facts_sql, 5},
    {"resolver_link_facts", resolver_db_link_facts_sql, 3},
    {"resolver_record_scans", resolver_db_record_scans_sql, 11},
    {"resolver_issue_tokens", resolver_db_issue_tokens_sql, 5},
    {"resolver_record_answers", resolver_db_record_answers_sql, 5},
};
const size_t resolver_db_statement_count =
    sizeof resolver_db_statements / sizeof resolver_db_statements[0];

static void resolver_db_phase_done(resolver_batch *batch);

/* --- helpers ------------------------------------------------------------- */

void resolver_db_note_failure(resolver_db *r, const char *what, const char *error) {
  uint64_t now = service_now_ms();
  if (now - r->last_log_ms < RESOLVER_DB_LOG_INTERVAL_MS && r->last_log_ms != 0) {
    r->unlogged_failures++;
    return;
  }
  LOG_WARN("postgres_query_failed", LOG_ID("statement", what),
           LOG_ERRTEXT("reason", error ? error : "unknown"),
           LOG_INT("suppressed_since_last", r->unlogged_failures));
  r->last_log_ms = now;
  r->unlogged_failures = 0;
}

static void resolver_db_note_produce_failure(resolver_db *r, int rc) {
  /* Rare (the local queue stayed full); rate-limited with query failures. */
  uint64_t now = service_now_ms();
  if (now - r->last_log_ms < RESOLVER_DB_LOG_INTERVAL_MS && r->last_log_ms != 0) {
    r->unlogged_failures++;
    return;
  }
  LOG_ERROR("produce_failed", LOG_INT("rc", rc));
  r->last_log_ms = now;
}

/* A row belongs to the item at its place when the statement leads with the
 * 1-based position (phase 1); a mismatch fails that item only. */
bool resolver_db_row_is(const PGresult *res, int row) {
  int64_t i = 0;
  return pg_cell_int(res, row, 0, &i) == 0 && i == (int64_t)row + 1;
}

void resolver_db_fail(resolver_item *item) {
  item->error = LINDUNG__V1__ERROR_CODE__UNAVAILABLE;
  item->needs_write = false;
}

void resolver_db_fail_group(resolver_group *group) {
  for (size_t i = 0; i < group->count; i++) resolver_db_fail(group->items[i]);
}

/* A statement's result is usable: one row per item, of the expected width.
 * Otherwise every item of the group is answered UNAVAILABLE. */
bool resolver_db_result_ok(resolver_group *group, const PGresult *res, const char *error,
                                  int columns) {
  resolver_db *r = group->batch->resolver;
  if (error || !res) {
    if (pgq_error_is_transient(res, error)) group->batch->transient_failure = true;
    resolver_db_note_failure(r, group->statement, error ? error : "no result");
  } else if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != (int)group->count ||
             PQnfields(res) != columns) {
    resolver_db_note_failure(r, group->statement, "unexpected result shape");
  } else {
    return true;
  }
  resolver_db_fail_group(group);
  return false;
}

void resolver_db_row_bad(resolver_item *item, const char *statement) {
  resolver_db_note_failure(item->batch->resolver, statement, "unexpected value");
  resolver_db_fail(item);
}

/* One statement of the current phase is answered (or the submitting code
 * let go of its hold): the last one moves the batch on. The batch may be
 * freed. */
void resolver_db_release(resolver_batch *batch) {
  if (--batch->pending == 0) resolver_db_phase_done(batch);
}

/* Submits a group's statement with its arrays; on refusal (PostgreSQL away,
 * queue full, out of memory) every item of the group is answered
 * UNAVAILABLE. The arrays are freed (and wiped) here. */
void resolver_db_submit(resolver_group *group, pg_array *arrays, int count,
                               pgq_result_fn on_result) {
  resolver_batch *batch = group->batch;
  const char *values[11];
  int lengths[11], formats[11];
  int rc = 0;
  for (int i = 0; i < count && rc == 0; i++) {
    rc = pg_array_finish(&arrays[i]);
    values[i] = (const char *)arrays[i].data;
    lengths[i] = (int)arrays[i].len;
    formats[i] = 1;
  }
  if (rc == 0)
    rc = pgq_exec_prepared(service_db(batch->resolver->svc), group->statement, count, values, lengths,
                           formats, on_result, group);
  for (int i = 0; i < count; i++) pg_array_free(&arrays[i]);
  if (rc) {
    /* -ENOTCONN is the expected case while PostgreSQL is away; readiness
     * and the connection state already say so, so it is not logged here. */
    if (rc != -ENOTCONN) resolver_db_note_failure(batch->resolver, group->statement, strerror(-rc));
    resolver_db_fail_group(group);
    return;
  }
  batch->pending++;
}
/* A statement's arrays could not be built: free them, and answer the group
 * UNAVAILABLE. */
void resolver_db_arrays_fail(resolver_group *group, pg_array *a, size_t count, int rc) {
  for (size_t i = 0; i < count; i++) pg_array_free(&a[i]);
  resolver_db_note_failure(group->batch->resolver, group->statement, strerror(-rc));
  resolver_db_fail_group(group);
}

/* One array per statement parameter, of type oids[i]: the first per_item
 * hold one element per item of the group, the rest (the batch's time) one.
 * 0, or -1 with the group failed. */
int resolver_db_arrays_init(resolver_group *group, pg_array *a, size_t count,
                                   const uint32_t *oids, size_t per_item) {
  memset(a, 0, count * sizeof *a);
  int rc = 0;
  for (size_t i = 0; i < count && rc == 0; i++)
    rc = pg_array_init(&a[i], oids[i], i < per_item ? group->count : 1, 16);
  if (rc == 0) return 0;
  resolver_db_arrays_fail(group, a, count, rc);
  return -1;
}


/* --- outputs ------------------------------------------------------------- */

static void resolver_db_produce(resolver_db *r, kq_input *input, const char *topic, const void *key,
                                size_t key_len, const void *value, size_t len) {
  int rc = service_produce(r->svc, input, topic, key, key_len, value, len);
  if (rc) resolver_db_note_produce_failure(r, rc);
}

static void resolver_db_audit(resolver_db *r, kq_input *input, Lindung__V1__AuditEvent *event) {
  uint8_t out[MESSAGES_MAX_BYTES];
  size_t len = messages_audit_event(event, out, sizeof out);
  if (!len) return;
  resolver_db_produce(r, input, TOPIC_AUDIT_EVENTS, event->request_id.data, event->request_id.len, out,
                      len);
}

/* An input nobody can be answered for: scan.deadletter, and its audit
 * record under the input's own place as identity. */
static void resolver_db_finish_dead_letter(resolver_db *r, resolver_item *item, const char *reason,
                                           uint64_t now_ms) {
  kq_input *input = item->input;
  int rc = service_dead_letter(r->svc, input, reason);
  if (rc) resolver_db_note_produce_failure(r, rc);
  uint8_t source_id[16];
  messages_input_id(input, source_id);
  Lindung__V1__AuditEvent event;
  resolver_dead_letter_audit_fill(source_id, reason, now_ms, &event);
  resolver_db_audit(r, input, &event);
}

static const char *resolver_db_finish_answer(resolver_db *r, resolver_item *item, uint64_t now_ms) {
  const Lindung__V1__DecryptedRequest *req = item->request;
  kq_input *input = item->input;
  uint8_t out[MESSAGES_MAX_BYTES];
  size_t len = 0;
  bool scan = req->kind_case == LINDUNG__V1__DECRYPTED_REQUEST__KIND_SCAN;
  bool person_known = false;
  int64_t person_id = 0;
  const char *outcome = NULL;

  if (item->error == LINDUNG__V1__ERROR_CODE__NONE) {
    if (item->route.kind == RESOLVER_ROUTE_SCAN) {
      len =
          resolver_verdict_response(req, &item->outcome.verdict, item->venue_name, out, sizeof out);
      outcome = item->outcome.verdict.decision == LINDUNG__V1__DECISION__ALLOW ? "allow" : "deny";
    } else {
      char token[TOKEN_TEXT_LEN + 1];
      token_derive(r->keys->token, req->partner_id, req->request_id.data, token);
      len = resolver_linked_response(req, token, item->issued_at_ms, out, sizeof out);
      sodium_memzero(token, sizeof token);
      outcome = "linked";
    }
    if (!len) {
      /* Cannot happen for a routed request (the pad and sizes were checked);
       * still, answer rather than go silent. */
      resolver_db_note_failure(r, "seal", "response could not be sealed");
      item->error = LINDUNG__V1__ERROR_CODE__UNAVAILABLE;
    }
  }
  if (item->route.kind == RESOLVER_ROUTE_SCAN) {
    person_known = item->outcome.person_known;
    person_id = item->facts.person_id;
  } else if (item->route.kind == RESOLVER_ROUTE_LINK &&
             item->error == LINDUNG__V1__ERROR_CODE__NONE) {
    person_known = item->person_known;
    person_id = item->person_id;
  }
  if (item->error != LINDUNG__V1__ERROR_CODE__NONE) {
    size_t id_len = req->request_id.len <= 16 ? req->request_id.len : 0;
    len =
        messages_error_response(req->partner_id, req->partner_key_id, req->system_key_id,
                                req->request_id.data, id_len, now_ms, item->error, out, sizeof out);
    outcome = messages_error_name(item->error);
  }

  char topic[64];
  size_t key_len = req->request_id.len <= 16 ? req->request_id.len : 0;
  if (len && topics_scan_results(req->partner_id, topic, sizeof topic) == 0)
    resolver_db_produce(r, input, topic, req->request_id.data, key_len, out, len);

  uint8_t pseudonym[16];
  if (person_known) {
    token_pseudonym(r->keys->pseudonym, now_ms / r->pseudonym_period_ms, person_id, pseudonym);
  }
  resolver_audit_facts facts = {.error = item->error,
                                .decision = item->outcome.verdict.decision,
                                .venue_known = scan && item->outcome.venue_known,
                                .pseudonym = person_known ? pseudonym : NULL};
  Lindung__V1__AuditEvent event;
  resolver_audit_fill(req, &facts, now_ms, &event);
  uint8_t source_id[16];
  char replay_detail[64];
  if (event.request_id.len != 16) {
    /* The audit trail keys records by a 16-byte id: use the input's place. */
    messages_input_id(input, source_id);
    event.request_id.data = source_id;
    event.request_id.len = sizeof source_id;
  } else if (item->error == LINDUNG__V1__ERROR_CODE__REPLAYED && item->has_digest) {
    /* Every replay has its own audit record (the id alone is the original's). */
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, req->request_id.data, 16);
    snprintf(replay_detail, sizeof replay_detail, "replay_of=%s", hex);
    event.detail = replay_detail;
    resolver_answer_replay_audit_id(req->request_id.data, 16, item->digest, source_id);
    event.request_id.data = source_id;
    event.request_id.len = sizeof source_id;
  }
  resolver_db_audit(r, input, &event);
  return outcome;
}

static void resolver_db_start_lookups(resolver_batch *batch);

/* Back to phase 1 with what the request says and nothing the database
 * said: the next lookups see what other deliveries have recorded since. */
static void resolver_db_retry(resolver_batch *batch) {
  batch->attempts++;
  batch->transient_failure = false;
  for (size_t i = 0; i < batch->count; i++) {
    resolver_item *item = &batch->items[i];
    resolver_item keep = *item;
    memset(item, 0, sizeof *item);
    item->batch = keep.batch;
    item->input = keep.input;
    item->request = keep.request;
    item->unreadable = keep.unreadable;
    item->route = keep.route;
    item->nik_hashed = keep.nik_hashed;
    memcpy(item->nik_hash, keep.nik_hash, sizeof item->nik_hash);
    if (item->route.kind == RESOLVER_ROUTE_ERROR) item->error = item->route.error;
    sodium_memzero(&keep, sizeof keep);
  }
  resolver_db_start_lookups(batch);
}

static void resolver_db_finish(resolver_batch *batch) {
  resolver_db *r = batch->resolver;
  if (batch->transient_failure && batch->attempts + 1 < RESOLVER_DB_ATTEMPTS) {
    resolver_db_retry(batch);
    return;
  }
  uint64_t now_ms = service_now_ms();
  double seconds = service_monotonic_s() - batch->started_s;
  for (size_t i = 0; i < batch->count; i++) {
    resolver_item *item = &batch->items[i];
    const char *outcome;
    if (!item->request) {
      resolver_db_finish_dead_letter(r, item, item->unreadable, now_ms);
      outcome = "deadletter";
    } else if (item->route.kind == RESOLVER_ROUTE_DEAD_LETTER) {
      resolver_db_finish_dead_letter(r, item, item->route.dead_letter_reason, now_ms);
      outcome = "deadletter";
    } else {
      outcome = resolver_db_finish_answer(r, item, now_ms);
    }
    service_count(r->svc, outcome, seconds);
    kq_input_done(item->input);
    if (item->request) {
      /* The pad could seal a message for the partner: it goes with its use. */
      if (item->request->response_pad.data)
        sodium_memzero(item->request->response_pad.data, item->request->response_pad.len);
      protobuf_c_message_free_unpacked(&item->request->base, NULL);
    }
  }
  sodium_memzero(batch->items, batch->count * sizeof batch->items[0]);
  r->batches--;
  free(batch);
}

static void resolver_db_phase_done(resolver_batch *batch) {
  if (batch->phase == 1) {
    batch->phase = 2;
    batch->pending = 1; /* held while submitting: a callback cannot end the phase early */
    resolver_db_start_writes(batch);
    resolver_db_release(batch);
    return;
  }
  resolver_db_finish(batch);
}

/* --- batches ------------------------------------------------------------- */

void resolver_db_on_batch(void *ctx, kq_input *const *inputs, size_t count) {
  resolver_db *r = ctx;
  if (count == 0) return;
  resolver_batch *batch = calloc(
      1, sizeof *batch + count * sizeof batch->items[0] + 3 * count * sizeof(resolver_item *));
  if (!batch) {
    /* Without memory nothing can be answered; leaving the inputs incomplete
     * keeps their offsets, so they are redelivered after a restart. */
    LOG_ERROR("out_of_memory", LOG_INT("inputs", count));
    return;
  }
  batch->resolver = r;
  batch->count = count;
  batch->scans =
      (resolver_group){batch, "resolver_scan_facts", (resolver_item **)(batch->items + count), 0};
  batch->links = (resolver_group){batch, "resolver_link_facts", batch->scans.items + count, 0};
  batch->answers = (resolver_group){batch, "resolver_record_answers", batch->links.items + count, 0};
  batch->started_s = service_monotonic_s();
  r->batches++;
  for (size_t i = 0; i < count; i++) {
    resolver_item *item = &batch->items[i];
    item->batch = batch;
    item->input = inputs[i];
    item->unreadable = resolver_open_request(r->keys->inner, inputs[i]->value,
                                             inputs[i]->value_len, &item->request);
    if (item->unreadable) continue;
    resolver_route_request(item->request, &item->route);
    if (item->route.kind == RESOLVER_ROUTE_ERROR) item->error = item->route.error;
  }
  resolver_db_start_lookups(batch);
}

/* Phase 1: one lookup statement for the batch's scans, one for its links. */
static void resolver_db_start_lookups(resolver_batch *batch) {
  batch->phase = 1;
  batch->pending = 1; /* held while submitting */
  batch->scans.statement = "resolver_scan_facts";
  batch->links.statement = "resolver_link_facts";
  batch->scans.count = 0;
  batch->links.count = 0;
  for (size_t i = 0; i < batch->count; i++) {
    resolver_item *item = &batch->items[i];
    if (!item->request) continue;
    if (item->route.kind == RESOLVER_ROUTE_SCAN)
      batch->scans.items[batch->scans.count++] = item;
    else if (item->route.kind == RESOLVER_ROUTE_LINK)
      batch->links.items[batch->links.count++] = item;
  }
  if (batch->scans.count) resolver_db_lookup_scans(&batch->scans);
  if (batch->links.count) resolver_db_lookup_links(&batch->links);
  resolver_db_release(batch);
}

resolver_db *resolver_db_new(service *svc, const resolver_db_keys *keys,
                             uint64_t pseudonym_period_s) {
  if (pseudonym_period_s == 0) return NULL;
  resolver_db *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->keys = sodium_malloc(sizeof *r->keys);
  if (!r->keys) {
    free(r);
    return NULL;
  }
  memcpy(r->keys, keys, sizeof *keys);
  r->svc = svc;
  r->pseudonym_period_ms = pseudonym_period_s * 1000u;
  return r;
}

size_t resolver_db_batches_in_flight(const resolver_db *resolver) {
  return resolver->batches;
}

void resolver_db_free(resolver_db *resolver) {
  if (!resolver) return;
  sodium_free(resolver->keys); /* sodium_free wipes */
  free(resolver);
}
