/* resolver_db_lookup: phase 1 of the resolver's batch flow, one set-based
 * lookup for the batch's scans and one for its links (see resolver_db.h). */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "log.h"
#include "resolver_batch.h"

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
const char resolver_db_scan_facts_sql[] =
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
const char resolver_db_link_facts_sql[] =
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

/* The answer log's two columns of a lookup row (digest in hex, error code):
 * an answer on record is repeated, or the request is a REPLAYED reuse of
 * the id, whatever the facts say now. */
void resolver_db_answer_row(resolver_item *item, const PGresult *res, int row, int col) {
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

void resolver_db_lookup_scans(resolver_group *group) {
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

void resolver_db_lookup_links(resolver_group *group) {
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
