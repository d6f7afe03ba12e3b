/* health_rules: a person's colour derived from health facts under a rule
 * set (STATUS-RULES.md), and the syntax of those facts. Pure functions: no
 * I/O, no logging, no clock (the caller passes "now"), so the resolver,
 * lindungctl and the unit tests compute colours the same way.
 *
 *   facts (kind, at, until)  --health_summarize-->  health_summary
 *   health_summary + health_rule_set + now  --health_colour-->  colour
 *
 * The database computes the same summary in SQL (health_summary() in
 * db/migrations/lindung/0300_health_facts.sql) so that a scan needs no extra
 * round trip; the rules themselves live only here.
 *
 * Times are milliseconds since the Unix epoch (UTC). Prefix health_. */
#ifndef LINDUNG_HEALTH_RULES_H
#define LINDUNG_HEALTH_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry_rules.h"

#define HEALTH_MS_PER_HOUR INT64_C(3600000)
#define HEALTH_MS_PER_DAY INT64_C(86400000)
#define HEALTH_NONE INT64_MIN /* no such fact */
#define HEALTH_DETAIL_MAX 200
#define HEALTH_FACT_ID_BYTES 16

/* Same numbers as lindung.v1.HealthFactKind. */
typedef enum health_fact_kind {
  HEALTH_FACT_INVALID = 0,
  HEALTH_FACT_BIRTH_DATE = 1,
  HEALTH_FACT_DOSE = 2,
  HEALTH_FACT_BOOSTER = 3,
  HEALTH_FACT_ANTIGEN_NEGATIVE = 4,
  HEALTH_FACT_PCR_NEGATIVE = 5,
  HEALTH_FACT_POSITIVE = 6,
  HEALTH_FACT_CLOSE_CONTACT = 7,
  HEALTH_FACT_RECOVERED = 8,
} health_fact_kind;
#define HEALTH_FACT_KIND_MAX HEALTH_FACT_RECOVERED

/* "dose", "pcr_negative", ... as stored in health_facts.fact. */
health_fact_kind health_fact_kind_parse(const char *name);
const char *health_fact_kind_name(health_fact_kind kind); /* NULL if invalid */

typedef struct health_fact {
  health_fact_kind kind;
  int64_t at_ms;    /* when it holds from (birth_date: the birth, 00:00 UTC) */
  int64_t until_ms; /* HEALTH_NONE: no end */
} health_fact;

/* Which table of STATUS-RULES.md a rule set follows. */
typedef enum health_scheme {
  HEALTH_SCHEME_INVALID = 0,
  HEALTH_SCHEME_SEPT2021 = 1, /* colour by doses; BLACK positive or contact */
  HEALTH_SCHEME_JUL2022 = 2,  /* by age band: boosters, tests, recovery */
} health_scheme;

health_scheme health_scheme_parse(const char *name); /* "sept2021", "jul2022" */
const char *health_scheme_name(health_scheme scheme);

/* The numbers of a rule set (rule_sets row). */
typedef struct health_rule_set {
  health_scheme scheme;
  int antigen_valid_hours;   /* 24: a negative antigen test is GREEN this long */
  int pcr_valid_hours;       /* 72 */
  int recovered_valid_days;  /* 90: recovered + fully vaccinated is GREEN */
  int positive_days;         /* 10: a positive result is BLACK this long */
  int contact_days;          /* 14: a close contact is BLACK at most this long */
  int contact_pcr_clear_day; /* 5: a negative PCR from this day clears a contact */
  int contact_clear_day;     /* 10: a contact is cleared on this day anyway */
  int adult_age;             /* 18: the July 2022 table's adult band */
} health_rule_set;

/* The published numbers of STATUS-RULES.md for a scheme. */
void health_rule_set_defaults(health_scheme scheme, health_rule_set *out);
/* Every number positive and the clearance days in order; false otherwise. */
bool health_rule_set_valid(const health_rule_set *rules);

/* What the rules need of a person's facts at one moment: the facts in force
 * (at <= now < until), counted or the latest of each kind. */
typedef struct health_summary {
  int facts;          /* facts in force, birth date included: 0 = no record */
  int64_t birth_ms;   /* HEALTH_NONE: unknown */
  int doses, boosters;
  int64_t antigen_negative_ms, pcr_negative_ms, positive_ms, close_contact_ms, recovered_ms;
} health_summary;

void health_summarize(const health_fact *facts, size_t count, int64_t now_ms,
                      health_summary *out);

/* Whole years from birth to now (UTC calendar); -1 when birth is unknown
 * or after now. */
int health_age_years(int64_t birth_ms, int64_t now_ms);

/* The colour the rule set gives; REG_COLOUR_INVALID when there is no health
 * record (summary->facts == 0) or the rule set is not valid. BLACK wins over
 * every other fact. An unknown age is judged in the adult band (the stricter
 * one); children under 6 follow the 6-17 band. */
reg_colour health_colour(const health_summary *summary, const health_rule_set *rules,
                         int64_t now_ms);

/* Facts that give a colour under a rule set, for `subject upsert --status`
 * and seed data: variant picks one of several ways (e.g. GREEN by booster or
 * by a fresh test), so that every rule is exercised. Writes up to
 * HEALTH_FACTS_FOR_COLOUR_MAX facts (birth date not included) and returns
 * how many, or -1 for an invalid colour or rule set. */
#define HEALTH_FACTS_FOR_COLOUR_MAX 4
int health_facts_for_colour(reg_colour colour, const health_rule_set *rules, bool adult,
                            unsigned variant, int64_t now_ms, health_fact *out);

/* ISO-8601: YYYY-MM-DD (00:00 UTC), or YYYY-MM-DDTHH:MM[:SS[.fff]] followed
 * by Z or +HH:MM / -HH:MM (a time without a zone is refused: it would be read
 * differently in Jakarta and in Jayapura). 0 or -1. */
int health_time_parse(const char *text, int64_t *out_ms);

/* Days since 1970-01-01 of a calendar date (proleptic Gregorian). */
int64_t health_days_from_civil(int year, int month, int day);

/* One line of a facts file: "nik,fact,at,until,detail". detail is the rest
 * of the line (it may hold commas). Fields point into line. */
typedef struct health_fact_line {
  const char *nik;
  health_fact fact;
  const char *detail;
} health_fact_line;

typedef enum health_line_status {
  HEALTH_LINE_OK = 0,
  HEALTH_LINE_FIELDS = -1, /* fewer than 5 fields */
  HEALTH_LINE_NIK = -2,
  HEALTH_LINE_FACT = -3,
  HEALTH_LINE_AT = -4,
  HEALTH_LINE_UNTIL = -5,
  HEALTH_LINE_DETAIL = -6,
} health_line_status;

health_line_status health_fact_line_parse(char *line, health_fact_line *out);
/* A reason for a line status, never quoting the line. */
const char *health_line_status_reason(health_line_status status);
/* True for the header line "nik,fact,at,until,detail". */
bool health_fact_line_is_header(const char *line);

/* 1 to 200 bytes of UTF-8 text without control characters, or empty. */
bool health_detail_valid(const char *detail);

/* The id of a fact: BLAKE2b-128 over the NIK hash, kind, times and detail,
 * so the same fact sent twice (a re-import, a lab resending) is one fact. */
void health_fact_id(const uint8_t nik_hash[REG_NIK_HASH_BYTES], const health_fact *fact,
                    const char *detail, uint8_t out[HEALTH_FACT_ID_BYTES]);

#endif
