/* lindung-partner: the reference partner client of docs/partner-protocol.md.
 *
 * Commands: keygen (a key pair for registration), link (a NIK in, a token
 * out), scan (a token and a venue in, a verdict out) and results (the
 * partner's answers topic as JSON lines). The protocol lives in partner_sdk;
 * this file parses arguments, resolves credentials and moves bytes over
 * Kafka (kq_producer to publish, pcli_reader to wait for the answer).
 *
 * Privacy: a NIK is never printed, not even back in an error message about
 * the argument that carried it. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "hex.h"
#include "json_write.h"
#include "kafka_loop.h"
#include "partner_cli.h"
#include "partner_kafka.h"
#include "partner_sdk.h"
#include "topics.h"

#define PCLI_DEFAULT_TIMEOUT_S 10.0
#define PCLI_POLL_MS 10

/* --- options ------------------------------------------------------------- */

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

static const pcli_option_spec pcli_specs[OPT_COUNT] = {
    [OPT_PARTNER] = {"partner", true, "ID", "LINDUNG_PARTNER_ID", "partner id, e.g. gojek"},
    [OPT_KEY_ID] = {"key-id", true, "N", "LINDUNG_PARTNER_KEY_ID", "partner key id"},
    [OPT_SECRET_KEY_FILE] = {"secret-key-file", true, "PATH", "LINDUNG_PARTNER_SECRET_KEY_FILE",
                             "partner secret key (64 hex characters, mode 0400 or 0600)"},
    [OPT_PARTNER_DIR] = {"partner-dir", true, "DIR", "LINDUNG_PARTNER_DIR",
                         "DIR/key_id and DIR/secret.key (as lindungctl seed writes them), and "
                         "DIR/kafka.crt and DIR/kafka.key, the partner's Kafka client "
                         "certificate, when present; the partner id defaults to the "
                         "directory's name"},
    [OPT_SYSTEM_KEY_ID] = {"system-key-id", true, "N", "LINDUNG_SYSTEM_KEY_ID",
                           "Lindung system key id"},
    [OPT_SYSTEM_PUBLIC_KEY] = {"system-public-key", true, "HEX", "LINDUNG_SYSTEM_PUBLIC_KEY",
                               "Lindung system public key (64 hex characters)"},
    [OPT_BROKERS] = {"brokers", true, "HOST:PORT,...", "LINDUNG_KAFKA_BROKERS",
                     "Kafka bootstrap servers"},
    [OPT_OUT_DIR] = {"out-dir", true, "DIR", NULL,
                     "directory for secret.key (0400) and public.hex (created if missing)"},
    [OPT_NIK] = {"nik", true, "NIK", NULL, "the person's NIK, exactly 16 digits (never printed)"},
    [OPT_TOKEN] = {"token", true, "TOKEN", NULL, "the token a link returned"},
    [OPT_VENUE] = {"venue", true, "ID", NULL, "venue id (the text of its QR code)"},
    [OPT_CHECK_OUT] = {"check-out", false, NULL, NULL, "check out instead of checking in"},
    [OPT_SCANNED_AT_MS] = {"scanned-at-ms", true, "N", NULL,
                           "when the user scanned, Unix ms (default: now)"},
    [OPT_TIMEOUT] = {"timeout", true, "SECONDS", NULL, "how long to wait (default 10)"},
    [OPT_FOLLOW] = {"follow", false, NULL, NULL, "keep reading new answers until interrupted"},
    [OPT_FROM_BEGINNING] = {"from-beginning", false, NULL, NULL,
                            "start at the oldest answer (default: only answers from now on)"},
    [OPT_HELP] = {"help", false, NULL, NULL, "show this help"},
};

typedef struct pcli_args {
  const char *value[OPT_COUNT]; /* given on the command line, else NULL */
  bool flag[OPT_COUNT];
} pcli_args;

#define BIT(o) (1u << (o))
#define PCLI_CREDENTIALS                                                                  \
  (BIT(OPT_PARTNER) | BIT(OPT_KEY_ID) | BIT(OPT_SECRET_KEY_FILE) | BIT(OPT_PARTNER_DIR) | \
   BIT(OPT_SYSTEM_KEY_ID) | BIT(OPT_SYSTEM_PUBLIC_KEY) | BIT(OPT_BROKERS))

