/* resolver_service: the status-resolver's parts on one service loop
 * (resolver_service.h). */
#include "resolver_service.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "hex.h"
#include "log.h"
#include "topics.h"

#define RESOLVER_KEY_HEX_LEN 64
/* How often to look whether PostgreSQL is up before consuming starts, and
 * how long to wait for it at most: a resolver (re)started while PostgreSQL
 * is away must answer UNAVAILABLE within 2 s rather than leave partners
 * waiting in silence. */
#define RESOLVER_DB_WAIT_MS 100
#define RESOLVER_DB_GRACE_MS 1500

size_t resolver_statements(pgq_statement out[RESOLVER_MAX_STATEMENTS]) {
  const struct {
    const pgq_statement *statements;
    size_t count;
  } parts[] = {{resolver_db_statements, resolver_db_statement_count},
               {resolver_facts_statements, resolver_facts_statement_count},
               {resolver_retention_statements, resolver_retention_statement_count},
               {resolver_rule_audit_statements, resolver_rule_audit_statement_count}};
  size_t n = 0;
  for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++)
    for (size_t i = 0; i < parts[p].count && n < RESOLVER_MAX_STATEMENTS; i++)
      out[n++] = parts[p].statements[i];
  return n;
}

/* One consumed batch holds scans and facts: each goes to its part, in
 * consumed order within its topic. */
void resolver_on_batch(void *ctx, kq_input *const *inputs, size_t count) {
  resolver_parts *parts = ctx;
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

void resolver_on_stop(void *ctx) {
  resolver_parts *parts = ctx;
  resolver_facts_stop(parts->facts);
  resolver_retention_stop(parts->retention);
  resolver_rule_audit_stop(parts->rule_audit);
}

/* Reads a key file of 64 hex characters into 32 bytes. */
int resolver_read_key(const char *variable, const char *path, uint8_t out[32]) {
  uint8_t text[RESOLVER_KEY_HEX_LEN + 2];
  (void)sodium_mlock(text, sizeof text); /* never swapped; munlock wipes it */
  char err[256];
  long n = cfg_read_secret(path, text, sizeof text - 1, true, err, sizeof err);
  int rc = 0;
  if (n < 0) {
    LOG_ERROR("key_file_unreadable", LOG_ID("variable", variable), LOG_ERRTEXT("reason", err));
    rc = -1;
  } else if (n != RESOLVER_KEY_HEX_LEN) {
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

inner_seal_keys *resolver_load_inner_keys(const char *dir) {
  inner_seal_keys *inner = inner_seal_keys_new();
  char err[512];
  int held = inner ? inner_seal_keys_load_dir(inner, dir, true, err, sizeof err) : -1;
  if (held <= 0) {
    if (!inner)
      LOG_ERROR("out_of_memory");
    else if (held < 0)
      LOG_ERROR("inner_keys_unreadable", LOG_ERRTEXT("reason", err));
    else
      LOG_ERROR("no_inner_keys", LOG_TEXT("expected", "a file inner-<id>.key"));
    inner_seal_keys_free(inner);
    return NULL;
  }
  LOG_INFO("inner_keys_loaded", LOG_INT("count", held));
  return inner;
}

int resolver_parts_open(resolver_parts *parts, service *svc, const resolver_db_keys *keys,
                        uint32_t pseudonym_period_s, uint32_t retention_interval_s,
                        uint32_t rule_audit_interval_ms) {
  parts->svc = svc;
  parts->scans = resolver_db_new(svc, keys, pseudonym_period_s);
  parts->facts = resolver_facts_new(svc);
  parts->retention = resolver_retention_new(svc, retention_interval_s);
  parts->rule_audit = resolver_rule_audit_new(svc, rule_audit_interval_ms);
  if (parts->scans && parts->facts && parts->retention && parts->rule_audit) return 0;
  LOG_ERROR("out_of_memory");
  return -1;
}

static void resolver_close_wait(resolver_parts *parts) {
  uv_timer_stop(&parts->db_wait);
  if (!uv_is_closing((uv_handle_t *)&parts->db_wait)) uv_close((uv_handle_t *)&parts->db_wait, NULL);
}

/* Requests that come while PostgreSQL is away are answered UNAVAILABLE
 * (resolver_db.c), as in any later outage, so partners are never left
 * waiting. */
static void resolver_on_db_wait(uv_timer_t *timer) {
  resolver_parts *parts = timer->data;
  if (service_stopping(parts->svc)) {
    resolver_close_wait(parts);
    return;
  }
  parts->waited_ms += RESOLVER_DB_WAIT_MS;
  if (!pgq_connected(service_db(parts->svc)) && parts->waited_ms < RESOLVER_DB_GRACE_MS) return;
  resolver_close_wait(parts);
  if (service_start_consuming(parts->svc)) service_stop(parts->svc, 1);
}

void resolver_start_when_db_up(resolver_parts *parts) {
  uv_timer_init(service_loop(parts->svc), &parts->db_wait);
  parts->db_wait.data = parts;
  uv_timer_start(&parts->db_wait, resolver_on_db_wait, 0, RESOLVER_DB_WAIT_MS);
}

void resolver_parts_free(resolver_parts *parts) {
  resolver_facts_free(parts->facts);
  resolver_retention_free(parts->retention);
  resolver_rule_audit_free(parts->rule_audit);
  resolver_db_free(parts->scans);
}
