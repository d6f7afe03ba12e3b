/* it_resolver_batch: the status-resolver's set-based statements against the
 * real PostgreSQL of the test stack, as the lindung_resolver role, with the
 * arrays built by resolver_db.c's binary array encoder: element order, a
 * venue id full of array-literal syntax (Q"R,{x}\y), seats taken row by row
 * within one batch, a refused seat, check-out, a request repeated within a
 * batch, redelivery answering what was recorded, tokens issued once, a
 * malformed call failing as a whole, and the answer log deleted (and
 * counted) by the retention run only. */
#include <libpq-fe.h>
#include <unistd.h>

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hex.h"
#include "pg_array.h"
#include "resolver_db.h"
#include "resolver_rules.h"
#include "support.h"
#include "testing.h"

#define IT_ROWS 6

static PGconn *it_admin, *it_resolver;
static char it_venue[64], it_partner[40], it_category[40];
static int64_t it_person;
static uint8_t it_token[32];

/* A row answers the item at its place when it leads with the 1-based
 * position (as resolver_db.c reads them). */
static bool it_row_is(const PGresult *res, int row) {
  int64_t i = 0;
  return pg_cell_int(res, row, 0, &i) == 0 && i == (int64_t)row + 1;
}

/* Runs admin SQL with text parameters; exits on failure (set-up only). */
static PGresult *it_admin_sql(const char *sql, int n, const char *const *values) {
  PGresult *res = PQexecParams(it_admin, sql, n, NULL, values, NULL, NULL, 0);
  ExecStatusType st = PQresultStatus(res);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    fprintf(stderr, "set-up failed: %s\n", PQresultErrorMessage(res));
    exit(2);
  }
  return res;
}

static int64_t it_occupancy(void) {
  const char *v[1] = {it_venue};
  PGresult *res = it_admin_sql("SELECT occupancy FROM venues WHERE venue_id = $1", 1, v);
  int64_t occ = PQntuples(res) == 1 ? atoll(PQgetvalue(res, 0, 0)) : -1;
  PQclear(res);
  return occ;
}

static void it_set_occupancy(int occ) {
  char text[16];
  snprintf(text, sizeof text, "%d", occ);
  const char *v[2] = {text, it_venue};
  PQclear(it_admin_sql("UPDATE venues SET occupancy = $1 WHERE venue_id = $2", 2, v));
}

/* Executes one of resolver_db_statements by name, the arrays as built. */
static PGresult *it_exec(const char *statement, pg_array *a, int count) {
  const char *values[11];
  int lengths[11], formats[11];
  for (int i = 0; i < count; i++) {
    CHECK_EQ_INT(pg_array_finish(&a[i]), 0);
    values[i] = (const char *)a[i].data;
    lengths[i] = (int)a[i].len;
    formats[i] = 1;
  }
  PGresult *res = PQexecPrepared(it_resolver, statement, count, values, lengths, formats, 0);
  for (int i = 0; i < count; i++) pg_array_free(&a[i]);
  if (PQresultStatus(res) != PGRES_TUPLES_OK)
    fprintf(stderr, "%s: %s", statement, PQresultErrorMessage(res));
  return res;
}

static void it_request_id(uint8_t out[16], int n) {
  static uint8_t base[8];
  if (!base[0]) randombytes_buf(base, sizeof base), base[0] |= 1;
  memcpy(out, base, 8);
  memset(out + 8, 0, 8);
  out[15] = (uint8_t)n;
}

