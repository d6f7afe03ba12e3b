/* lindung-faults: the traffic of scripts/faults. Speaks for all the
 * partners under $LINDUNG_RUN_DIR/partners: links a sample of the seeded
 * people, then sends N requests at a fixed rate (links, check-ins,
 * check-outs and some bad requests, chosen by a seeded generator, each with
 * a fresh request id), and records every request sent and every answer that
 * comes back, duplicates included, judged against the seed. It keeps
 * reading until every request is answered and nothing has arrived for a
 * while, or until the drain deadline. Comparing the sets is the job of
 * tools/faults/analyse.py; this program only observes.
 *
 * Files in --out DIR: start_ms (wall clock at the first request), sent.tsv
 * (ms, request id, partner, kind, the Link whose token a scan carries) and answers.tsv (ms, request id, partner,
 * answer text, right|wrong|unavailable). */
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "faults_run.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: lindung-faults --out DIR [options]\n\n"
          "The traffic of scripts/faults: sends N requests from every partner at a fixed\n"
          "rate and records each request and each answer (duplicates included) in DIR.\n\n"
          "  --count N      requests in the run (default 100000)\n"
          "  --rate R       requests per second (default 150)\n"
          "  --seed S       seed of the request mix (default 1)\n"
          "  --people N     people each partner links before the run (default 40)\n"
          "  --drain S      give up once S s pass without a new request answered (default 300)\n"
          "  --quiet S      stop once all are answered and nothing came for S s (default 15)\n\n"
          "environment: as lindung-loadgen (source the stack's stack.env).\n");
}

static void parse_options(int argc, char **argv, faults_options *opt) {
  static const struct option longs[] = {{"out", 1, 0, 'o'},    {"count", 1, 0, 'n'}, {"rate", 1, 0, 'r'},
                                        {"seed", 1, 0, 's'},   {"people", 1, 0, 'p'}, {"drain", 1, 0, 'd'},
                                        {"quiet", 1, 0, 'q'},  {"help", 0, 0, 'h'},  {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
    switch (c) {
      case 'o': opt->out_dir = optarg; break;
      case 'n': opt->count = (unsigned)strtoul(optarg, NULL, 10); break;
      case 'r': opt->rate = strtod(optarg, NULL); break;
      case 's': opt->seed = strtoull(optarg, NULL, 10); break;
      case 'p': opt->people_per_partner = (unsigned)strtoul(optarg, NULL, 10); break;
      case 'd': opt->drain_s = (unsigned)strtoul(optarg, NULL, 10); break;
      case 'q': opt->quiet_s = (unsigned)strtoul(optarg, NULL, 10); break;
      case 'h': usage(stdout); exit(0);
      default: usage(stderr); exit(2);
    }
  }
  if (optind < argc || !opt->out_dir || opt->count == 0 || opt->rate <= 0 || opt->people_per_partner == 0) {
    usage(stderr);
    exit(2);
  }
}

int main(int argc, char **argv) {
  if (cfg_answer_version(argc, argv, stdout)) return 0;
  faults_options opt = {.count = 100000, .people_per_partner = 40, .drain_s = 300, .quiet_s = 15, .rate = 150, .seed = 1};
  parse_options(argc, argv, &opt);
  loadgen_env env;
  char err[256];
  if (loadgen_env_load(&env, err, sizeof err)) faults_die(err);
  if (sodium_init() < 0) faults_die("libsodium failed to start");
  return faults_run(&opt, &env);
}
