/* lindungctl: storing subjects as health facts (subject upsert and import,
 * seed) and what that needs: the rule set in force, COPY. A colour is never
 * stored; the facts that give it are, and health_colour() checks them. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "hex.h"

int64_t ctl_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ctl_birth_from_nik(const char *nik, reg_date *out) {
  bool female;
  if (reg_nik_birth(nik, out, &female) != 0) return -1;
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  int this_year = tm.tm_year + 1900;
  out->year += 2000;
  if (out->year > this_year) out->year -= 100;
  return reg_date_valid(*out) ? 0 : -1;
}

int ctl_copy_rows(PGconn *conn, const char *copy_sql, const char *rows, size_t len,
                  const char *context) {
  PGresult *res = PQexec(conn, copy_sql);
  if (PQresultStatus(res) != PGRES_COPY_IN) {
    ctl_fail(CTL_RUNTIME, "%s: %s", context, ctl_result_reason(res));
    PQclear(res);
    return -1;
  }
  PQclear(res);
  /* Rows go out in chunks of about 64 KiB. */
  enum { CHUNK = 65536 };
  bool ok = true;
  for (size_t off = 0; off < len && ok; off += CHUNK) {
    size_t n = len - off < CHUNK ? len - off : CHUNK;
    ok = PQputCopyData(conn, rows + off, (int)n) == 1;
  }
  ok = PQputCopyEnd(conn, ok ? NULL : "client error") == 1 && ok;
  res = PQgetResult(conn);
  if (!ok || PQresultStatus(res) != PGRES_COMMAND_OK) {
    ctl_fail(CTL_RUNTIME, "%s: %s", context, ctl_result_reason(res));
    PQclear(res);
    while ((res = PQgetResult(conn))) PQclear(res);
    return -1;
  }
  PQclear(res);
  return 0;
}

int ctl_rule_set_in_force(PGconn *conn, int64_t now_ms, health_rule_set *out) {
  char now[24];
  snprintf(now, sizeof now, "%" PRId64, now_ms);
  const char *params[1] = {now};
  PGresult *res = PQexecParams(
      conn,
      "SELECT scheme, antigen_valid_hours, pcr_valid_hours, recovered_valid_days, positive_days,"
      " contact_days, contact_pcr_clear_day, contact_clear_day, adult_age FROM rule_sets"
      " WHERE effective_from <= timestamptz 'epoch' + $1::bigint * interval '1 millisecond'"
      " ORDER BY effective_from DESC LIMIT 1",
      1, NULL, params, NULL, NULL, 0);
  int rc = 0;
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    ctl_fail(CTL_RUNTIME, "cannot read the rule sets: %s", ctl_result_reason(res));
    rc = -1;
  } else if (PQntuples(res) != 1) {
    ctl_fail(CTL_RUNTIME, "no rule set is in force (table rule_sets)");
    rc = -1;
  } else {
    out->scheme = health_scheme_parse(PQgetvalue(res, 0, 0));
    int *numbers[8] = {&out->antigen_valid_hours, &out->pcr_valid_hours,
                       &out->recovered_valid_days, &out->positive_days, &out->contact_days,
                       &out->contact_pcr_clear_day, &out->contact_clear_day, &out->adult_age};
    for (int i = 0; i < 8; i++) *numbers[i] = atoi(PQgetvalue(res, 0, 1 + i));
    if (!health_rule_set_valid(out)) {
      ctl_fail(CTL_RUNTIME, "the rule set in force is not valid");
      rc = -1;
    }
  }
  PQclear(res);
  return rc;
}

/* Orders subject indexes by NIK hash, then position. */
static const ctl_subject *ctl_sort_base;
static int ctl_by_hash(const void *a, const void *b) {
  size_t i = *(const size_t *)a, j = *(const size_t *)b;
  int c = memcmp(ctl_sort_base[i].nik_hash, ctl_sort_base[j].nik_hash, REG_NIK_HASH_BYTES);
  return c ? c : (i > j) - (i < j);
}

/* Marks the subjects that count: the last line of each NIK hash. */
static int ctl_mark_last(const ctl_subject *subjects, size_t count, bool *last) {
  size_t *order = malloc((count ? count : 1) * sizeof *order);
  if (!order) return -1;
  for (size_t i = 0; i < count; i++) order[i] = i;
  ctl_sort_base = subjects;
  qsort(order, count, sizeof *order, ctl_by_hash);
  for (size_t k = 0; k < count; k++)
    last[order[k]] = k + 1 == count || memcmp(subjects[order[k]].nik_hash,
                                               subjects[order[k + 1]].nik_hash,
                                               REG_NIK_HASH_BYTES) != 0;
  free(order);
  return 0;
}