static void test_arrays_encode(void) {
  pg_array a;
  CHECK_EQ_INT(pg_array_init(&a, PG_OID_INT4, 0, 4), -EINVAL);
  CHECK_EQ_INT(pg_array_init(&a, PG_OID_INT4, 2, 1), 0);
  pg_array_put_int4(&a, -2);
  CHECK_EQ_INT(pg_array_finish(&a), -EINVAL); /* one element short */
  pg_array_put_null(&a);
  CHECK_EQ_INT(pg_array_finish(&a), 0);
  static const uint8_t want[] = {0,  0, 0,    1,    0,    0,    0,    1,    0,    0,   0,
                                 23, 0, 0,    0,    2,    0,    0,    0,    1,    0,   0,
                                 0,  4, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff};
  CHECK_EQ_INT(a.len, sizeof want);
  if (a.len == sizeof want) CHECK_MEM(a.data, want, sizeof want);
  /* The server reads it back as written. */
  const char *values[1] = {(const char *)a.data};
  int lengths[1] = {(int)a.len}, formats[1] = {1};
  PGresult *res =
      PQexecParams(it_resolver, "SELECT $1::integer[]::text", 1, NULL, values, lengths, formats, 0);
  CHECK(PQresultStatus(res) == PGRES_TUPLES_OK);
  if (PQresultStatus(res) == PGRES_TUPLES_OK) CHECK_EQ_STR(PQgetvalue(res, 0, 0), "{-2,NULL}");
  PQclear(res);
  pg_array_free(&a);

  /* Text needs no escaping in binary form. */
  CHECK_EQ_INT(pg_array_init(&a, PG_OID_TEXT, 2, 1), 0);
  pg_array_put_text(&a, it_venue);
  pg_array_put_text(&a, "");
  CHECK_EQ_INT(pg_array_finish(&a), 0);
  values[0] = (const char *)a.data;
  lengths[0] = (int)a.len;
  res = PQexecParams(it_resolver,
                     "SELECT x FROM unnest($1::text[]) WITH ORDINALITY u (x, i) ORDER BY i", 1,
                     NULL, values, lengths, formats, 0);
  CHECK(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 2);
  if (PQntuples(res) == 2) {
    CHECK_EQ_STR(PQgetvalue(res, 0, 0), it_venue);
    CHECK_EQ_STR(PQgetvalue(res, 1, 0), "");
  }
  PQclear(res);
  pg_array_free(&a);
}

static void test_scan_facts(void) {
  pg_array a[5];
  uint8_t rid[3][16], unknown_token[32];
  randombytes_buf(unknown_token, sizeof unknown_token);
  const char *venues[3] = {it_venue, "nope{,}\"\\", it_venue};
  const uint8_t *tokens[3] = {it_token, unknown_token, it_token};
  pg_array_init(&a[0], PG_OID_BYTEA, 3, 32);
  pg_array_init(&a[1], PG_OID_TEXT, 3, 8);
  pg_array_init(&a[2], PG_OID_TEXT, 3, 8);
  pg_array_init(&a[3], PG_OID_BYTEA, 3, 16);
  for (int i = 0; i < 3; i++) {
    it_request_id(rid[i], 100 + i);
    pg_array_put(&a[0], tokens[i], 32);
    pg_array_put_text(&a[1], it_partner);
    pg_array_put_text(&a[2], venues[i]);
    pg_array_put(&a[3], rid[i], 16);
  }
  /* The lookup time: the rule set in force then (July 2022 from 2022-07-17). */
  pg_array_init(&a[4], PG_OID_INT8, 1, 8);
  pg_array_put_int8(&a[4], (int64_t)time(NULL) * 1000);
  PGresult *res = it_exec("resolver_scan_facts", a, 5);
  CHECK(PQresultStatus(res) == PGRES_TUPLES_OK);
  CHECK_EQ_INT(PQntuples(res), 3);
  CHECK_EQ_INT(PQnfields(res), RESOLVER_DB_SCAN_FACTS_COLUMNS);
  if (PQntuples(res) == 3 && PQnfields(res) == RESOLVER_DB_SCAN_FACTS_COLUMNS) {
    for (int i = 0; i < 3; i++) CHECK(it_row_is(res, i));
    int64_t person = 0;
    CHECK_EQ_INT(pg_cell_int(res, 0, 1, &person), 0);
    CHECK_EQ_INT(person, it_person);
    CHECK(pg_cell_bool(res, 0, 2));  /* same partner */
    CHECK(!pg_cell_bool(res, 0, 3)); /* not revoked */
    CHECK_EQ_STR(pg_cell_text(res, 0, 5), "Batch test venue");
    CHECK_EQ_STR(pg_cell_text(res, 0, 6), "3");
    CHECK(pg_cell_is_null(res, 0, 11)); /* nothing recorded */
    CHECK(pg_cell_is_null(res, 1, 1));  /* unknown token */
    CHECK(pg_cell_is_null(res, 1, 5));  /* unknown venue */
    CHECK_EQ_STR(pg_cell_text(res, 2, 5), "Batch test venue");
    /* The rule set in force and the person's summarised facts. */
    CHECK_EQ_STR(pg_cell_text(res, 0, RESOLVER_DB_COL_RULES), "jul2022");
    CHECK_EQ_STR(pg_cell_text(res, 0, RESOLVER_DB_COL_RULES + 1), "24");
    CHECK(pg_cell_text(res, 0, RESOLVER_DB_COL_FACTS) != NULL);
    CHECK_EQ_STR(pg_cell_text(res, 1, RESOLVER_DB_COL_FACTS), "0"); /* nobody */
  }
  PQclear(res);

  /* A lookup dated in September 2021 sees that rule set. */
  pg_array_init(&a[0], PG_OID_BYTEA, 1, 32);
  pg_array_init(&a[1], PG_OID_TEXT, 1, 8);
  pg_array_init(&a[2], PG_OID_TEXT, 1, 8);
  pg_array_init(&a[3], PG_OID_BYTEA, 1, 16);
  pg_array_init(&a[4], PG_OID_INT8, 1, 8);
  pg_array_put(&a[0], it_token, 32);
  pg_array_put_text(&a[1], it_partner);
  pg_array_put_text(&a[2], it_venue);
  pg_array_put(&a[3], rid[0], 16);
  pg_array_put_int8(&a[4], INT64_C(1634000000000)); /* 2021-10-12 */
  res = it_exec("resolver_scan_facts", a, 5);
  CHECK_EQ_INT(PQntuples(res), 1);
  if (PQntuples(res) == 1)
    CHECK_EQ_STR(pg_cell_text(res, 0, RESOLVER_DB_COL_RULES), "sept2021");
  PQclear(res);
}

