/* Unit tests of the admin API (strict JSON reader, operators file and bearer check, routing
 * and validation, database result mapping, audit detail, PartnerEvent
 * packing) and of partner_events (validation and application of an event
 * to a registry snapshot). No Kafka, no PostgreSQL. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "admin_api.h"
#include "admin_http.h"
#include "admin_json.h"
#include "admin_operators.h"
#include "lindung/v1/internal.pb-c.h"
#include "partner_events.h"
#include "registry.h"
#include "testing.h"

static int parse(const char *text, admin_json_object *obj) {
  char err[128];
  return admin_json_parse(text, strlen(text), obj, err, sizeof err);
}

static void test_json_accepts_flat_objects(void) {
  admin_json_object o;
  CHECK_EQ_INT(parse(" { \"a\" : \"x\\n\\u00e9\\ud83d\\ude00\" , \"n\": -42, \"z\":0 } ", &o), 0);
  CHECK_EQ_INT(o.count, 3);
  const admin_json_field *a = admin_json_get(&o, "a");
  CHECK(a && a->type == ADMIN_JSON_STRING);
  CHECK(a && strcmp(a->string, "x\n\xc3\xa9\xf0\x9f\x98\x80") == 0);
  CHECK_EQ_INT(admin_json_get(&o, "n")->integer, -42);
  CHECK_EQ_INT(admin_json_get(&o, "z")->integer, 0);
  admin_json_free(&o);
  CHECK_EQ_INT(parse("{}", &o), 0);
  CHECK_EQ_INT(o.count, 0);
  admin_json_free(&o);
  CHECK_EQ_INT(parse("{\"r\":\"Rp 5.000 \xc3\xa9\"}", &o), 0);
  admin_json_free(&o);
}

static void test_json_refuses_everything_else(void) {
  static const char *const bad[] = {
      "",
      "[]",
      "\"x\"",
      "{",
      "{\"a\"}",
      "{\"a\":}",
      "{\"a\":1,}",
      "{\"a\":1}x",
      "{\"a\":1 \"b\":2}",
      "{\"a\":true}",
      "{\"a\":null}",
      "{\"a\":{}}",
      "{\"a\":[1]}",
      "{\"a\":1.5}",
      "{\"a\":1e3}",
      "{\"a\":01}",
      "{\"a\":-}",
      "{\"a\":99999999999999999999}",
      "{\"a\":\"x\",\"a\":\"y\"}",
      "{\"a\":\"\\u0000\"}",
      "{\"a\":\"\\ud800\"}",
      "{\"a\":\"\\udc00\"}",
      "{\"a\":\"\\x\"}",
      "{\"a\":\"tab\there\"}",
      "{\"a\":\"\xc3\x28\"}",
      "{\"a\":\"\xed\xa0\x80\"}",
      "{\"\":1}",
      "{\"a234567890123456789012345678901234\":1}",
      "{'a':1}",
      "{\"a\":\"unterminated}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    admin_json_object o;
    char err[128] = "";
    int rc = admin_json_parse(bad[i], strlen(bad[i]), &o, err, sizeof err);
    if (rc == 0) fprintf(stderr, "accepted: %s\n", bad[i]);
    CHECK_EQ_INT(rc, -1);
    CHECK(err[0] != '\0');
    CHECK_EQ_INT(o.count, 0);
    admin_json_free(&o);
  }
  /* 17 members is one too many. */
  char many[512] = "{";
  for (int i = 0; i < 17; i++)
    snprintf(many + strlen(many), sizeof many - strlen(many), "%s\"k%d\":1", i ? "," : "", i);
  strcat(many, "}");
  admin_json_object o;
  CHECK_EQ_INT(parse(many, &o), -1);
}

/* sha256("token-of-rina"), as `printf %s token-of-rina | sha256sum` prints it. */
static void sha256_hex(const char *text, char out[65]) {
  uint8_t digest[32];
  crypto_hash_sha256(digest, (const uint8_t *)text, strlen(text));
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    out[2 * i] = hex[digest[i] >> 4];
    out[2 * i + 1] = hex[digest[i] & 15];
  }
  out[64] = '\0';
}

