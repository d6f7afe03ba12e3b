/* lindung-loadgen: simulates the partner apps against a running Lindung.
 *
 * Each partner (default: every partner under $LINDUNG_RUN_DIR/partners)
 * first links a sample of the seeded people, then sends scans with a mix
 * of colours, venues, check-ins and check-outs, open loop at a fixed rate
 * (Poisson arrivals) or closed loop at a fixed concurrency. Every answer is
 * decrypted and checked against what the seeded data says it must be;
 * latency runs from publish to decrypted verdict. Talks to Kafka like any
 * partner would, with a plain librdkafka client. */
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "loadgen.h"

static void on_signal(int signum) {
  (void)signum;
  lg.interrupted = 1;
}

int main(int argc, char **argv) {
  if (cfg_answer_version(argc, argv, stdout)) return 0;
  loadgen_options_parse(argc, argv);
  if (sodium_init() < 0) loadgen_die("libsodium failed to start");
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  if (lg.opt.secrets_path && !(lg.secrets_out = fopen(lg.opt.secrets_path, "a"))) loadgen_die("cannot open --secrets-out");
  loadgen_load_seed();
  lg.second_latency = calloc(SECOND_HISTOGRAMS, sizeof *lg.second_latency);
  if (!lg.second_latency) loadgen_die("out of memory");
  if (lg.opt.cpu_run_dir) loadgen_cpu_init(&lg.cpu, lg.opt.cpu_run_dir);
  lg.pending = loadgen_pending_new(lg.opt.concurrency > 65536 ? lg.opt.concurrency * 2 : 131072);
  const char *topics[MAX_PARTNERS];
  for (size_t i = 0; i < lg.partner_count; i++) topics[i] = lg.partners[i].topic;
  char err[512];
  lg.kafka = partner_kafka_open(lg.opt.env.brokers, &lg.opt.env.security, topics, lg.partner_count, err, sizeof err);
  if (!lg.kafka) loadgen_die(err);
  loadgen_link_phase();
  double elapsed = loadgen_scan_phase();
  uint64_t wrong = 0, unanswered = 0;
  for (size_t i = 0; i < lg.partner_count; i++) {
    wrong += lg.partners[i].wrong;
    unanswered += lg.partners[i].unanswered;
  }
  if (lg.opt.table) loadgen_print_table();
  if (lg.opt.json_path) loadgen_write_json(elapsed);
  if (lg.opt.histogram_path) loadgen_write_histogram();
  uint64_t answered = 0;
  for (size_t i = 0; i < lg.partner_count; i++) answered += lg.partners[i].answered;
  fprintf(stderr,
          "lindung-loadgen: %" PRIu64 " scans answered in %.2f s (%.0f/s), p50 %.2f ms, p99 %.2f ms, "
          "p99.9 %.2f ms; wrong %" PRIu64 ", unanswered %" PRIu64 "\n",
          answered, elapsed, (double)answered / elapsed, latency_histogram_quantile(&lg.all_latency, 0.5) / 1000.0,
          latency_histogram_quantile(&lg.all_latency, 0.99) / 1000.0,
          latency_histogram_quantile(&lg.all_latency, 0.999) / 1000.0, wrong, unanswered);
  partner_kafka_close(lg.kafka);
  for (size_t i = 0; i < lg.partner_count; i++) partner_sdk_close(lg.partners[i].sdk);
  loadgen_pending_free(lg.pending);
  free(lg.second_latency);
  if (lg.secrets_out) fclose(lg.secrets_out);
  return lg.interrupted ? 130 : (wrong || unanswered) ? 1 : 0;
}
