/* lindung-partner: the reference partner client of docs/partner-protocol.md.
 *
 * Commands: keygen (a key pair for registration), link (a NIK in, a token
 * out), scan (a token and a venue in, a verdict out) and results (the
 * partner's answers topic as JSON lines). The protocol lives in partner_sdk;
 * this file holds the command table and dispatch: options and help are in
 * partner_args.c, credentials in partner_creds.c, the commands in
 * partner_commands.c.
 *
 * Privacy: a NIK is never printed, not even back in an error message about
 * the argument that carried it. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "partner_cli.h"

static const pcli_command pcli_commands[] = {
    {"keygen", "keygen --out-dir DIR",
     "Create a partner key pair: DIR/secret.key (0400, 64 hex + newline, never overwritten) and "
     "DIR/public.hex; prints the public key to register with Lindung.",
     PCLI_BIT(OPT_OUT_DIR), pcli_cmd_keygen},
    {"link", "link --nik <16 digits> [--timeout S] [credentials]",
     "Link a person (their consent to use Lindung in this app): publishes a Link, waits for the "
     "answer and prints {\"request_id\",\"error\",\"token\",\"latency_ms\"}.",
     PCLI_CREDENTIALS | PCLI_BIT(OPT_NIK) | PCLI_BIT(OPT_TIMEOUT), pcli_cmd_link},
    {"scan",
     "scan --token T --venue ID [--check-out] [--scanned-at-ms N] [--timeout S] "
     "[credentials]",
     "Check a linked person into (or out of) a venue: publishes a Scan, waits for the verdict "
     "and prints {\"request_id\",\"error\",\"status\",\"decision\",\"reason\",\"venue_name\","
     "\"checked_at_ms\",\"latency_ms\"}.",
     PCLI_CREDENTIALS | PCLI_BIT(OPT_TOKEN) | PCLI_BIT(OPT_VENUE) | PCLI_BIT(OPT_CHECK_OUT) |
         PCLI_BIT(OPT_SCANNED_AT_MS) | PCLI_BIT(OPT_TIMEOUT),
     pcli_cmd_scan},
    {"results", "results [--follow] [--from-beginning] [--timeout S] [credentials]",
     "Read scan.results.<partner_id>, open every answer and print one JSON line per answer "
     "(partition, offset, request_id, error and the verdict or token; \"error\":\"UNREADABLE\" "
     "with a detail for one that does not open). Stops at the end of every partition unless "
     "--follow; without --follow, --timeout bounds the wait for the end.",
     PCLI_CREDENTIALS | PCLI_BIT(OPT_FOLLOW) | PCLI_BIT(OPT_FROM_BEGINNING) | PCLI_BIT(OPT_TIMEOUT),
     pcli_cmd_results},
};
static const size_t pcli_command_count = sizeof(pcli_commands) / sizeof(pcli_commands[0]);

int main(int argc, char **argv) {
  if (cfg_answer_version(argc, argv, stdout)) return 0;
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) return pcli_usage_error(NULL, "missing command");
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    pcli_print_help(pcli_commands, pcli_command_count, NULL);
    return PCLI_OK;
  }
  const pcli_command *cmd = NULL;
  for (size_t i = 0; i < pcli_command_count; i++)
    if (!strcmp(argv[1], pcli_commands[i].name)) cmd = &pcli_commands[i];
  if (!cmd) {
    char name[64];
    pcli_safe_word(argv[1], name, sizeof(name));
    return pcli_usage_error(NULL, "unknown command %s", name);
  }
  pcli_args args;
  int rc = pcli_parse(cmd, argc - 1, argv + 1, &args);
  if (rc) return rc;
  if (args.flag[OPT_HELP]) {
    pcli_print_help(pcli_commands, pcli_command_count, cmd);
    return PCLI_OK;
  }
  if (sodium_init() < 0) return pcli_failure("libsodium failed to start");
  return cmd->run(&args);
}