static void test_operators(void) {
  static admin_operators ops;
  char rina[65], budi[65], text[512], err[160];
  sha256_hex("token-of-rina-0123456789abcdef0123456789", rina);
  sha256_hex("token-of-budi-0123456789abcdef0123456789", budi);
  snprintf(text, sizeof text, "# operators\n\nrina.ops@kemenkes:%s\r\n  budi_2 : %s\n", rina, budi);
  /* Blanks around the colon are not part of the format. */
  CHECK_EQ_INT(admin_operators_parse(text, &ops, err, sizeof err), -1);
  CHECK(strstr(err, "line 4") != NULL);
  snprintf(text, sizeof text, "# operators\n\nrina.ops@kemenkes:%s\r\n  budi_2:%s  \n", rina, budi);
  CHECK_EQ_INT(admin_operators_parse(text, &ops, err, sizeof err), 0);
  CHECK_EQ_INT(ops.count, 2);

  const admin_operator *who =
      admin_operators_match(&ops, "Bearer token-of-budi-0123456789abcdef0123456789");
  CHECK(who && strcmp(who->name, "budi_2") == 0);
  who = admin_operators_match(&ops, "Bearer token-of-rina-0123456789abcdef0123456789");
  CHECK(who && strcmp(who->name, "rina.ops@kemenkes") == 0);
  CHECK(!admin_operators_match(&ops, "Bearer token-of-rina-0123456789abcdef012345678"));
  CHECK(!admin_operators_match(&ops, "bearer token-of-rina-0123456789abcdef0123456789"));
  CHECK(!admin_operators_match(&ops, "token-of-rina-0123456789abcdef0123456789"));
  CHECK(!admin_operators_match(&ops, "Bearer "));
  CHECK(!admin_operators_match(&ops, ""));
  CHECK(!admin_operators_match(&ops, NULL));
  /* The hash itself is not a token. */
  char header[80];
  snprintf(header, sizeof header, "Bearer %s", rina);
  CHECK(!admin_operators_match(&ops, header));

  /* Refused: no operator, a bad name, a short hash, a repeated name; the
   * error names the line and never quotes it. */
  static admin_operators none;
  CHECK_EQ_INT(admin_operators_parse("# nobody\n", &none, err, sizeof err), 0);
  CHECK_EQ_INT(none.count, 0);
  snprintf(text, sizeof text, "rina smith:%s\n", rina);
  CHECK_EQ_INT(admin_operators_parse(text, &ops, err, sizeof err), -1);
  CHECK(strstr(err, "line 1") != NULL && strstr(err, "rina") == NULL);
  snprintf(text, sizeof text, "rina:%.63s\n", rina);
  CHECK_EQ_INT(admin_operators_parse(text, &ops, err, sizeof err), -1);
  snprintf(text, sizeof text, "rina:%s\nrina:%s\n", rina, budi);
  CHECK_EQ_INT(admin_operators_parse(text, &ops, err, sizeof err), -1);
  CHECK(strstr(err, "line 2") != NULL);
  /* A refused text leaves the operators as they were. */
  CHECK_EQ_INT(ops.count, 2);

  CHECK(admin_operator_name_valid("ops.rina@kemenkes"));
  CHECK(!admin_operator_name_valid(""));
  CHECK(!admin_operator_name_valid("a\nb"));
  char longer[80];
  memset(longer, 'a', 65);
  longer[65] = '\0';
  CHECK(!admin_operator_name_valid(longer));
  longer[64] = '\0';
  CHECK(admin_operator_name_valid(longer));
}

static void test_loopback(void) {
  CHECK(admin_address_loopback("127.0.0.1"));
  CHECK(admin_address_loopback("127.3.2.1"));
  CHECK(admin_address_loopback("::1"));
  CHECK(!admin_address_loopback("0.0.0.0"));
  CHECK(!admin_address_loopback("::"));
  CHECK(!admin_address_loopback("10.0.0.1"));
  CHECK(!admin_address_loopback("localhost"));
  CHECK(!admin_address_loopback("128.0.0.1"));
}

