/* Unit tests for the fault run's oracle and canonical answers, its request
 * table and its seeded mix (tools/faults). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "faults_judge.h"
#include "faults_requests.h"
#include "testing.h"

static const loadgen_venue mall = {"QR-MALL-0001", true, true, true, false};

static partner_sdk_response scan(int status, int decision, int reason) {
  partner_sdk_response r = {0};
  r.kind = PARTNER_SDK_KIND_SCAN;
  r.verdict.status = status;
  r.verdict.decision = decision;
  r.verdict.reason = reason;
  return r;
}

static partner_sdk_response error_answer(int code) {
  partner_sdk_response r = {0};
  r.error = code;
  return r;
}

static void test_scans_against_the_seed(void) {
  partner_sdk_response allow = scan(1, 1, 1), checked_out = scan(1, 1, 7);
  CHECK_EQ_INT(faults_judge(FAULTS_CHECK_IN, LOADGEN_GREEN, &mall, 0, &allow), FAULTS_RIGHT);
  CHECK_EQ_INT(faults_judge(FAULTS_CHECK_IN, LOADGEN_RED, &mall, 0, &allow), FAULTS_WRONG);
  CHECK_EQ_INT(faults_judge(FAULTS_CHECK_OUT, LOADGEN_GREEN, &mall, 0, &checked_out), FAULTS_RIGHT);
  CHECK_EQ_INT(faults_judge(FAULTS_CHECK_OUT, LOADGEN_GREEN, &mall, 0, &allow), FAULTS_WRONG);
}

static void test_errors_and_bad_requests(void) {
  partner_sdk_response unavailable = error_answer(13), unknown_venue = error_answer(11),
                       unknown_token = error_answer(10);
  /* UNAVAILABLE is allowed for any request while a dependency is down. */
  CHECK_EQ_INT(faults_judge(FAULTS_CHECK_IN, LOADGEN_GREEN, &mall, 13, &unavailable), FAULTS_UNAVAILABLE);
  CHECK_EQ_INT(faults_judge(FAULTS_LINK, LOADGEN_GREEN, &mall, 13, &unavailable), FAULTS_UNAVAILABLE);
  CHECK_EQ_INT(faults_judge(FAULTS_BAD_VENUE, LOADGEN_GREEN, &mall, 11, &unknown_venue), FAULTS_RIGHT);
  CHECK_EQ_INT(faults_judge(FAULTS_BAD_VENUE, LOADGEN_GREEN, &mall, 10, &unknown_token), FAULTS_WRONG);
  CHECK_EQ_INT(faults_judge(FAULTS_BAD_TOKEN, LOADGEN_GREEN, &mall, 10, &unknown_token), FAULTS_RIGHT);
  /* A token Lindung issued and then forgot is a wrong answer to a scan. */
  CHECK_EQ_INT(faults_judge(FAULTS_CHECK_IN, LOADGEN_GREEN, &mall, 10, &unknown_token), FAULTS_WRONG);
  CHECK_EQ_INT(faults_judge(FAULTS_CHECK_IN, LOADGEN_GREEN, &mall, PARTNER_SDK_EAUTH, &unknown_token), FAULTS_WRONG);
}

static void test_links(void) {
  partner_sdk_response linked = {0}, empty = {0};
  linked.kind = PARTNER_SDK_KIND_LINK;
  snprintf(linked.token, sizeof linked.token, "tok-abc");
  empty.kind = PARTNER_SDK_KIND_LINK;
  CHECK_EQ_INT(faults_judge(FAULTS_LINK, LOADGEN_GREEN, &mall, 0, &linked), FAULTS_RIGHT);
  CHECK_EQ_INT(faults_judge(FAULTS_LINK, LOADGEN_GREEN, &mall, 0, &empty), FAULTS_WRONG);
}

static void test_answer_texts(void) {
  char a[FAULTS_ANSWER_TEXT], b[FAULTS_ANSWER_TEXT];
  partner_sdk_response allow = scan(1, 1, 1), unavailable = error_answer(13);
  faults_answer_text(0, &allow, a, sizeof a);
  CHECK_EQ_STR(a, "scan:GREEN/ALLOW/STATUS_ALLOWED");
  faults_answer_text(13, &unavailable, a, sizeof a);
  CHECK_EQ_STR(a, "error:UNAVAILABLE");
  /* Two tokens give two texts, and the text never holds the token. */
  partner_sdk_response one = {0}, two = {0};
  one.kind = two.kind = PARTNER_SDK_KIND_LINK;
  snprintf(one.token, sizeof one.token, "secret-token-one");
  snprintf(two.token, sizeof two.token, "secret-token-two");
  faults_answer_text(0, &one, a, sizeof a);
  faults_answer_text(0, &two, b, sizeof b);
  CHECK(strcmp(a, b) != 0);
  CHECK(strncmp(a, "link:", 5) == 0);
  CHECK(strstr(a, "secret") == NULL);
}

/* Every request is found again by its id, until the table is full. */
static void test_request_table(void) {
  faults_table table;
  CHECK_EQ_INT(faults_table_init(&table, 1000), 0);
  for (uint32_t i = 0; i < 1000; i++) {
    faults_request *r = faults_table_next(&table);
    CHECK(r != NULL);
    if (!r) break;
    randombytes_buf(r->id, sizeof r->id);
    r->person = i;
    faults_table_commit(&table);
  }
  CHECK(faults_table_next(&table) == NULL);
  uint8_t missing[16] = {0};
  CHECK(faults_table_find(&table, missing) == NULL);
  size_t found = 0;
  for (size_t i = 0; i < table.count; i++) {
    faults_request *r = faults_table_find(&table, table.requests[i].id);
    found += r && r->person == i;
  }
  CHECK_EQ_INT(found, 1000);
  faults_table_free(&table);
}

/* The same seed gives the same mix; every draw is below its bound. */
static void test_seeded_mix(void) {
  uint64_t a = 1, b = 1, c = 2;
  int same = 0, differs = 0, below = 0;
  for (int i = 0; i < 100; i++) {
    uint32_t x = faults_rng_below(&a, 100), y = faults_rng_below(&b, 100), z = faults_rng_below(&c, 100);
    same += x == y;
    differs += x != z;
    below += x < 100;
  }
  CHECK_EQ_INT(same, 100);
  CHECK(differs > 50);
  CHECK_EQ_INT(below, 100);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  RUN(test_scans_against_the_seed);
  RUN(test_errors_and_bad_requests);
  RUN(test_links);
  RUN(test_answer_texts);
  RUN(test_request_table);
  RUN(test_seeded_mix);
  return testing_summary();
}
