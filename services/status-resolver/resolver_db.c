/* resolver_db: the status-resolver's batch flow over PostgreSQL (see
 * resolver_db.h). The verdict itself is resolver_rules.c's; this file only
 * gathers facts, records answers and produces the outputs. */
#include "resolver_db.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "messages.h"
#include "proto_limits.h"
#include "resolver_rules.h"
#include "token.h"

/* At most one log line per this many milliseconds about failing queries. */
#define RESOLVER_DB_LOG_INTERVAL_MS 10000

/* Phase 1, scan: everything the verdict needs, in one row whatever exists.
 * $1 token hash, $2 partner id, $3 venue id, $4 request id. A partner's
 * revocation ends its tokens as well. The capacity share follows the
 * settings row ppkm_level: levels 1 and 2 use share_level2, 3 share_level3,
 * anything else the strictest, share_level4. */
static const char resolver_db_scan_facts_sql[] =
    "SELECT t.person_id, t.partner_id = $2, (t.revoked_at IS NOT NULL OR p.status <> 'active'),"
    " h.status, v.name, v.capacity, v.occupancy, c.admits_green, c.admits_yellow,"
    " CASE WHEN s.value IN ('1', '2') THEN c.share_level2"
    "      WHEN s.value = '3' THEN c.share_level3 ELSE c.share_level4 END,"
    " ci.decision, ci.reason, ci.status, (extract(epoch FROM ci.at) * 1000)::bigint"
    " FROM (VALUES (1)) AS one (x)"
    " LEFT JOIN tokens t ON t.token_hash = $1"
    " LEFT JOIN partners p ON p.partner_id = t.partner_id"
    " LEFT JOIN health_status h ON h.person_id = t.person_id"
    " LEFT JOIN venues v ON v.venue_id = $3"
    " LEFT JOIN venue_categories c ON c.category = v.category"
    " LEFT JOIN settings s ON s.name = 'ppkm_level'"
    " LEFT JOIN check_ins ci ON ci.partner_id = $2 AND ci.request_id = $4";

/* Phase 1, link: $1 NIK hash, $2 partner id, $3 request id. */
static const char resolver_db_link_facts_sql[] =
    "SELECT p.person_id, (extract(epoch FROM t.issued_at) * 1000)::bigint"
    " FROM (VALUES (1)) AS one (x)"
    " LEFT JOIN people p ON p.nik_hash = $1"
    " LEFT JOIN tokens t ON t.partner_id = $2 AND t.request_id = $3";

/* Phase 2 (functions of db/migrations/lindung/0100_resolver.sql). */
static const char resolver_db_record_scan_sql[] =
    "SELECT o_decision, o_reason, o_status, o_at_ms"
    " FROM resolver_record_scan($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
static const char resolver_db_issue_token_sql[] = "SELECT resolver_issue_token($1, $2, $3, $4, $5)";

const pgq_statement resolver_db_statements[] = {
    {"resolver_scan_facts", resolver_db_scan_facts_sql, 4},
    {"resolver_link_facts", resolver_db_link_facts_sql, 3},
    {"resolver_record_scan", resolver_db_record_scan_sql, 11},
    {"resolver_issue_token", resolver_db_issue_token_sql, 5},
};
const size_t resolver_db_statement_count =
    sizeof resolver_db_statements / sizeof resolver_db_statements[0];

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
  proto_decode_status decode_status;
  resolver_route route;
  Lindung__V1__ErrorCode error; /* an error answer (NONE: answered by a body) */
  bool needs_write;
  /* scan */
  resolver_scan_facts facts;
  resolver_scan_outcome outcome;
  char venue_name[RESOLVER_VENUE_NAME_MAX + 1];
  /* link */
  bool person_known;
  int64_t person_id;
  uint64_t issued_at_ms;
  uint8_t token_hash[TOKEN_HASH_BYTES];
} resolver_item;

struct resolver_batch {
  resolver_db *resolver;
  size_t count;
  size_t pending; /* queries of the current phase not yet answered, +1 while submitting */
  int phase;
  double started_s;
  resolver_item **order; /* phase-2 submission order */
  resolver_item items[];
};

static void resolver_db_phase_done(resolver_batch *batch);

