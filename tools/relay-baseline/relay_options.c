/* relay_options: the command line of lindung-relay. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"

void relay_options_init(relay_options *opt) {
  *opt = (relay_options){.prefix = "bench.relay", .hops = 3, .concurrency = 512,
                         .timeout_ms = 10000, .duration_s = 10,
                         /* Medians of scan.requests, scan.accepted, scan.decrypted and
                          * scan.results.* values on the scan path. */
                         .sizes = {160, 175, 616, 120}};
}

void relay_usage(FILE *out) {
  fprintf(out,
          "usage: lindung-relay [options]\n\n"
          "The bare relay chain: source -> N relays (consume and produce, no work) -> sink,\n"
          "over the same broker and Kafka loop code as the scan path. Its throughput is the\n"
          "transport limit the pipeline is compared to.\n\n"
          "options:\n"
          "  --hops N           relays in the chain (default 3, as the scan path)\n"
          "  --duration S       seconds of measuring (default 10)\n"
          "  --rate R           open loop: R messages/s, Poisson arrivals\n"
          "  --concurrency C    closed loop (no --rate): C messages in flight (default 512)\n"
          "  --sizes a,b,...    value bytes published by the source and by each relay\n"
          "                     (default 160,175,616,120: the scan path's messages)\n"
          "  --prefix P         topics P.0 .. P.N (default bench.relay)\n"
          "  --timeout-ms T     a message later than this counts as lost (default 10000)\n"
          "  --json FILE        write a JSON summary\n"
          "  --cpu-pids DIR     sample the CPU time of the relays and of the stack in DIR\n"
          "                     (pids/*.pid, PostgreSQL) while measuring, into the JSON\n"
          "  --quiet            no progress lines\n\n"
          "environment: LINDUNG_KAFKA_BROKERS, LINDUNG_KAFKA_FETCH_WAIT_MS (relays; default 10\n"
          "as the services). Topics missing on the broker are created on demand (a broker\n"
          "creating them with its default partition count).\n");
}

int relay_parse_sizes(const char *text, size_t sizes[RELAY_MAX_HOPS + 1]) {
  char *copy = strdup(text), *save = NULL;
  if (!copy) return -1;
  unsigned i = 0;
  int rc = 0;
  for (char *item = strtok_r(copy, ",", &save); item && rc == 0; item = strtok_r(NULL, ",", &save)) {
    unsigned long size = strtoul(item, NULL, 10);
    if (i > RELAY_MAX_HOPS || size < RELAY_ID_LEN || size > RELAY_MAX_VALUE)
      rc = -1;
    else
      sizes[i++] = size;
  }
  free(copy);
  for (; rc == 0 && i > 0 && i <= RELAY_MAX_HOPS; i++) sizes[i] = sizes[i - 1];
  return rc;
}

int relay_options_parse(relay_options *opt, int argc, char **argv) {
  static const struct option longs[] = {
      {"hops", 1, 0, 'n'},    {"duration", 1, 0, 'd'},   {"rate", 1, 0, 'r'},
      {"concurrency", 1, 0, 'c'}, {"sizes", 1, 0, 's'}, {"prefix", 1, 0, 'p'},
      {"timeout-ms", 1, 0, 't'}, {"json", 1, 0, 'j'},   {"quiet", 0, 0, 'q'},
      {"cpu-pids", 1, 0, 'C'},
      {"help", 0, 0, 'h'},    {0, 0, 0, 0}};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
    switch (c) {
      case 'n': opt->hops = (unsigned)strtoul(optarg, NULL, 10); break;
      case 'd': opt->duration_s = strtod(optarg, NULL); break;
      case 'r': opt->rate = strtod(optarg, NULL); break;
      case 'c': opt->concurrency = (unsigned)strtoul(optarg, NULL, 10); break;
      case 's':
        if (relay_parse_sizes(optarg, opt->sizes) == 0) break;
        fprintf(stderr, "lindung-relay: --sizes: each from 16 to 4096 bytes, at most one per hop plus one\n");
        return 2;
      case 'p': opt->prefix = optarg; break;
      case 't': opt->timeout_ms = (unsigned)strtoul(optarg, NULL, 10); break;
      case 'j': opt->json_path = optarg; break;
      case 'q': opt->quiet = true; break;
      case 'C': opt->cpu_run_dir = optarg; break;
      case 'h': relay_usage(stdout); return 1;
      default: relay_usage(stderr); return 2;
    }
  }
  if (optind < argc || opt->hops < 1 || opt->hops > RELAY_MAX_HOPS || opt->concurrency == 0 ||
      opt->duration_s <= 0 || opt->duration_s > RELAY_MAX_SECONDS || opt->rate < 0 ||
      strlen(opt->prefix) > 100) {
    fprintf(stderr, "lindung-relay: bad arguments (see --help)\n");
    return 2;
  }
  for (unsigned i = 1; i <= opt->hops; i++)
    if (!opt->sizes[i]) opt->sizes[i] = opt->sizes[i - 1];
  return 0;
}
