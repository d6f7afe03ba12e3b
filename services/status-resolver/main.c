/* lindung-status-resolver: reads scan.decrypted, answers each request with a
 * sealed Verdict or Linked on scan.results.<partner_id> (or an error code),
 * and audits it; reads health.facts and applies them; deletes at intervals
 * what the rules no longer need, and carries rule changes into the audit
 * trail. The per-message rules are in
 * resolver_rules.c (colours: services/common/health_rules.c), the
 * PostgreSQL batch flows in resolver_db.c and resolver_facts.c, retention
 * in resolver_retention.c, rule changes in resolver_rule_audit.c; this file
 * only wires them. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "hex.h"
#include "inner_seal.h"
#include "log.h"
#include "resolver_db.h"
#include "resolver_facts.h"
#include "resolver_retention.h"
#include "resolver_rule_audit.h"
#include "service.h"
#include "topics.h"

#define MAIN_KEY_HEX_LEN 64
/* How often to look whether PostgreSQL is up before consuming starts, and
 * how long to wait for it at most: a resolver (re)started while PostgreSQL
 * is away must answer UNAVAILABLE within 2 s rather than leave partners
 * waiting in silence. */
#define MAIN_DB_WAIT_MS 100
#define MAIN_DB_GRACE_MS 1500

static service *main_svc;
static uv_timer_t main_db_wait;

typedef struct main_parts {
  resolver_db *scans;
  resolver_facts *facts;
  resolver_retention *retention;
  resolver_rule_audit *rule_audit;
} main_parts;

/* Every statement of every part, prepared on each connection. */
static pgq_statement main_statements[16];

static size_t main_add_statements(size_t n, const pgq_statement *add, size_t count) {
  for (size_t i = 0; i < count && n < sizeof main_statements / sizeof main_statements[0]; i++)
    main_statements[n++] = add[i];
  return n;
}

/* One consumed batch holds scans and facts: each goes to its part, in
 * consumed order within its topic. */
static void main_on_batch(void *ctx, kq_input *const *inputs, size_t count) {
  main_parts *parts = ctx;
  kq_input **scans = malloc(count * sizeof *scans), **facts = malloc(count * sizeof *facts);
  if (!scans || !facts) {
    free(scans);
    free(facts);
    LOG_ERROR("out_of_memory", LOG_INT("inputs", count));
    return;
  }
  size_t n_scans = 0, n_facts = 0;
  for (size_t i = 0; i < count; i++) {
    if (strcmp(inputs[i]->topic, TOPIC_HEALTH_FACTS) == 0)
      facts[n_facts++] = inputs[i];
    else
      scans[n_scans++] = inputs[i];
  }
  if (n_facts) resolver_facts_on_batch(parts->facts, facts, n_facts);
  if (n_scans) resolver_db_on_batch(parts->scans, scans, n_scans);
  free(scans);
  free(facts);
}

static void main_on_stop(void *ctx) {
  main_parts *parts = ctx;
  resolver_facts_stop(parts->facts);
  resolver_retention_stop(parts->retention);
  resolver_rule_audit_stop(parts->rule_audit);
}

/* Reads a key file of 64 hex characters into 32 bytes. */
static int main_read_key(const char *variable, const char *path, uint8_t out[32]) {
  uint8_t text[MAIN_KEY_HEX_LEN + 2];
  (void)sodium_mlock(text, sizeof text); /* never swapped; munlock wipes it */
  char err[256];
  long n = cfg_read_secret(path, text, sizeof text - 1, true, err, sizeof err);
  int rc = 0;
  if (n < 0) {
    LOG_ERROR("key_file_unreadable", LOG_ID("variable", variable), LOG_ERRTEXT("reason", err));
    rc = -1;
  } else if (n != MAIN_KEY_HEX_LEN) {
    LOG_ERROR("key_file_invalid", LOG_ID("variable", variable),
              LOG_TEXT("expected", "64 hex characters"));
    rc = -1;
  } else {
    text[n] = '\0';
    if (hex_decode((const char *)text, out, 32)) {
      LOG_ERROR("key_file_invalid", LOG_ID("variable", variable),
                LOG_TEXT("expected", "64 hex characters"));
      rc = -1;
    }
  }
  sodium_munlock(text, sizeof text);
  return rc;
}

