/* Unit tests of services/common/health_rules.c: both tables of
 * STATUS-RULES.md, cell by cell with their boundaries (24 h vs 25 h
 * antigen, 72 h PCR, day-5 PCR clearance of a contact, day 10, age 17 vs
 * 18, booster, 90 days of recovery), a property test that BLACK always
 * wins, and the syntax of facts (times, CSV lines, ids). */
#include <sodium.h>
#include <stdlib.h>

#include "health_rules.h"
#include "testing.h"

/* 2022-09-01 12:00 UTC: the July 2022 rule set is in force. */
#define NOW (health_days_from_civil(2022, 9, 1) * HEALTH_MS_PER_DAY + 12 * HEALTH_MS_PER_HOUR)
#define H HEALTH_MS_PER_HOUR
#define D HEALTH_MS_PER_DAY

typedef struct fact_spec {
  health_fact_kind kind;
  int64_t ago_ms; /* at = NOW - ago_ms */
} fact_spec;

/* One cell of a table: a person's facts (and age), the colour expected. */
typedef struct rule_case {
  const char *name;
  health_scheme scheme;
  int age; /* -1: birth date unknown */
  fact_spec facts[6];
  reg_colour expect;
} rule_case;

#define F(kind, ago) {HEALTH_FACT_##kind, (ago)}
#define ADULT 30
#define CHILD 12