typedef struct pcli_command {
  const char *name;
  const char *usage;
  const char *summary;
  unsigned options;
  int (*run)(const pcli_args *args);
} pcli_command;

static int pcli_cmd_keygen(const pcli_args *args);
static int pcli_cmd_link(const pcli_args *args);
static int pcli_cmd_scan(const pcli_args *args);
static int pcli_cmd_results(const pcli_args *args);

static const pcli_command pcli_commands[] = {
    {"keygen", "keygen --out-dir DIR",
     "Create a partner key pair: DIR/secret.key (0400, 64 hex + newline, never overwritten) and "
     "DIR/public.hex; prints the public key to register with Lindung.",
     BIT(OPT_OUT_DIR), pcli_cmd_keygen},
    {"link", "link --nik <16 digits> [--timeout S] [credentials]",
     "Link a person (their consent to use Lindung in this app): publishes a Link, waits for the "
     "answer and prints {\"request_id\",\"error\",\"token\",\"latency_ms\"}.",
     PCLI_CREDENTIALS | BIT(OPT_NIK) | BIT(OPT_TIMEOUT), pcli_cmd_link},
    {"scan",
     "scan --token T --venue ID [--check-out] [--scanned-at-ms N] [--timeout S] "
     "[credentials]",
     "Check a linked person into (or out of) a venue: publishes a Scan, waits for the verdict "
     "and prints {\"request_id\",\"error\",\"status\",\"decision\",\"reason\",\"venue_name\","
     "\"checked_at_ms\",\"latency_ms\"}.",
     PCLI_CREDENTIALS | BIT(OPT_TOKEN) | BIT(OPT_VENUE) | BIT(OPT_CHECK_OUT) |
         BIT(OPT_SCANNED_AT_MS) | BIT(OPT_TIMEOUT),
     pcli_cmd_scan},
    {"results", "results [--follow] [--from-beginning] [--timeout S] [credentials]",
     "Read scan.results.<partner_id>, open every answer and print one JSON line per answer "
     "(partition, offset, request_id, error and the verdict or token; \"error\":\"UNREADABLE\" "
     "with a detail for one that does not open). Stops at the end of every partition unless "
     "--follow; without --follow, --timeout bounds the wait for the end.",
     PCLI_CREDENTIALS | BIT(OPT_FOLLOW) | BIT(OPT_FROM_BEGINNING) | BIT(OPT_TIMEOUT),
     pcli_cmd_results},
};
static const size_t pcli_command_count = sizeof(pcli_commands) / sizeof(pcli_commands[0]);

static const char pcli_exit_help[] =
    "Exit status: 0 answered (a DENY verdict is an answer too), 1 Lindung answered an error "
    "code,\n2 bad usage, 3 no answer before the timeout, 4 local failure (credentials, Kafka, an "
    "answer\nthat does not open).\n";

static int pcli_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int pcli_usage_error(const char *command, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "lindung-partner%s%s: ", command ? " " : "", command ? command : "");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, " (see lindung-partner%s%s --help)\n", command ? " " : "",
          command ? command : "");
  va_end(ap);
  return PCLI_USAGE;
}

static int pcli_failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int pcli_failure(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "lindung-partner: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return PCLI_FAILURE;
}

static void pcli_print_help(const pcli_command *cmd) {
  if (!cmd) {
    printf(
        "usage: lindung-partner <command> [options]\n\n"
        "The reference partner client of Lindung (docs/partner-protocol.md).\n\n"
        "commands:\n");
    for (size_t i = 0; i < pcli_command_count; i++)
      printf("  lindung-partner %s\n", pcli_commands[i].usage);
    printf(
        "\n'lindung-partner <command> --help' describes a command.\n\n"
        "credentials (option, else environment):\n");
    for (int o = 0; o < OPT_COUNT; o++) {
      if (!(PCLI_CREDENTIALS & BIT(o))) continue;
      char left[64];
      snprintf(left, sizeof(left), "--%s %s", pcli_specs[o].name, pcli_specs[o].arg);
      printf("  %-34s %s\n  %-34s %s\n", left, pcli_specs[o].env, "", pcli_specs[o].help);
    }
    printf("\nAn option wins over --partner-dir, which wins over the environment.\n\n%s",
           pcli_exit_help);
    return;
  }
  printf("usage: lindung-partner %s\n\n%s\n\noptions:\n", cmd->usage, cmd->summary);
  for (int o = 0; o < OPT_COUNT; o++) {
    if (!(cmd->options & BIT(o)) && o != OPT_HELP) continue;
    char left[64];
    snprintf(left, sizeof(left), "--%s%s%s", pcli_specs[o].name, pcli_specs[o].arg ? " " : "",
             pcli_specs[o].arg ? pcli_specs[o].arg : "");
    printf("  %-34s %s", left, pcli_specs[o].help);
    if (pcli_specs[o].env) printf(" [%s]", pcli_specs[o].env);
    printf("\n");
  }
  if (cmd->options & PCLI_CREDENTIALS)
    printf("\nAn option wins over --partner-dir, which wins over the environment.\n");
  printf("\n%s", pcli_exit_help);
}

