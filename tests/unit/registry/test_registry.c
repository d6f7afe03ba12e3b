/* Unit tests for registry snapshots, token derivation and message builders. */
#include <sodium.h>

#include "messages.h"
#include "registry.h"
#include "testing.h"
#include "token.h"
#include "topics.h"

static const uint8_t key_a[32] = {1};
static const uint8_t key_b[32] = {2};

static void test_partners_and_keys(void) {
  registry *reg = registry_new();
  CHECK_EQ_INT(registry_put_partner(reg, "gojek", false, 100, 200), 0);
  CHECK_EQ_INT(registry_put_partner(reg, "livin-mandiri", true, 0, 0), 0);
  CHECK_EQ_INT(registry_put_partner(reg, "Gojek", false, 0, 0), -1);
  CHECK_EQ_INT(registry_put_partner(reg, "x", false, 0, 0), -1);
  CHECK_EQ_INT(registry_put_partner_key(reg, "gojek", 7, key_a, false), 0);
  CHECK_EQ_INT(registry_put_partner_key(reg, "gojek", 0, key_a, false), -1);
  CHECK_EQ_INT(registry_put_partner_key(reg, "nobody", 1, key_a, false), -1);
  const registry_partner *gojek = registry_find_partner(reg, "gojek");
  CHECK(gojek && !gojek->revoked && gojek->rate_per_s == 100 && gojek->burst == 200);
  CHECK(registry_find_partner_key(gojek, 7) != NULL);
  CHECK(registry_find_partner_key(gojek, 8) == NULL);
  CHECK(registry_find_partner(reg, "livin-mandiri")->revoked);
  CHECK(registry_find_partner(reg, "grab") == NULL);
  registry_free(reg);
}

static void test_many_partners_and_copies_are_independent(void) {
  registry *reg = registry_new();
  char id[16];
  for (int i = 0; i < 1000; i++) {
    snprintf(id, sizeof id, "p-%d", i);
    CHECK_EQ_INT(registry_put_partner(reg, id, false, 0, 0), 0);
  }
  CHECK_EQ_INT(registry_partner_count(reg), 1000);
  registry *copy = registry_copy(reg);
  registry_put_partner(copy, "p-500", true, 0, 0);
  CHECK(!registry_find_partner(reg, "p-500")->revoked);
  CHECK(registry_find_partner(copy, "p-500")->revoked);
  for (int i = 0; i < 1000; i += 37) {
    snprintf(id, sizeof id, "p-%d", i);
    CHECK(registry_find_partner(copy, id) != NULL);
  }
  registry_free(reg);
  registry_free(copy);
}

static void test_system_key_grace(void) {
  registry *reg = registry_new();
  registry_put_system_key(reg, 1, key_a, REGISTRY_SYSTEM_KEY_RETIRING, 5000);
  registry_put_system_key(reg, 2, key_b, REGISTRY_SYSTEM_KEY_ACTIVE, 0);
  registry_put_system_key(reg, 3, key_b, REGISTRY_SYSTEM_KEY_REVOKED, 0);
  CHECK(registry_system_key_usable(registry_find_system_key(reg, 1), 4999));
  CHECK(!registry_system_key_usable(registry_find_system_key(reg, 1), 5000));
  CHECK(registry_system_key_usable(registry_find_system_key(reg, 2), 1u << 31));
  CHECK(!registry_system_key_usable(registry_find_system_key(reg, 3), 0));
  CHECK(registry_find_system_key(reg, 4) == NULL);
  registry_free(reg);
}