static const rule_case cases[] = {
    /* ---- September 2021: colour by doses ---- */
    {"2021 GREEN two doses", HEALTH_SCHEME_SEPT2021, ADULT, {F(DOSE, 90 * D), F(DOSE, 60 * D)}, REG_COLOUR_GREEN},
    {"2021 GREEN two doses, child", HEALTH_SCHEME_SEPT2021, CHILD, {F(DOSE, 90 * D), F(DOSE, 60 * D)}, REG_COLOUR_GREEN},
    {"2021 YELLOW one dose", HEALTH_SCHEME_SEPT2021, ADULT, {F(DOSE, 30 * D)}, REG_COLOUR_YELLOW},
    {"2021 YELLOW recovered", HEALTH_SCHEME_SEPT2021, ADULT, {F(RECOVERED, 30 * D)}, REG_COLOUR_YELLOW},
    {"2021 RED not vaccinated", HEALTH_SCHEME_SEPT2021, ADULT, {{0, 0}}, REG_COLOUR_RED},
    {"2021 RED: a negative test does not vaccinate", HEALTH_SCHEME_SEPT2021, ADULT, {F(ANTIGEN_NEGATIVE, 2 * H)}, REG_COLOUR_RED},
    {"2021 BLACK positive", HEALTH_SCHEME_SEPT2021, ADULT, {F(DOSE, 90 * D), F(DOSE, 60 * D), F(POSITIVE, 1 * D)}, REG_COLOUR_BLACK},
    {"2021 BLACK close contact", HEALTH_SCHEME_SEPT2021, ADULT, {F(DOSE, 90 * D), F(DOSE, 60 * D), F(CLOSE_CONTACT, 1 * D)}, REG_COLOUR_BLACK},

    /* ---- July 2022, age 18 and over ---- */
    {"2022 adult GREEN booster", HEALTH_SCHEME_JUL2022, ADULT, {F(DOSE, 200 * D), F(DOSE, 170 * D), F(BOOSTER, 60 * D)}, REG_COLOUR_GREEN},
    {"2022 adult GREEN antigen 24 h ago", HEALTH_SCHEME_JUL2022, ADULT, {F(ANTIGEN_NEGATIVE, 24 * H)}, REG_COLOUR_GREEN},
    {"2022 adult not GREEN antigen 25 h ago (unvaccinated: RED)", HEALTH_SCHEME_JUL2022, ADULT, {F(ANTIGEN_NEGATIVE, 25 * H)}, REG_COLOUR_RED},
    {"2022 adult antigen 25 h ago, two doses: YELLOW", HEALTH_SCHEME_JUL2022, ADULT, {F(DOSE, 90 * D), F(DOSE, 60 * D), F(ANTIGEN_NEGATIVE, 25 * H)}, REG_COLOUR_YELLOW},
    {"2022 adult GREEN PCR 72 h ago", HEALTH_SCHEME_JUL2022, ADULT, {F(PCR_NEGATIVE, 72 * H)}, REG_COLOUR_GREEN},
    {"2022 adult not GREEN PCR 73 h ago", HEALTH_SCHEME_JUL2022, ADULT, {F(PCR_NEGATIVE, 73 * H)}, REG_COLOUR_RED},
    {"2022 adult GREEN fully vaccinated, recovered 90 d ago", HEALTH_SCHEME_JUL2022, ADULT, {F(DOSE, 200 * D), F(DOSE, 170 * D), F(RECOVERED, 90 * D)}, REG_COLOUR_GREEN},
    {"2022 adult recovered 91 d ago: YELLOW", HEALTH_SCHEME_JUL2022, ADULT, {F(DOSE, 200 * D), F(DOSE, 170 * D), F(RECOVERED, 91 * D)}, REG_COLOUR_YELLOW},
    {"2022 adult recovered, one dose: RED", HEALTH_SCHEME_JUL2022, ADULT, {F(DOSE, 200 * D), F(RECOVERED, 10 * D)}, REG_COLOUR_RED},
    {"2022 adult YELLOW two doses", HEALTH_SCHEME_JUL2022, ADULT, {F(DOSE, 90 * D), F(DOSE, 60 * D)}, REG_COLOUR_YELLOW},
    {"2022 adult RED one dose", HEALTH_SCHEME_JUL2022, ADULT, {F(DOSE, 60 * D)}, REG_COLOUR_RED},
    {"2022 adult RED unvaccinated", HEALTH_SCHEME_JUL2022, ADULT, {{0, 0}}, REG_COLOUR_RED},
    {"2022 unknown age judged as adult: two doses YELLOW", HEALTH_SCHEME_JUL2022, -1, {F(DOSE, 90 * D), F(DOSE, 60 * D)}, REG_COLOUR_YELLOW},

    /* ---- July 2022, age 6 to 17 ---- */
    {"2022 child GREEN fully vaccinated", HEALTH_SCHEME_JUL2022, CHILD, {F(DOSE, 90 * D), F(DOSE, 60 * D)}, REG_COLOUR_GREEN},
    {"2022 child YELLOW one dose", HEALTH_SCHEME_JUL2022, CHILD, {F(DOSE, 60 * D)}, REG_COLOUR_YELLOW},
    {"2022 child RED unvaccinated", HEALTH_SCHEME_JUL2022, CHILD, {{0, 0}}, REG_COLOUR_RED},
    {"2022 child: a fresh test is not GREEN", HEALTH_SCHEME_JUL2022, CHILD, {F(ANTIGEN_NEGATIVE, 1 * H)}, REG_COLOUR_RED},
    {"2022 age 6 child band", HEALTH_SCHEME_JUL2022, 6, {F(DOSE, 90 * D), F(DOSE, 60 * D)}, REG_COLOUR_GREEN},

    /* ---- July 2022 BLACK, every age ---- */
    {"2022 BLACK positive 9 d ago", HEALTH_SCHEME_JUL2022, ADULT, {F(DOSE, 200 * D), F(DOSE, 170 * D), F(BOOSTER, 60 * D), F(POSITIVE, 9 * D)}, REG_COLOUR_BLACK},
    {"2022 positive 10 d ago: isolation over (GREEN by booster)", HEALTH_SCHEME_JUL2022, ADULT, {F(DOSE, 200 * D), F(DOSE, 170 * D), F(BOOSTER, 60 * D), F(POSITIVE, 10 * D)}, REG_COLOUR_GREEN},
    {"2022 positive 8 d ago, recovered since: still BLACK", HEALTH_SCHEME_JUL2022, ADULT, {F(DOSE, 200 * D), F(DOSE, 170 * D), F(POSITIVE, 8 * D), F(RECOVERED, 1 * D)}, REG_COLOUR_BLACK},
    {"2022 positive 10 d ago, recovered since: GREEN (vaccinated and recovered)", HEALTH_SCHEME_JUL2022, ADULT, {F(DOSE, 200 * D), F(DOSE, 170 * D), F(POSITIVE, 10 * D), F(RECOVERED, 1 * D)}, REG_COLOUR_GREEN},
    {"2022 BLACK contact 1 d ago", HEALTH_SCHEME_JUL2022, ADULT, {F(DOSE, 200 * D), F(DOSE, 170 * D), F(BOOSTER, 60 * D), F(CLOSE_CONTACT, 1 * D)}, REG_COLOUR_BLACK},
    {"2022 BLACK contact 9 d ago", HEALTH_SCHEME_JUL2022, ADULT, {F(CLOSE_CONTACT, 9 * D)}, REG_COLOUR_BLACK},
    {"2022 contact cleared at day 10", HEALTH_SCHEME_JUL2022, ADULT, {F(DOSE, 90 * D), F(DOSE, 60 * D), F(CLOSE_CONTACT, 10 * D)}, REG_COLOUR_YELLOW},
    {"2022 contact, negative PCR on day 4: still BLACK", HEALTH_SCHEME_JUL2022, ADULT, {F(CLOSE_CONTACT, 6 * D), F(PCR_NEGATIVE, 2 * D)}, REG_COLOUR_BLACK},
    {"2022 contact, negative PCR on day 5: cleared (GREEN by the PCR)", HEALTH_SCHEME_JUL2022, ADULT, {F(CLOSE_CONTACT, 6 * D), F(PCR_NEGATIVE, 1 * D)}, REG_COLOUR_GREEN},
    {"2022 contact, negative antigen on day 5: still BLACK", HEALTH_SCHEME_JUL2022, ADULT, {F(CLOSE_CONTACT, 6 * D), F(ANTIGEN_NEGATIVE, 1 * D)}, REG_COLOUR_BLACK},
    {"2022 child BLACK positive", HEALTH_SCHEME_JUL2022, CHILD, {F(DOSE, 90 * D), F(DOSE, 60 * D), F(POSITIVE, 2 * D)}, REG_COLOUR_BLACK},
    {"2022 child BLACK contact", HEALTH_SCHEME_JUL2022, CHILD, {F(CLOSE_CONTACT, 2 * D)}, REG_COLOUR_BLACK},
};