/* --- helpers ------------------------------------------------------------- */

static void resolver_db_note_failure(resolver_db *r, const char *what, const char *error) {
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

static bool resolver_db_is_null(const PGresult *res, int col) {
  return PQgetisnull(res, 0, col) != 0;
}

static const char *resolver_db_text(const PGresult *res, int col) {
  return PQgetisnull(res, 0, col) ? NULL : PQgetvalue(res, 0, col);
}

static bool resolver_db_bool(const PGresult *res, int col) {
  const char *v = resolver_db_text(res, col);
  return v && v[0] == 't';
}

static int resolver_db_int(const PGresult *res, int col, int64_t *out) {
  const char *v = resolver_db_text(res, col);
  if (!v || !*v) return -1;
  char *end;
  errno = 0;
  long long value = strtoll(v, &end, 10);
  if (errno || *end) return -1;
  *out = value;
  return 0;
}

/* A query's result is usable: one row of the expected width. */
static bool resolver_db_result_ok(resolver_item *item, const char *what, const PGresult *res,
                                  const char *error, int columns) {
  if (error || !res) {
    resolver_db_note_failure(item->batch->resolver, what, error ? error : "no result");
    return false;
  }
  if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQnfields(res) != columns) {
    resolver_db_note_failure(item->batch->resolver, what, "unexpected result shape");
    return false;
  }
  return true;
}

static void resolver_db_fail(resolver_item *item) {
  item->error = LINDUNG__V1__ERROR_CODE__UNAVAILABLE;
  item->needs_write = false;
}

/* One query of the current phase is answered (or the submitting loop let go
 * of its hold): the last one moves the batch on. The batch may be freed. */
static void resolver_db_release(resolver_batch *batch) {
  if (--batch->pending == 0) resolver_db_phase_done(batch);
}

static void resolver_db_query_answered(resolver_item *item) {
  resolver_db_release(item->batch);
}

/* Submits one prepared statement for an item; on refusal (PostgreSQL away,
 * queue full) the item is answered UNAVAILABLE. */
static void resolver_db_submit(resolver_item *item, const char *statement, int count,
                               const char *const *values, const int *lengths, const int *formats,
                               pgq_result_fn on_result) {
  resolver_batch *batch = item->batch;
  int rc = pgq_exec_prepared(batch->resolver->svc->db, statement, count, values, lengths, formats,
                             on_result, item);
  if (rc) {
    /* -ENOTCONN is the expected case while PostgreSQL is away; readiness
     * and the connection state already say so, so it is not logged here. */
    if (rc != -ENOTCONN) resolver_db_note_failure(batch->resolver, statement, strerror(-rc));
    resolver_db_fail(item);
    return;
  }
  batch->pending++;
}

/* --- phase 1: lookups ---------------------------------------------------- */

static void resolver_db_on_scan_facts(void *arg, const PGresult *res, const char *error) {
  resolver_item *item = arg;
  resolver_scan_facts *f = &item->facts;
  if (!resolver_db_result_ok(item, "resolver_scan_facts", res, error, 14)) {
    resolver_db_fail(item);
    resolver_db_query_answered(item);
    return;
  }
  bool bad = false;
  f->token_found = !resolver_db_is_null(res, 0);
  if (f->token_found) {
    bad |= resolver_db_int(res, 0, &f->person_id) != 0;
    f->token_same_partner = resolver_db_bool(res, 1);
    f->token_revoked = resolver_db_bool(res, 2);
    const char *status = resolver_db_text(res, 3);
    f->status = LINDUNG__V1__STATUS__STATUS_UNSPECIFIED;
    if (status) bad |= resolver_status_parse(status, &f->status) != 0;
  }
  const char *name = resolver_db_text(res, 4);
  f->venue_found = name != NULL;
  if (f->venue_found) {
    size_t keep = resolver_utf8_cut(name, strlen(name), RESOLVER_VENUE_NAME_MAX);
    memcpy(item->venue_name, name, keep);
    item->venue_name[keep] = '\0';
    f->capacity_limited = !resolver_db_is_null(res, 5);
    if (f->capacity_limited) {
      bad |= resolver_db_int(res, 5, &f->capacity) != 0;
      bad |= resolver_db_int(res, 9, &f->share_percent) != 0;
    }
    bad |= resolver_db_int(res, 6, &f->occupancy) != 0;
    f->admits_green = resolver_db_bool(res, 7);
    f->admits_yellow = resolver_db_bool(res, 8);
  }
  const char *decision = resolver_db_text(res, 10);
  f->recorded = decision != NULL;
  if (f->recorded) {
    resolver_verdict *v = &f->recorded_verdict;
    const char *status = resolver_db_text(res, 12);
    int64_t at_ms = 0;
    v->status = LINDUNG__V1__STATUS__STATUS_UNSPECIFIED;
    bad |= resolver_decision_parse(decision, &v->decision) != 0;
    bad |= resolver_reason_parse(resolver_db_text(res, 11), &v->reason) != 0;
    if (status) bad |= resolver_status_parse(status, &v->status) != 0;
    bad |= resolver_db_int(res, 13, &at_ms) != 0 || at_ms < 0;
    v->checked_at_ms = (uint64_t)at_ms;
  }
  if (bad) {
    resolver_db_note_failure(item->batch->resolver, "resolver_scan_facts", "unexpected value");
    resolver_db_fail(item);
  }
  resolver_db_query_answered(item);
}