typedef struct it_scan {
  int request;
  const char *action, *decision, *reason, *status;
  int64_t at_ms;
  int seat_limit; /* 0: none */
  bool free_seat;
} it_scan;

static PGresult *it_record(const it_scan *rows, int n) {
  static const uint32_t oids[11] = {
      PG_OID_TEXT, PG_OID_BYTEA, PG_OID_INT8, PG_OID_TEXT,
      PG_OID_TEXT, PG_OID_TEXT,  PG_OID_TEXT, PG_OID_TEXT,
      PG_OID_INT8, PG_OID_INT4,  PG_OID_BOOL};
  pg_array a[11];
  for (int i = 0; i < 11; i++)
    CHECK_EQ_INT(pg_array_init(&a[i], oids[i], (size_t)n, 8), 0);
  for (int i = 0; i < n; i++) {
    uint8_t rid[16];
    it_request_id(rid, rows[i].request);
    pg_array_put_text(&a[0], it_partner);
    pg_array_put(&a[1], rid, 16);
    pg_array_put_int8(&a[2], it_person);
    pg_array_put_text(&a[3], it_venue);
    pg_array_put_text(&a[4], rows[i].action);
    pg_array_put_text(&a[5], rows[i].decision);
    pg_array_put_text(&a[6], rows[i].reason);
    pg_array_put_text(&a[7], rows[i].status);
    pg_array_put_int8(&a[8], rows[i].at_ms);
    if (rows[i].seat_limit)
      pg_array_put_int4(&a[9], rows[i].seat_limit);
    else
      pg_array_put_null(&a[9]);
    pg_array_put_bool(&a[10], rows[i].free_seat);
  }
  return it_exec("resolver_record_scans", a, 11);
}

static void it_expect_row(const PGresult *res, int row, const char *decision, const char *reason,
                          const char *status, int64_t at_ms) {
  CHECK_EQ_STR(pg_cell_text(res, row, 0), decision);
  CHECK_EQ_STR(pg_cell_text(res, row, 1), reason);
  if (status)
    CHECK_EQ_STR(pg_cell_text(res, row, 2), status);
  else
    CHECK(pg_cell_is_null(res, row, 2));
  int64_t at = 0;
  CHECK_EQ_INT(pg_cell_int(res, row, 3, &at), 0);
  CHECK_EQ_INT(at, at_ms);
}

