/* faults_judge: canonical answers and the oracle (faults_judge.h). */
#include "faults_judge.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

enum { ERROR_UNKNOWN_TOKEN = 10, ERROR_UNKNOWN_VENUE = 11, ERROR_UNAVAILABLE = 13 };

const char *faults_kind_name(faults_kind kind) {
  switch (kind) {
    case FAULTS_LINK: return "link";
    case FAULTS_CHECK_IN: return "in";
    case FAULTS_CHECK_OUT: return "out";
    case FAULTS_BAD_VENUE: return "bad_venue";
    case FAULTS_BAD_TOKEN: return "bad_token";
  }
  return "unknown";
}

void faults_answer_text(int open_rc, const partner_sdk_response *response, char *out, size_t out_len) {
  if (open_rc < 0) {
    snprintf(out, out_len, "undecodable:%s", partner_sdk_strerror(open_rc));
  } else if (open_rc > 0) {
    snprintf(out, out_len, "error:%s", partner_sdk_error_name(response->error));
  } else if (response->kind == PARTNER_SDK_KIND_LINK) {
    /* A token is a secret: the text carries a short hash, enough to tell
     * two different tokens apart. */
    uint8_t digest[8];
    char hex[2 * sizeof digest + 1];
    crypto_generichash(digest, sizeof digest, (const uint8_t *)response->token, strlen(response->token),
                       NULL, 0);
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    snprintf(out, out_len, "link:%s", hex);
  } else if (response->kind == PARTNER_SDK_KIND_SCAN) {
    snprintf(out, out_len, "scan:%s/%s/%s", partner_sdk_status_name(response->verdict.status),
             partner_sdk_decision_name(response->verdict.decision),
             partner_sdk_reason_name(response->verdict.reason));
  } else {
    snprintf(out, out_len, "empty");
  }
}

faults_judgement faults_judge(faults_kind kind, loadgen_colour colour, const loadgen_venue *venue,
                              int open_rc, const partner_sdk_response *response) {
  if (open_rc < 0) return FAULTS_WRONG;
  if (open_rc == ERROR_UNAVAILABLE) return FAULTS_UNAVAILABLE;
  switch (kind) {
    case FAULTS_LINK:
      return open_rc == 0 && response->kind == PARTNER_SDK_KIND_LINK && response->token[0] ? FAULTS_RIGHT
                                                                                          : FAULTS_WRONG;
    case FAULTS_BAD_VENUE: return open_rc == ERROR_UNKNOWN_VENUE ? FAULTS_RIGHT : FAULTS_WRONG;
    case FAULTS_BAD_TOKEN: return open_rc == ERROR_UNKNOWN_TOKEN ? FAULTS_RIGHT : FAULTS_WRONG;
    case FAULTS_CHECK_IN:
    case FAULTS_CHECK_OUT: {
      if (open_rc != 0 || response->kind != PARTNER_SDK_KIND_SCAN) return FAULTS_WRONG;
      loadgen_answer answer = {0, response->verdict.status, response->verdict.decision, response->verdict.reason};
      return loadgen_expect_scan(colour, venue, kind == FAULTS_CHECK_OUT, &answer) ? FAULTS_RIGHT : FAULTS_WRONG;
    }
  }
  return FAULTS_WRONG;
}
