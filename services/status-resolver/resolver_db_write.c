/* resolver_db_write: phase 2 of the resolver's batch flow: the scans'
 * verdicts and seats, the links' tokens and the answer log, in one sync
 * (one transaction; see resolver_db.h). */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "resolver_batch.h"

/* Phase 2 (functions of db/migrations/lindung/0101_resolver_batch.sql). */
const char resolver_db_record_scans_sql[] =
    "SELECT o_decision, o_reason, o_status, o_at_ms FROM resolver_record_scans("
    "$1::text[], $2::bytea[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[],"
    " $8::text[], $9::bigint[], $10::integer[], $11::boolean[])";
const char resolver_db_issue_tokens_sql[] =
    "SELECT o_issued_at_ms FROM resolver_issue_tokens("
    "$1::bytea[], $2::text[], $3::bigint[], $4::bytea[], $5::bigint[])";
/* Phase 2, every answer worth keeping (0500_answer_log.sql): $1 partner ids,
 * $2 request ids, $3 digests, $4 error codes, $5 the time (array of one). */
const char resolver_db_record_answers_sql[] =
    "SELECT encode(o_digest, 'hex'), o_error FROM resolver_record_answers("
    "$1::text[], $2::bytea[], $3::bytea[], $4::integer[], $5::bigint[])";

static void resolver_db_record_scans_row(resolver_item *item, const PGresult *res, int row) {
  /* The verdict on record: ours, ours turned VENUE_FULL, or an earlier
   * delivery's. */
  resolver_verdict v = {0};
  const char *status = pg_cell_text(res, row, 2);
  int64_t at_ms = 0;
  bool bad = resolver_decision_parse(pg_cell_text(res, row, 0), &v.decision) != 0;
  bad |= resolver_reason_parse(pg_cell_text(res, row, 1), &v.reason) != 0;
  if (status) bad |= resolver_status_parse(status, &v.status) != 0;
  bad |= pg_cell_int(res, row, 3, &at_ms) != 0 || at_ms < 0;
  if (bad) {
    resolver_db_row_bad(item, "resolver_record_scans");
  } else {
    v.checked_at_ms = (uint64_t)at_ms;
    item->outcome.verdict = v;
    item->outcome.take_seat = false;
  }
}

static void resolver_db_on_record_scans(void *arg, const PGresult *res, const char *error) {
  resolver_group *group = arg;
  if (resolver_db_result_ok(group, res, error, 4)) {
    for (size_t i = 0; i < group->count; i++)
      resolver_db_record_scans_row(group->items[i], res, (int)i);
  }
  resolver_db_release(group->batch);
}

static void resolver_db_on_issue_tokens(void *arg, const PGresult *res, const char *error) {
  resolver_group *group = arg;
  if (resolver_db_result_ok(group, res, error, 1)) {
    for (size_t i = 0; i < group->count; i++) {
      resolver_item *item = group->items[i];
      int64_t at_ms = 0;
      if (pg_cell_int(res, (int)i, 0, &at_ms) != 0 || at_ms <= 0)
        resolver_db_row_bad(item, "resolver_issue_tokens");
      else
        item->issued_at_ms = (uint64_t)at_ms;
    }
  }
  resolver_db_release(group->batch);
}

/* Scans are recorded in batch order: resolver_record_scans() works through
 * the rows in order and locks the venues itself in venue order. */
static void resolver_db_write_scans(resolver_group *group) {
  size_t n = group->count;
  static const uint32_t oids[11] = {
      PG_OID_TEXT, PG_OID_BYTEA, PG_OID_INT8, PG_OID_TEXT,
      PG_OID_TEXT, PG_OID_TEXT,  PG_OID_TEXT, PG_OID_TEXT,
      PG_OID_INT8, PG_OID_INT4,  PG_OID_BOOL};
  pg_array a[11];
  if (resolver_db_arrays_init(group, a, 11, oids, 11) != 0) return;
  for (size_t i = 0; i < n; i++) {
    const resolver_item *item = group->items[i];
    const Lindung__V1__DecryptedRequest *req = item->request;
    const resolver_scan_outcome *o = &item->outcome;
    pg_array_put_text(&a[0], req->partner_id);
    pg_array_put(&a[1], req->request_id.data, req->request_id.len);
    pg_array_put_int8(&a[2], item->facts.person_id);
    pg_array_put_text(&a[3], req->scan->venue_id);
    pg_array_put_text(&a[4], resolver_action_name(req->scan->action));
    pg_array_put_text(&a[5], resolver_decision_name(o->verdict.decision));
    pg_array_put_text(&a[6], resolver_reason_name(o->verdict.reason));
    pg_array_put_text(&a[7], resolver_status_name(o->verdict.status));
    pg_array_put_int8(&a[8], (int64_t)o->verdict.checked_at_ms);
    if (o->take_seat) {
      /* occupancy is an integer: a larger limit means the same as this one */
      int64_t limit = o->seat_limit > INT32_MAX ? INT32_MAX : o->seat_limit;
      pg_array_put_int4(&a[9], (int32_t)limit);
    } else {
      pg_array_put_null(&a[9]);
    }
    pg_array_put_bool(&a[10], o->free_seat);
  }
  resolver_db_submit(group, a, 11, resolver_db_on_record_scans);
}