static void test_record_scans(void) {
  const int64_t t = 1700000000000;
  it_set_occupancy(0);
  /* Seat limit 2: two check-ins take the places, the third is refused, a
   * check-out frees one, the next check-in takes it; the last row repeats
   * the first request and changes nothing. */
  const it_scan rows[IT_ROWS] = {
      {1, "check_in", "allow", "status_allowed", "green", t + 1, 2, false},
      {2, "check_in", "allow", "status_allowed", "yellow", t + 2, 2, false},
      {3, "check_in", "allow", "status_allowed", "green", t + 3, 2, false},
      {4, "check_out", "allow", "checked_out", "", t + 4, 0, true},
      {5, "check_in", "allow", "status_allowed", "green", t + 5, 2, false},
      {1, "check_in", "allow", "status_allowed", "green", t + 6, 2, false},
  };
  PGresult *res = it_record(rows, IT_ROWS);
  CHECK(PQresultStatus(res) == PGRES_TUPLES_OK);
  CHECK_EQ_INT(PQntuples(res), IT_ROWS);
  if (PQntuples(res) == IT_ROWS && PQnfields(res) == 4) {
    it_expect_row(res, 0, "allow", "status_allowed", "green", t + 1);
    it_expect_row(res, 1, "allow", "status_allowed", "yellow", t + 2);
    it_expect_row(res, 2, "deny", "venue_full", "green", t + 3);
    it_expect_row(res, 3, "allow", "checked_out", NULL, t + 4);
    it_expect_row(res, 4, "allow", "status_allowed", "green", t + 5);
    it_expect_row(res, 5, "allow", "status_allowed", "green", t + 1);
  }
  PQclear(res);
  CHECK_EQ_INT(it_occupancy(), 2);

  /* Redelivery (later times, other proposals): every row answers what was
   * recorded, and no seat moves. */
  it_scan again[IT_ROWS];
  for (int i = 0; i < IT_ROWS; i++) {
    again[i] = rows[i];
    again[i].at_ms += 1000;
    again[i].decision = "deny";
    again[i].reason = "not_vaccinated";
  }
  res = it_record(again, IT_ROWS);
  CHECK(PQresultStatus(res) == PGRES_TUPLES_OK);
  CHECK_EQ_INT(PQntuples(res), IT_ROWS);
  if (PQntuples(res) == IT_ROWS && PQnfields(res) == 4) {
    it_expect_row(res, 0, "allow", "status_allowed", "green", t + 1);
    it_expect_row(res, 2, "deny", "venue_full", "green", t + 3);
    it_expect_row(res, 3, "allow", "checked_out", NULL, t + 4);
    it_expect_row(res, 4, "allow", "status_allowed", "green", t + 5);
  }
  PQclear(res);
  CHECK_EQ_INT(it_occupancy(), 2);

  /* Check-outs never go below zero. */
  it_set_occupancy(0);
  const it_scan out[2] = {{10, "check_out", "allow", "checked_out", "red", t + 10, 0, true},
                          {11, "check_in", "deny", "not_vaccinated", "red", t + 11, 0, false}};
  res = it_record(out, 2);
  CHECK(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 2);
  if (PQntuples(res) == 2) {
    it_expect_row(res, 0, "allow", "checked_out", "red", t + 10);
    it_expect_row(res, 1, "deny", "not_vaccinated", "red", t + 11);
  }
  PQclear(res);
  CHECK_EQ_INT(it_occupancy(), 0);
}