static int route(const char *method, const char *path, const char *body, admin_op *op,
                 admin_error *error) {
  return admin_parse(method, path, body, strlen(body), op, error);
}

static const char pk_hex[] = "8f40c5adb68f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2138285f";

static void test_parse_routes(void) {
  admin_op op;
  admin_error e;
  char body[512];
  snprintf(body, sizeof body,
           "{\"partner_id\":\"t-1\",\"name\":\"Toko Satu\",\"key_id\":7,\"public_key\":\"%s\"}",
           pk_hex);
  CHECK_EQ_INT(route("POST", "/v1/partners", body, &op, &e), 0);
  CHECK_EQ_INT(op.kind, ADMIN_OP_PARTNER_ADD);
  CHECK_EQ_STR(op.partner_id, "t-1");
  CHECK_EQ_STR(op.name, "Toko Satu");
  CHECK_EQ_INT(op.key_id, 7);
  CHECK_EQ_INT(op.public_key[0], 0x8f);

  snprintf(body, sizeof body, "{\"key_id\":4294967295,\"public_key\":\"%s\"}", pk_hex);
  CHECK_EQ_INT(route("POST", "/v1/partners/gojek/keys", body, &op, &e), 0);
  CHECK_EQ_INT(op.kind, ADMIN_OP_KEY_ADD);
  CHECK_EQ_INT(op.key_id, 4294967295u);

  CHECK_EQ_INT(route("POST", "/v1/partners/gojek/keys/3/revoke", "", &op, &e), 0);
  CHECK_EQ_INT(op.kind, ADMIN_OP_KEY_REVOKE);
  CHECK_EQ_INT(op.key_id, 3);
  CHECK_EQ_STR(op.reason, "");

  CHECK_EQ_INT(route("POST", "/v1/partners/gojek/revoke", "{\"reason\":\"bocor data\"}", &op, &e),
               0);
  CHECK_EQ_INT(op.kind, ADMIN_OP_PARTNER_REVOKE);
  CHECK_EQ_STR(op.reason, "bocor data");

  CHECK_EQ_INT(route("POST", "/v1/partners/gojek/reinstate", "{}", &op, &e), 0);
  CHECK_EQ_INT(op.kind, ADMIN_OP_PARTNER_REINSTATE);

  CHECK_EQ_INT(route("PUT", "/v1/partners/gojek/quota", "{\"rate\":100,\"burst\":20}", &op, &e), 0);
  CHECK_EQ_INT(op.kind, ADMIN_OP_PARTNER_QUOTA);
  CHECK_EQ_INT(op.rate, 100);
  CHECK_EQ_INT(op.burst, 20);
  CHECK_EQ_INT(route("PUT", "/v1/partners/gojek/quota", "{\"rate\":0}", &op, &e), 0);
  CHECK_EQ_INT(op.burst, 0);

  CHECK_EQ_INT(route("POST", "/v1/system-keys/rotate", "{\"grace_s\":3600}", &op, &e), 0);
  CHECK_EQ_INT(op.kind, ADMIN_OP_SYSTEM_KEY_ROTATE);
  CHECK_EQ_INT(op.grace_s, 3600);
}

static void expect_error(const char *method, const char *path, const char *body, int status,
                         const char *code) {
  admin_op op;
  admin_error e = {0};
  int rc = route(method, path, body, &op, &e);
  CHECK_EQ_INT(rc, -1);
  CHECK_EQ_INT(e.status, status);
  CHECK_EQ_STR(e.code, code);
  if (rc != -1 || e.status != status) fprintf(stderr, "  case: %s %s %s\n", method, path, body);
}

