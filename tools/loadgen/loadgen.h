/* loadgen: what the modules of lindung-loadgen share: its options and the
 * state of one run. One run per process, held in `lg`: the Kafka poll
 * callback (partner_kafka.h) takes no context. Prefix loadgen_. */
#ifndef LINDUNG_LOADGEN_H
#define LINDUNG_LOADGEN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "latency_histogram.h"
#include "loadgen_cpu.h"
#include "loadgen_expect.h"
#include "loadgen_pace.h"
#include "loadgen_pending.h"
#include "loadgen_seed.h"
#include "partner_kafka.h"
#include "partner_sdk.h"

#define MAX_PARTNERS 64
#define MAX_SECONDS 3600
#define ERROR_CODES 14
/* Latency of the answers that arrived in each second of the phase. */
#define SECOND_HISTOGRAMS 600

typedef struct partner_state {
  char id[33];
  char topic[64];
  partner_sdk *sdk;
  uint32_t *linked; /* people this partner linked */
  char (*tokens)[PARTNER_SDK_MAX_TOKEN + 1];
  size_t linked_count, link_target;
  uint64_t requests, answered, wrong, unanswered;
  uint64_t allow_by_colour[5], deny_by_colour[5];
  uint64_t errors[ERROR_CODES];
  latency_histogram latency;
} partner_state;

typedef struct options {
  loadgen_env env;
  const char *json_path, *partner_list, *secrets_path;
  const char *histogram_path, *cpu_run_dir;
  unsigned people_per_partner, concurrency, timeout_ms, check_out_percent;
  double rate, duration_s;
  bool table, quiet;
} options;

typedef struct loadgen_state {
  options opt;
  loadgen_person *people;
  size_t people_count;
  loadgen_venue *venues;
  size_t venue_count;
  partner_state partners[MAX_PARTNERS];
  size_t partner_count;
  loadgen_pending *pending;
  partner_kafka *kafka;
  latency_histogram all_latency;
  uint64_t per_second[MAX_SECONDS], sent_per_second[MAX_SECONDS];
  latency_histogram *second_latency;
  loadgen_cpu cpu;
  volatile sig_atomic_t interrupted;
  FILE *secrets_out;
  uint64_t phase_start_us;
} loadgen_state;

extern loadgen_state lg;

/* loadgen_options.c */
__attribute__((noreturn)) void loadgen_die(const char *what);
void loadgen_usage(FILE *out);
void loadgen_options_parse(int argc, char **argv);

/* Reads the people, the venues and the partners (--partners, else the
 * launch partners) into lg. */
void loadgen_load_seed(void);

/* loadgen_traffic.c */
void loadgen_link_phase(void);
double loadgen_scan_phase(void);

/* loadgen_report.c */
void loadgen_print_table(void);
void loadgen_write_json(double elapsed);
void loadgen_write_histogram(void);

#endif
