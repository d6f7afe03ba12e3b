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

#include "health_rules.h"
#include "log.h"
#include "messages.h"
#include "pg_array.h"
#include "registry_rules.h"
#include "proto_limits.h"
#include "hex.h"
#include "resolver_answers.h"
#include "resolver_rules.h"
#include "token.h"
#include "topics.h"

/* At most one log line per this many milliseconds about failing queries. */
#define RESOLVER_DB_LOG_INTERVAL_MS 10000
/* A batch whose transaction failed for a passing reason (a deadlock with
 * another instance, work undone by another query's failure) is worked
 * through again, at most this many times in all, before it is answered
 * UNAVAILABLE. */
#define RESOLVER_DB_ATTEMPTS 4

/* Each statement carries a whole batch as one array per column, in binary
 * array format (no quoting of venue ids), and answers one row per element,
 * in element order. Lookups by key are LATERAL (... LIMIT 1) (the keys are
 * unique anyway) so that no plan, not even a generic one cached while the
 * tables were small, scans a whole table per batch. */

/* Phase 1, both kinds: an earlier answer to this partner's request id
 * (0500_answer_log.sql), as two trailing columns: its digest in hex and the
 * error code answered. */
#define RESOLVER_DB_ANSWER_JOIN                                                       \
  " LEFT JOIN LATERAL (SELECT x.digest, x.error_code FROM resolver_answers x"         \
  "                     WHERE x.partner_id = q.partner_id AND x.request_id = q.request_id" \
  "                     LIMIT 1) ra ON true"

/* Phase 1, scan: everything the verdict needs, one row per scan whatever
 * exists, led by the scan's position (1-based). $1 token hashes, $2 partner
 * ids, $3 venue ids, $4 request ids, $5 the lookup time in milliseconds (an
 * array of one, so that every parameter goes as a binary array). A
 * partner's revocation ends its tokens as well. The person's health facts
 * come summarised (health_summary(), 0300_health_facts.sql) with the numbers
 * of the rule set in force at $5; the colour itself is health_colour()'s.
 * A region's rule (its own, else its province's) overrides the category's
 * colours and the PPKM level; the capacity share follows that level, else
 * the settings row ppkm_level: levels 1 and 2 use share_level2, 3
 * share_level3, anything else the strictest, share_level4. */
static const char resolver_db_scan_facts_sql[] =
    "SELECT q.i, t.person_id, t.partner_id = q.partner_id,"
    " (t.revoked_at IS NOT NULL OR p.status <> 'active'),"
    " coalesce(hs.facts, 0), v.name, v.capacity, v.occupancy,"
    " coalesce(rc.admits_green, c.admits_green), coalesce(rc.admits_yellow, c.admits_yellow),"
    " CASE WHEN coalesce(rr.ppkm_level::text, s.value) IN ('1', '2') THEN c.share_level2"
    "      WHEN coalesce(rr.ppkm_level::text, s.value) = '3' THEN c.share_level3"
    "      ELSE c.share_level4 END,"
    " ci.decision, ci.reason, ci.status, (extract(epoch FROM ci.at) * 1000)::bigint,"
    " coalesce(hs.birth_ms,"
    "          (extract(epoch FROM pe.birth_date::timestamp AT TIME ZONE 'UTC') * 1000)::bigint),"
    " hs.doses, hs.boosters, hs.antigen_negative_ms, hs.pcr_negative_ms, hs.positive_ms,"
    " hs.close_contact_ms, hs.recovered_ms,"
    " r.scheme, r.antigen_valid_hours, r.pcr_valid_hours, r.recovered_valid_days,"
    " r.positive_days, r.contact_days, r.contact_pcr_clear_day, r.contact_clear_day, r.adult_age,"
    " encode(ra.digest, 'hex'), ra.error_code"
    " FROM unnest($1::bytea[], $2::text[], $3::text[], $4::bytea[]) WITH ORDINALITY"
    "      AS q (token_hash, partner_id, venue_id, request_id, i)"
    " LEFT JOIN LATERAL (SELECT * FROM rule_sets x"
    "                     WHERE x.effective_from <= timestamptz 'epoch' + ($5::bigint[])[1]"
    "                           * interval '1 millisecond'"
    "                     ORDER BY x.effective_from DESC LIMIT 1) r ON true"
    " LEFT JOIN LATERAL (SELECT * FROM tokens x WHERE x.token_hash = q.token_hash LIMIT 1) t"
    "      ON true"
    " LEFT JOIN LATERAL (SELECT * FROM partners x WHERE x.partner_id = t.partner_id LIMIT 1) p"
    "      ON true"
    " LEFT JOIN LATERAL (SELECT * FROM people x WHERE x.person_id = t.person_id LIMIT 1) pe"
    "      ON true"
    " LEFT JOIN LATERAL health_summary(pe.nik_hash, ($5::bigint[])[1]) hs ON pe.nik_hash IS NOT NULL"
    " LEFT JOIN LATERAL (SELECT * FROM venues x WHERE x.venue_id = q.venue_id LIMIT 1) v ON true"
    " LEFT JOIN LATERAL (SELECT * FROM venue_categories x WHERE x.category = v.category LIMIT 1) c"
    "      ON true"
    " LEFT JOIN LATERAL (SELECT x.ppkm_level FROM rule_set_regions x"
    "                     WHERE x.rule_set_id = r.rule_set_id"
    "                       AND x.region IN (v.region, split_part(v.region, '.', 1))"
    "                     ORDER BY length(x.region) DESC LIMIT 1) rr ON true"
    " LEFT JOIN LATERAL (SELECT x.admits_green, x.admits_yellow FROM rule_set_region_categories x"
    "                     WHERE x.rule_set_id = r.rule_set_id AND x.category = v.category"
    "                       AND x.region IN (v.region, split_part(v.region, '.', 1))"
    "                     ORDER BY length(x.region) DESC LIMIT 1) rc ON true"
    " LEFT JOIN settings s ON s.name = 'ppkm_level'"
    " LEFT JOIN LATERAL (SELECT * FROM check_ins x"
    "                     WHERE x.partner_id = q.partner_id AND x.request_id = q.request_id"
    "                     LIMIT 1) ci ON true"
    RESOLVER_DB_ANSWER_JOIN
    " ORDER BY q.i";