/* The name of the option at argv[i] without any "=value", which could be a
 * NIK typed in the wrong place. */
static void pcli_option_name(const char *arg, char *out, size_t cap) {
  size_t n = strcspn(arg, "=");
  if (n >= cap) n = cap - 1;
  memcpy(out, arg, n);
  out[n] = '\0';
}

static int pcli_parse(const pcli_command *cmd, int argc, char **argv, pcli_args *args) {
  struct option longopts[OPT_COUNT + 1];
  int n = 0;
  for (int o = 0; o < OPT_COUNT; o++) {
    if (!(cmd->options & BIT(o)) && o != OPT_HELP) continue;
    longopts[n++] = (struct option){
        pcli_specs[o].name, pcli_specs[o].has_arg ? required_argument : no_argument, NULL, o};
  }
  longopts[n] = (struct option){NULL, 0, NULL, 0};
  memset(args, 0, sizeof(*args));
  opterr = 0;
  optind = 1;
  for (;;) {
    int c = getopt_long(argc, argv, ":h", longopts, NULL);
    if (c == -1) break;
    char name[64];
    pcli_option_name(argv[optind - 1], name, sizeof(name));
    /* Whatever was typed could be a NIK: name only what looks like an option. */
    if (strspn(name, "-abcdefghijklmnopqrstuvwxyz") != strlen(name)) strcpy(name, "(argument)");
    if (c == 'h') c = OPT_HELP;
    if (c == '?') return pcli_usage_error(cmd->name, "unknown option %s", name);
    if (c == ':') return pcli_usage_error(cmd->name, "option %s needs a value", name);
    if (c == OPT_HELP) {
      args->flag[OPT_HELP] = true;
      continue;
    }
    if (args->flag[c] || args->value[c])
      return pcli_usage_error(cmd->name, "option --%s given twice", pcli_specs[c].name);
    if (pcli_specs[c].has_arg)
      args->value[c] = optarg;
    else
      args->flag[c] = true;
  }
  if (optind < argc && !args->flag[OPT_HELP])
    return pcli_usage_error(cmd->name, "unexpected argument");
  return 0;
}

/* --- values -------------------------------------------------------------- */

static bool pcli_parse_u64(const char *text, uint64_t *out) {
  if (!text || !*text || strspn(text, "0123456789") != strlen(text) || strlen(text) > 20)
    return false;
  errno = 0;
  unsigned long long v = strtoull(text, NULL, 10);
  if (errno) return false;
  *out = v;
  return true;
}

static bool pcli_parse_key_id(const char *text, uint32_t *out) {
  uint64_t v;
  if (!pcli_parse_u64(text, &v) || v == 0 || v > UINT32_MAX) return false;
  *out = (uint32_t)v;
  return true;
}

static bool pcli_valid_partner_id(const char *id) {
  size_t len = strlen(id);
  return len >= 2 && len <= 32 && strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789-") == len;
}

static bool pcli_printable(const char *text, size_t max) {
  size_t len = strlen(text);
  if (len == 0 || len > max) return false;
  for (size_t i = 0; i < len; i++)
    if (text[i] < 0x20 || text[i] > 0x7e) return false;
  return true;
}

static bool pcli_valid_nik(const char *nik) {
  return strlen(nik) == 16 && strspn(nik, "0123456789") == 16;
}

