/* For integration drivers: the eleven launch partners the test stack seeds
 * (lindungctl seed), their partner SDKs opened from the run dir's
 * credentials, and a reader of every partner's results topic plus one more
 * (scan.deadletter, say). Exits on any failure: a driver cannot go on. */
#ifndef LINDUNG_TESTING_PARTNERS_H
#define LINDUNG_TESTING_PARTNERS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "partner_kafka.h"
#include "partner_sdk.h"
#include "testing_kafka.h"

#define TESTING_PARTNERS 11
static const char *const testing_partner_ids[TESTING_PARTNERS] = {
    "gojek", "grab", "tokopedia", "tiketcom", "dana", "livin-mandiri",
    "traveloka", "cinema-xxi", "linkaja", "goers", "jaki"};

/* Opens each launch partner's SDK with the keys `lindungctl seed` wrote. */
static inline void testing_open_partner_sdks(const char *run_dir,
                                             partner_sdk *sdk[TESTING_PARTNERS]) {
  const char *system_pk = getenv("LINDUNG_SYSTEM_PUBLIC_KEY");
  const char *system_id = getenv("LINDUNG_SYSTEM_KEY_ID");
  if (!system_pk || !system_id) exit(2);
  for (int p = 0; p < TESTING_PARTNERS; p++) {
    char path[4096], key_path[4200], key_id[16] = "1";
    snprintf(path, sizeof path, "%s/partners/%s/key_id", run_dir, testing_partner_ids[p]);
    FILE *f = fopen(path, "r");
    if (f) {
      if (!fgets(key_id, sizeof key_id, f)) key_id[0] = '1';
      fclose(f);
    }
    snprintf(key_path, sizeof key_path, "%s/partners/%s/secret.key", run_dir,
             testing_partner_ids[p]);
    partner_sdk_credentials credentials = {.partner_id = testing_partner_ids[p],
                                           .partner_key_id = (uint32_t)strtoul(key_id, NULL, 10),
                                           .system_key_id = (uint32_t)strtoul(system_id, NULL, 10),
                                           .system_public_key = system_pk,
                                           .secret_key_file = key_path};
    char err[256];
    if (partner_sdk_open(&credentials, &sdk[p], err, sizeof err)) {
      fprintf(stderr, "partner %s: %s\n", testing_partner_ids[p], err);
      exit(1);
    }
  }
}

/* Reads scan.results.<p> of every launch partner and extra_topic, as the
 * stack's admin principal. */
static inline partner_kafka *testing_open_results(const char *extra_topic) {
  const char *topics[TESTING_PARTNERS + 1];
  char names[TESTING_PARTNERS][64];
  for (int p = 0; p < TESTING_PARTNERS; p++) {
    snprintf(names[p], sizeof names[p], "scan.results.%s", testing_partner_ids[p]);
    topics[p] = names[p];
  }
  topics[TESTING_PARTNERS] = extra_topic;
  char err[512];
  partner_kafka *kafka = partner_kafka_open(getenv("LINDUNG_KAFKA_BROKERS"),
                                            testing_kafka_security(), topics,
                                            TESTING_PARTNERS + 1, err, sizeof err);
  if (!kafka) {
    fprintf(stderr, "kafka: %s\n", err);
    exit(1);
  }
  return kafka;
}

#endif