static void resolver_db_on_link_facts(void *arg, const PGresult *res, const char *error) {
  resolver_item *item = arg;
  if (!resolver_db_result_ok(item, "resolver_link_facts", res, error, 2)) {
    resolver_db_fail(item);
    resolver_db_query_answered(item);
    return;
  }
  bool bad = false;
  item->person_known = !resolver_db_is_null(res, 0);
  if (item->person_known) bad |= resolver_db_int(res, 0, &item->person_id) != 0;
  if (!resolver_db_is_null(res, 1)) {
    /* Issued before: a redelivered Link is answered with the same token
     * and time, without a second write. */
    int64_t at_ms = 0;
    bad |= resolver_db_int(res, 1, &at_ms) != 0 || at_ms < 0;
    item->issued_at_ms = (uint64_t)at_ms;
  }
  if (bad) {
    resolver_db_note_failure(item->batch->resolver, "resolver_link_facts", "unexpected value");
    resolver_db_fail(item);
  } else if (!item->person_known && item->issued_at_ms == 0) {
    item->error = LINDUNG__V1__ERROR_CODE__UNKNOWN_NIK;
  } else if (item->issued_at_ms == 0) {
    item->needs_write = true;
  }
  resolver_db_query_answered(item);
}

static void resolver_db_lookup(resolver_item *item) {
  const Lindung__V1__DecryptedRequest *req = item->request;
  if (item->route.kind == RESOLVER_ROUTE_SCAN) {
    const char *values[4] = {(const char *)req->scan->token_hash.data, req->partner_id,
                             req->scan->venue_id, (const char *)req->request_id.data};
    const int lengths[4] = {(int)req->scan->token_hash.len, 0, 0, (int)req->request_id.len};
    const int formats[4] = {1, 0, 0, 1};
    resolver_db_submit(item, "resolver_scan_facts", 4, values, lengths, formats,
                       resolver_db_on_scan_facts);
  } else {
    uint8_t nik_hash[32];
    char *nik = req->link->nik;
    token_nik_hash(item->batch->resolver->keys->nik, nik, nik_hash);
    /* The NIK is needed no longer: wipe it from the decoded message. */
    sodium_memzero(nik, strlen(nik));
    const char *values[3] = {(const char *)nik_hash, req->partner_id,
                             (const char *)req->request_id.data};
    const int lengths[3] = {(int)sizeof nik_hash, 0, (int)req->request_id.len};
    const int formats[3] = {1, 0, 1};
    resolver_db_submit(item, "resolver_link_facts", 3, values, lengths, formats,
                       resolver_db_on_link_facts);
    sodium_memzero(nik_hash, sizeof nik_hash);
  }
}

/* --- phase 2: writes ----------------------------------------------------- */