static void resolver_db_write_links(resolver_group *group, uint64_t now_ms) {
  size_t n = group->count;
  static const uint32_t oids[5] = {PG_OID_BYTEA, PG_OID_TEXT, PG_OID_INT8, PG_OID_BYTEA,
                                   PG_OID_INT8};
  pg_array a[5];
  if (resolver_db_arrays_init(group, a, 5, oids, 5) != 0) return;
  for (size_t i = 0; i < n; i++) {
    resolver_item *item = group->items[i];
    const Lindung__V1__DecryptedRequest *req = item->request;
    char token[TOKEN_TEXT_LEN + 1];
    token_derive(item->batch->resolver->keys->token, req->partner_id, req->request_id.data, token);
    token_hash(token, strlen(token), item->token_hash);
    sodium_memzero(token, sizeof token);
    pg_array_put(&a[0], item->token_hash, TOKEN_HASH_BYTES);
    pg_array_put_text(&a[1], req->partner_id);
    pg_array_put_int8(&a[2], item->person_id);
    pg_array_put(&a[3], req->request_id.data, req->request_id.len);
    pg_array_put_int8(&a[4], (int64_t)now_ms);
  }
  resolver_db_submit(group, a, 5, resolver_db_on_issue_tokens);
}
static void resolver_db_on_record_answers(void *arg, const PGresult *res, const char *error) {
  resolver_group *group = arg;
  if (resolver_db_result_ok(group, res, error, 2)) {
    /* What is on record now: ours, or (a race with another delivery) the
     * answer that was first. */
    for (size_t i = 0; i < group->count; i++) resolver_db_answer_row(group->items[i], res, (int)i, 0);
  }
  resolver_db_release(group->batch);
}

/* Every answer worth keeping goes into the answer log, in the same
 * pipeline sync (one transaction) as the verdicts and tokens it stands for. */
static void resolver_db_write_answers(resolver_group *group, uint64_t now_ms) {
  size_t n = group->count;
  static const uint32_t oids[5] = {PG_OID_TEXT, PG_OID_BYTEA, PG_OID_BYTEA, PG_OID_INT4,
                                   PG_OID_INT8};
  pg_array a[5];
  if (resolver_db_arrays_init(group, a, 5, oids, 4) != 0) return;
  for (size_t i = 0; i < n; i++) {
    const resolver_item *item = group->items[i];
    pg_array_put_text(&a[0], item->request->partner_id);
    pg_array_put(&a[1], item->request->request_id.data, item->request->request_id.len);
    pg_array_put(&a[2], item->digest, sizeof item->digest);
    pg_array_put_int4(&a[3], (int32_t)item->error);
  }
  pg_array_put_int8(&a[4], (int64_t)now_ms);
  resolver_db_submit(group, a, 5, resolver_db_on_record_answers);
}

void resolver_db_start_writes(resolver_batch *batch) {
  uint64_t now_ms = service_now_ms();
  batch->scans.count = 0;
  batch->links.count = 0;
  for (size_t i = 0; i < batch->count; i++) {
    resolver_item *item = &batch->items[i];
    if (item->route.kind == RESOLVER_ROUTE_SCAN && item->error == LINDUNG__V1__ERROR_CODE__NONE) {
      resolver_decide(&item->facts, item->request->scan->action, now_ms, &item->outcome);
      item->error = item->outcome.error;
      item->needs_write = item->error == LINDUNG__V1__ERROR_CODE__NONE && item->outcome.record;
    }
    if (!item->needs_write) continue;
    resolver_group *group = item->route.kind == RESOLVER_ROUTE_SCAN ? &batch->scans : &batch->links;
    group->items[group->count++] = item;
  }
  batch->answers.count = 0;
  for (size_t i = 0; i < batch->count; i++) {
    resolver_item *item = &batch->items[i];
    if (item->request && item->has_digest && !item->answer_on_record &&
        resolver_answer_recordable(item->error))
      batch->answers.items[batch->answers.count++] = item;
  }
  batch->scans.statement = "resolver_record_scans";
  batch->links.statement = "resolver_issue_tokens";
  batch->answers.statement = "resolver_record_answers";
  if (batch->scans.count) resolver_db_write_scans(&batch->scans);
  if (batch->links.count) resolver_db_write_links(&batch->links, now_ms);
  if (batch->answers.count) resolver_db_write_answers(&batch->answers, now_ms);
}