static int64_t birth_for_age(int age) {
  /* Born on 1 March, age years before 2022 (NOW is 1 September). */
  return health_days_from_civil(2022 - age, 3, 1) * D;
}

static reg_colour colour_of(health_scheme scheme, int age, const fact_spec *specs, size_t n,
                            int64_t now) {
  health_fact facts[16];
  size_t count = 0;
  if (age >= 0) facts[count++] = (health_fact){HEALTH_FACT_BIRTH_DATE, birth_for_age(age), HEALTH_NONE};
  for (size_t i = 0; i < n && specs[i].kind; i++)
    facts[count++] = (health_fact){specs[i].kind, now - specs[i].ago_ms, HEALTH_NONE};
  if (count == 0) facts[count++] = (health_fact){HEALTH_FACT_BIRTH_DATE, birth_for_age(40), HEALTH_NONE};
  health_summary s;
  health_summarize(facts, count, now, &s);
  health_rule_set rules;
  health_rule_set_defaults(scheme, &rules);
  return health_colour(&s, &rules, now);
}

static void test_both_tables_cell_by_cell(void) {
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const rule_case *c = &cases[i];
    reg_colour got = colour_of(c->scheme, c->age, c->facts, 6, NOW);
    if (got != c->expect)
      fprintf(stderr, "  case '%s': got %s, expected %s\n", c->name,
              got ? reg_colour_name(got) : "none", reg_colour_name(c->expect));
    CHECK_EQ_INT(got, c->expect);
  }
}

