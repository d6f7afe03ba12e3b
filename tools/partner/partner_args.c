/* pcli_args: the options and commands of lindung-partner, their help, and
 * usage errors; the checks of typed values are pure functions that
 * tests/unit/partner calls. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "partner_cli.h"

#define PCLI_DEFAULT_TIMEOUT_S 10.0

const pcli_option_spec pcli_specs[OPT_COUNT] = {
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

static const char pcli_exit_help[] =
    "Exit status: 0 answered (a DENY verdict is an answer too), 1 Lindung answered an error "
    "code,\n2 bad usage, 3 no answer before the timeout, 4 local failure (credentials, Kafka, an "
    "answer\nthat does not open).\n";

int pcli_usage_error(const char *command, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "lindung-partner%s%s: ", command ? " " : "", command ? command : "");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, " (see lindung-partner%s%s --help)\n", command ? " " : "",
          command ? command : "");
  va_end(ap);
  return PCLI_USAGE;
}

int pcli_failure(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "lindung-partner: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return PCLI_FAILURE;
}

void pcli_print_help(const pcli_command *commands, size_t count, const pcli_command *cmd) {
  if (!cmd) {
    printf(
        "usage: lindung-partner <command> [options]\n\n"
        "The reference partner client of Lindung (docs/partner-protocol.md).\n\n"
        "commands:\n");
    for (size_t i = 0; i < count; i++) printf("  lindung-partner %s\n", commands[i].usage);
    printf(
        "\n'lindung-partner <command> --help' describes a command.\n\n"
        "credentials (option, else environment):\n");
    for (int o = 0; o < OPT_COUNT; o++) {
      if (!(PCLI_CREDENTIALS & PCLI_BIT(o))) continue;
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
    if (!(cmd->options & PCLI_BIT(o)) && o != OPT_HELP) continue;
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

void pcli_safe_word(const char *arg, char *out, size_t cap) {
  size_t n = strcspn(arg, "=");
  if (n >= cap) n = cap - 1;
  memcpy(out, arg, n);
  out[n] = '\0';
  if (strspn(out, "-abcdefghijklmnopqrstuvwxyz") != n) snprintf(out, cap, "(argument)");
}

int pcli_parse(const pcli_command *cmd, int argc, char **argv, pcli_args *args) {
  struct option longopts[OPT_COUNT + 1];
  int n = 0;
  for (int o = 0; o < OPT_COUNT; o++) {
    if (!(cmd->options & PCLI_BIT(o)) && o != OPT_HELP) continue;
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
    pcli_safe_word(argv[optind - 1], name, sizeof(name));
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

bool pcli_parse_u64(const char *text, uint64_t *out) {
  if (!text || !*text || strspn(text, "0123456789") != strlen(text) || strlen(text) > 20)
    return false;
  errno = 0;
  unsigned long long v = strtoull(text, NULL, 10);
  if (errno) return false;
  *out = v;
  return true;
}

bool pcli_parse_key_id(const char *text, uint32_t *out) {
  uint64_t v;
  if (!pcli_parse_u64(text, &v) || v == 0 || v > UINT32_MAX) return false;
  *out = (uint32_t)v;
  return true;
}

bool pcli_valid_partner_id(const char *id) {
  size_t len = strlen(id);
  return len >= 2 && len <= 32 && strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789-") == len;
}

bool pcli_printable(const char *text, size_t max) {
  size_t len = strlen(text);
  if (len == 0 || len > max) return false;
  for (size_t i = 0; i < len; i++)
    if (text[i] < 0x20 || text[i] > 0x7e) return false;
  return true;
}

bool pcli_valid_nik(const char *nik) {
  return strlen(nik) == 16 && strspn(nik, "0123456789") == 16;
}

int pcli_timeout_ms(const pcli_args *args, const char *command, int *out) {
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