static void test_parse_errors(void) {
  char reason[600], body[700];
  memset(reason, 'r', sizeof reason);
  reason[ADMIN_MAX_REASON + 1] = '\0';
  snprintf(body, sizeof body, "{\"reason\":\"%s\"}", reason);
  expect_error("POST", "/v1/partners/gojek/revoke", body, 400, "reason_too_long");
  reason[ADMIN_MAX_REASON] = '\0';
  snprintf(body, sizeof body, "{\"reason\":\"%s\"}", reason);
  admin_op op;
  admin_error e;
  CHECK_EQ_INT(route("POST", "/v1/partners/gojek/revoke", body, &op, &e), 0);
  expect_error("POST", "/v1/partners/gojek/revoke", "{}", 400, "missing_field");
  expect_error("POST", "/v1/partners/gojek/revoke", "{\"reason\":\"\"}", 400, "invalid_field");
  expect_error("POST", "/v1/partners/gojek/revoke", "{\"reason\":\"a\\nb\"}", 400, "invalid_field");
  expect_error("POST", "/v1/partners/gojek/revoke", "{\"reason\":5}", 400, "invalid_field");
  expect_error("POST", "/v1/partners/gojek/revoke", "{\"reason\":\"x\",\"extra\":1}", 400,
               "unknown_field");
  expect_error("POST", "/v1/partners/gojek/revoke", "{\"reason\":", 400, "malformed_json");
  expect_error("POST", "/v1/partners/gojek/revoke", "not json", 400, "malformed_json");
  expect_error("GET", "/v1/partners/gojek/revoke", "", 405, "method_not_allowed");
  expect_error("POST", "/v1/partners/gojek/quota", "{\"rate\":1}", 405, "method_not_allowed");
  expect_error("POST", "/v1/partners/Gojek/revoke", "{\"reason\":\"x\"}", 404, "unknown_partner");
  expect_error("POST", "/v1/partners/gojek/frob", "{}", 404, "not_found");
  expect_error("POST", "/v1/partners/gojek/revoke/", "{}", 404, "not_found");
  expect_error("POST", "/v2/partners", "{}", 404, "not_found");
  expect_error("POST", "/", "{}", 404, "not_found");
  expect_error("POST", "/v1/partners/gojek/keys/0/revoke", "", 404, "unknown_key");
  expect_error("POST", "/v1/partners/gojek/keys/x/revoke", "", 404, "unknown_key");
  expect_error("POST", "/v1/partners/gojek/keys", "{\"key_id\":0,\"public_key\":\"00\"}", 400,
               "invalid_field");
  expect_error("POST", "/v1/partners/gojek/keys", "{\"key_id\":4294967296}", 400, "invalid_field");
  snprintf(body, sizeof body, "{\"key_id\":1,\"public_key\":\"%.63s\"}", pk_hex);
  expect_error("POST", "/v1/partners/gojek/keys", body, 400, "invalid_field");
  expect_error("POST", "/v1/partners/gojek/keys", "{\"key_id\":1}", 400, "missing_field");
  snprintf(body, sizeof body,
           "{\"partner_id\":\"A\",\"name\":\"x\",\"key_id\":1,\"public_key\":\"%s\"}", pk_hex);
  expect_error("POST", "/v1/partners", body, 400, "invalid_field");
  snprintf(body, sizeof body,
           "{\"partner_id\":\"ab\",\"name\":\"\",\"key_id\":1,\"public_key\":\"%s\"}", pk_hex);
  expect_error("POST", "/v1/partners", body, 400, "invalid_field");
  expect_error("PUT", "/v1/partners/gojek/quota", "{\"rate\":-1}", 400, "invalid_field");
  expect_error("PUT", "/v1/partners/gojek/quota", "{\"rate\":1000001}", 400, "invalid_field");
  expect_error("PUT", "/v1/partners/gojek/quota", "{\"burst\":1}", 400, "missing_field");
  expect_error("POST", "/v1/system-keys/rotate", "{}", 400, "missing_field");
  expect_error("POST", "/v1/system-keys/rotate", "{\"grace_s\":2592001}", 400, "invalid_field");
  expect_error("POST", "/v1/system-keys/rotate", "{\"grace_s\":\"60\"}", 400, "invalid_field");
}

static void test_db_results(void) {
  admin_error e;
  CHECK_EQ_INT(admin_db_result("ok", &e), 0);
  static const struct {
    const char *result;
    int status;
  } cases[] = {{"unknown_partner", 404}, {"unknown_key", 404},   {"partner_exists", 409},
               {"key_in_use", 409},      {"too_many_keys", 409}, {"last_system_key", 409},
               {"surprise", 500}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    CHECK_EQ_INT(admin_db_result(cases[i].result, &e), -1);
    CHECK_EQ_INT(e.status, cases[i].status);
  }
  CHECK_EQ_INT(admin_db_result(NULL, &e), -1);
}