/* The day before the 18th birthday a two-dose person is a GREEN child; on
 * the birthday a YELLOW adult. */
static void test_age_17_vs_18(void) {
  int64_t birth = health_days_from_civil(2004, 9, 2) * D;
  health_fact facts[] = {{HEALTH_FACT_BIRTH_DATE, birth, HEALTH_NONE},
                         {HEALTH_FACT_DOSE, NOW - 90 * D, HEALTH_NONE},
                         {HEALTH_FACT_DOSE, NOW - 60 * D, HEALTH_NONE}};
  health_rule_set rules;
  health_rule_set_defaults(HEALTH_SCHEME_JUL2022, &rules);
  health_summary s;
  health_summarize(facts, 3, NOW, &s);
  CHECK_EQ_INT(health_age_years(birth, NOW), 17);
  CHECK_EQ_INT(health_colour(&s, &rules, NOW), REG_COLOUR_GREEN);
  int64_t birthday = NOW + 1 * D;
  health_summarize(facts, 3, birthday, &s);
  CHECK_EQ_INT(health_age_years(birth, birthday), 18);
  CHECK_EQ_INT(health_colour(&s, &rules, birthday), REG_COLOUR_YELLOW);
  /* A booster makes the adult GREEN again. */
  health_fact boosted[4] = {facts[0], facts[1], facts[2], {HEALTH_FACT_BOOSTER, NOW - D, HEALTH_NONE}};
  health_summarize(boosted, 4, birthday, &s);
  CHECK_EQ_INT(health_colour(&s, &rules, birthday), REG_COLOUR_GREEN);
}

/* A colour changes by itself as time passes: the antigen test of 09:00
 * is GREEN until 09:00 the next day. */
static void test_colour_follows_the_clock(void) {
  health_fact facts[] = {{HEALTH_FACT_ANTIGEN_NEGATIVE, NOW, HEALTH_NONE}};
  health_rule_set rules;
  health_rule_set_defaults(HEALTH_SCHEME_JUL2022, &rules);
  health_summary s;
  int64_t times[] = {NOW, NOW + 24 * H, NOW + 24 * H + 1};
  reg_colour expect[] = {REG_COLOUR_GREEN, REG_COLOUR_GREEN, REG_COLOUR_RED};
  for (int i = 0; i < 3; i++) {
    health_summarize(facts, 1, times[i], &s);
    CHECK_EQ_INT(health_colour(&s, &rules, times[i]), expect[i]);
  }
  /* A fact stamped in the future does not hold yet. */
  health_summarize(facts, 1, NOW - 1, &s);
  CHECK_EQ_INT(s.facts, 0);
  CHECK_EQ_INT(health_colour(&s, &rules, NOW - 1), REG_COLOUR_INVALID);
}

static void test_until_ends_a_fact(void) {
  health_fact facts[] = {{HEALTH_FACT_CLOSE_CONTACT, NOW - 2 * D, NOW - 1 * D},
                         {HEALTH_FACT_DOSE, NOW - 90 * D, HEALTH_NONE}};
  health_rule_set rules;
  health_rule_set_defaults(HEALTH_SCHEME_JUL2022, &rules);
  health_summary s;
  health_summarize(facts, 2, NOW, &s);
  CHECK_EQ_INT(health_colour(&s, &rules, NOW), REG_COLOUR_RED);
  health_summarize(facts, 2, NOW - 1 * D - 1, &s);
  CHECK_EQ_INT(health_colour(&s, &rules, NOW - 1 * D - 1), REG_COLOUR_BLACK);
}