static int pcli_timeout_ms(const pcli_args *args, const char *command, int *out) {
  *out = (int)(PCLI_DEFAULT_TIMEOUT_S * 1000);
  const char *text = args->value[OPT_TIMEOUT];
  if (!text) return 0;
  char *end = NULL;
  errno = 0;
  double s = strtod(text, &end);
  if (errno || end == text || *end || !(s > 0) || s > 86400)
    return pcli_usage_error(command, "--timeout must be a number of seconds in (0, 86400]");
  *out = (int)(s * 1000 + 0.5);
  if (*out == 0) *out = 1;
  return 0;
}

static uint64_t pcli_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static double pcli_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* --- credentials --------------------------------------------------------- */

typedef struct pcli_env {
  const char *value[OPT_COUNT];
} pcli_env;

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

static void pcli_load_env(pcli_env *env) {
  cfg_option table[OPT_COUNT];
  size_t n = 0;
  memset(env, 0, sizeof(*env));
  for (int o = 0; o < OPT_COUNT; o++) {
    if (!pcli_specs[o].env) continue;
    table[n++] = (cfg_option)CFG_STRING(pcli_specs[o].env, &env->value[o], "", pcli_specs[o].help);
  }
  char err[256];
  /* With defaults for every variable, loading strings cannot fail. */
  (void)cfg_load(table, n, err, sizeof(err));
  for (int o = 0; o < OPT_COUNT; o++)
    if (env->value[o] && !*env->value[o]) env->value[o] = NULL;
}

/* Reads DIR/key_id: a decimal number and a newline. */
static int pcli_read_key_id_file(const char *dir, char *out, size_t cap) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/key_id", dir);
  FILE *f = fopen(path, "r");
  if (!f) return pcli_failure("cannot read %s: %s", path, strerror(errno));
  char line[32] = "";
  bool ok = fgets(line, sizeof(line), f) != NULL;
  fclose(f);
  line[strcspn(line, "\r\n")] = '\0';
  if (!ok || !*line) return pcli_failure("%s is empty", path);
  snprintf(out, cap, "%s", line);
  return 0;
}

/* The last component of dir, without trailing slashes. */
static void pcli_dir_name(const char *dir, char *out, size_t cap) {
  size_t end = strlen(dir);
  while (end > 1 && dir[end - 1] == '/') end--;
  size_t start = end;
  while (start > 0 && dir[start - 1] != '/') start--;
  size_t n = end - start < cap - 1 ? end - start : cap - 1;
  memcpy(out, dir + start, n);
  out[n] = '\0';
}