static void test_issue_tokens(void) {
  uint8_t hashes[2][32], rid[2][16];
  const int64_t t = 1700000100000;
  PGresult *res = NULL;
  for (int round = 0; round < 2; round++) {
    pg_array a[5];
    pg_array_init(&a[0], PG_OID_BYTEA, 2, 32);
    pg_array_init(&a[1], PG_OID_TEXT, 2, 8);
    pg_array_init(&a[2], PG_OID_INT8, 2, 8);
    pg_array_init(&a[3], PG_OID_BYTEA, 2, 16);
    pg_array_init(&a[4], PG_OID_INT8, 2, 8);
    for (int i = 0; i < 2; i++) {
      if (round == 0) {
        randombytes_buf(hashes[i], 32);
        it_request_id(rid[i], 200 + i);
      }
      pg_array_put(&a[0], hashes[i], 32);
      pg_array_put_text(&a[1], it_partner);
      pg_array_put_int8(&a[2], it_person);
      pg_array_put(&a[3], rid[i], 16);
      pg_array_put_int8(&a[4], t + i + round * 5000);
    }
    res = it_exec("resolver_issue_tokens", a, 5);
    CHECK(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 2);
    if (PQntuples(res) == 2) {
      /* The second round is a redelivery: the first times stand. */
      CHECK_EQ_INT(atoll(PQgetvalue(res, 0, 0)), t);
      CHECK_EQ_INT(atoll(PQgetvalue(res, 1, 0)), t + 1);
    }
    PQclear(res);
  }

  /* The link lookup finds the person and the issue time, in order. */
  pg_array a[3];
  uint8_t nik_hash[32];
  const char *v[1] = {NULL};
  char person[24];
  snprintf(person, sizeof person, "%" PRId64, it_person);
  v[0] = person;
  PGresult *p = it_admin_sql("SELECT nik_hash FROM people WHERE person_id = $1", 1, v);
  size_t len = 0;
  unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(p, 0, 0), &len);
  CHECK_EQ_INT(len, 32);
  memcpy(nik_hash, raw, 32);
  PQfreemem(raw);
  PQclear(p);
  pg_array_init(&a[0], PG_OID_BYTEA, 2, 32);
  pg_array_init(&a[1], PG_OID_TEXT, 2, 8);
  pg_array_init(&a[2], PG_OID_BYTEA, 2, 16);
  uint8_t unknown[32];
  randombytes_buf(unknown, sizeof unknown);
  pg_array_put(&a[0], unknown, 32);
  pg_array_put(&a[0], nik_hash, 32);
  for (int i = 0; i < 2; i++) {
    pg_array_put_text(&a[1], it_partner);
    pg_array_put(&a[2], rid[1 - i], 16);
  }
  res = it_exec("resolver_link_facts", a, 3);
  CHECK(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 2);
  if (PQntuples(res) == 2) {
    CHECK(it_row_is(res, 0) && it_row_is(res, 1));
    CHECK(pg_cell_is_null(res, 0, 1));
    CHECK_EQ_INT(atoll(PQgetvalue(res, 0, 2)), t + 1);
    CHECK_EQ_INT(atoll(PQgetvalue(res, 1, 1)), it_person);
    CHECK_EQ_INT(atoll(PQgetvalue(res, 1, 2)), t);
  }
  PQclear(res);
}

static void test_mismatched_arrays_fail(void) {
  PGresult *res =
      PQexec(it_resolver,
             "SELECT * FROM resolver_issue_tokens('{\\\\x00}'::bytea[], '{a,b}', '{1}', "
             "'{}'::bytea[], '{1}')");
  CHECK(PQresultStatus(res) == PGRES_FATAL_ERROR);
  const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  CHECK_EQ_STR(state ? state : "", "22023");
  PQclear(res);
}

/* health_summary() in SQL and health_summarize() in C agree: random facts
 * (some ended, some not yet begun) for a fresh hash, both summaries at
 * several moments, and the colour of each under both rule sets. */
