/* Unit tests for decrypt's start (services/decrypt/decrypt_service.c): it
 * runs only with at least one system key and one inner key. */
#include <sodium.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decrypt_service.h"
#include "support.h"
#include "testing.h"

#define KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static void test_needs_both_kinds_of_key(void) {
  char dir[] = "/tmp/decrypt-service-XXXXXX", system[300], inner[300], path[400];
  CHECK(mkdtemp(dir) != NULL);
  snprintf(system, sizeof system, "%s/system", dir);
  snprintf(inner, sizeof inner, "%s/inner", dir);
  CHECK(mkdir(system, 0700) == 0 && mkdir(inner, 0700) == 0);
  decrypt_limits limits = {16, 1000, 600};
  decrypt_service s = {0};
  CHECK_EQ_INT(decrypt_service_init(&s, system, inner, &limits), -1);
  snprintf(path, sizeof path, "%s/system-1.key", system);
  CHECK(support_write_file(path, KEY_HEX "\n", 0600) == 0);
  decrypt_service no_inner = {0};
  CHECK_EQ_INT(decrypt_service_init(&no_inner, system, inner, &limits), -1);
  snprintf(path, sizeof path, "%s/inner-1.key", inner);
  CHECK(support_write_file(path, KEY_HEX "\n", 0600) == 0);
  decrypt_service ready = {0};
  CHECK_EQ_INT(decrypt_service_init(&ready, system, inner, &limits), 0);
  CHECK_EQ_INT(system_keys_count(ready.keys), 1);
  CHECK_EQ_INT(inner_seal_current_id(ready.inner), 1);
  decrypt_service_free(&ready);
  unlink(path);
  snprintf(path, sizeof path, "%s/system-1.key", system);
  unlink(path);
  rmdir(system);
  rmdir(inner);
  rmdir(dir);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  RUN(test_needs_both_kinds_of_key);
  return testing_summary();
}
