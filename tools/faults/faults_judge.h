/* faults_judge: what one answer means to the fault-injection run: a
 * canonical text of the answer (two answers to one request differ exactly
 * when their texts differ) and whether it is right against the seeded truth.
 * Pure functions: no Kafka, no PostgreSQL. */
#ifndef LINDUNG_FAULTS_JUDGE_H
#define LINDUNG_FAULTS_JUDGE_H

#include <stdbool.h>
#include <stddef.h>

#include "loadgen_expect.h"
#include "partner_sdk.h"

/* What a request asked, as the run chose it. */
typedef enum faults_kind {
  FAULTS_LINK = 0,
  FAULTS_CHECK_IN = 1,
  FAULTS_CHECK_OUT = 2,
  FAULTS_BAD_VENUE = 3, /* a venue Lindung does not know: UNKNOWN_VENUE */
  FAULTS_BAD_TOKEN = 4, /* another partner's token: UNKNOWN_TOKEN */
} faults_kind;

typedef enum faults_judgement {
  FAULTS_RIGHT = 0,
  FAULTS_WRONG = 1,
  FAULTS_UNAVAILABLE = 2, /* UNAVAILABLE: allowed while a dependency is down */
} faults_judgement;

#define FAULTS_ANSWER_TEXT 64

const char *faults_kind_name(faults_kind kind);

/* The canonical text of an opened answer: "scan:GREEN/ALLOW/STATUS_ALLOWED",
 * "link:<hash of the token>" (never the token), "error:UNKNOWN_VENUE", or
 * "undecodable:<reason>" when open_rc < 0. */
void faults_answer_text(int open_rc, const partner_sdk_response *response, char *out, size_t out_len);

/* Right, wrong or UNAVAILABLE, for a request of this kind by a person of
 * this colour at this venue (both unused for links and bad requests). */
faults_judgement faults_judge(faults_kind kind, loadgen_colour colour, const loadgen_venue *venue,
                              int open_rc, const partner_sdk_response *response);

#endif