static void test_detail_fits_audit_limit(void) {
  admin_op op = {.kind = ADMIN_OP_PARTNER_REVOKE};
  strcpy(op.partner_id, "gojek");
  memset(op.reason, 'x', ADMIN_MAX_REASON);
  op.reason[ADMIN_MAX_REASON] = '\0';
  char detail[ADMIN_DETAIL_MAX];
  admin_detail(&op, "tokens_revoked=18446744073709551615", detail, sizeof detail);
  CHECK(strlen(detail) < ADMIN_DETAIL_MAX);
  CHECK(strstr(detail, op.reason) != NULL); /* the whole reason is kept */
  CHECK(strncmp(detail, "partner_revoke tokens_revoked=", 30) == 0);
  admin_op key = {.kind = ADMIN_OP_KEY_ADD, .key_id = 9};
  memset(key.public_key, 0xab, 32);
  admin_detail(&key, NULL, detail, sizeof detail);
  CHECK_EQ_STR(detail, "key_add key_id=9");
  CHECK(strstr(detail, "abab") == NULL); /* never key material */
}

static registry *sample_registry(void) {
  registry *reg = registry_new();
  uint8_t pk[32];
  memset(pk, 1, 32);
  registry_put_partner(reg, "gojek", false, 0, 0);
  registry_put_partner_key(reg, "gojek", 1, pk, false);
  registry_put_partner(reg, "grab", false, 50, 10);
  registry_put_system_key(reg, 1, pk, REGISTRY_SYSTEM_KEY_ACTIVE, 0);
  registry_set_version(reg, 40);
  return reg;
}

/* Packs what the revocation service would publish, decodes it as a
 * service would, and applies it. */
static int round_trip(registry *reg, const admin_op *op, const admin_rotation *rotation,
                      partner_events_change *change) {
  uint8_t buf[512];
  size_t len = admin_partner_event(op, rotation, 41, 1700000000000ull, buf, sizeof buf);
  CHECK(len > 0);
  Lindung__V1__PartnerEvent *event = lindung__v1__partner_event__unpack(NULL, len, buf);
  CHECK(event != NULL);
  if (!event) return -100;
  const char *reason = NULL;
  int rc = partner_events_validate(event, change, &reason);
  lindung__v1__partner_event__free_unpacked(event, NULL);
  CHECK_EQ_INT(rc, 0);
  CHECK_EQ_INT(change->registry_version, 41);
  return partner_events_apply(reg, change);
}

