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
 * Environment: stack.env (as for lindung-loadgen) and LINDUNG_NIK_KEY_FILE,
 * as scripts/stack writes them. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "positive.h"

#define BENCH_MAX_PEOPLE 1000

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
  if (people < 1 || people > BENCH_MAX_PEOPLE || timeout_ms < 100) positive_die("bad arguments");
  if (sodium_init() < 0) positive_die("libsodium failed");
  loadgen_env env;
  char err[256];
  if (loadgen_env_load(&env, err, sizeof err)) positive_die(err);
  const char *nik_key_file = getenv("LINDUNG_NIK_KEY_FILE");
  if (!nik_key_file || !*nik_key_file) positive_die("LINDUNG_NIK_KEY_FILE is not set");
  uint8_t text[2 * REG_KEY_BYTES + 2], nik_key[REG_KEY_BYTES];
  long n = cfg_read_secret(nik_key_file, text, sizeof text - 1, true, err, sizeof err);
  if (n < 2 * REG_KEY_BYTES) positive_die("cannot read LINDUNG_NIK_KEY_FILE");
  text[2 * REG_KEY_BYTES] = '\0';
  if (reg_key_hex_parse((const char *)text, nik_key)) positive_die("bad LINDUNG_NIK_KEY_FILE");
  sodium_memzero(text, sizeof text);
  positive_client_open(&env);

  /* GREEN people of the seed. */
  loadgen_person *seed = NULL;
  size_t seed_count = 0;
  if (loadgen_seed_people(env.run_dir, &seed, &seed_count, err, sizeof err)) positive_die(err);
  uint64_t *latency_us = calloc((size_t)people, sizeof *latency_us);
  if (!latency_us) positive_die("out of memory");
  positive_totals totals = {0};
  /* Until N people are measured: one not GREEN now (a positive of an
   * earlier run on this stack) is skipped for the next. */
  for (size_t i = 0; i < seed_count && totals.measured + totals.never < people; i++) {
    if (seed[i].colour != LOADGEN_GREEN) continue;
    positive_outcome outcome =
        positive_measure(nik_key, seed[i].nik, timeout_ms, &latency_us[totals.measured], &totals.scans);
    if (outcome == POSITIVE_MEASURED) totals.measured++;
    if (outcome == POSITIVE_NOT_GREEN) totals.not_green++;
    if (outcome == POSITIVE_NEVER) totals.never++;
  }
  sodium_memzero(nik_key, sizeof nik_key);
  sodium_memzero(seed, seed_count * sizeof *seed);
  free(seed);
  if (totals.measured + totals.never + totals.not_green == 0)
    positive_die("no GREEN person in seed/people.csv");
  totals.people = people;
  positive_report(stdout, &totals, latency_us);
  free(latency_us);
  positive_client_close();
  return totals.never ? 1 : 0;
}
