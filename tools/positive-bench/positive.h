/* lindung-positive-bench: what its files share (prefix positive_): one
 * partner and lab client (positive_client.c) and the measurement of one
 * person, with the report (positive_run.c). */
#ifndef LINDUNG_POSITIVE_H
#define LINDUNG_POSITIVE_H

#include <stdint.h>
#include <stdio.h>

#include "loadgen_seed.h"
#include "registry_rules.h"

#define POSITIVE_PARTNER "gojek"
#define POSITIVE_VENUE "QR-TRANSPORT-0001" /* unlimited: no seat to give back */

__attribute__((noreturn)) void positive_die(const char *what);

/* positive_client.c: scans as POSITIVE_PARTNER and publishes facts as a lab
 * would, both with the stack's own Kafka principal. */
void positive_client_open(const loadgen_env *env);
/* One request, one answer into *answer (0), or -1 after timeout_ms. */
int positive_exchange(const partner_sdk_request *request, int timeout_ms,
                      partner_sdk_response *answer);
int positive_scan(const char *token, int timeout_ms, partner_sdk_response *answer);
void positive_publish_positive(const uint8_t nik_hash[REG_NIK_HASH_BYTES], uint64_t at_ms);
void positive_client_close(void);

/* positive_run.c */
typedef enum positive_outcome {
  POSITIVE_MEASURED,  /* DENY came: *latency_us is the time from the publish */
  POSITIVE_NOT_GREEN, /* not GREEN ALLOW before: not measurable */
  POSITIVE_NEVER,     /* no link, or no DENY within the timeout */
} positive_outcome;

positive_outcome positive_measure(const uint8_t nik_key[REG_KEY_BYTES], const char *nik,
                                  int timeout_ms, uint64_t *latency_us, uint64_t *scans);

typedef struct positive_totals {
  int people, measured, not_green, never;
  uint64_t scans;
} positive_totals;

/* One JSON line: counts, scans per person, p50/p90/p99/max in ms; sorts
 * latency_us (totals->measured values). */
void positive_report(FILE *out, const positive_totals *totals, uint64_t *latency_us);

#endif