static void resolver_db_on_record_scan(void *arg, const PGresult *res, const char *error) {
  resolver_item *item = arg;
  if (!resolver_db_result_ok(item, "resolver_record_scan", res, error, 4)) {
    resolver_db_fail(item);
    resolver_db_query_answered(item);
    return;
  }
  /* The verdict on record: ours, ours turned VENUE_FULL, or an earlier
   * delivery's. */
  resolver_verdict v = {0};
  const char *status = resolver_db_text(res, 2);
  int64_t at_ms = 0;
  bool bad = resolver_decision_parse(resolver_db_text(res, 0), &v.decision) != 0;
  bad |= resolver_reason_parse(resolver_db_text(res, 1), &v.reason) != 0;
  if (status) bad |= resolver_status_parse(status, &v.status) != 0;
  bad |= resolver_db_int(res, 3, &at_ms) != 0 || at_ms < 0;
  if (bad) {
    resolver_db_note_failure(item->batch->resolver, "resolver_record_scan", "unexpected value");
    resolver_db_fail(item);
  } else {
    v.checked_at_ms = (uint64_t)at_ms;
    item->outcome.verdict = v;
    item->outcome.take_seat = false;
  }
  resolver_db_query_answered(item);
}

static void resolver_db_on_issue_token(void *arg, const PGresult *res, const char *error) {
  resolver_item *item = arg;
  int64_t at_ms = 0;
  if (!resolver_db_result_ok(item, "resolver_issue_token", res, error, 1)) {
    resolver_db_fail(item);
  } else if (resolver_db_int(res, 0, &at_ms) != 0 || at_ms <= 0) {
    resolver_db_note_failure(item->batch->resolver, "resolver_issue_token", "unexpected value");
    resolver_db_fail(item);
  } else {
    item->issued_at_ms = (uint64_t)at_ms;
  }
  resolver_db_query_answered(item);
}

static void resolver_db_write(resolver_item *item, uint64_t now_ms) {
  const Lindung__V1__DecryptedRequest *req = item->request;
  char person[24], at[24];
  if (item->route.kind == RESOLVER_ROUTE_SCAN) {
    const resolver_scan_outcome *o = &item->outcome;
    char limit[24];
    snprintf(person, sizeof person, "%" PRId64, item->facts.person_id);
    snprintf(at, sizeof at, "%" PRIu64, o->verdict.checked_at_ms);
    snprintf(limit, sizeof limit, "%" PRId64, o->seat_limit);
    const char *values[11] = {req->partner_id,
                              (const char *)req->request_id.data,
                              person,
                              req->scan->venue_id,
                              resolver_action_name(req->scan->action),
                              resolver_decision_name(o->verdict.decision),
                              resolver_reason_name(o->verdict.reason),
                              resolver_status_name(o->verdict.status),
                              at,
                              o->take_seat ? limit : NULL,
                              o->free_seat ? "t" : "f"};
    const int lengths[11] = {0, (int)req->request_id.len};
    const int formats[11] = {0, 1};
    resolver_db_submit(item, "resolver_record_scan", 11, values, lengths, formats,
                       resolver_db_on_record_scan);
  } else {
    char token[TOKEN_TEXT_LEN + 1];
    token_derive(item->batch->resolver->keys->token, req->partner_id, req->request_id.data, token);
    token_hash(token, strlen(token), item->token_hash);
    sodium_memzero(token, sizeof token);
    snprintf(person, sizeof person, "%" PRId64, item->person_id);
    snprintf(at, sizeof at, "%" PRIu64, now_ms);
    const char *values[5] = {(const char *)item->token_hash, req->partner_id, person,
                             (const char *)req->request_id.data, at};
    const int lengths[5] = {TOKEN_HASH_BYTES, 0, 0, (int)req->request_id.len, 0};
    const int formats[5] = {1, 0, 0, 1, 0};
    resolver_db_submit(item, "resolver_issue_token", 5, values, lengths, formats,
                       resolver_db_on_issue_token);
  }
}

/* Scans by venue (so batches lock venue rows in one order), links last. */
static int resolver_db_write_order(const void *a, const void *b) {
  const resolver_item *x = *(resolver_item *const *)a, *y = *(resolver_item *const *)b;
  bool xs = x->route.kind == RESOLVER_ROUTE_SCAN, ys = y->route.kind == RESOLVER_ROUTE_SCAN;
  if (xs != ys) return xs ? -1 : 1;
  int c = xs ? strcmp(x->request->scan->venue_id, y->request->scan->venue_id) : 0;
  if (c) return c;
  return x < y ? -1 : x > y;
}

