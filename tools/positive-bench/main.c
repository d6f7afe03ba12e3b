/* lindung-positive-bench: measures, the way a partner and a lab see it, the
 * time from a positive result published on health.facts to the first DENY
 * (POSITIVE_OR_CONTACT) answer for that person's scan. For each of N GREEN
 * people of the seed (seed/people.csv) it links the person through gojek,
 * checks that a scan is GREEN ALLOW (a person BLACK from an earlier run is
 * skipped for the next), publishes a positive HealthFact (key:
 * the keyed NIK hash), then scans again and again (closed loop, one scan in
 * flight) until DENY. Prints the latencies (p50, p90, p99, max) and how many
 * scans it took; exits 1 if a person never turned BLACK within the timeout.
 *
 * The people it uses stay BLACK for ten days: run it last on a bench stack.
 * Environment: LINDUNG_RUN_DIR, LINDUNG_KAFKA_BROKERS, LINDUNG_SYSTEM_KEY_ID,
 * LINDUNG_SYSTEM_PUBLIC_KEY, LINDUNG_NIK_KEY_FILE (as scripts/stack writes). */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "health_rules.h"
#include "lindung/v1/internal.pb-c.h"
#include "partner_kafka.h"
#include "partner_sdk.h"
#include "registry_rules.h"
#include "topics.h"

#define BENCH_PARTNER "gojek"
#define BENCH_VENUE "QR-TRANSPORT-0001" /* unlimited: no seat to give back */
#define BENCH_MAX_PEOPLE 1000
/* GREEN people of the seed read as candidates: earlier runs left some BLACK. */
#define BENCH_MAX_CANDIDATES 10000

static partner_sdk *bench_sdk;
static partner_kafka *bench_kafka;
static uint8_t bench_wanted[16];
static bool bench_answered;
static partner_sdk_response bench_answer;

static void bench_die(const char *what) {
  fprintf(stderr, "lindung-positive-bench: %s\n", what);
  exit(2);
}

static uint64_t bench_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static const char *bench_env(const char *name) {
  const char *v = getenv(name);
  if (!v || !*v) {
    fprintf(stderr, "lindung-positive-bench: %s is not set\n", name);
    exit(2);
  }
  return v;
}

static void bench_on_answer(const char *topic, const void *key, size_t key_len, const void *value,
                            size_t len) {
  (void)topic, (void)key, (void)key_len;
  partner_sdk_response r;
  char err[256];
  int rc = partner_sdk_open_response(bench_sdk, value, len, &r, err, sizeof err);
  if (rc < 0 || memcmp(r.request_id, bench_wanted, sizeof bench_wanted) != 0) return;
  bench_answer = r;
  bench_answered = true;
}

/* One request, one answer (or -1 after timeout_ms). */
static int bench_exchange(const partner_sdk_request *request, int timeout_ms) {
  uint8_t buf[PARTNER_SDK_REQUEST_BUFFER];
  size_t len = 0;
  char err[256];
  if (partner_sdk_build_request(bench_sdk, request, bench_wanted, buf, sizeof buf, &len, err,
                                sizeof err))
    bench_die(err);
  bench_answered = false;
  if (partner_kafka_send(bench_kafka, BENCH_PARTNER, bench_wanted, buf, len)) bench_die("cannot send a request");
  uint64_t deadline = bench_now_us() + (uint64_t)timeout_ms * 1000u;
  while (!bench_answered && bench_now_us() < deadline)
    partner_kafka_poll(bench_kafka, 5, bench_on_answer);
  return bench_answered ? 0 : -1;
}

static int bench_scan(const char *token, int timeout_ms) {
  partner_sdk_request scan = {.kind = PARTNER_SDK_KIND_SCAN,
                              .token = token,
                              .venue_id = BENCH_VENUE,
                              .scanned_at_ms = bench_now_us() / 1000u,
                              .action = PARTNER_SDK_CHECK_IN};
  return bench_exchange(&scan, timeout_ms);
}

static void bench_publish_positive(const uint8_t nik_hash[REG_NIK_HASH_BYTES], uint64_t at_ms) {
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
    bench_die("cannot publish a fact");
  partner_kafka_flush(bench_kafka, 0);
}

