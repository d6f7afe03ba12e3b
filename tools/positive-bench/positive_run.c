/* positive_run: one person of lindung-positive-bench: link, check that a
 * scan is GREEN ALLOW, publish a positive result, then scan until DENY;
 * and the report of all the people measured. */
#include <sodium.h>
#include <stdlib.h>

#include "positive.h"
#include "service_clock.h"

positive_outcome positive_measure(const uint8_t nik_key[REG_KEY_BYTES], const char *nik,
                                  int timeout_ms, uint64_t *latency_us, uint64_t *scans) {
  partner_sdk_request link = {.kind = PARTNER_SDK_KIND_LINK, .nik = nik};
  partner_sdk_response answer;
  if (positive_exchange(&link, timeout_ms, &answer) || answer.error) return POSITIVE_NEVER;
  char token[PARTNER_SDK_MAX_TOKEN + 1];
  snprintf(token, sizeof token, "%s", answer.token);
  positive_outcome outcome = POSITIVE_NEVER;
  if (positive_scan(token, timeout_ms, &answer) || answer.error || answer.verdict.status != 1) {
    outcome = POSITIVE_NOT_GREEN; /* already BLACK from an earlier run, or not GREEN */
  } else {
    uint8_t hash[REG_NIK_HASH_BYTES];
    reg_nik_hash(nik_key, nik, hash);
    double started = service_monotonic_s(), until = started + timeout_ms / 1000.0;
    positive_publish_positive(hash, service_now_ms());
    while (outcome == POSITIVE_NEVER && service_monotonic_s() < until) {
      if (positive_scan(token, timeout_ms, &answer) != 0) break;
      (*scans)++;
      if (answer.error == 0 && answer.verdict.decision == 2 && answer.verdict.status == 4) {
        *latency_us = (uint64_t)((service_monotonic_s() - started) * 1e6);
        outcome = POSITIVE_MEASURED;
      }
    }
  }
  sodium_memzero(token, sizeof token);
  sodium_memzero(&answer, sizeof answer);
  return outcome;
}

static int positive_by_value(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

void positive_report(FILE *out, const positive_totals *t, uint64_t *latency_us) {
  size_t n = (size_t)t->measured;
  if (n) qsort(latency_us, n, sizeof *latency_us, positive_by_value);
#define PCT(p) (n ? latency_us[(n - 1) * (p) / 100] / 1000.0 : 0.0)
  fprintf(out,
          "{\"people\":%d,\"measured\":%d,\"not_green_before\":%d,\"never_denied\":%d,"
          "\"scans_per_person\":%.2f,\"p50_ms\":%.1f,\"p90_ms\":%.1f,\"p99_ms\":%.1f,"
          "\"max_ms\":%.1f}\n",
          t->people, t->measured, t->not_green, t->never, n ? (double)t->scans / (double)n : 0.0,
          PCT(50), PCT(90), PCT(99), n ? latency_us[n - 1] / 1000.0 : 0.0);
#undef PCT
}