static void resolver_db_start_writes(resolver_batch *batch) {
  uint64_t now_ms = service_now_ms();
  size_t writes = 0;
  for (size_t i = 0; i < batch->count; i++) {
    resolver_item *item = &batch->items[i];
    if (item->route.kind == RESOLVER_ROUTE_SCAN && item->error == LINDUNG__V1__ERROR_CODE__NONE) {
      resolver_decide(&item->facts, item->request->scan->action, now_ms, &item->outcome);
      item->error = item->outcome.error;
      item->needs_write = item->error == LINDUNG__V1__ERROR_CODE__NONE && item->outcome.record;
    }
    if (item->needs_write) batch->order[writes++] = item;
  }
  qsort(batch->order, writes, sizeof batch->order[0], resolver_db_write_order);
  for (size_t i = 0; i < writes; i++) resolver_db_write(batch->order[i], now_ms);
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
  resolver_db_produce(r, input, "audit.events", event->request_id.data, event->request_id.len, out,
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
  messages_source_id(input->topic, input->partition, input->offset, source_id);
  Lindung__V1__AuditEvent event = LINDUNG__V1__AUDIT_EVENT__INIT;
  event.stage = LINDUNG__V1__AUDIT_STAGE__AUDIT_STAGE_RESOLVE;
  event.outcome = LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_DEADLETTERED;
  event.request_id.data = source_id;
  event.request_id.len = sizeof source_id;
  event.detail = (char *)reason;
  event.handled_at_ms = now_ms;
  event.service = (char *)RESOLVER_SERVICE_NAME;
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
  if (len && messages_results_topic(req->partner_id, topic, sizeof topic) == 0)
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
  if (event.request_id.len != 16) {
    /* The audit trail keys records by a 16-byte id: use the input's place. */
    messages_source_id(input->topic, input->partition, input->offset, source_id);
    event.request_id.data = source_id;
    event.request_id.len = sizeof source_id;
  }
  resolver_db_audit(r, input, &event);
  return outcome;
}

static void resolver_db_finish(resolver_batch *batch) {
  resolver_db *r = batch->resolver;
  uint64_t now_ms = service_now_ms();
  double seconds = service_monotonic_s() - batch->started_s;
  for (size_t i = 0; i < batch->count; i++) {
    resolver_item *item = &batch->items[i];
    const char *outcome;
    if (!item->request) {
      resolver_db_finish_dead_letter(r, item, proto_decode_reason(item->decode_status), now_ms);
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
  resolver_batch *batch =
      calloc(1, sizeof *batch + count * sizeof batch->items[0] + count * sizeof(resolver_item *));
  if (!batch) {
    /* Without memory nothing can be answered; leaving the inputs incomplete
     * keeps their offsets, so they are redelivered after a restart. */
    LOG_ERROR("out_of_memory", LOG_INT("inputs", count));
    return;
  }
  batch->resolver = r;
  batch->count = count;
  batch->order = (resolver_item **)(batch->items + count);
  batch->started_s = service_monotonic_s();
  batch->phase = 1;
  batch->pending = 1;
  r->batches++;
  for (size_t i = 0; i < count; i++) {
    resolver_item *item = &batch->items[i];
    item->batch = batch;
    item->input = inputs[i];
    ProtobufCMessage *message = NULL;
    item->decode_status =
        proto_decode(&lindung__v1__decrypted_request__descriptor, inputs[i]->value,
                     inputs[i]->value_len, PROTO_MAX_MESSAGE_BYTES, &message);
    if (item->decode_status != PROTO_DECODE_OK) continue;
    item->request = (Lindung__V1__DecryptedRequest *)message;
    resolver_route_request(item->request, &item->route);
    if (item->route.kind == RESOLVER_ROUTE_ERROR)
      item->error = item->route.error;
    else if (item->route.kind == RESOLVER_ROUTE_SCAN || item->route.kind == RESOLVER_ROUTE_LINK)
      resolver_db_lookup(item);
  }
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