static void test_sql_summary_agrees_with_c(void) {
  static const char *const kinds[] = {"birth_date",   "dose",     "booster",
                                      "antigen_negative", "pcr_negative", "positive",
                                      "close_contact", "recovered"};
  int64_t now = (int64_t)time(NULL) * 1000;
  for (int round = 0; round < 40; round++) {
    uint8_t hash[32];
    randombytes_buf(hash, sizeof hash);
    char hash_hex[65];
    hex_encode(hash, sizeof hash, hash_hex);
    health_fact facts[12];
    size_t n = 1 + randombytes_uniform(11);
    for (size_t i = 0; i < n; i++) {
      health_fact_kind kind = (health_fact_kind)(1 + randombytes_uniform(8));
      int64_t at = now - (int64_t)randombytes_uniform(40 * 24) * HEALTH_MS_PER_HOUR +
                   (int64_t)randombytes_uniform(3) * HEALTH_MS_PER_HOUR;
      if (kind == HEALTH_FACT_BIRTH_DATE)
        at = health_days_from_civil(1950 + (int)randombytes_uniform(70), 1 + (int)randombytes_uniform(12), 1) *
             HEALTH_MS_PER_DAY;
      int64_t until = randombytes_uniform(3) == 0 ? at + (int64_t)(1 + randombytes_uniform(20 * 24)) * HEALTH_MS_PER_HOUR
                                                  : HEALTH_NONE;
      facts[i] = (health_fact){kind, at, until};
      uint8_t id[16];
      randombytes_buf(id, sizeof id);
      char id_hex[33], at_text[24], until_text[24];
      hex_encode(id, sizeof id, id_hex);
      snprintf(at_text, sizeof at_text, "%lld", (long long)at);
      snprintf(until_text, sizeof until_text, "%lld", (long long)until);
      const char *v[5] = {id_hex, hash_hex, kinds[kind - 1], at_text,
                          until == HEALTH_NONE ? NULL : until_text};
      PQclear(it_admin_sql(
          "INSERT INTO health_facts (fact_id, nik_hash, fact, at, until, source) VALUES ("
          "decode($1, 'hex'), decode($2, 'hex'), $3,"
          " timestamptz 'epoch' + $4::bigint * interval '1 millisecond',"
          " timestamptz 'epoch' + $5::bigint * interval '1 millisecond', 'it-batch')",
          5, v));
    }
    for (int m = 0; m < 3; m++) {
      int64_t at = now - (int64_t)m * 3 * HEALTH_MS_PER_DAY;
      char at_text[24];
      snprintf(at_text, sizeof at_text, "%lld", (long long)at);
      const char *v[2] = {hash_hex, at_text};
      PGresult *res = it_admin_sql(
          "SELECT facts, birth_ms, doses, boosters, antigen_negative_ms, pcr_negative_ms,"
          " positive_ms, close_contact_ms, recovered_ms"
          " FROM health_summary(decode($1, 'hex'), $2::bigint)",
          2, v);
      health_summary c;
      health_summarize(facts, n, at, &c);
      int64_t want[9] = {c.facts, c.birth_ms, c.doses, c.boosters, c.antigen_negative_ms,
                         c.pcr_negative_ms, c.positive_ms, c.close_contact_ms, c.recovered_ms};
      for (int col = 0; col < 9 && PQntuples(res) == 1; col++) {
        int64_t got = HEALTH_NONE;
        if (!PQgetisnull(res, 0, col)) got = atoll(PQgetvalue(res, 0, col));
        /* Counts are 0, not "none", when nothing is held. */
        if ((col == 2 || col == 3) && want[col] == 0 && got == HEALTH_NONE) got = 0;
        if (got != want[col]) fprintf(stderr, "  round %d moment %d column %d\n", round, m, col);
        CHECK_EQ_INT(got, want[col]);
      }
      CHECK_EQ_INT(PQntuples(res), 1);
      PQclear(res);
    }
  }
}

/* resolver_record_answers (0500, 0600): the first answer of a request
 * stands, the resolver can never rewrite an answer, and only
 * lindung_retention() deletes what is past retention. */
static PGresult *it_record_answers(int n, const uint8_t ids[][16], const uint8_t digests[][16],
                                   const int32_t *errors, int64_t at_ms) {
  pg_array a[5];
  CHECK_EQ_INT(pg_array_init(&a[0], PG_OID_TEXT, (size_t)n, 16), 0);
  CHECK_EQ_INT(pg_array_init(&a[1], PG_OID_BYTEA, (size_t)n, 16), 0);
  CHECK_EQ_INT(pg_array_init(&a[2], PG_OID_BYTEA, (size_t)n, 16), 0);
  CHECK_EQ_INT(pg_array_init(&a[3], PG_OID_INT4, (size_t)n, 4), 0);
  CHECK_EQ_INT(pg_array_init(&a[4], PG_OID_INT8, 1, 8), 0);
  for (int i = 0; i < n; i++) {
    pg_array_put_text(&a[0], it_partner);
    pg_array_put(&a[1], ids[i], 16);
    pg_array_put(&a[2], digests[i], 16);
    pg_array_put_int4(&a[3], errors[i]);
  }
  pg_array_put_int8(&a[4], at_ms);
  return it_exec("resolver_record_answers", a, 5);
}