static void test_events_apply(void) {
  registry *reg = sample_registry();
  partner_events_change c;
  admin_op op = {.kind = ADMIN_OP_PARTNER_REVOKE};
  strcpy(op.partner_id, "gojek");
  strcpy(op.reason, "leak");
  CHECK_EQ_INT(round_trip(reg, &op, NULL, &c), 0);
  CHECK(registry_find_partner(reg, "gojek")->revoked);
  CHECK(!registry_find_partner(reg, "grab")->revoked);
  CHECK_EQ_INT(registry_version(reg), 40); /* the poll still reloads */

  op.kind = ADMIN_OP_PARTNER_REINSTATE;
  CHECK_EQ_INT(round_trip(reg, &op, NULL, &c), 0);
  CHECK(!registry_find_partner(reg, "gojek")->revoked);

  op = (admin_op){.kind = ADMIN_OP_KEY_ADD, .key_id = 2};
  strcpy(op.partner_id, "gojek");
  memset(op.public_key, 2, 32);
  CHECK_EQ_INT(round_trip(reg, &op, NULL, &c), 0);
  const registry_key *k2 = registry_find_partner_key(registry_find_partner(reg, "gojek"), 2);
  CHECK(k2 && !k2->revoked && k2->public_key[0] == 2);

  op = (admin_op){.kind = ADMIN_OP_KEY_REVOKE, .key_id = 1};
  strcpy(op.partner_id, "gojek");
  CHECK_EQ_INT(round_trip(reg, &op, NULL, &c), 0);
  const registry_partner *g = registry_find_partner(reg, "gojek");
  CHECK(registry_find_partner_key(g, 1)->revoked);
  CHECK(!registry_find_partner_key(g, 2)->revoked);
  CHECK_EQ_INT(registry_find_partner_key(g, 1)->public_key[0], 1);

  op = (admin_op){.kind = ADMIN_OP_PARTNER_QUOTA, .rate = 7, .burst = 3};
  strcpy(op.partner_id, "grab");
  CHECK_EQ_INT(round_trip(reg, &op, NULL, &c), 0);
  CHECK_EQ_INT(registry_find_partner(reg, "grab")->rate_per_s, 7);
  CHECK_EQ_INT(registry_find_partner(reg, "grab")->burst, 3);

  op = (admin_op){.kind = ADMIN_OP_PARTNER_ADD, .key_id = 5};
  strcpy(op.partner_id, "new-one");
  memset(op.public_key, 5, 32);
  CHECK_EQ_INT(round_trip(reg, &op, NULL, &c), 0);
  CHECK(registry_find_partner(reg, "new-one") != NULL);
  CHECK(!registry_find_partner(reg, "new-one")->revoked);

  /* Unknown partner or key in the snapshot: the caller reloads. */
  op = (admin_op){.kind = ADMIN_OP_PARTNER_REVOKE};
  strcpy(op.partner_id, "not-loaded");
  CHECK_EQ_INT(round_trip(reg, &op, NULL, &c), 1);
  CHECK(registry_find_partner(reg, "not-loaded") == NULL);
  op = (admin_op){.kind = ADMIN_OP_KEY_REVOKE, .key_id = 99};
  strcpy(op.partner_id, "gojek");
  CHECK_EQ_INT(round_trip(reg, &op, NULL, &c), 1);

  /* A rotation makes the new key active at once and retires the others
   * at the end of the grace period. */
  admin_rotation rot = {.key_id = 2, .retire_after_ms = 1700000060000ull};
  memset(rot.public_key, 9, 32);
  op = (admin_op){.kind = ADMIN_OP_SYSTEM_KEY_ROTATE, .grace_s = 60};
  CHECK_EQ_INT(round_trip(reg, &op, &rot, &c), 0);
  const registry_system_key *sk = registry_find_system_key(reg, 2);
  CHECK(sk && sk->status == REGISTRY_SYSTEM_KEY_ACTIVE && sk->public_key[0] == 9);
  const registry_system_key *old = registry_find_system_key(reg, 1);
  CHECK(old && old->status == REGISTRY_SYSTEM_KEY_RETIRING);
  CHECK(registry_system_key_usable(old, 1700000059999ull));
  CHECK(!registry_system_key_usable(old, 1700000060000ull));
  registry_free(reg);
}

static void test_events_refused(void) {
  partner_events_change c;
  const char *reason;
  Lindung__V1__PartnerEvent e = LINDUNG__V1__PARTNER_EVENT__INIT;
  e.version = 2;
  e.kind = LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_REVOKED;
  e.partner_id = "gojek";
  CHECK_EQ_INT(partner_events_validate(&e, &c, &reason), -EINVAL);
  CHECK_EQ_STR(reason, "bad_version");
  e.version = 1;
  CHECK_EQ_INT(partner_events_validate(&e, &c, &reason), 0);
  e.partner_id = "Gojek!";
  CHECK_EQ_INT(partner_events_validate(&e, &c, &reason), -EINVAL);
  CHECK_EQ_STR(reason, "bad_partner_id");
  e.partner_id = "gojek";
  e.kind = 99;
  CHECK_EQ_INT(partner_events_validate(&e, &c, &reason), -EINVAL);
  CHECK_EQ_STR(reason, "unknown_kind");
  e.kind = LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_KEY_ADDED;
  e.key_id = 3; /* no public key */
  CHECK_EQ_INT(partner_events_validate(&e, &c, &reason), -EINVAL);
  uint8_t shortkey[31] = {0};
  e.public_key.data = shortkey;
  e.public_key.len = sizeof shortkey;
  CHECK_EQ_INT(partner_events_validate(&e, &c, &reason), -EINVAL);
  CHECK_EQ_STR(reason, "bad_public_key");
  e.kind = LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_SYSTEM_KEY_ROTATED;
  e.public_key.len = 0;
  e.system_key_id = 4;
  CHECK_EQ_INT(partner_events_validate(&e, &c, &reason), -EINVAL);
  CHECK_EQ_STR(reason, "bad_system_key");
  /* apply refuses what validate would have refused */
  registry *reg = sample_registry();
  partner_events_change bad = {.kind = LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_REVOKED};
  strcpy(bad.partner_id, "X");
  CHECK_EQ_INT(partner_events_apply(reg, &bad), -EINVAL);
  registry_free(reg);
}

