/* lindung-status-resolver: reads scan.decrypted, answers each request with a
 * sealed Verdict or Linked on scan.results.<partner_id> (or an error code),
 * and audits it; reads health.facts and applies them; deletes at intervals
 * what the rules no longer need, and carries rule changes into the audit
 * trail. The per-message rules are in resolver_rules.c (colours:
 * services/common/health_rules.c), the PostgreSQL batch flows in
 * resolver_db.c and resolver_facts.c, retention in resolver_retention.c,
 * rule changes in resolver_rule_audit.c; resolver_service.c puts them on one service
 * loop; this file only configures and wires them. */
#include <sodium.h>

#include "log.h"
#include "resolver_service.h"
#include "topics.h"

int main(int argc, char **argv) {
  static service_common common;
  static const char *nik_key_file, *token_key_file, *pseudonym_key_file, *inner_key_dir;
  static uint32_t pseudonym_period_s, retention_interval_s, rule_audit_interval_ms, transactions;
  const cfg_option options[] = {
      CFG_STRING("LINDUNG_INNER_KEY_DIR", &inner_key_dir, NULL,
                 "directory of the inner keys shared with decrypt only, files inner-<id>.key "
                 "(64 hex characters, mode 0600 or stricter); every key held opens"),
      CFG_STRING("LINDUNG_NIK_KEY_FILE", &nik_key_file, NULL,
                 "file holding the NIK hash key (64 hex characters)"),
      CFG_STRING("LINDUNG_TOKEN_KEY_FILE", &token_key_file, NULL,
                 "file holding the token derivation key (64 hex characters)"),
      CFG_STRING("LINDUNG_PSEUDONYM_KEY_FILE", &pseudonym_key_file, NULL,
                 "file holding the audit pseudonym key (64 hex characters)"),
      CFG_UINT("LINDUNG_PSEUDONYM_PERIOD_S", &pseudonym_period_s, "86400",
               "seconds an audit pseudonym stays the same"),
      CFG_UINT("LINDUNG_RETENTION_INTERVAL_S", &retention_interval_s, "3600",
               "seconds between deletions of check-ins and health facts past their retention "
               "(periods in the settings table); 0: never"),
      CFG_UINT("LINDUNG_RULE_AUDIT_INTERVAL_MS", &rule_audit_interval_ms, "2000",
               "milliseconds between looks for new rule changes (rule_changes) to carry into "
               "the audit trail; 0: never"),
      CFG_UINT("LINDUNG_KAFKA_TRANSACTIONS", &transactions, "1",
               "1: each answer, its audit event and the input's offset commit in one Kafka "
               "transaction (docs/operations.md); 0: at least once, for a broker without "
               "transactions (a request may then get two answers across an outage and a "
               "restart)"),
  };
  int rc = service_configure(argc, argv, "lindung-status-resolver",
                             "Answers decrypted scans and links: health facts and the rule set in "
                             "force give a colour, venue rules a sealed Verdict; a Link gets a "
                             "new per-partner token. Applies health.facts.",
                             &common, options, sizeof options / sizeof options[0]);
  if (rc) return rc > 0 ? 0 : 2;
  if (sodium_init() < 0) {
    LOG_ERROR("sodium_init_failed");
    return 1;
  }
  if (pseudonym_period_s == 0) {
    LOG_ERROR("bad_setting", LOG_ID("variable", "LINDUNG_PSEUDONYM_PERIOD_S"),
              LOG_TEXT("expected", "at least 1"));
    return 2;
  }

  /* What decrypt sealed to the resolver opens with these; a rotation adds
   * the new key here before decrypt seals with it. */
  inner_seal_keys *inner = resolver_load_inner_keys(inner_key_dir);
  if (!inner) return 1;
  resolver_db_keys keys = {.inner = inner};
  (void)sodium_mlock(&keys, sizeof keys); /* until resolver_db_new copies them to locked memory */
  if (resolver_read_key("LINDUNG_NIK_KEY_FILE", nik_key_file, keys.nik) ||
      resolver_read_key("LINDUNG_TOKEN_KEY_FILE", token_key_file, keys.token) ||
      resolver_read_key("LINDUNG_PSEUDONYM_KEY_FILE", pseudonym_key_file, keys.pseudonym)) {
    sodium_munlock(&keys, sizeof keys);
    inner_seal_keys_free(inner);
    return 1;
  }
  static resolver_parts parts;
  static pgq_statement statements[RESOLVER_MAX_STATEMENTS];
  service_settings settings = {
      .name = "status-resolver",
      .input_topic = TOPIC_SCAN_DECRYPTED,
      .extra_input_topic = TOPIC_HEALTH_FACTS,
      .uses_db = true,
      /* an answer, its audit event and the input's offset: all or nothing */
      .transactional = transactions != 0,
      .statements = statements,
      .statement_count = resolver_statements(statements),
      .on_batch = resolver_on_batch,
      .on_stop = resolver_on_stop,
      .ctx = &parts,
  };
  service *svc;
  int opened = service_open(&svc, &settings, &common);
  int parts_rc = opened ? -1 : resolver_parts_open(&parts, svc, &keys, pseudonym_period_s,
                                                              retention_interval_s, rule_audit_interval_ms);
  sodium_munlock(&keys, sizeof keys);
  if (opened) return 1;
  int status;
  if (parts_rc) {
    status = service_abandon(svc);
  } else {
    resolver_start_when_db_up(&parts);
    status = service_run(svc);
  }
  resolver_parts_free(&parts);
  inner_seal_keys_free(inner);
  return status;
}
