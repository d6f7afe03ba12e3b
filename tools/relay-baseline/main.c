/* lindung-relay: the transport limit the scan path is compared to.
 *
 * A relay chain over the same broker with as many hops as the scan path:
 * a source publishes to <prefix>.0, relay i consumes <prefix>.(i-1) and
 * produces <prefix>.i without doing any work, and a sink reads the last
 * topic. Source and sink are one partner-like client (partner_kafka, as the
 * load generator uses); every relay is its own process on the services'
 * Kafka loop (kafka_loop.h) with the services' consumer settings, and
 * resizes each value to the size of the scan-path message at that hop, so
 * the only difference to the pipeline is the work the services do. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "relay.h"

int main(int argc, char **argv) {
  if (cfg_answer_version(argc, argv, stdout)) return 0;
  static relay_options opt;
  relay_options_init(&opt);
  opt.brokers = getenv("LINDUNG_KAFKA_BROKERS");
  if (!opt.brokers || !*opt.brokers) {
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
      relay_usage(stdout);
      return 0;
    }
    fprintf(stderr, "lindung-relay: LINDUNG_KAFKA_BROKERS is required (source .run/stack.env)\n");
    return 2;
  }
  char security_err[256];
  if (ksec_load_env(&opt.security, security_err, sizeof security_err)) {
    fprintf(stderr, "lindung-relay: %s\n", security_err);
    return 2;
  }
  /* Internal: a relay process, started by the parent below. */
  if (argc == 6 && !strcmp(argv[1], "--run-relay"))
    return relay_run_hop(&opt, argv[2], argv[3], strtoul(argv[4], NULL, 10), argv[5]);
  int rc = relay_options_parse(&opt, argc, argv);
  if (rc) return rc == 1 ? 0 : rc;
  if (sodium_init() < 0) {
    fprintf(stderr, "lindung-relay: libsodium failed to start\n");
    return 1;
  }
  return relay_chain_run(&opt, argv[0]);
}
