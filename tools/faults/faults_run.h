/* faults_run: one run of lindung-faults against a running stack (see
 * main.c): the links before the run, N requests at a fixed rate, and the
 * wait for quiescence, recording every request and answer in files.
 * Prefix faults_. */
#ifndef LINDUNG_FAULTS_RUN_H
#define LINDUNG_FAULTS_RUN_H

#include <stdint.h>

#include "loadgen_seed.h"

typedef struct faults_options {
  const char *out_dir;
  unsigned count, people_per_partner, drain_s, quiet_s;
  double rate;
  uint64_t seed;
} faults_options;

__attribute__((noreturn)) void faults_die(const char *what);
/* Returns the exit status: 0, or 130 when interrupted. */
int faults_run(const faults_options *opt, const loadgen_env *env);

#endif