static void test_no_record_and_bad_rule_sets(void) {
  health_summary s;
  health_summarize(NULL, 0, NOW, &s);
  health_rule_set rules;
  health_rule_set_defaults(HEALTH_SCHEME_JUL2022, &rules);
  CHECK_EQ_INT(health_colour(&s, &rules, NOW), REG_COLOUR_INVALID);
  health_fact dose = {HEALTH_FACT_DOSE, NOW - D, HEALTH_NONE};
  health_summarize(&dose, 1, NOW, &s);
  rules.contact_clear_day = rules.contact_pcr_clear_day;
  CHECK(!health_rule_set_valid(&rules));
  CHECK_EQ_INT(health_colour(&s, &rules, NOW), REG_COLOUR_INVALID);
  health_rule_set_defaults(HEALTH_SCHEME_INVALID, &rules);
  CHECK_EQ_INT(health_colour(&s, &rules, NOW), REG_COLOUR_INVALID);
}

/* Numbers are data: a rule set with a 48 h antigen window. */
static void test_rule_numbers_are_data(void) {
  health_fact facts[] = {{HEALTH_FACT_ANTIGEN_NEGATIVE, NOW - 40 * H, HEALTH_NONE}};
  health_rule_set rules;
  health_rule_set_defaults(HEALTH_SCHEME_JUL2022, &rules);
  health_summary s;
  health_summarize(facts, 1, NOW, &s);
  CHECK_EQ_INT(health_colour(&s, &rules, NOW), REG_COLOUR_RED);
  rules.antigen_valid_hours = 48;
  CHECK_EQ_INT(health_colour(&s, &rules, NOW), REG_COLOUR_GREEN);
}

/* Property: whatever else a person's record holds (doses, boosters, fresh
 * tests, a recovery before or after, any age), a positive within the last
 * positive_days, or a contact too recent for any PCR to clear, is BLACK,
 * under both schemes. */
static void test_black_always_wins(void) {
  static const health_fact_kind others[] = {HEALTH_FACT_DOSE, HEALTH_FACT_BOOSTER,
                                            HEALTH_FACT_ANTIGEN_NEGATIVE, HEALTH_FACT_PCR_NEGATIVE,
                                            HEALTH_FACT_RECOVERED, HEALTH_FACT_BIRTH_DATE};
  int blacks = 0;
  for (int round = 0; round < 20000; round++) {
    health_fact facts[12];
    size_t n = 0;
    size_t extra = randombytes_uniform(10);
    int64_t positive_at = NOW - (int64_t)randombytes_uniform(10 * 24) * H;
    for (size_t i = 0; i < extra; i++) {
      health_fact_kind k = others[randombytes_uniform(sizeof others / sizeof others[0])];
      int64_t at = k == HEALTH_FACT_BIRTH_DATE ? birth_for_age((int)randombytes_uniform(90))
                                               : NOW - (int64_t)randombytes_uniform(400 * 24) * H;
      /* Half of the other facts are recent: after the positive or contact. */
      if (k != HEALTH_FACT_BIRTH_DATE && randombytes_uniform(2))
        at = NOW - (int64_t)randombytes_uniform(24 * 60) * 60000;
      facts[n++] = (health_fact){k, at, HEALTH_NONE};
    }
    bool contact = randombytes_uniform(2) == 1;
    if (contact) {
      /* A contact within 4 days cannot be cleared yet, by any PCR. */
      facts[n++] = (health_fact){HEALTH_FACT_CLOSE_CONTACT,
                                 NOW - (int64_t)randombytes_uniform(4 * 24) * H, HEALTH_NONE};
    } else {
      facts[n++] = (health_fact){HEALTH_FACT_POSITIVE, positive_at, HEALTH_NONE};
    }
    health_rule_set rules;
    health_rule_set_defaults(randombytes_uniform(2) ? HEALTH_SCHEME_JUL2022 : HEALTH_SCHEME_SEPT2021,
                             &rules);
    health_summary s;
    health_summarize(facts, n, NOW, &s);
    reg_colour c = health_colour(&s, &rules, NOW);
    if (c != REG_COLOUR_BLACK) {
      fprintf(stderr, "  round %d: %zu facts, contact %d -> %s\n", round, n, contact,
              reg_colour_name(c));
      CHECK_EQ_INT(c, REG_COLOUR_BLACK);
      return;
    }
    blacks++;
  }
  CHECK_EQ_INT(blacks, 20000);
}