static void test_record_answers(void) {
  uint8_t ids[3][16], digests[3][16], other[3][16];
  for (int i = 0; i < 3; i++) {
    it_request_id(ids[i], 200 + i);
    randombytes_buf(digests[i], 16);
    randombytes_buf(other[i], 16);
  }
  int32_t errors[3] = {0, 11, 0}, other_errors[3] = {10, 0, 0};
  int64_t now = (int64_t)service_now_ms();
  /* Row 3 repeats row 1's id in the same batch: the first stands. */
  memcpy(ids[2], ids[0], 16);
  PGresult *res = it_record_answers(3, (const uint8_t(*)[16])ids, (const uint8_t(*)[16])digests,
                                    errors, now);
  CHECK_EQ_INT(PQntuples(res), 3);
  char want[33];
  if (PQntuples(res) == 3) {
    sodium_bin2hex(want, sizeof want, digests[0], 16);
    CHECK_EQ_STR(PQgetvalue(res, 0, 0), want);
    CHECK_EQ_STR(PQgetvalue(res, 1, 1), "11");
    CHECK_EQ_STR(PQgetvalue(res, 2, 0), want); /* row 3: row 1's answer */
  }
  PQclear(res);
  /* A later write under the same ids changes nothing. */
  res = it_record_answers(2, (const uint8_t(*)[16])ids, (const uint8_t(*)[16])other, other_errors,
                          now + 1000);
  if (PQntuples(res) == 2) {
    CHECK_EQ_STR(PQgetvalue(res, 0, 0), want);
    CHECK_EQ_STR(PQgetvalue(res, 0, 1), "0");
    CHECK_EQ_STR(PQgetvalue(res, 1, 1), "11");
  } else {
    CHECK(false);
  }
  PQclear(res);
  /* The resolver may not rewrite an answer. */
  res = PQexec(it_resolver, "UPDATE resolver_answers SET error_code = 0 WHERE false");
  CHECK(PQresultStatus(res) == PGRES_FATAL_ERROR);
  PQclear(res);
  /* Retention: a write 15 days on (past retention_check_in_days, 14 by
   * default) deletes nothing (no deletion the audit trail would not see);
   * the retention run 15 days on deletes every row past that age and counts
   * them for its audit record. Rolled back, so that the shared stack keeps
   * its answers. */
  uint8_t late_id[1][16], late_digest[1][16];
  int32_t late_error[1] = {0};
  it_request_id(late_id[0], 210);
  randombytes_buf(late_digest[0], 16);
  char cutoff[32];
  snprintf(cutoff, sizeof cutoff, "%lld", (long long)(now + 86400LL * 1000));
  const char *v[1] = {cutoff};
  static const char count_sql[] =
      "SELECT count(*) FROM resolver_answers"
      " WHERE answered_at < timestamptz 'epoch' + $1::bigint * interval '1 millisecond'";
  PQclear(PQexec(it_resolver, "BEGIN"));
  res = PQexecParams(it_resolver, count_sql, 1, NULL, v, NULL, NULL, 0);
  long long before = PQresultStatus(res) == PGRES_TUPLES_OK ? atoll(PQgetvalue(res, 0, 0)) : -1;
  PQclear(res);
  PQclear(it_record_answers(1, (const uint8_t(*)[16])late_id, (const uint8_t(*)[16])late_digest,
                            late_error, now + 15LL * 86400 * 1000));
  res = PQexecParams(it_resolver, count_sql, 1, NULL, v, NULL, NULL, 0);
  long long after_write =
      PQresultStatus(res) == PGRES_TUPLES_OK ? atoll(PQgetvalue(res, 0, 0)) : -1;
  PQclear(res);
  char later[32];
  snprintf(later, sizeof later, "%lld", (long long)(now + 15LL * 86400 * 1000));
  const char *at[1] = {later};
  res = PQexecParams(it_resolver,
                     "SELECT o_replay_records FROM lindung_retention("
                     "timestamptz 'epoch' + $1::bigint * interval '1 millisecond')",
                     1, NULL, at, NULL, NULL, 0);
  long long deleted = PQresultStatus(res) == PGRES_TUPLES_OK ? atoll(PQgetvalue(res, 0, 0)) : -1;
  if (PQresultStatus(res) != PGRES_TUPLES_OK) fprintf(stderr, "%s", PQresultErrorMessage(res));
  PQclear(res);
  res = PQexecParams(it_resolver, count_sql, 1, NULL, v, NULL, NULL, 0);
  long long after_retention =
      PQresultStatus(res) == PGRES_TUPLES_OK ? atoll(PQgetvalue(res, 0, 0)) : -1;
  PQclear(res);
  PQclear(PQexec(it_resolver, "ROLLBACK"));
  CHECK(before >= 2);
  CHECK_EQ_INT(after_write, before);
  CHECK_EQ_INT(deleted, before);
  CHECK_EQ_INT(after_retention, 0);
}