/* Phase 1, link: $1 NIK hashes, $2 partner ids, $3 request ids. */
static const char resolver_db_link_facts_sql[] =
    "SELECT q.i, p.person_id, (extract(epoch FROM t.issued_at) * 1000)::bigint,"
    " encode(ra.digest, 'hex'), ra.error_code"
    " FROM unnest($1::bytea[], $2::text[], $3::bytea[]) WITH ORDINALITY"
    "      AS q (nik_hash, partner_id, request_id, i)"
    " LEFT JOIN LATERAL (SELECT x.person_id FROM people x WHERE x.nik_hash = q.nik_hash LIMIT 1) p"
    "      ON true"
    " LEFT JOIN LATERAL (SELECT x.issued_at FROM tokens x"
    "                     WHERE x.partner_id = q.partner_id AND x.request_id = q.request_id"
    "                     LIMIT 1) t ON true"
    RESOLVER_DB_ANSWER_JOIN
    " ORDER BY q.i";
#define RESOLVER_DB_LINK_FACTS_COLUMNS 5
#define RESOLVER_DB_LINK_COL_ANSWER 3

/* Phase 2 (functions of db/migrations/lindung/0101_resolver_batch.sql). */
static const char resolver_db_record_scans_sql[] =
    "SELECT o_decision, o_reason, o_status, o_at_ms FROM resolver_record_scans("
    "$1::text[], $2::bytea[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[],"
    " $8::text[], $9::bigint[], $10::integer[], $11::boolean[])";
static const char resolver_db_issue_tokens_sql[] =
    "SELECT o_issued_at_ms FROM resolver_issue_tokens("
    "$1::bytea[], $2::text[], $3::bigint[], $4::bytea[], $5::bigint[])";
/* Phase 2, every answer worth keeping (0500_answer_log.sql): $1 partner ids,
 * $2 request ids, $3 digests, $4 error codes, $5 the time (array of one). */
static const char resolver_db_record_answers_sql[] =
    "SELECT encode(o_digest, 'hex'), o_error FROM resolver_record_answers("
    "$1::text[], $2::bytea[], $3::bytea[], $4::integer[], $5::bigint[])";