/* The facts lindungctl records for `subject upsert --status C` give C. */
static void test_facts_for_colour_give_the_colour(void) {
  reg_colour colours[] = {REG_COLOUR_GREEN, REG_COLOUR_YELLOW, REG_COLOUR_RED, REG_COLOUR_BLACK};
  health_scheme schemes[] = {HEALTH_SCHEME_SEPT2021, HEALTH_SCHEME_JUL2022};
  for (int sc = 0; sc < 2; sc++)
    for (int c = 0; c < 4; c++)
      for (int adult = 0; adult < 2; adult++)
        for (unsigned variant = 0; variant < 8; variant++) {
          health_rule_set rules;
          health_rule_set_defaults(schemes[sc], &rules);
          health_fact facts[HEALTH_FACTS_FOR_COLOUR_MAX + 1];
          int n = health_facts_for_colour(colours[c], &rules, adult, variant, NOW, facts);
          CHECK(n >= 0);
          if (n < 0) continue;
          facts[n++] = (health_fact){HEALTH_FACT_BIRTH_DATE, birth_for_age(adult ? 40 : 10), HEALTH_NONE};
          health_summary s;
          health_summarize(facts, (size_t)n, NOW, &s);
          CHECK_EQ_INT(health_colour(&s, &rules, NOW), colours[c]);
        }
  health_rule_set rules;
  health_rule_set_defaults(HEALTH_SCHEME_JUL2022, &rules);
  health_fact facts[HEALTH_FACTS_FOR_COLOUR_MAX];
  CHECK_EQ_INT(health_facts_for_colour(REG_COLOUR_INVALID, &rules, true, 0, NOW, facts), -1);
}

static void test_time_parse(void) {
  int64_t ms;
  CHECK_EQ_INT(health_time_parse("1970-01-01", &ms), 0);
  CHECK_EQ_INT(ms, 0);
  CHECK_EQ_INT(health_time_parse("2022-07-17T00:00:00+07:00", &ms), 0);
  CHECK_EQ_INT(ms, health_days_from_civil(2022, 7, 16) * D + 17 * H);
  CHECK_EQ_INT(health_time_parse("2022-07-17T09:30Z", &ms), 0);
  CHECK_EQ_INT(ms, health_days_from_civil(2022, 7, 17) * D + 9 * H + 30 * 60000);
  CHECK_EQ_INT(health_time_parse("2022-07-17T09:30:15.250-01:30", &ms), 0);
  CHECK_EQ_INT(ms, health_days_from_civil(2022, 7, 17) * D + 11 * H + 15000 + 250);
  const char *bad[] = {"", "2022-7-17", "2022-02-30", "2022-07-17T09:30", "2022-07-17T24:00Z",
                       "2022-07-17 09:30Z", "2022-07-17T09:30Zjunk", "2022-07-17T09:30:15.Z",
                       "2022-07-17T09:30+0700", "yesterday"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (health_time_parse(bad[i], &ms) == 0) fprintf(stderr, "  accepted '%s'\n", bad[i]);
    CHECK_EQ_INT(health_time_parse(bad[i], &ms), -1);
  }
}