static void test_tokens_are_stable_and_unlinkable(void) {
  const uint8_t rid1[16] = {1}, rid2[16] = {2};
  char a[TOKEN_TEXT_LEN + 1], b[TOKEN_TEXT_LEN + 1], c[TOKEN_TEXT_LEN + 1];
  token_derive(key_a, "gojek", rid1, a);
  token_derive(key_a, "gojek", rid1, b);
  CHECK_EQ_STR(a, b);
  CHECK_EQ_INT(strlen(a), TOKEN_TEXT_LEN);
  CHECK(!strncmp(a, TOKEN_PREFIX, 4));
  token_derive(key_a, "grab", rid1, c);
  CHECK(strcmp(a, c) != 0);
  token_derive(key_a, "gojek", rid2, c);
  CHECK(strcmp(a, c) != 0);
  token_derive(key_b, "gojek", rid1, c);
  CHECK(strcmp(a, c) != 0);
  uint8_t h1[32], h2[32];
  token_hash(a, strlen(a), h1);
  token_hash(c, strlen(c), h2);
  CHECK(memcmp(h1, h2, 32) != 0);
}

static void test_pseudonyms_change_with_period(void) {
  uint8_t p1[16], p2[16], p3[16];
  token_pseudonym(key_a, 20000, 42, p1);
  token_pseudonym(key_a, 20000, 42, p2);
  CHECK_MEM(p1, p2, 16);
  token_pseudonym(key_a, 20001, 42, p3);
  CHECK(memcmp(p1, p3, 16) != 0);
  token_pseudonym(key_a, 20000, 43, p3);
  CHECK(memcmp(p1, p3, 16) != 0);
}

static void test_error_response_round_trip(void) {
  uint8_t out[MESSAGES_MAX_BYTES];
  const uint8_t rid[16] = {9, 9};
  size_t len = messages_error_response("gojek", 7, 1, rid, 16, 1234,
                                       LINDUNG__V1__ERROR_CODE__STALE_REQUEST, out, sizeof out);
  CHECK(len > 0);
  Lindung__V1__ScanResponse *response = lindung__v1__scan_response__unpack(NULL, len, out);
  CHECK(response != NULL);
  if (response) {
    CHECK_EQ_INT(response->version, 1);
    CHECK_EQ_STR(response->partner_id, "gojek");
    CHECK_EQ_INT(response->error, LINDUNG__V1__ERROR_CODE__STALE_REQUEST);
    CHECK_EQ_INT(response->nonce.len, 0);
    CHECK_EQ_INT(response->ciphertext.len, 0);
    lindung__v1__scan_response__free_unpacked(response, NULL);
  }
  CHECK_EQ_INT(messages_error_response("gojek", 7, 1, rid, 16, 1, 1, out, 8), 0);
  CHECK_EQ_STR(messages_error_name(LINDUNG__V1__ERROR_CODE__REPLAYED), "replayed");
  char topic[64];
  CHECK_EQ_INT(topics_scan_results("cinema-xxi", topic, sizeof topic), 0);
  CHECK_EQ_STR(topic, "scan.results.cinema-xxi");
}

static void test_input_ids_differ_by_place_and_time(void) {
  uint8_t a[16], b[16], c[16], d[16], again[16];
  kq_input input = {.topic = "scan.requests", .partition = 1, .offset = 10, .timestamp_ms = 5000};
  messages_input_id(&input, a);
  messages_input_id(&input, again);
  CHECK_MEM(a, again, 16); /* a redelivery keeps its identity */
  input.offset = 11;
  messages_input_id(&input, b);
  input.offset = 10;
  input.partition = 2;
  messages_input_id(&input, c);
  input.partition = 1;
  input.timestamp_ms = 9000; /* the same place after a broker started over */
  messages_input_id(&input, d);
  CHECK(memcmp(a, b, 16) && memcmp(a, c, 16) && memcmp(b, c, 16) && memcmp(a, d, 16));
}

int main(void) {
  if (sodium_init() < 0) return 1;
  RUN(test_partners_and_keys);
  RUN(test_many_partners_and_copies_are_independent);
  RUN(test_system_key_grace);
  RUN(test_tokens_are_stable_and_unlinkable);
  RUN(test_pseudonyms_change_with_period);
  RUN(test_error_response_round_trip);
  RUN(test_input_ids_differ_by_place_and_time);
  return testing_summary();
}