static int64_t ctl_date_ms(reg_date d) {
  return health_days_from_civil(d.year, d.month, d.day) * HEALTH_MS_PER_DAY;
}

/* COPY rows: people (line, hash, birth date) and facts (line, hash, id,
 * fact, at ms). */
static int ctl_subject_rows(const ctl_subject *subjects, size_t count, bool *last,
                            const health_rule_set *rules, int64_t now_ms, char **people_rows,
                            size_t *people_len, char **fact_rows, size_t *facts_len) {
  enum { PEOPLE_ROW = 120, FACT_ROW = 180 };
  char *people = malloc(count * PEOPLE_ROW + 1);
  char *facts = malloc(count * (HEALTH_FACTS_FOR_COLOUR_MAX + 1) * FACT_ROW + 1);
  if (!people || !facts) {
    free(people);
    free(facts);
    return ctl_fail(CTL_RUNTIME, "out of memory"), -1;
  }
  size_t np = 0, nf = 0;
  for (size_t i = 0; i < count; i++) {
    const ctl_subject *s = &subjects[i];
    char hash_hex[2 * REG_NIK_HASH_BYTES + 1];
    hex_encode(s->nik_hash, REG_NIK_HASH_BYTES, hash_hex);
    char date[16] = "\\N";
    if (s->has_birth_date)
      snprintf(date, sizeof date, "%04d-%02d-%02d", s->birth_date.year % 10000,
               s->birth_date.month % 100, s->birth_date.day % 100);
    np += (size_t)sprintf(people + np, "%u\t\\\\x%s\t%s\n", s->line, hash_hex, date);
    if (!last[i]) continue;
    health_fact made[HEALTH_FACTS_FOR_COLOUR_MAX + 1];
    bool adult = true;
    if (s->has_birth_date) {
      int age = health_age_years(ctl_date_ms(s->birth_date), now_ms);
      adult = age < 0 || age >= rules->adult_age;
    }
    int n = health_facts_for_colour(s->colour, rules, adult, s->line, now_ms, made);
    /* Unvaccinated and no birth date would leave no record at all: under
     * July 2022 one dose is RED for an adult (an unknown age is one). */
    if (n == 0 && !s->has_birth_date)
      n = health_facts_for_colour(s->colour, rules, true, 1, now_ms, made);
    if (n <= 0 && !s->has_birth_date) {
      free(people);
      free(facts);
      return ctl_fail(CTL_RUNTIME, "line %u: %s needs a birth date under the rule set in force",
                      s->line, reg_colour_name(s->colour)),
             -1;
    }
    if (s->has_birth_date)
      made[n++] = (health_fact){HEALTH_FACT_BIRTH_DATE, ctl_date_ms(s->birth_date), HEALTH_NONE};
    for (int k = 0; k < n; k++) {
      uint8_t id[HEALTH_FACT_ID_BYTES];
      char id_hex[2 * HEALTH_FACT_ID_BYTES + 1];
      /* The same subject stored twice (a re-import) gives the same ids,
       * except where "now" moved the times of tests. */
      health_fact_id(s->nik_hash, &made[k], "", id);
      hex_encode(id, sizeof id, id_hex);
      nf += (size_t)sprintf(facts + nf, "%u\t\\\\x%s\t\\\\x%s\t%s\t%" PRId64 "\n", s->line, hash_hex,
                            id_hex, health_fact_kind_name(made[k].kind), made[k].at_ms);
    }
  }
  *people_rows = people;
  *people_len = np;
  *fact_rows = facts;
  *facts_len = nf;
  return 0;
}

/* Every subject's colour from the facts now on record, as the resolver
 * will derive it. */