const pgq_statement resolver_db_statements[] = {
    {"resolver_scan_facts", resolver_db_scan_facts_sql, 5},
    {"resolver_link_facts", resolver_db_link_facts_sql, 3},
    {"resolver_record_scans", resolver_db_record_scans_sql, 11},
    {"resolver_issue_tokens", resolver_db_issue_tokens_sql, 5},
    {"resolver_record_answers", resolver_db_record_answers_sql, 5},
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

/* A row belongs to the item at its place when the statement leads with the
 * 1-based position (phase 1); a mismatch fails that item only. */
static bool resolver_db_row_is(const PGresult *res, int row) {
  int64_t i = 0;
  return pg_cell_int(res, row, 0, &i) == 0 && i == (int64_t)row + 1;
}

static void resolver_db_fail(resolver_item *item) {
  item->error = LINDUNG__V1__ERROR_CODE__UNAVAILABLE;
  item->needs_write = false;
}

static void resolver_db_fail_group(resolver_group *group) {
  for (size_t i = 0; i < group->count; i++) resolver_db_fail(group->items[i]);
}

/* A statement's result is usable: one row per item, of the expected width.
 * Otherwise every item of the group is answered UNAVAILABLE. */
static bool resolver_db_result_ok(resolver_group *group, const PGresult *res, const char *error,
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

static void resolver_db_row_bad(resolver_item *item, const char *statement) {
  resolver_db_note_failure(item->batch->resolver, statement, "unexpected value");
  resolver_db_fail(item);
}

/* One statement of the current phase is answered (or the submitting code
 * let go of its hold): the last one moves the batch on. The batch may be
 * freed. */
static void resolver_db_release(resolver_batch *batch) {
  if (--batch->pending == 0) resolver_db_phase_done(batch);
}

/* Submits a group's statement with its arrays; on refusal (PostgreSQL away,
 * queue full, out of memory) every item of the group is answered
 * UNAVAILABLE. The arrays are freed (and wiped) here. */
static void resolver_db_submit(resolver_group *group, pg_array *arrays, int count,
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

/* --- phase 1: lookups ---------------------------------------------------- */

/* The answer log's two columns of a lookup row (digest in hex, error code):
 * an answer on record is repeated, or the request is a REPLAYED reuse of
 * the id, whatever the facts say now. */
static void resolver_db_answer_row(resolver_item *item, const PGresult *res, int row, int col) {
  bool recorded = !pg_cell_is_null(res, row, col);
  uint8_t recorded_digest[RESOLVER_ANSWER_DIGEST_BYTES];
  int64_t recorded_error = 0;
  if (recorded) {
    const char *hex = pg_cell_text(res, row, col);
    if (strlen(hex) != 2 * sizeof recorded_digest ||
        hex_decode(hex, recorded_digest, sizeof recorded_digest) != 0 ||
        pg_cell_int(res, row, col + 1, &recorded_error) != 0 || recorded_error < 0 ||
        recorded_error > INT32_MAX) {
      resolver_db_row_bad(item, "resolver_answers");
      return;
    }
  }
  if (!item->has_digest) return;
  Lindung__V1__ErrorCode error = item->error;
  if (resolver_answer_check(recorded, recorded_digest, sizeof recorded_digest,
                            (int32_t)recorded_error, item->digest,
                            &error) == RESOLVER_ANSWER_NEW)
    return;
  item->answer_on_record = true;
  if (error != item->error) {
    item->error = error;
    item->needs_write = false;
  }
}

/* A time column: NULL is "no such fact". */
static int resolver_db_time(const PGresult *res, int row, int col, int64_t *out) {
  if (pg_cell_is_null(res, row, col)) {
    *out = HEALTH_NONE;
    return 0;
  }
  return pg_cell_int(res, row, col, out);
}

/* The person's colour from the summarised facts and the rule set in force
 * (health_rules.c), as of the lookup time. */
static int resolver_db_colour(resolver_item *item, const PGresult *res, int row) {
  health_summary s;
  health_rule_set rules;
  int64_t v[9];
  int bad = 0;
  bad |= pg_cell_int(res, row, RESOLVER_DB_COL_FACTS, &v[0]);
  for (int i = 0; i < 8; i++) bad |= resolver_db_time(res, row, RESOLVER_DB_COL_SUMMARY + i, &v[1 + i]);
  if (bad) return -1;
  s.facts = (int)v[0];
  s.birth_ms = v[1];
  s.doses = v[2] == HEALTH_NONE ? 0 : (int)v[2];
  s.boosters = v[3] == HEALTH_NONE ? 0 : (int)v[3];
  s.antigen_negative_ms = v[4];
  s.pcr_negative_ms = v[5];
  s.positive_ms = v[6];
  s.close_contact_ms = v[7];
  s.recovered_ms = v[8];
  /* No rule set in force is a setup fault: answered UNAVAILABLE, not a colour. */
  rules.scheme = health_scheme_parse(pg_cell_text(res, row, RESOLVER_DB_COL_RULES));
  int *numbers[8] = {&rules.antigen_valid_hours, &rules.pcr_valid_hours,
                     &rules.recovered_valid_days, &rules.positive_days, &rules.contact_days,
                     &rules.contact_pcr_clear_day, &rules.contact_clear_day, &rules.adult_age};
  for (int i = 0; i < 8; i++) {
    int64_t n = 0;
    if (pg_cell_int(res, row, RESOLVER_DB_COL_RULES + 1 + i, &n) != 0 || n < 0 || n > 100000)
      return -1;
    *numbers[i] = (int)n;
  }
  if (!health_rule_set_valid(&rules)) return -1;
  /* reg_colour has the numbers of lindung.v1.Status; INVALID (no record) is
   * STATUS_UNSPECIFIED. */
  item->facts.status =
      (Lindung__V1__Status)health_colour(&s, &rules, (int64_t)item->batch->lookup_ms);
  return 0;
}

static void resolver_db_scan_facts_row(resolver_item *item, const PGresult *res, int row) {
  resolver_scan_facts *f = &item->facts;
  bool bad = !resolver_db_row_is(res, row);
  f->token_found = !pg_cell_is_null(res, row, 1);
  if (f->token_found) {
    bad |= pg_cell_int(res, row, 1, &f->person_id) != 0;
    f->token_same_partner = pg_cell_bool(res, row, 2);
    f->token_revoked = pg_cell_bool(res, row, 3);
    bad |= resolver_db_colour(item, res, row) != 0;
  }
  const char *name = pg_cell_text(res, row, 5);
  f->venue_found = name != NULL;
  if (f->venue_found) {
    size_t keep = resolver_utf8_cut(name, strlen(name), RESOLVER_VENUE_NAME_MAX);
    memcpy(item->venue_name, name, keep);
    item->venue_name[keep] = '\0';
    f->capacity_limited = !pg_cell_is_null(res, row, 6);
    if (f->capacity_limited) {
      bad |= pg_cell_int(res, row, 6, &f->capacity) != 0;
      bad |= pg_cell_int(res, row, 10, &f->share_percent) != 0;
    }
    bad |= pg_cell_int(res, row, 7, &f->occupancy) != 0;
    f->admits_green = pg_cell_bool(res, row, 8);
    f->admits_yellow = pg_cell_bool(res, row, 9);
  }
  const char *decision = pg_cell_text(res, row, 11);
  f->recorded = decision != NULL;
  if (f->recorded) {
    resolver_verdict *v = &f->recorded_verdict;
    const char *status = pg_cell_text(res, row, 13);
    int64_t at_ms = 0;
    v->status = LINDUNG__V1__STATUS__STATUS_UNSPECIFIED;
    bad |= resolver_decision_parse(decision, &v->decision) != 0;
    bad |= resolver_reason_parse(pg_cell_text(res, row, 12), &v->reason) != 0;
    if (status) bad |= resolver_status_parse(status, &v->status) != 0;
    bad |= pg_cell_int(res, row, 14, &at_ms) != 0 || at_ms < 0;
    v->checked_at_ms = (uint64_t)at_ms;
  }
  if (bad)
    resolver_db_row_bad(item, "resolver_scan_facts");
  else
    resolver_db_answer_row(item, res, row, RESOLVER_DB_SCAN_COL_ANSWER);
}

static void resolver_db_on_scan_facts(void *arg, const PGresult *res, const char *error) {
  resolver_group *group = arg;
  if (resolver_db_result_ok(group, res, error, RESOLVER_DB_SCAN_FACTS_COLUMNS)) {
    for (size_t i = 0; i < group->count; i++)
      resolver_db_scan_facts_row(group->items[i], res, (int)i);
  }
  resolver_db_release(group->batch);
}

static void resolver_db_link_facts_row(resolver_item *item, const PGresult *res, int row) {
  bool bad = !resolver_db_row_is(res, row);
  item->person_known = !pg_cell_is_null(res, row, 1);
  if (item->person_known) bad |= pg_cell_int(res, row, 1, &item->person_id) != 0;
  if (!pg_cell_is_null(res, row, 2)) {
    /* Issued before: a redelivered Link is answered with the same token
     * and time, without a second write. */
    int64_t at_ms = 0;
    bad |= pg_cell_int(res, row, 2, &at_ms) != 0 || at_ms < 0;
    item->issued_at_ms = (uint64_t)at_ms;
  }
  if (bad) {
    resolver_db_row_bad(item, "resolver_link_facts");
  } else if (!item->person_known && item->issued_at_ms == 0) {
    item->error = LINDUNG__V1__ERROR_CODE__UNKNOWN_NIK;
  } else if (item->issued_at_ms == 0) {
    item->needs_write = true;
  }
  if (!bad) resolver_db_answer_row(item, res, row, RESOLVER_DB_LINK_COL_ANSWER);
}

static void resolver_db_on_link_facts(void *arg, const PGresult *res, const char *error) {
  resolver_group *group = arg;
  if (resolver_db_result_ok(group, res, error, RESOLVER_DB_LINK_FACTS_COLUMNS)) {
    for (size_t i = 0; i < group->count; i++)
      resolver_db_link_facts_row(group->items[i], res, (int)i);
  }
  resolver_db_release(group->batch);
}

/* A statement's arrays could not be built: free them, and answer the group
 * UNAVAILABLE. */
static void resolver_db_arrays_fail(resolver_group *group, pg_array *a, size_t count, int rc) {
  for (size_t i = 0; i < count; i++) pg_array_free(&a[i]);
  resolver_db_note_failure(group->batch->resolver, group->statement, strerror(-rc));
  resolver_db_fail_group(group);
}

/* One array per statement parameter, of type oids[i]: the first per_item
 * hold one element per item of the group, the rest (the batch's time) one.
 * 0, or -1 with the group failed. */
static int resolver_db_arrays_init(resolver_group *group, pg_array *a, size_t count,
                                   const uint32_t *oids, size_t per_item) {
  memset(a, 0, count * sizeof *a);
  int rc = 0;
  for (size_t i = 0; i < count && rc == 0; i++)
    rc = pg_array_init(&a[i], oids[i], i < per_item ? group->count : 1, 16);
  if (rc == 0) return 0;
  resolver_db_arrays_fail(group, a, count, rc);
  return -1;
}

static void resolver_db_lookup_scans(resolver_group *group) {
  size_t n = group->count;
  static const uint32_t oids[5] = {PG_OID_BYTEA, PG_OID_TEXT, PG_OID_TEXT, PG_OID_BYTEA,
                                   PG_OID_INT8};
  pg_array a[5];
  if (resolver_db_arrays_init(group, a, 5, oids, 4) != 0) return;
  for (size_t i = 0; i < n; i++) {
    resolver_item *item = group->items[i];
    const Lindung__V1__DecryptedRequest *req = item->request;
    item->has_digest = resolver_request_digest(req, NULL, 0, item->digest) == 0;
    pg_array_put(&a[0], req->scan->token_hash.data, req->scan->token_hash.len);
    pg_array_put_text(&a[1], req->partner_id);
    pg_array_put_text(&a[2], req->scan->venue_id);
    pg_array_put(&a[3], req->request_id.data, req->request_id.len);
  }
  group->batch->lookup_ms = service_now_ms();
  pg_array_put_int8(&a[4], (int64_t)group->batch->lookup_ms);
  resolver_db_submit(group, a, 5, resolver_db_on_scan_facts);
}

static void resolver_db_lookup_links(resolver_group *group) {
  size_t n = group->count;
  static const uint32_t oids[3] = {PG_OID_BYTEA, PG_OID_TEXT, PG_OID_BYTEA};
  pg_array a[3];
  memset(a, 0, sizeof a);
  int rc = 0;
  for (int i = 0; i < 3 && rc == 0; i++) rc = pg_array_init(&a[i], oids[i], n, 16);
  for (size_t i = 0; i < n; i++) {
    const Lindung__V1__DecryptedRequest *req = group->items[i]->request;
    char *nik = req->link->nik;
    resolver_item *item = group->items[i];
    /* The NIK was checked when the batch was routed; this cannot fail. */
    if (rc == 0 && !item->nik_hashed &&
        reg_nik_hash(group->batch->resolver->keys->nik, nik, item->nik_hash) != 0)
      rc = -EINVAL;
    item->nik_hashed = rc == 0;
    if (rc == 0) {
      item->has_digest =
          resolver_request_digest(req, item->nik_hash, sizeof item->nik_hash, item->digest) == 0;
      pg_array_put(&a[0], item->nik_hash, sizeof item->nik_hash);
      pg_array_put_text(&a[1], req->partner_id);
      pg_array_put(&a[2], req->request_id.data, req->request_id.len);
    }
    /* The NIK is needed no longer: wipe it from the decoded message. */
    sodium_memzero(nik, strlen(nik));
  }
  if (rc) {
    resolver_db_arrays_fail(group, a, 3, rc);
    return;
  }
  resolver_db_submit(group, a, 3, resolver_db_on_link_facts);
}

/* --- phase 2: writes ----------------------------------------------------- */

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

static void resolver_db_start_writes(resolver_batch *batch) {
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
