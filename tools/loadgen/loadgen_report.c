/* loadgen_report: lindung-loadgen's results: the per-partner table, the
 * JSON summary and the latency histogram. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "loadgen.h"

/* ---- output ---- */

static const char *const error_names[ERROR_CODES] = {
    "NONE", "MALFORMED", "UNKNOWN_PARTNER", "PARTNER_REVOKED", "UNKNOWN_KEY", "KEY_REVOKED",
    "DECRYPT_FAILED", "STALE_REQUEST", "REPLAYED", "RATE_LIMITED", "UNKNOWN_TOKEN",
    "UNKNOWN_VENUE", "UNKNOWN_NIK", "UNAVAILABLE"};

void loadgen_print_table(void) {
  printf("%-14s %8s %8s | %-23s | %-23s | %-16s | %8s %8s\n", "partner", "requests", "answered",
         "ALLOW green/yellow", "DENY g/y/red/black", "errors", "p50 ms", "p99 ms");
  for (size_t i = 0; i < lg.partner_count; i++) {
    partner_state *p = &lg.partners[i];
    char allow[32], deny[32], errors[128] = "";
    snprintf(allow, sizeof allow, "%" PRIu64 "/%" PRIu64, p->allow_by_colour[1], p->allow_by_colour[2]);
    snprintf(deny, sizeof deny, "%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64, p->deny_by_colour[1],
             p->deny_by_colour[2], p->deny_by_colour[3], p->deny_by_colour[4]);
    size_t used = 0;
    for (int code = 1; code < ERROR_CODES; code++)
      if (p->errors[code] && used < sizeof errors)
        used += (size_t)snprintf(errors + used, sizeof errors - used, "%s%s:%" PRIu64, used ? "," : "",
                                 error_names[code], p->errors[code]);
    if (p->unanswered && used < sizeof errors)
      snprintf(errors + used, sizeof errors - used, "%sno answer:%" PRIu64, used ? "," : "", p->unanswered);
    printf("%-14s %8" PRIu64 " %8" PRIu64 " | %-23s | %-23s | %-16s | %8.2f %8.2f\n", p->id, p->requests,
           p->answered, allow, deny, errors[0] ? errors : "-",
           latency_histogram_quantile(&p->latency, 0.50) / 1000.0,
           latency_histogram_quantile(&p->latency, 0.99) / 1000.0);
  }
}

void loadgen_write_json(double elapsed) {
  uint64_t sent = 0, answered = 0, wrong = 0, unanswered = 0, allow = 0, deny = 0;
  for (size_t i = 0; i < lg.partner_count; i++) {
    partner_state *p = &lg.partners[i];
    sent += p->requests;
    answered += p->answered;
    wrong += p->wrong;
    unanswered += p->unanswered;
    for (int c = 0; c < 5; c++) {
      allow += p->allow_by_colour[c];
      deny += p->deny_by_colour[c];
    }
  }
  FILE *out = fopen(lg.opt.json_path, "w");
  if (!out) loadgen_die("cannot write the --json file");
  fprintf(out,
          "{\"mode\":\"%s\",\"rate\":%.0f,\"concurrency\":%u,\"duration_s\":%.3f,\"partners\":%zu,"
          "\"sent\":%" PRIu64 ",\"answered\":%" PRIu64 ",\"allow\":%" PRIu64 ",\"deny\":%" PRIu64
          ",\"wrong\":%" PRIu64 ",\"unanswered\":%" PRIu64 ",\"scans_per_s\":%.1f,"
          "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"per_second\":[",
          lg.opt.rate > 0 ? "open" : "closed", lg.opt.rate, lg.opt.concurrency, elapsed, lg.partner_count, sent, answered,
          allow, deny, wrong, unanswered, (double)answered / elapsed,
          latency_histogram_quantile(&lg.all_latency, 0.50) / 1000.0,
          latency_histogram_quantile(&lg.all_latency, 0.90) / 1000.0,
          latency_histogram_quantile(&lg.all_latency, 0.99) / 1000.0,
          latency_histogram_quantile(&lg.all_latency, 0.999) / 1000.0, lg.all_latency.max_us / 1000.0);
  size_t seconds = (size_t)ceil(elapsed);
  for (size_t s = 0; s < seconds && s < MAX_SECONDS; s++) fprintf(out, "%s%" PRIu64, s ? "," : "", lg.per_second[s]);
  fprintf(out, "],\"sent_per_second\":[");
  for (size_t s = 0; s < seconds && s < MAX_SECONDS; s++) fprintf(out, "%s%" PRIu64, s ? "," : "", lg.sent_per_second[s]);
  /* Per second of the phase: [p50, p99, max] in ms of the answers that came in that second. */
  fprintf(out, "],\"latency_per_second_ms\":[");
  for (size_t s = 0; s < seconds && s < SECOND_HISTOGRAMS; s++) {
    const latency_histogram *h = &lg.second_latency[s];
    fprintf(out, "%s[%.3f,%.3f,%.3f]", s ? "," : "", latency_histogram_quantile(h, 0.5) / 1000.0,
            latency_histogram_quantile(h, 0.99) / 1000.0, h->max_us / 1000.0);
  }
  fprintf(out, "],\"latency_cdf_ms\":[");
  static const double qs[] = {0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999, 1.0};
  for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
    fprintf(out, "%s[%.4f,%.3f]", i ? "," : "", qs[i], latency_histogram_quantile(&lg.all_latency, qs[i]) / 1000.0);
  fprintf(out, "]");
  if (lg.opt.cpu_run_dir) {
    fprintf(out, ",");
    loadgen_cpu_write_json(&lg.cpu, out);
  }
  fprintf(out, "}\n");
  fclose(out);
}

void loadgen_write_histogram(void) {
  FILE *out = fopen(lg.opt.histogram_path, "w");
  if (!out) loadgen_die("cannot write the --histogram file");
  fprintf(out, "# latency of every scan answered: bucket upper edge (us), count\n");
  for (unsigned i = 0; i < LATENCY_HISTOGRAM_BUCKETS; i++)
    if (lg.all_latency.counts[i])
      fprintf(out, "%" PRIu64 " %" PRIu64 "\n", latency_histogram_bucket_upper(i), lg.all_latency.counts[i]);
  fclose(out);
}