static int bench_by_value(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (cfg_answer_version(argc, argv, stdout)) return 0;
  int people = 50, timeout_ms = 10000;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--people") == 0 && i + 1 < argc)
      people = atoi(argv[++i]);
    else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc)
      timeout_ms = atoi(argv[++i]);
    else {
      printf("usage: lindung-positive-bench [--people N (1..%d, default 50)] [--timeout-ms MS]\n"
             "Publishes a positive result for N GREEN seed people and measures the time to\n"
             "their first DENY answer (see the top of tools/positive-bench/main.c).\n",
             BENCH_MAX_PEOPLE);
      return strcmp(argv[i], "--help") == 0 ? 0 : 2;
    }
  }
  if (people < 1 || people > BENCH_MAX_PEOPLE || timeout_ms < 100) bench_die("bad arguments");
  if (sodium_init() < 0) bench_die("libsodium failed");
  const char *run_dir = bench_env("LINDUNG_RUN_DIR");
  char path[4096], key_id[32] = "", err[256];

  uint8_t text[2 * REG_KEY_BYTES + 2], nik_key[REG_KEY_BYTES];
  long n = cfg_read_secret(bench_env("LINDUNG_NIK_KEY_FILE"), text, sizeof text - 1, true, err,
                           sizeof err);
  if (n < 2 * REG_KEY_BYTES) bench_die("cannot read LINDUNG_NIK_KEY_FILE");
  text[2 * REG_KEY_BYTES] = '\0';
  if (reg_key_hex_parse((const char *)text, nik_key)) bench_die("bad LINDUNG_NIK_KEY_FILE");
  sodium_memzero(text, sizeof text);

  snprintf(path, sizeof path, "%s/partners/%s/key_id", run_dir, BENCH_PARTNER);
  FILE *f = fopen(path, "r");
  if (!f || !fgets(key_id, sizeof key_id, f)) bench_die("cannot read the partner's key_id");
  fclose(f);
  snprintf(path, sizeof path, "%s/partners/%s/secret.key", run_dir, BENCH_PARTNER);
  partner_sdk_credentials creds = {
      .partner_id = BENCH_PARTNER,
      .partner_key_id = (uint32_t)strtoul(key_id, NULL, 10),
      .system_key_id = (uint32_t)strtoul(bench_env("LINDUNG_SYSTEM_KEY_ID"), NULL, 10),
      .system_public_key = bench_env("LINDUNG_SYSTEM_PUBLIC_KEY"),
      .secret_key_file = path};
  if (partner_sdk_open(&creds, &bench_sdk, err, sizeof err)) bench_die(err);
  const char *topics[1] = {TOPIC_SCAN_RESULTS_PREFIX BENCH_PARTNER};
  /* The stack's own principal (LINDUNG_KAFKA_SSL_*): it both scans as the
   * partner and publishes facts as a lab would. */
  kafka_security security;
  if (ksec_load_env(&security, err, sizeof err)) bench_die(err);
  bench_kafka = partner_kafka_open(bench_env("LINDUNG_KAFKA_BROKERS"), &security, topics, 1, err,
                                   sizeof err);
  if (!bench_kafka) bench_die(err);

  /* GREEN people of the seed. */
  static char niks[BENCH_MAX_CANDIDATES][REG_NIK_LEN + 1];
  int found = 0;
  snprintf(path, sizeof path, "%s/seed/people.csv", run_dir);
  f = fopen(path, "r");
  if (!f) bench_die("cannot read seed/people.csv (run lindungctl seed first)");
  char line[256];
  while (found < BENCH_MAX_CANDIDATES && fgets(line, sizeof line, f)) {
    char *nik = strtok(line, ","), *status = strtok(NULL, ",\n");
    if (nik && status && reg_nik_valid(nik) && strcmp(status, "green") == 0)
      snprintf(niks[found++], sizeof niks[0], "%s", nik);
  }
  fclose(f);
  if (found == 0) bench_die("no GREEN person in seed/people.csv");

  uint64_t *latency_us = calloc((size_t)people, sizeof *latency_us);
  int measured = 0, not_green = 0, never = 0;
  uint64_t scans_total = 0;
  /* Until N people are measured: one not GREEN now (a positive of an
   * earlier run) is skipped. */
  for (int i = 0; i < found && measured + never < people; i++) {
    partner_sdk_request link = {.kind = PARTNER_SDK_KIND_LINK, .nik = niks[i]};
    if (bench_exchange(&link, timeout_ms) || bench_answer.error) {
      never++;
      continue;
    }
    char token[PARTNER_SDK_MAX_TOKEN + 1];
    snprintf(token, sizeof token, "%s", bench_answer.token);
    if (bench_scan(token, timeout_ms) || bench_answer.error || bench_answer.verdict.status != 1) {
      not_green++; /* already BLACK from an earlier run, or not GREEN: not measurable */
      continue;
    }
    uint8_t hash[REG_NIK_HASH_BYTES];
    reg_nik_hash(nik_key, niks[i], hash);
    uint64_t start = bench_now_us();
    bench_publish_positive(hash, start / 1000u);
    bool denied = false;
    while (!denied && bench_now_us() - start < (uint64_t)timeout_ms * 1000u) {
      if (bench_scan(token, timeout_ms) != 0) break;
      scans_total++;
      denied = bench_answer.error == 0 && bench_answer.verdict.decision == 2 &&
               bench_answer.verdict.status == 4;
    }
    if (denied)
      latency_us[measured++] = bench_now_us() - start;
    else
      never++;
    sodium_memzero(token, sizeof token);
  }
  sodium_memzero(nik_key, sizeof nik_key);
  sodium_memzero(niks, sizeof niks);

  qsort(latency_us, (size_t)measured, sizeof *latency_us, bench_by_value);
#define PCT(p) (measured ? latency_us[(size_t)((measured - 1) * (p) / 100)] / 1000.0 : 0.0)
  printf("{\"people\":%d,\"measured\":%d,\"not_green_before\":%d,\"never_denied\":%d,"
         "\"scans_per_person\":%.2f,\"p50_ms\":%.1f,\"p90_ms\":%.1f,\"p99_ms\":%.1f,"
         "\"max_ms\":%.1f}\n",
         people, measured, not_green, never, measured ? (double)scans_total / measured : 0.0,
         PCT(50), PCT(90), PCT(99), measured ? latency_us[measured - 1] / 1000.0 : 0.0);
  free(latency_us);
  partner_kafka_close(bench_kafka);
  partner_sdk_close(bench_sdk);
  return never ? 1 : 0;
}