int main(void) {
  if (sodium_init() < 0) return 2;
  it_admin = stack_pg_connect("LINDUNG_DB_URL");
  it_resolver = stack_pg_connect("LINDUNG_RESOLVER_DB_URL");
  for (size_t i = 0; i < resolver_db_statement_count; i++) {
    const pgq_statement *s = &resolver_db_statements[i];
    PGresult *res = PQprepare(it_resolver, s->name, s->sql, 0, NULL);
    CHECK(PQresultStatus(res) == PGRES_COMMAND_OK);
    CHECK_EQ_INT(PQnparams(res) >= 0, 1);
    PQclear(res);
  }

  /* Set-up: a venue whose id has every character an array literal would
   * need quoted, a person with a token of a seeded partner. */
  snprintf(it_venue, sizeof it_venue, "Q\"R,{x}\\y %d", (int)getpid());
  PGresult *res = it_admin_sql(
      "SELECT partner_id FROM partners WHERE status = 'active' "
      "ORDER BY partner_id LIMIT 1",
      0, NULL);
  CHECK_EQ_INT(PQntuples(res), 1);
  snprintf(it_partner, sizeof it_partner, "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
  PQclear(res);
  res = it_admin_sql("SELECT category FROM venue_categories ORDER BY category LIMIT 1", 0, NULL);
  snprintf(it_category, sizeof it_category, "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
  PQclear(res);
  res = it_admin_sql("SELECT person_id FROM people ORDER BY person_id LIMIT 1", 0, NULL);
  it_person = PQntuples(res) ? atoll(PQgetvalue(res, 0, 0)) : 0;
  PQclear(res);
  const char *venue_values[2] = {it_venue, it_category};
  PQclear(
      it_admin_sql("INSERT INTO venues (venue_id, name, category, capacity) "
                   "VALUES ($1, 'Batch test venue', $2, 3)",
                   2, venue_values));
  randombytes_buf(it_token, sizeof it_token);
  char token_hex[65], person[24], token_literal[70];
  sodium_bin2hex(token_hex, sizeof token_hex, it_token, sizeof it_token);
  snprintf(token_literal, sizeof token_literal, "\\x%s", token_hex);
  snprintf(person, sizeof person, "%" PRId64, it_person);
  uint8_t rid[16];
  it_request_id(rid, 250);
  char rid_hex[33], rid_literal[40];
  sodium_bin2hex(rid_hex, sizeof rid_hex, rid, sizeof rid);
  snprintf(rid_literal, sizeof rid_literal, "\\x%s", rid_hex);
  const char *token_values[4] = {token_literal, it_partner, person, rid_literal};
  PQclear(
      it_admin_sql("INSERT INTO tokens (token_hash, partner_id, person_id, request_id) "
                   "VALUES ($1::bytea, $2, $3, $4::bytea)",
                   4, token_values));

  RUN(test_arrays_encode);
  RUN(test_scan_facts);
  RUN(test_sql_summary_agrees_with_c);
  RUN(test_record_scans);
  RUN(test_issue_tokens);
  RUN(test_mismatched_arrays_fail);
  RUN(test_record_answers);

  /* Leave the shared stack as found. */
  const char *cleanup[2] = {it_venue, it_partner};
  PQclear(it_admin_sql("DELETE FROM check_ins WHERE venue_id = $1", 1, cleanup));
  PQclear(it_admin_sql("DELETE FROM venues WHERE venue_id = $1", 1, cleanup));
  uint8_t prefix[16];
  it_request_id(prefix, 0);
  char prefix_hex[17], prefix_literal[20];
  sodium_bin2hex(prefix_hex, sizeof prefix_hex, prefix, 8);
  snprintf(prefix_literal, sizeof prefix_literal, "\\x%s", prefix_hex);
  const char *tokens[2] = {it_partner, prefix_literal};
  PQclear(
      it_admin_sql("DELETE FROM tokens WHERE partner_id = $1 "
                   "AND substring(request_id FROM 1 FOR 8) = $2::bytea",
                   2, tokens));
  PQfinish(it_resolver);
  PQfinish(it_admin);
  return testing_summary();
}