static int ctl_check_colours(PGconn *conn, const ctl_subject *subjects, size_t count,
                             const bool *last, const health_rule_set *rules, int64_t now_ms) {
  char now[24];
  snprintf(now, sizeof now, "%" PRId64, now_ms);
  const char *params[1] = {now};
  PGresult *res = PQexecParams(
      conn,
      "SELECT s.line, h.facts, coalesce(h.birth_ms, (extract(epoch FROM"
      " p.birth_date::timestamp AT TIME ZONE 'UTC') * 1000)::bigint), h.doses, h.boosters,"
      " h.antigen_negative_ms, h.pcr_negative_ms, h.positive_ms, h.close_contact_ms,"
      " h.recovered_ms FROM (SELECT DISTINCT ON (nik_hash) line, nik_hash FROM subject_import"
      " ORDER BY nik_hash, line DESC) s JOIN people p USING (nik_hash),"
      " LATERAL health_summary(s.nik_hash, $1::bigint) h ORDER BY s.line",
      1, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    ctl_fail(CTL_RUNTIME, "cannot check the colours: %s", ctl_result_reason(res));
    PQclear(res);
    return -1;
  }
  int rc = 0;
  size_t next = 0;
  for (int row = 0; row < PQntuples(res) && rc == 0; row++) {
    uint32_t line = (uint32_t)strtoul(PQgetvalue(res, row, 0), NULL, 10);
    int64_t v[9];
    for (int c = 0; c < 9; c++)
      v[c] = PQgetisnull(res, row, 1 + c) ? HEALTH_NONE : strtoll(PQgetvalue(res, row, 1 + c), NULL, 10);
    health_summary s = {.facts = (int)v[0], .birth_ms = v[1], .doses = (int)v[2],
                        .boosters = (int)v[3], .antigen_negative_ms = v[4],
                        .pcr_negative_ms = v[5], .positive_ms = v[6], .close_contact_ms = v[7],
                        .recovered_ms = v[8]};
    /* Rows come in line order, as do the subjects that count. */
    while (next < count && (!last[next] || subjects[next].line != line)) next++;
    if (next == count) {
      rc = ctl_fail(CTL_RUNTIME, "cannot check the colours: line %u not found", line);
      break;
    }
    reg_colour got = health_colour(&s, rules, now_ms);
    if (got != subjects[next].colour)
      rc = ctl_fail(CTL_RUNTIME,
                    "line %u: the facts on record give %s, not %s (facts of another source, "
                    "e.g. a lab's result, stay)",
                    line, got == REG_COLOUR_INVALID ? "no health record" : reg_colour_name(got),
                    reg_colour_name(subjects[next].colour));
  }
  PQclear(res);
  return rc;
}

int ctl_store_subjects(PGconn *conn, const ctl_subject *subjects, size_t count) {
  int64_t now_ms = ctl_now_ms();
  health_rule_set rules;
  if (ctl_rule_set_in_force(conn, now_ms, &rules) != 0) return -1;
  bool *last = calloc(count ? count : 1, sizeof *last);
  if (!last || ctl_mark_last(subjects, count, last) != 0) {
    free(last);
    return ctl_fail(CTL_RUNTIME, "out of memory"), -1;
  }
  char *people = NULL, *facts = NULL;
  size_t people_len = 0, facts_len = 0;
  int rc = ctl_subject_rows(subjects, count, last, &rules, now_ms, &people, &people_len, &facts,
                            &facts_len);
  const char *ctx = "cannot store subjects";
  if (rc == 0)
    rc = ctl_exec(conn,
                  "CREATE TEMP TABLE subject_import (line integer, nik_hash bytea, birth_date date)"
                  " ON COMMIT DROP;"
                  "CREATE TEMP TABLE subject_facts (line integer, nik_hash bytea, fact_id bytea,"
                  " fact text, at_ms bigint) ON COMMIT DROP",
                  ctx);
  if (rc == 0) rc = ctl_copy_rows(conn, "COPY subject_import FROM STDIN", people, people_len, ctx);
  if (rc == 0) rc = ctl_copy_rows(conn, "COPY subject_facts FROM STDIN", facts, facts_len, ctx);
  free(people);
  free(facts);
  /* Temporary tables have no statistics; without them the planner guesses
   * a few rows and picks nested loops for 100k. The last line naming a NIK
   * wins; rows that would not change are left alone. */
  if (rc == 0)
    rc = ctl_exec(
        conn,
        "ANALYZE subject_import; ANALYZE subject_facts;"
        "INSERT INTO people (nik_hash, birth_date)"
        " SELECT nik_hash, birth_date FROM (SELECT DISTINCT ON (nik_hash) nik_hash, birth_date"
        " FROM subject_import ORDER BY nik_hash, line DESC) s"
        " ON CONFLICT (nik_hash) DO UPDATE SET birth_date = EXCLUDED.birth_date"
        " WHERE EXCLUDED.birth_date IS NOT NULL"
        " AND people.birth_date IS DISTINCT FROM EXCLUDED.birth_date;"
        "DELETE FROM health_facts h USING (SELECT DISTINCT nik_hash FROM subject_import) s"
        " WHERE h.nik_hash = s.nik_hash AND h.source = 'lindungctl';"
        "INSERT INTO health_facts (fact_id, nik_hash, fact, at, source)"
        " SELECT fact_id, nik_hash, fact, timestamptz 'epoch' + at_ms * interval '1 millisecond',"
        " 'lindungctl' FROM subject_facts ON CONFLICT (fact_id) DO NOTHING",
        ctx);
  if (rc == 0) rc = ctl_check_colours(conn, subjects, count, last, &rules, now_ms);
  free(last);
  return rc;
}
