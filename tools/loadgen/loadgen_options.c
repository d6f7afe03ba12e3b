/* loadgen_options: the command line and environment of lindung-loadgen. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "loadgen.h"

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
  lg.opt.run_dir = getenv("LINDUNG_RUN_DIR") ? getenv("LINDUNG_RUN_DIR") : ".run";
  lg.opt.brokers = getenv("LINDUNG_KAFKA_BROKERS");
  lg.opt.db_url = getenv("LINDUNG_DB_URL");
  lg.opt.system_pk = getenv("LINDUNG_SYSTEM_PUBLIC_KEY");
  const char *key_id = getenv("LINDUNG_SYSTEM_KEY_ID");
  if (!lg.opt.brokers || !lg.opt.db_url || !lg.opt.system_pk || !key_id) {
    fprintf(stderr, "lindung-loadgen: LINDUNG_KAFKA_BROKERS, LINDUNG_DB_URL, LINDUNG_SYSTEM_KEY_ID and "
                    "LINDUNG_SYSTEM_PUBLIC_KEY are required (source .run/stack.env)\n");
    exit(2);
  }
  lg.opt.system_key_id = (uint32_t)strtoul(key_id, NULL, 10);
  /* One client speaks for every partner at once, so on a broker with ACLs
   * it needs a principal allowed to (the stack's admin certificate). */
  char err[256];
  if (ksec_load_env(&lg.opt.security, err, sizeof err)) {
    fprintf(stderr, "lindung-loadgen: %s\n", err);
    exit(2);
  }
}

