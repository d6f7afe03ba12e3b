/* lindung-audit: appends every AuditEvent of audit.events to the audit
 * chain in lindung_audit, republishes the appended records to audit.log for
 * analysts, and signs the chain head at intervals and on shutdown
 * (audit_writer.c, on the common runtime). `lindung-audit verify` checks the
 * chain (audit_cli.c); while running, the service checks it too and says so
 * on /metrics (audit_watch.c). This file reads the settings and wires. */
#include <sodium.h>
#include <string.h>

#include "audit_chain.h"
#include "audit_cli.h"
#include "audit_store.h"
#include "audit_writer.h"
#include "hex.h"
#include "log.h"
#include "service.h"
#include "topics.h"

static int audit_load_seed(const char *path, uint8_t **out) {
  uint8_t text[66];
  (void)sodium_mlock(text, sizeof text); /* never swapped; munlock wipes it */
  char err[256];
  long n = cfg_read_secret(path, text, sizeof text - 1, true, err, sizeof err);
  if (n != 64) {
    LOG_ERROR("signing_key_unreadable",
              LOG_ERRTEXT("reason", n < 0 ? err : "expected 64 hex characters"));
    sodium_munlock(text, sizeof text);
    return -1;
  }
  text[64] = '\0';
  uint8_t *seed = sodium_malloc(AUDIT_SEED_BYTES);
  int rc = seed ? hex_decode((const char *)text, seed, AUDIT_SEED_BYTES) : -1;
  sodium_munlock(text, sizeof text);
  audit_checkpoint probe = {0};
  if (rc == 0) rc = audit_checkpoint_sign(&probe, seed);
  if (rc != 0) {
    LOG_ERROR("signing_key_unreadable", LOG_TEXT("reason", "expected 64 hex characters"));
    if (seed) sodium_free(seed);
    return -1;
  }
  *out = seed;
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "verify")) return audit_cli_verify(argc - 1, argv + 1);
  static service_common common;
  static const char *signing_key_file;
  static audit_writer_config config;
  const cfg_option options[] = {
      CFG_STRING("LINDUNG_AUDIT_SIGNING_KEY_FILE", &signing_key_file, NULL,
                 "file with the 32-byte Ed25519 seed (64 hex chars) that signs checkpoints"),
      CFG_UINT("LINDUNG_AUDIT_CHECKPOINT_S", &config.checkpoint_s, "10",
               "seconds between signed checkpoints of the chain head"),
      CFG_UINT("LINDUNG_AUDIT_MAX_APPEND", &config.max_append, "2000",
               "most events appended in one round trip"),
      CFG_UINT("LINDUNG_AUDIT_REVERIFY_S", &config.reverify_s, "30",
               "seconds between the end of one full re-check of the chain and the next "
               "(new records are checked as they come)"),
  };
  int rc = service_configure(
      argc, argv, "lindung-audit [verify [--capture FILE] [--public-key HEX]]",
      "Appends audit.events to the hash-chained audit trail (LINDUNG_DB_URL: the audit role's "
      "URL),\n"
      "republishes the records to audit.log and signs the chain head at intervals.\n"
      "`lindung-audit verify --help` describes the verifier (reads LINDUNG_AUDIT_DB_URL).",
      &common, options, sizeof options / sizeof options[0]);
  if (rc) return rc > 0 ? 0 : 2;
  if (config.checkpoint_s == 0 || config.max_append == 0) {
    fprintf(stderr,
            "lindung-audit: LINDUNG_AUDIT_CHECKPOINT_S and LINDUNG_AUDIT_MAX_APPEND must be "
            "positive\n");
    return 2;
  }
  if (sodium_init() < 0 || audit_load_seed(signing_key_file, &config.seed) != 0) return 1;
  audit_writer *writer = audit_writer_new(&config);
  if (!writer) {
    sodium_free(config.seed);
    return 1;
  }
  service_settings settings = {
      .name = "audit",
      .input_topic = TOPIC_AUDIT_EVENTS,
      .uses_db = true,
      .statements = audit_store_statements,
      .statement_count = audit_store_statement_count,
      .pause_without_db = true,
      .on_batch = audit_writer_on_batch,
      .ready = audit_writer_ready,
      .tick_ms = AUDIT_WRITER_TICK_MS,
      .on_tick = audit_writer_on_tick,
      .on_inputs_finished = audit_writer_on_inputs_finished,
      .busy = audit_writer_busy,
      .ctx = writer,
  };
  service *svc;
  if (service_open(&svc, &settings, &common) != 0) return 1;
  audit_writer_attach(writer, svc);
  rc = service_start_consuming(svc) == 0 ? service_run(svc) : service_abandon(svc);
  audit_writer_free(writer);
  return rc;
}
