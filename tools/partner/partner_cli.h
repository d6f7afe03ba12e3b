/* lindung-partner: internal interfaces between the files of the reference
 * partner client (prefix pcli_). */
#ifndef LINDUNG_PARTNER_CLI_H
#define LINDUNG_PARTNER_CLI_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kafka_security.h"
#include "partner_sdk.h"

/* Exit status of every command. */
enum {
  PCLI_OK = 0,
  PCLI_ANSWERED_ERROR = 1, /* Lindung answered with an error code */
  PCLI_USAGE = 2,          /* bad arguments */
  PCLI_NO_ANSWER = 3,      /* no answer before the timeout */
  PCLI_FAILURE = 4,        /* local failure: Kafka, credentials, unreadable answer */
};

/* --- pcli_reader: the partner's results topic, read without a group ------
 * Partitions are assigned directly (no group join, so no rebalance delay),
 * either at the current end, resolved to concrete offsets before the call
 * returns, or at the beginning. */
typedef struct pcli_reader pcli_reader;

/* fetch_wait_ms: how long the broker may hold an empty fetch; short while
 * waiting for one answer, longer while following the topic. */
int pcli_reader_open(const char *brokers, const kafka_security *security, const char *partner_id,
                     const char *topic, bool from_beginning, int fetch_wait_ms,
                     pcli_reader **out, char *err, size_t err_len);
/* Returns the next message (caller destroys it with rd_kafka_message_destroy)
 * or NULL when none came within timeout_ms. Partition ends are tracked. */
rd_kafka_message_t *pcli_reader_poll(pcli_reader *reader, int timeout_ms);
/* True once every partition has reached its end since its last message. */
bool pcli_reader_at_end(const pcli_reader *reader);
void pcli_reader_close(pcli_reader *reader);

/* --- pcli_json: one JSON object per line on stdout ----------------------- */
/* Prints the fields of an opened response (no braces), starting with a
 * comma: the error name, then the verdict or the token. */
void pcli_json_response_fields(FILE *out, const partner_sdk_response *response, int rc);

/* --- pcli_args: options, commands, help and usage errors (partner_args.c) */
enum pcli_opt {
  OPT_PARTNER,
  OPT_KEY_ID,
  OPT_SECRET_KEY_FILE,
  OPT_PARTNER_DIR,
  OPT_SYSTEM_KEY_ID,
  OPT_SYSTEM_PUBLIC_KEY,
  OPT_BROKERS,
  OPT_OUT_DIR,
  OPT_NIK,
  OPT_TOKEN,
  OPT_VENUE,
  OPT_CHECK_OUT,
  OPT_SCANNED_AT_MS,
  OPT_TIMEOUT,
  OPT_FOLLOW,
  OPT_FROM_BEGINNING,
  OPT_HELP,
  OPT_COUNT
};

typedef struct pcli_option_spec {
  const char *name;
  bool has_arg;
  const char *arg; /* placeholder in help */
  const char *env; /* environment fallback, or NULL */
  const char *help;
} pcli_option_spec;

extern const pcli_option_spec pcli_specs[OPT_COUNT];

typedef struct pcli_args {
  const char *value[OPT_COUNT]; /* given on the command line, else NULL */
  bool flag[OPT_COUNT];
} pcli_args;

#define PCLI_BIT(o) (1u << (o))
#define PCLI_CREDENTIALS                                                                     \
  (PCLI_BIT(OPT_PARTNER) | PCLI_BIT(OPT_KEY_ID) | PCLI_BIT(OPT_SECRET_KEY_FILE) |           \
   PCLI_BIT(OPT_PARTNER_DIR) | PCLI_BIT(OPT_SYSTEM_KEY_ID) | PCLI_BIT(OPT_SYSTEM_PUBLIC_KEY) | \
   PCLI_BIT(OPT_BROKERS))

typedef struct pcli_command {
  const char *name;
  const char *usage;
  const char *summary;
  unsigned options; /* PCLI_BIT()s of the options it takes */
  int (*run)(const pcli_args *args);
} pcli_command;

/* Print "lindung-partner[ command]: <reason> ..." on stderr and return
 * PCLI_USAGE, or "lindung-partner: <reason>" and return PCLI_FAILURE. */
int pcli_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int pcli_failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The general help (cmd NULL: lists commands) or one command's. */
void pcli_print_help(const pcli_command *commands, size_t count, const pcli_command *cmd);
/* The word at arg as an error message may name it: the option or command
 * name without any "=value", or "(argument)" when it holds anything but
 * a-z and '-' (whatever was typed could be a NIK). */
void pcli_safe_word(const char *arg, char *out, size_t cap);
/* Parses argv (argv[0] is the command word) against cmd's options. */
int pcli_parse(const pcli_command *cmd, int argc, char **argv, pcli_args *args);

/* Values: pure checks of what a user typed. */
bool pcli_parse_u64(const char *text, uint64_t *out);
bool pcli_parse_key_id(const char *text, uint32_t *out); /* 1 .. UINT32_MAX */
bool pcli_valid_partner_id(const char *id);
bool pcli_printable(const char *text, size_t max); /* 1..max printable ASCII */
bool pcli_valid_nik(const char *nik);
/* --timeout in ms (default 10 s), or PCLI_USAGE after saying why. */
int pcli_timeout_ms(const pcli_args *args, const char *command, int *out);

/* --- pcli_creds: who speaks, from options, a partner dir or the
 * environment (partner_creds.c) */
typedef struct pcli_creds {
  char partner_id[PARTNER_SDK_MAX_PARTNER_ID + 1];
  uint32_t key_id;
  char secret_key_file[4096];
  uint32_t system_key_id;
  const char *system_public_key;
  const char *brokers;
  /* The partner's own Kafka principal (LINDUNG_KAFKA_SSL_*, or DIR/kafka.*). */
  kafka_security security;
  char cert_file[4096];
  char key_file[4096];
} pcli_creds;

/* The last component of dir, without trailing slashes. */
void pcli_dir_name(const char *dir, char *out, size_t cap);
int pcli_resolve(const char *command, const pcli_args *args, pcli_creds *c);
int pcli_open_sdk(const pcli_creds *c, partner_sdk **sdk);

/* --- the commands (partner_commands.c) ------------------------------------ */
int pcli_cmd_keygen(const pcli_args *args);
int pcli_cmd_link(const pcli_args *args);
int pcli_cmd_scan(const pcli_args *args);
int pcli_cmd_results(const pcli_args *args);

#endif
