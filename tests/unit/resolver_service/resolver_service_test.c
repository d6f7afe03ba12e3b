/* Unit tests for what the status-resolver does before it consumes
 * (services/status-resolver/resolver_service.c): every part's statements
 * are prepared, and the key files and inner keys are read or refused. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "resolver_service.h"
#include "support.h"
#include "testing.h"

#define KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static char dir[] = "/tmp/resolver-service-XXXXXX";

static void test_statements_of_every_part(void) {
  pgq_statement statements[RESOLVER_MAX_STATEMENTS];
  size_t n = resolver_statements(statements);
  CHECK_EQ_INT(n, resolver_db_statement_count + resolver_facts_statement_count +
                      resolver_retention_statement_count + resolver_rule_audit_statement_count);
  CHECK_EQ_STR(statements[0].name, resolver_db_statements[0].name);
  CHECK_EQ_STR(statements[n - 1].name,
               resolver_rule_audit_statements[resolver_rule_audit_statement_count - 1].name);
}

static void test_key_files(void) {
  char path[256];
  uint8_t key[32] = {0};
  snprintf(path, sizeof path, "%s/nik.key", dir);
  CHECK(support_write_file(path, KEY_HEX "\n", 0600) == 0);
  CHECK_EQ_INT(resolver_read_key("LINDUNG_NIK_KEY_FILE", path, key), 0);
  CHECK(key[0] == 0 && key[1] == 1 && key[31] == 0x1f);
  CHECK(support_write_file(path, "0001\n", 0600) == 0);
  CHECK_EQ_INT(resolver_read_key("LINDUNG_NIK_KEY_FILE", path, key), -1);
  CHECK(support_write_file(path, "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0600) == 0);
  CHECK_EQ_INT(resolver_read_key("LINDUNG_NIK_KEY_FILE", path, key), -1);
  /* Others may not read a key. */
  CHECK(support_write_file(path, KEY_HEX "\n", 0644) == 0);
  CHECK_EQ_INT(resolver_read_key("LINDUNG_NIK_KEY_FILE", path, key), -1);
  unlink(path);
  CHECK_EQ_INT(resolver_read_key("LINDUNG_NIK_KEY_FILE", path, key), -1);
}

static void test_inner_keys(void) {
  char keys[256], path[300];
  snprintf(keys, sizeof keys, "%s/inner", dir);
  CHECK(mkdir(keys, 0700) == 0);
  CHECK(resolver_load_inner_keys(keys) == NULL);
  snprintf(path, sizeof path, "%s/inner-1.key", keys);
  CHECK(support_write_file(path, KEY_HEX "\n", 0600) == 0);
  inner_seal_keys *inner = resolver_load_inner_keys(keys);
  CHECK(inner != NULL);
  inner_seal_keys_free(inner);
  unlink(path);
  rmdir(keys);
}

int main(void) {
  if (sodium_init() < 0 || !mkdtemp(dir)) return 1;
  RUN(test_statements_of_every_part);
  RUN(test_key_files);
  RUN(test_inner_keys);
  rmdir(dir);
  return testing_summary();
}