static void main_close_wait(void) {
  uv_timer_stop(&main_db_wait);
  if (!uv_is_closing((uv_handle_t *)&main_db_wait)) uv_close((uv_handle_t *)&main_db_wait, NULL);
}

/* Consuming starts once PostgreSQL is up, or after MAIN_DB_GRACE_MS
 * without it: requests are then answered UNAVAILABLE (resolver_db.c), as in
 * any later outage, so partners are never left waiting. */
static void main_on_db_wait(uv_timer_t *timer) {
  static unsigned waited_ms;
  (void)timer;
  if (service_stopping(main_svc)) {
    main_close_wait();
    return;
  }
  waited_ms += MAIN_DB_WAIT_MS;
  if (!pgq_connected(service_db(main_svc)) && waited_ms < MAIN_DB_GRACE_MS) return;
  main_close_wait();
  if (service_start_consuming(main_svc)) service_stop(main_svc, 1);
}

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
  static inner_seal_keys *inner;
  inner = inner_seal_keys_new();
  char err[512];
  int held = inner ? inner_seal_keys_load_dir(inner, inner_key_dir, true, err, sizeof err) : -1;
  if (held <= 0) {
    if (!inner)
      LOG_ERROR("out_of_memory");
    else if (held < 0)
      LOG_ERROR("inner_keys_unreadable", LOG_ERRTEXT("reason", err));
    else
      LOG_ERROR("no_inner_keys", LOG_TEXT("expected", "a file inner-<id>.key"));
    inner_seal_keys_free(inner);
    return 1;
  }
  LOG_INFO("inner_keys_loaded", LOG_INT("count", held));

  resolver_db_keys keys = {.inner = inner};
  (void)sodium_mlock(&keys, sizeof keys); /* until resolver_db_new copies them to locked memory */
  if (main_read_key("LINDUNG_NIK_KEY_FILE", nik_key_file, keys.nik) ||
      main_read_key("LINDUNG_TOKEN_KEY_FILE", token_key_file, keys.token) ||
      main_read_key("LINDUNG_PSEUDONYM_KEY_FILE", pseudonym_key_file, keys.pseudonym)) {
    sodium_munlock(&keys, sizeof keys);
    inner_seal_keys_free(inner);
    return 1;
  }
  static main_parts parts;
  size_t n = main_add_statements(0, resolver_db_statements, resolver_db_statement_count);
  n = main_add_statements(n, resolver_facts_statements, resolver_facts_statement_count);
  n = main_add_statements(n, resolver_retention_statements, resolver_retention_statement_count);
  n = main_add_statements(n, resolver_rule_audit_statements, resolver_rule_audit_statement_count);
  service_settings settings = {
      .name = "status-resolver",
      .input_topic = TOPIC_SCAN_DECRYPTED,
      .extra_input_topic = TOPIC_HEALTH_FACTS,
      .uses_db = true,
      /* an answer, its audit event and the input's offset: all or nothing */
      .transactional = transactions != 0,
      .statements = main_statements,
      .statement_count = n,
      .on_batch = main_on_batch,
      .on_stop = main_on_stop,
      .ctx = &parts,
  };
  int opened = service_open(&main_svc, &settings, &common);
  resolver_db *resolver = opened ? NULL : resolver_db_new(main_svc, &keys, pseudonym_period_s);
  sodium_munlock(&keys, sizeof keys);
  if (opened) return 1;
  parts.scans = resolver;
  parts.facts = resolver_facts_new(main_svc);
  parts.retention = resolver_retention_new(main_svc, retention_interval_s);
  parts.rule_audit = resolver_rule_audit_new(main_svc, rule_audit_interval_ms);
  if (!resolver || !parts.facts || !parts.retention || !parts.rule_audit) {
    LOG_ERROR("out_of_memory");
    return 1;
  }
  uv_timer_init(service_loop(main_svc), &main_db_wait);
  uv_timer_start(&main_db_wait, main_on_db_wait, 0, MAIN_DB_WAIT_MS);
  int status = service_run(main_svc);
  resolver_facts_free(parts.facts);
  resolver_retention_free(parts.retention);
  resolver_rule_audit_free(parts.rule_audit);
  resolver_db_free(resolver);
  inner_seal_keys_free(inner);
  return status;
}
