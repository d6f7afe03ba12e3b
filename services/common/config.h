/* config: settings from LINDUNG_* environment variables, described by a
 * table that also produces --help. Secrets are never values of variables:
 * a *_FILE variable names a file, and cfg_read_secret() reads it.
 *
 *   static char *brokers; static uint32_t partitions;
 *   static const cfg_option options[] = {
 *     CFG_STRING("LINDUNG_KAFKA_BROKERS", &brokers, NULL, "Kafka bootstrap servers"),
 *     CFG_UINT("LINDUNG_PARTITIONS", &partitions, "3", "partitions per topic"),
 *   };
 *
 * A NULL default makes the variable required. Prefix cfg_. */
#ifndef LINDUNG_CONFIG_H
#define LINDUNG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum cfg_type { CFG_TYPE_STRING, CFG_TYPE_UINT, CFG_TYPE_BOOL } cfg_type;

typedef struct cfg_option {
  const char *name; /* environment variable */
  cfg_type type;
  void *target;     /* const char ** / uint32_t * / bool * */
  const char *default_value;
  const char *help;
} cfg_option;

#define CFG_STRING(name, target, def, help) {name, CFG_TYPE_STRING, (void *)(target), def, help}
#define CFG_UINT(name, target, def, help) {name, CFG_TYPE_UINT, (void *)(target), def, help}
#define CFG_BOOL(name, target, def, help) {name, CFG_TYPE_BOOL, (void *)(target), def, help}

/* Fills every target; on a missing required variable or a bad number,
 * writes a one-line reason naming the variable (never its value) into err
 * and returns -1. Strings point into the environment or the defaults. */
int cfg_load(const cfg_option *options, size_t count, char *err, size_t err_len);

/* True when argv holds --help or -h. */
bool cfg_wants_help(int argc, char **argv);

/* When argv[1] is --version, prints "<program> <version>" (the program
 * being argv[0]'s base name, the version CMake's project version) to out
 * and returns true. */
bool cfg_answer_version(int argc, char **argv, FILE *out);

/* Prints usage, a summary and every variable with its default. */
void cfg_print_help(FILE *out, const char *usage, const char *summary, const cfg_option *options,
                    size_t count);

/* Reads a whole secret file of 1..cap bytes (a trailing newline is dropped);
 * refuses files readable by group or others when strict_mode is set. Returns
 * the length, or -1 with a reason naming the path only. */
long cfg_read_secret(const char *path, uint8_t *buf, size_t cap, bool strict_mode, char *err,
                     size_t err_len);

#endif
