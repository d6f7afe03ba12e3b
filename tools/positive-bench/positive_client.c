/* positive_client: lindung-positive-bench's one Kafka client: it scans as
 * POSITIVE_PARTNER, one request in flight, and publishes HealthFacts on
 * health.facts as a lab does. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "health_rules.h"
#include "lindung/v1/internal.pb-c.h"
#include "partner_kafka.h"
#include "positive.h"
#include "service_clock.h"
#include "topics.h"

static partner_sdk *bench_sdk;
static partner_kafka *bench_kafka;
static uint8_t bench_wanted[16];
static partner_sdk_response *bench_answer; /* where the awaited answer goes; NULL once there */

void positive_die(const char *what) {
  fprintf(stderr, "lindung-positive-bench: %s\n", what);
  exit(2);
}

void positive_client_open(const loadgen_env *env) {
  char err[256];
  if (loadgen_seed_partner(env, POSITIVE_PARTNER, &bench_sdk, err, sizeof err)) positive_die(err);
  const char *topics[1] = {TOPIC_SCAN_RESULTS_PREFIX POSITIVE_PARTNER};
  bench_kafka = partner_kafka_open(env->brokers, &env->security, topics, 1, err, sizeof err);
  if (!bench_kafka) positive_die(err);
}

static void bench_on_answer(const char *topic, const void *key, size_t key_len, const void *value,
                            size_t len) {
  (void)topic, (void)key, (void)key_len;
  partner_sdk_response r;
  char err[256];
  int rc = partner_sdk_open_response(bench_sdk, value, len, &r, err, sizeof err);
  if (rc < 0 || !bench_answer || memcmp(r.request_id, bench_wanted, sizeof bench_wanted) != 0) return;
  *bench_answer = r;
  bench_answer = NULL;
}

int positive_exchange(const partner_sdk_request *request, int timeout_ms,
                      partner_sdk_response *answer) {
  uint8_t buf[PARTNER_SDK_REQUEST_BUFFER];
  size_t len = 0;
  char err[256];
  if (partner_sdk_build_request(bench_sdk, request, bench_wanted, buf, sizeof buf, &len, err,
                                sizeof err))
    positive_die(err);
  bench_answer = answer;
  if (partner_kafka_send(bench_kafka, POSITIVE_PARTNER, bench_wanted, buf, len))
    positive_die("cannot send a request");
  double deadline = service_monotonic_s() + timeout_ms / 1000.0;
  while (bench_answer && service_monotonic_s() < deadline)
    partner_kafka_poll(bench_kafka, 5, bench_on_answer);
  bool answered = !bench_answer;
  bench_answer = NULL;
  return answered ? 0 : -1;
}

int positive_scan(const char *token, int timeout_ms, partner_sdk_response *answer) {
  partner_sdk_request scan = {.kind = PARTNER_SDK_KIND_SCAN,
                              .token = token,
                              .venue_id = POSITIVE_VENUE,
                              .scanned_at_ms = service_now_ms(),
                              .action = PARTNER_SDK_CHECK_IN};
  return positive_exchange(&scan, timeout_ms, answer);
}

void positive_publish_positive(const uint8_t nik_hash[REG_NIK_HASH_BYTES], uint64_t at_ms) {
  health_fact fact = {HEALTH_FACT_POSITIVE, (int64_t)at_ms, HEALTH_NONE};
  uint8_t id[HEALTH_FACT_ID_BYTES];
  health_fact_id(nik_hash, &fact, "bench", id);
  Lindung__V1__HealthFact m = LINDUNG__V1__HEALTH_FACT__INIT;
  m.version = 1;
  m.fact_id = (ProtobufCBinaryData){sizeof id, id};
  m.nik_hash = (ProtobufCBinaryData){REG_NIK_HASH_BYTES, (uint8_t *)nik_hash};
  m.kind = LINDUNG__V1__HEALTH_FACT_KIND__HEALTH_FACT_POSITIVE;
  m.at_ms = at_ms;
  m.detail = "bench";
  m.source = "bench-lab";
  m.sent_at_ms = at_ms;
  uint8_t buf[256];
  size_t len = lindung__v1__health_fact__pack(&m, buf);
  if (partner_kafka_send_raw(bench_kafka, TOPIC_HEALTH_FACTS, nik_hash, REG_NIK_HASH_BYTES, buf, len))
    positive_die("cannot publish a fact");
  partner_kafka_flush(bench_kafka, 0);
}

void positive_client_close(void) {
  partner_kafka_close(bench_kafka);
  partner_sdk_close(bench_sdk);
}