static void test_fact_lines(void) {
  char line[256];
  health_fact_line parsed;
  snprintf(line, sizeof line, " 3171011505900001 , dose , 2021-08-01T10:00:00+07:00 ,, Sinovac, lot 7");
  CHECK_EQ_INT(health_fact_line_parse(line, &parsed), HEALTH_LINE_OK);
  CHECK_EQ_STR(parsed.nik, "3171011505900001");
  CHECK_EQ_INT(parsed.fact.kind, HEALTH_FACT_DOSE);
  CHECK_EQ_INT(parsed.fact.until_ms, HEALTH_NONE);
  CHECK_EQ_STR(parsed.detail, "Sinovac, lot 7");
  snprintf(line, sizeof line, "3171011505900001,close_contact,2022-08-01,2022-08-11,");
  CHECK_EQ_INT(health_fact_line_parse(line, &parsed), HEALTH_LINE_OK);
  CHECK_EQ_INT(parsed.fact.until_ms - parsed.fact.at_ms, 10 * D);

  struct {
    const char *text;
    health_line_status status;
  } bad[] = {
      {"3171011505900001,dose,2021-08-01", HEALTH_LINE_FIELDS},
      {"317101150590000,dose,2021-08-01,,", HEALTH_LINE_NIK},
      {"3171011505900001,vaccinated,2021-08-01,,", HEALTH_LINE_FACT},
      {"3171011505900001,dose,01/08/2021,,", HEALTH_LINE_AT},
      {"3171011505900001,dose,2021-08-01T10:00,,", HEALTH_LINE_AT},
      {"3171011505900001,dose,2021-08-01,2021-07-01,", HEALTH_LINE_UNTIL},
      {"3171011505900001,dose,2021-08-01,soon,", HEALTH_LINE_UNTIL},
      {"3171011505900001,dose,2021-08-01,,a\x01b", HEALTH_LINE_DETAIL},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(line, sizeof line, "%s", bad[i].text);
    CHECK_EQ_INT(health_fact_line_parse(line, &parsed), bad[i].status);
    /* The reason never quotes the NIK. */
    CHECK(strstr(health_line_status_reason(bad[i].status), "3171") == NULL);
  }
  CHECK(health_fact_line_is_header("nik,fact,at,until,detail"));
  CHECK(!health_fact_line_is_header("3171011505900001,dose,2021-08-01,,"));
}

static void test_fact_ids(void) {
  uint8_t hash[REG_NIK_HASH_BYTES] = {1, 2, 3};
  health_fact f = {HEALTH_FACT_POSITIVE, NOW, HEALTH_NONE};
  uint8_t a[HEALTH_FACT_ID_BYTES], b[HEALTH_FACT_ID_BYTES];
  health_fact_id(hash, &f, "PCR lab A", a);
  health_fact_id(hash, &f, "PCR lab A", b);
  CHECK_MEM(a, b, sizeof a);
  f.at_ms++;
  health_fact_id(hash, &f, "PCR lab A", b);
  CHECK(memcmp(a, b, sizeof a) != 0);
  f.at_ms--;
  hash[0] ^= 1;
  health_fact_id(hash, &f, "PCR lab A", b);
  CHECK(memcmp(a, b, sizeof a) != 0);
}

static void test_names(void) {
  for (int k = 1; k <= HEALTH_FACT_KIND_MAX; k++)
    CHECK_EQ_INT(health_fact_kind_parse(health_fact_kind_name((health_fact_kind)k)), k);
  CHECK_EQ_INT(health_fact_kind_parse("Dose"), HEALTH_FACT_INVALID);
  CHECK(health_fact_kind_name(HEALTH_FACT_INVALID) == NULL);
  CHECK_EQ_INT(health_scheme_parse("jul2022"), HEALTH_SCHEME_JUL2022);
  CHECK_EQ_INT(health_scheme_parse("sept2021"), HEALTH_SCHEME_SEPT2021);
  CHECK_EQ_INT(health_scheme_parse("2023"), HEALTH_SCHEME_INVALID);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  RUN(test_both_tables_cell_by_cell);
  RUN(test_age_17_vs_18);
  RUN(test_colour_follows_the_clock);
  RUN(test_until_ends_a_fact);
  RUN(test_no_record_and_bad_rule_sets);
  RUN(test_rule_numbers_are_data);
  RUN(test_black_always_wins);
  RUN(test_facts_for_colour_give_the_colour);
  RUN(test_time_parse);
  RUN(test_fact_lines);
  RUN(test_fact_ids);
  RUN(test_names);
  return testing_summary();
}
