/* Unit tests for the fault run's oracle and canonical answers (tools/faults). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "faults_judge.h"
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

int main(void) {
  if (sodium_init() < 0) return 1;
  RUN(test_scans_against_the_seed);
  RUN(test_errors_and_bad_requests);
  RUN(test_links);
  RUN(test_answer_texts);
  return testing_summary();
}
