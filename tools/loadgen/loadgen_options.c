/* loadgen_options: the command line and environment of lindung-loadgen,
 * and what it reads from the seed before it starts. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <string.h>

#include "loadgen.h"
#include "topics.h"

loadgen_state lg = {.opt = {.people_per_partner = 50,
                            .concurrency = 512,
                            .timeout_ms = 10000,
                            .check_out_percent = 20,
                            .rate = 0,
                            .duration_s = 10}};

void loadgen_die(const char *what) {
  fprintf(stderr, "lindung-loadgen: %s\n", what);
  exit(1);
}

void loadgen_usage(FILE *out) {
  fprintf(out,
          "usage: lindung-loadgen [options]\n\n"
          "Simulates the partner apps: links a sample of the seeded people through each\n"
          "partner, then sends scans and checks every decrypted answer against the seed.\n\n"
          "options:\n"
          "  --people N         people each partner links first (default 50)\n"
          "  --duration S       seconds of scanning (default 10)\n"
          "  --rate R           open loop: R scans/s in all, Poisson arrivals\n"
          "  --concurrency C    closed loop (no --rate): C scans in flight (default 512)\n"
          "  --timeout-ms T     an answer later than this counts as unanswered (default 10000)\n"
          "  --check-out P      percent of scans that are check-outs (default 20)\n"
          "  --partners a,b     only these partners (default: all under $LINDUNG_RUN_DIR/partners)\n"
          "  --table            print the per-partner table\n"
          "  --json FILE        write a JSON summary (per-second counts and latency, CDF)\n"
          "  --histogram FILE   write the latency histogram: one line per bucket, upper edge in\n"
          "                     microseconds and count\n"
          "  --cpu-pids DIR     sample the CPU time of the stack in DIR (pids/*.pid and\n"
          "                     PostgreSQL) over the scan phase, into the JSON summary\n"
          "  --quiet            no progress lines\n"
          "  --secrets-out FILE write every NIK and token used (for tests that check logs)\n\n"
          "environment: LINDUNG_KAFKA_BROKERS, LINDUNG_DB_URL (reads venues), LINDUNG_RUN_DIR\n"
          "(partners/ and seed/people.csv from `lindungctl seed`), LINDUNG_SYSTEM_KEY_ID,\n"
          "LINDUNG_SYSTEM_PUBLIC_KEY.\n");
}

void loadgen_options_parse(int argc, char **argv) {
  static const struct option longs[] = {
      {"people", 1, 0, 'p'}, {"duration", 1, 0, 'd'}, {"rate", 1, 0, 'r'},
      {"concurrency", 1, 0, 'c'}, {"timeout-ms", 1, 0, 't'}, {"check-out", 1, 0, 'o'},
      {"partners", 1, 0, 'P'}, {"table", 0, 0, 'T'}, {"json", 1, 0, 'j'},
      {"quiet", 0, 0, 'q'}, {"secrets-out", 1, 0, 's'}, {"histogram", 1, 0, 'H'},
      {"cpu-pids", 1, 0, 'C'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
    switch (c) {
      case 'p': lg.opt.people_per_partner = (unsigned)strtoul(optarg, NULL, 10); break;
      case 'd': lg.opt.duration_s = strtod(optarg, NULL); break;
      case 'r': lg.opt.rate = strtod(optarg, NULL); break;
      case 'c': lg.opt.concurrency = (unsigned)strtoul(optarg, NULL, 10); break;
      case 't': lg.opt.timeout_ms = (unsigned)strtoul(optarg, NULL, 10); break;
      case 'o': lg.opt.check_out_percent = (unsigned)strtoul(optarg, NULL, 10); break;
      case 'P': lg.opt.partner_list = optarg; break;
      case 'T': lg.opt.table = true; break;
      case 'j': lg.opt.json_path = optarg; break;
      case 'q': lg.opt.quiet = true; break;
      case 's': lg.opt.secrets_path = optarg; break;
      case 'H': lg.opt.histogram_path = optarg; break;
      case 'C': lg.opt.cpu_run_dir = optarg; break;
      case 'h': loadgen_usage(stdout); exit(0);
      default: loadgen_usage(stderr); exit(2);
    }
  }
  if (optind < argc || lg.opt.people_per_partner == 0 || lg.opt.concurrency == 0 ||
      lg.opt.duration_s <= 0 || lg.opt.duration_s > MAX_SECONDS || lg.opt.rate < 0 || lg.opt.check_out_percent > 100) {
    fprintf(stderr, "lindung-loadgen: bad arguments (see --help)\n");
    exit(2);
  }
  char err[256];
  if (loadgen_env_load(&lg.opt.env, err, sizeof err)) {
    fprintf(stderr, "lindung-loadgen: %s\n", err);
    exit(2);
  }
}

static void add_partner(const char *id) {
  if (lg.partner_count == MAX_PARTNERS) loadgen_die("too many partners");
  partner_state *p = &lg.partners[lg.partner_count];
  char err[256];
  snprintf(p->id, sizeof p->id, "%s", id);
  topics_scan_results(id, p->topic, sizeof p->topic);
  if (loadgen_seed_partner(&lg.opt.env, p->id, &p->sdk, err, sizeof err)) loadgen_die(err);
  latency_histogram_reset(&p->latency);
  lg.partner_count++;
}

void loadgen_load_seed(void) {
  char err[256];
  if (loadgen_seed_people(lg.opt.env.run_dir, &lg.people, &lg.people_count, err, sizeof err) ||
      loadgen_seed_venues(lg.opt.env.db_url, &lg.venues, &lg.venue_count, err, sizeof err))
    loadgen_die(err);
  if (!lg.opt.partner_list) {
    for (size_t i = 0; i < loadgen_launch_partner_count; i++) add_partner(loadgen_launch_partners[i]);
    return;
  }
  char *list = strdup(lg.opt.partner_list);
  for (char *id = list ? strtok(list, ",") : NULL; id; id = strtok(NULL, ",")) add_partner(id);
  free(list);
}