static int pcli_resolve(const char *command, const pcli_args *args, pcli_creds *c) {
  pcli_env env;
  pcli_load_env(&env);
  memset(c, 0, sizeof(*c));
  const char *dir = args->value[OPT_PARTNER_DIR];
  /* A directory named in the environment still loses to options, but wins
   * over the variables for the fields it holds. */
  if (!dir) dir = env.value[OPT_PARTNER_DIR];
  char dir_partner[64] = "", dir_key_id[32] = "", dir_secret[4096] = "";
  if (dir) {
    pcli_dir_name(dir, dir_partner, sizeof(dir_partner));
    if (!args->value[OPT_KEY_ID]) {
      int rc = pcli_read_key_id_file(dir, dir_key_id, sizeof(dir_key_id));
      if (rc) return rc;
    }
    snprintf(dir_secret, sizeof(dir_secret), "%s/secret.key", dir);
  }
#define PICK(o, from_dir) \
  (args->value[o] ? args->value[o] : (dir && *(from_dir) ? (from_dir) : env.value[o]))
  const char *partner = PICK(OPT_PARTNER, dir_partner);
  const char *key_id = PICK(OPT_KEY_ID, dir_key_id);
  const char *secret = PICK(OPT_SECRET_KEY_FILE, dir_secret);
  const char *system_key_id = PICK(OPT_SYSTEM_KEY_ID, "");
  const char *system_pk = PICK(OPT_SYSTEM_PUBLIC_KEY, "");
  const char *brokers = PICK(OPT_BROKERS, "");
#undef PICK
  if (!partner) return pcli_usage_error(command, "no partner id (--partner or LINDUNG_PARTNER_ID)");
  if (!pcli_valid_partner_id(partner))
    return pcli_usage_error(command, "partner id must be 2 to 32 characters of a-z, 0-9, -");
  if (!key_id) return pcli_usage_error(command, "no key id (--key-id or LINDUNG_PARTNER_KEY_ID)");
  if (!pcli_parse_key_id(key_id, &c->key_id))
    return pcli_usage_error(command, "key id must be a number from 1 to 4294967295");
  if (!secret)
    return pcli_usage_error(command,
                            "no secret key file (--secret-key-file or "
                            "LINDUNG_PARTNER_SECRET_KEY_FILE)");
  if (!system_key_id)
    return pcli_usage_error(command, "no system key id (--system-key-id or LINDUNG_SYSTEM_KEY_ID)");
  if (!pcli_parse_key_id(system_key_id, &c->system_key_id))
    return pcli_usage_error(command, "system key id must be a number from 1 to 4294967295");
  if (!system_pk)
    return pcli_usage_error(command,
                            "no system public key (--system-public-key or "
                            "LINDUNG_SYSTEM_PUBLIC_KEY)");
  uint8_t pk[32];
  if (strlen(system_pk) != 64 || hex_decode(system_pk, pk, sizeof(pk)) != 0)
    return pcli_usage_error(command, "system public key must be 64 hex characters");
  if (!brokers) return pcli_usage_error(command, "no brokers (--brokers or LINDUNG_KAFKA_BROKERS)");
  char err[256];
  if (ksec_load_env(&c->security, err, sizeof(err)) != 0)
    return pcli_usage_error(command, "%s", err);
  if (dir) {
    /* A partner directory holding a client certificate speaks as that partner. */
    snprintf(c->cert_file, sizeof(c->cert_file), "%s/kafka.crt", dir);
    snprintf(c->key_file, sizeof(c->key_file), "%s/kafka.key", dir);
    if (access(c->cert_file, R_OK) == 0 && access(c->key_file, R_OK) == 0) {
      c->security.protocol = "ssl";
      c->security.cert_file = c->cert_file;
      c->security.key_file = c->key_file;
      if (ksec_check(&c->security, err, sizeof(err)) != 0) return pcli_usage_error(command, "%s", err);
    }
  }
  /* Validated above: at most 32 characters, so it fits. */
  snprintf(c->partner_id, sizeof(c->partner_id), "%.32s", partner);
  snprintf(c->secret_key_file, sizeof(c->secret_key_file), "%s", secret);
  c->system_public_key = system_pk;
  c->brokers = brokers;
  return 0;
}

static int pcli_open_sdk(const pcli_creds *c, partner_sdk **sdk) {
  partner_sdk_credentials credentials = {
      .partner_id = c->partner_id,
      .partner_key_id = c->key_id,
      .system_key_id = c->system_key_id,
      .system_public_key = c->system_public_key,
      .secret_key_file = c->secret_key_file,
  };
  char err[512];
  if (partner_sdk_open(&credentials, sdk, err, sizeof(err)) != 0)
    return pcli_failure("credentials: %s", err);
  return 0;
}

/* --- keygen -------------------------------------------------------------- */

static int pcli_write_new_file(const char *path, const char *text, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return pcli_failure("cannot create %s: %s", path, strerror(errno));
  size_t len = strlen(text);
  bool ok = write(fd, text, len) == (ssize_t)len;
  ok = fsync(fd) == 0 && ok;
  ok = close(fd) == 0 && ok;
  if (!ok) {
    unlink(path);
    return pcli_failure("cannot write %s", path);
  }
  return 0;
}

static int pcli_cmd_keygen(const pcli_args *args) {
  const char *dir = args->value[OPT_OUT_DIR];
  if (!dir) return pcli_usage_error("keygen", "--out-dir is required");
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return pcli_failure("cannot create %s: %s", dir, strerror(errno));
  char secret_path[4096], public_path[4096];
  snprintf(secret_path, sizeof(secret_path), "%s/secret.key", dir);
  snprintf(public_path, sizeof(public_path), "%s/public.hex", dir);
  if (access(secret_path, F_OK) == 0 || access(public_path, F_OK) == 0)
    return pcli_failure("%s already holds a key; refusing to overwrite it", dir);

  uint8_t pk[PARTNER_SDK_KEY_BYTES], sk[PARTNER_SDK_KEY_BYTES];
  char pk_hex[2 * PARTNER_SDK_KEY_BYTES + 2], sk_hex[2 * PARTNER_SDK_KEY_BYTES + 2];
  if (partner_sdk_keygen(pk, sk) != 0) return pcli_failure("key generation failed");
  hex_encode(sk, sizeof(sk), sk_hex);
  hex_encode(pk, sizeof(pk), pk_hex);
  strcat(sk_hex, "\n");
  strcat(pk_hex, "\n");
  int rc = pcli_write_new_file(secret_path, sk_hex, 0400);
  sodium_memzero(sk, sizeof(sk));
  sodium_memzero(sk_hex, sizeof(sk_hex));
  if (rc == 0) rc = pcli_write_new_file(public_path, pk_hex, 0644);
  if (rc != 0) return rc;
  fputs(pk_hex, stdout);
  return PCLI_OK;
}