/* docs/admin-api.yaml and the server's route table hold the same routes,
 * and the router answers each of them (not 404) and nothing else on it
 * (another method: 405). The document's layout is fixed: a path at two
 * spaces of indent, its methods at four. */
static void test_openapi_matches_routes(void) {
  const char *src = getenv("LINDUNG_SOURCE_DIR");
  CHECK(src != NULL);
  if (!src) return;
  char path[4096];
  snprintf(path, sizeof path, "%s/docs/admin-api.yaml", src);
  FILE *f = fopen(path, "r");
  CHECK(f != NULL);
  if (!f) return;
  char line[512], current[256] = "";
  bool seen[16] = {false};
  size_t documented = 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    size_t len = strlen(line);
    if (!strncmp(line, "  /", 3) && line[len - 1] == ':') {
      snprintf(current, sizeof current, "%.*s", (int)(len - 3), line + 2);
    } else if (current[0] && !strncmp(line, "    ", 4) && line[4] != ' ' && line[len - 1] == ':') {
      char method[16];
      snprintf(method, sizeof method, "%.*s", (int)(len - 5), line + 4);
      if (strcmp(method, "get") && strcmp(method, "post") && strcmp(method, "put") &&
          strcmp(method, "delete") && strcmp(method, "patch"))
        continue;
      for (char *c = method; *c; c++) *c = (char)(*c - 'a' + 'A');
      documented++;
      bool found = false;
      for (size_t i = 0; i < admin_route_count; i++)
        if (!strcmp(admin_routes[i].method, method) && !strcmp(admin_routes[i].path, current)) {
          found = seen[i] = true;
        }
      if (!found) fprintf(stderr, "documented, not served: %s %s\n", method, current);
      CHECK(found);
    } else if (line[0] != ' ') {
      current[0] = '\0'; /* left paths: */
    }
  }
  fclose(f);
  CHECK_EQ_INT(documented, admin_route_count);
  for (size_t i = 0; i < admin_route_count; i++) {
    if (!seen[i]) fprintf(stderr, "served, not documented: %s %s\n", admin_routes[i].method,
                          admin_routes[i].path);
    CHECK(seen[i]);
    /* The router answers the route with its parameters filled in. */
    char concrete[256] = "";
    const char *t = admin_routes[i].path;
    while (*t) {
      if (*t == '{') {
        strcat(concrete, !strncmp(t, "{key_id}", 8) ? "7" : "gojek");
        t = strchr(t, '}') + 1;
      } else {
        strncat(concrete, t++, 1);
      }
    }
    admin_op op;
    admin_error error = {0};
    admin_parse(admin_routes[i].method, concrete, "", 0, &op, &error);
    CHECK(error.status != 404 && error.status != 405);
    CHECK_EQ_INT(op.kind, admin_routes[i].kind);
    memset(&error, 0, sizeof error);
    CHECK_EQ_INT(admin_parse("DELETE", concrete, "", 0, &op, &error), -1);
    CHECK_EQ_INT(error.status, 405);
  }
}

/* ---- admin_http_reader: found by tests/fuzz/admin_http ---- */

/* One read: len bytes of data, or all of it up to its NUL when len is 0. */
typedef struct http_piece {
  const char *data;
  size_t len;
} http_piece;

