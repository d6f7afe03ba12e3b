/* lindung-relay: what its files share (prefix relay_): the options, and the
 * two roles of the process, a relay (relay_hop.c) and the source and sink
 * around the chain (relay_chain.c). */
#ifndef LINDUNG_RELAY_H
#define LINDUNG_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "kafka_security.h"

#define RELAY_MAX_HOPS 8
#define RELAY_MAX_SECONDS 3600
#define RELAY_MAX_VALUE 4096
#define RELAY_ID_LEN 16

typedef struct relay_options {
  const char *brokers, *prefix, *json_path, *cpu_run_dir;
  kafka_security security;
  unsigned hops, concurrency, timeout_ms;
  size_t sizes[RELAY_MAX_HOPS + 1];
  double rate, duration_s;
  bool quiet;
} relay_options;

/* relay_options.c: the defaults, then the command line. */
void relay_options_init(relay_options *opt);
void relay_usage(FILE *out);
/* "a,b,..." into sizes (one per hop plus one, each 16 .. 4096 bytes); hops
 * without a size of their own keep the last one given. 0, or -1 when the
 * text does not fit those bounds. */
int relay_parse_sizes(const char *text, size_t sizes[RELAY_MAX_HOPS + 1]);
/* 0 to run; else the exit status, after printing the help (0) or the reason
 * (2). */
int relay_options_parse(relay_options *opt, int argc, char **argv);

/* relay_hop.c: one relay, a child process: consumes from, produces to,
 * with values resized to size bytes, until SIGTERM. */
int relay_run_hop(const relay_options *opt, const char *from, const char *to, size_t size,
                  const char *group);

/* relay_chain.c: starts the relays (self, with --run-relay), warms the
 * chain up, measures, and reports; returns the exit status. */
int relay_chain_run(const relay_options *opt, const char *self);

#endif