/* --- link and scan ------------------------------------------------------- */

typedef struct pcli_delivery {
  bool done;
  int err;
} pcli_delivery;

static void pcli_on_delivery(void *ctx, void *opaque, int err) {
  (void)opaque;
  pcli_delivery *d = ctx;
  d->done = true;
  d->err = err;
}

/* Prints {"request_id":"..."} opening; the caller adds fields and "}". */
static void pcli_json_begin(const uint8_t request_id[16]) {
  char hex[33];
  hex_encode(request_id, 16, hex);
  printf("{\"request_id\":\"%s\"", hex);
}

static void pcli_json_detail_end(const char *detail) {
  if (detail) {
    fputs(",\"detail\":", stdout);
    json_write_fstring(stdout, detail);
  }
  fputs("}\n", stdout);
  fflush(stdout);
}

/* Publishes one request and waits for its answer on scan.results.<id>. */
static int pcli_exchange(const pcli_creds *c, const partner_sdk_request *request, int timeout_ms) {
  partner_sdk *sdk = NULL;
  int rc = pcli_open_sdk(c, &sdk);
  if (rc) return rc;
  uint8_t request_id[PARTNER_SDK_REQUEST_ID_BYTES], value[PARTNER_SDK_REQUEST_BUFFER];
  size_t value_len = 0;
  char err[512];
  if (partner_sdk_build_request(sdk, request, request_id, value, sizeof(value), &value_len, err,
                                sizeof(err)) != 0) {
    partner_sdk_close(sdk);
    return pcli_failure("cannot build the request: %s", err);
  }

  /* The producer first: librdkafka connects it in the background (and gets
   * the idempotent producer id) while the reader resolves its offsets. */
  uv_loop_t loop;
  uv_loop_init(&loop);
  pcli_delivery delivery = {false, 0};
  /* librdkafka looks up a topic first produced to after the producer has
   * connected only on its one-second timer; a short metadata refresh
   * interval lets the request leave within 50 ms instead. */
  static const char *const properties[] = {"topic.metadata.refresh.interval.ms", "50", NULL};
  kq_settings settings = {
      .brokers = c->brokers,
      .client_id = "lindung-partner",
      .security = &c->security,
      .properties = properties};
  kq_producer *producer = NULL;
  if (kq_producer_open(&loop, &settings, pcli_on_delivery, &delivery, &producer, err,
                       sizeof(err)) != 0) {
    uv_loop_close(&loop);
    partner_sdk_close(sdk);
    return pcli_failure("%s", err);
  }
  /* Reading starts before publishing, so the answer cannot slip past. */
  char topic[64];
  topics_scan_results(c->partner_id, topic, sizeof(topic));
  pcli_reader *reader = NULL;
  if (pcli_reader_open(c->brokers, &c->security, c->partner_id, topic, false, 10, &reader, err,
                       sizeof(err)) != 0) {
    kq_producer_close(producer, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    partner_sdk_close(sdk);
    return pcli_failure("%s", err);
  }

  double start = pcli_mono_ms();
  char requests_topic[PARTNER_KAFKA_TOPIC_MAX];
  partner_kafka_request_topic(c->partner_id, requests_topic, sizeof(requests_topic));
  int produce_rc = kq_produce(producer, NULL, requests_topic, request_id, sizeof(request_id), value,
                              value_len, NULL);
  sodium_memzero(value, sizeof(value));
  rc = -1;
  if (produce_rc != 0) {
    pcli_json_begin(request_id);
    fputs(",\"error\":\"NOT_DELIVERED\"", stdout);
    pcli_json_detail_end(strerror(-produce_rc));
    rc = PCLI_FAILURE;
  }
  while (rc < 0) {
    uv_run(&loop, UV_RUN_NOWAIT);
    if (delivery.done && delivery.err != 0) {
      pcli_json_begin(request_id);
      fputs(",\"error\":\"NOT_DELIVERED\"", stdout);
      pcli_json_detail_end(kq_err2str(delivery.err));
      rc = PCLI_FAILURE;
      break;
    }
    rd_kafka_message_t *msg = pcli_reader_poll(reader, PCLI_POLL_MS);
    if (msg) {
      if (msg->key_len == sizeof(request_id) && memcmp(msg->key, request_id, 16) == 0) {
        double latency = pcli_mono_ms() - start;
        partner_sdk_response response;
        int open_rc =
            partner_sdk_open_response(sdk, msg->payload, msg->len, &response, err, sizeof(err));
        if (open_rc >= 0 && memcmp(response.request_id, request_id, 16) != 0) {
          snprintf(err, sizeof(err), "answer names another request id than its Kafka key");
          open_rc = PARTNER_SDK_EDECODE;
        }
        pcli_json_begin(request_id);
        pcli_json_response_fields(stdout, &response, open_rc);
        printf(",\"latency_ms\":%.3f", latency);
        pcli_json_detail_end(open_rc < 0 ? err : NULL);
        sodium_memzero(&response, sizeof(response));
        rc = open_rc == 0 ? PCLI_OK : open_rc > 0 ? PCLI_ANSWERED_ERROR : PCLI_FAILURE;
      }
      rd_kafka_message_destroy(msg);
    }
    if (rc < 0 && pcli_mono_ms() - start >= timeout_ms) {
      char detail[96];
      snprintf(detail, sizeof(detail), "no answer within %.1f s%s", timeout_ms / 1000.0,
               delivery.done ? "" : " (the request was not acknowledged by Kafka either)");
      pcli_json_begin(request_id);
      fputs(",\"error\":\"TIMEOUT\"", stdout);
      pcli_json_detail_end(detail);
      rc = PCLI_NO_ANSWER;
    }
  }
  pcli_reader_close(reader);
  kq_producer_close(producer, 2000);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  partner_sdk_close(sdk);
  return rc;
}

static int pcli_cmd_link(const pcli_args *args) {
  const char *nik = args->value[OPT_NIK];
  if (!nik) return pcli_usage_error("link", "--nik is required");
  if (!pcli_valid_nik(nik)) return pcli_usage_error("link", "--nik must be exactly 16 digits");
  int timeout_ms;
  int rc = pcli_timeout_ms(args, "link", &timeout_ms);
  if (rc) return rc;
  pcli_creds creds;
  rc = pcli_resolve("link", args, &creds);
  if (rc) return rc;
  partner_sdk_request request = {.kind = PARTNER_SDK_KIND_LINK, .nik = nik};
  return pcli_exchange(&creds, &request, timeout_ms);
}

static int pcli_cmd_scan(const pcli_args *args) {
  const char *token = args->value[OPT_TOKEN], *venue = args->value[OPT_VENUE];
  if (!token) return pcli_usage_error("scan", "--token is required");
  if (!pcli_printable(token, PARTNER_SDK_MAX_TOKEN))
    return pcli_usage_error("scan", "--token must be 1 to 64 printable ASCII characters");
  if (!venue) return pcli_usage_error("scan", "--venue is required");
  if (!pcli_printable(venue, 64))
    return pcli_usage_error("scan", "--venue must be 1 to 64 printable ASCII characters");
  uint64_t scanned_at = pcli_wall_ms();
  if (args->value[OPT_SCANNED_AT_MS] &&
      !pcli_parse_u64(args->value[OPT_SCANNED_AT_MS], &scanned_at))
    return pcli_usage_error("scan", "--scanned-at-ms must be a number of milliseconds");
  int timeout_ms;
  int rc = pcli_timeout_ms(args, "scan", &timeout_ms);
  if (rc) return rc;
  pcli_creds creds;
  rc = pcli_resolve("scan", args, &creds);
  if (rc) return rc;
  partner_sdk_request request = {
      .kind = PARTNER_SDK_KIND_SCAN,
      .token = token,
      .venue_id = venue,
      .scanned_at_ms = scanned_at,
      .action = args->flag[OPT_CHECK_OUT] ? PARTNER_SDK_CHECK_OUT : PARTNER_SDK_CHECK_IN,
  };
  return pcli_exchange(&creds, &request, timeout_ms);
}

/* --- results ------------------------------------------------------------- */

static volatile sig_atomic_t pcli_stop;

static void pcli_on_signal(int signo) {
  (void)signo;
  pcli_stop = 1;
}

static void pcli_print_result(const partner_sdk *sdk, const rd_kafka_message_t *msg) {
  partner_sdk_response response;
  char err[512];
  int rc = partner_sdk_open_response(sdk, msg->payload, msg->len, &response, err, sizeof(err));
  uint8_t zero[16] = {0};
  const uint8_t *id = response.request_id;
  /* A value that did not get as far as its request id: show the key. */
  if (rc < 0 && memcmp(id, zero, 16) == 0 && msg->key_len == 16) id = msg->key;
  pcli_json_begin(id);
  printf(",\"partition\":%d,\"offset\":%lld", (int)msg->partition, (long long)msg->offset);
  if (rc >= 0) printf(",\"created_at_ms\":%llu", (unsigned long long)response.created_at_ms);
  pcli_json_response_fields(stdout, &response, rc);
  if (rc < 0) {
    char detail[600];
    snprintf(detail, sizeof(detail), "%s: %s", partner_sdk_strerror(rc), err);
    pcli_json_detail_end(detail);
  } else {
    pcli_json_detail_end(NULL);
  }
  sodium_memzero(&response, sizeof(response));
}

static int pcli_cmd_results(const pcli_args *args) {
  int timeout_ms;
  int rc = pcli_timeout_ms(args, "results", &timeout_ms);
  if (rc) return rc;
  pcli_creds creds;
  rc = pcli_resolve("results", args, &creds);
  if (rc) return rc;
  partner_sdk *sdk = NULL;
  rc = pcli_open_sdk(&creds, &sdk);
  if (rc) return rc;
  char topic[64], err[512];
  topics_scan_results(creds.partner_id, topic, sizeof(topic));
  pcli_reader *reader = NULL;
  if (pcli_reader_open(creds.brokers, &creds.security, creds.partner_id, topic,
                       args->flag[OPT_FROM_BEGINNING], 500, &reader, err,
                       sizeof(err)) != 0) {
    partner_sdk_close(sdk);
    return pcli_failure("%s", err);
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = pcli_on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  bool follow = args->flag[OPT_FOLLOW];
  double last_progress = pcli_mono_ms();
  rc = PCLI_OK;
  while (!pcli_stop) {
    rd_kafka_message_t *msg = pcli_reader_poll(reader, 100);
    if (msg) {
      pcli_print_result(sdk, msg);
      rd_kafka_message_destroy(msg);
      last_progress = pcli_mono_ms();
      continue;
    }
    if (follow) continue;
    if (pcli_reader_at_end(reader)) break;
    if (pcli_mono_ms() - last_progress >= timeout_ms) {
      (void)pcli_failure("did not reach the end of %s within %.1f s", topic, timeout_ms / 1000.0);
      rc = PCLI_NO_ANSWER;
      break;
    }
  }
  pcli_reader_close(reader);
  partner_sdk_close(sdk);
  return rc;
}

/* --- main ---------------------------------------------------------------- */

int main(int argc, char **argv) {
  if (cfg_answer_version(argc, argv, stdout)) return 0;
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) return pcli_usage_error(NULL, "missing command");
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    pcli_print_help(NULL);
    return PCLI_OK;
  }
  const pcli_command *cmd = NULL;
  for (size_t i = 0; i < pcli_command_count; i++)
    if (!strcmp(argv[1], pcli_commands[i].name)) cmd = &pcli_commands[i];
  if (!cmd) {
    char name[64];
    pcli_option_name(argv[1], name, sizeof(name));
    /* A stray argument could be a NIK: name it only if it looks like a word. */
    if (strspn(name, "abcdefghijklmnopqrstuvwxyz-") != strlen(name)) strcpy(name, "(argument)");
    return pcli_usage_error(NULL, "unknown command %s", name);
  }
  pcli_args args;
  int rc = pcli_parse(cmd, argc - 1, argv + 1, &args);
  if (rc) return rc;
  if (args.flag[OPT_HELP]) {
    pcli_print_help(cmd);
    return PCLI_OK;
  }
  if (sodium_init() < 0) return pcli_failure("libsodium failed to start");
  return cmd->run(&args);
}