/* Feeds the reads in order; returns the refusal status (0 when none). */
static int http_read(admin_http_request *req, bool *complete, const http_piece *pieces) {
  admin_http_reader reader;
  memset(req, 0, sizeof *req);
  admin_http_reader_init(&reader, req, 4096);
  int refused = 0;
  for (size_t i = 0; pieces[i].data && !refused; i++)
    refused = admin_http_reader_feed(&reader, pieces[i].data,
                                     pieces[i].len ? pieces[i].len : strlen(pieces[i].data));
  *complete = reader.complete;
  return refused;
}

static void test_http_header_names_split_across_reads(void) {
  admin_http_request req;
  bool complete;
  /* A name split by TCP is still the name (the credential was lost). */
  const http_piece split_auth[] = {{"POST /v1/partners/gojek/revoke HTTP/1.1\r\nAuthoriz", 0},
                                   {"ation: Bearer tok\r\nContent-Length: 2\r\n\r\n{}", 0},
                                   {NULL, 0}};
  CHECK_EQ_INT(http_read(&req, &complete, split_auth), 0);
  CHECK(complete);
  CHECK_EQ_STR(req.authorization, "Bearer tok");
  free(req.body);
  /* ...and the tail of another name is not Authorization. */
  const http_piece tail[] = {{"POST /v1/partners/gojek/revoke HTTP/1.1\r\nX-Forwarded-", 0},
                             {"Authorization: Bearer t\r\nContent-Length: 0\r\n\r\n", 0},
                             {NULL, 0}};
  CHECK_EQ_INT(http_read(&req, &complete, tail), 0);
  CHECK(complete);
  CHECK_EQ_STR(req.authorization, "");
  free(req.body);
}

static void test_http_ambiguous_headers_refused(void) {
  admin_http_request req;
  bool complete;
  const http_piece twice[] = {{"POST /v1/partners/gojek/revoke HTTP/1.1\r\nAuthorization: Bearer a"
                               "\r\nAuthorization: b\r\nContent-Length: 0\r\n\r\n",
                               0},
                              {NULL, 0}};
  CHECK_EQ_INT(http_read(&req, &complete, twice), 400);
  CHECK(!complete);
  free(req.body);
  /* A NUL inside a kept value would cut it short, differently per split. */
  static const char with_nul[] = "Authorization: Bearer a\0b";
  const http_piece nul[] = {{"POST /v1/partners/gojek/revoke HTTP/1.1\r\n", 0},
                            {with_nul, sizeof with_nul - 1},
                            {"ops\r\n\r\n", 0},
                            {NULL, 0}};
  CHECK_EQ_INT(http_read(&req, &complete, nul), 400);
  free(req.body);
}

static void test_http_long_value_split_stays_invalid(void) {
  admin_http_request req;
  bool complete;
  char long_token[200];
  memset(long_token, 'a', sizeof long_token - 1);
  long_token[sizeof long_token - 1] = '\0';
  const http_piece pieces[] = {{"POST /v1/partners/gojek/revoke HTTP/1.1\r\nAuthorization: Bearer ", 0},
                               {long_token, 0},
                               {"ops\r\nContent-Length: 0\r\n\r\n", 0},
                               {NULL, 0}};
  CHECK_EQ_INT(http_read(&req, &complete, pieces), 0);
  CHECK(complete);
  /* Too long to be a token: a marker no operator's token hash matches. */
  CHECK_EQ_STR(req.authorization, "\x01");
  free(req.body);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  RUN(test_json_accepts_flat_objects);
  RUN(test_json_refuses_everything_else);
  RUN(test_operators);
  RUN(test_loopback);
  RUN(test_parse_routes);
  RUN(test_parse_errors);
  RUN(test_db_results);
  RUN(test_detail_fits_audit_limit);
  RUN(test_events_apply);
  RUN(test_events_refused);
  RUN(test_openapi_matches_routes);
  RUN(test_http_header_names_split_across_reads);
  RUN(test_http_ambiguous_headers_refused);
  RUN(test_http_long_value_split_stays_invalid);
  return testing_summary();
}
