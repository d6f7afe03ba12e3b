/* Unit tests of the ingest edge: every bad input the ingest stage decides
 * (ingest_decide) and the per-partner token bucket (quota_take). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_rules.h"
#include "quota.h"
#include "hex.h"
#include "lindung/v1/internal.pb-c.h"
#include "lindung/v1/partner.pb-c.h"
#include "messages.h"
#include "proto_limits.h"
#include "registry.h"
#include "support.h"
#include "testing.h"


static const uint64_t now = 1700000000000ull;
static uint64_t decided_at = 1700000000000ull; /* the time of the last decide_request */
static ingest_result result;                   /* large: kept off the stack */

static registry *test_registry(void) {
  uint8_t partner_pk[32], system_pk[32], other_pk[32];
  CHECK(hex_decode(VECTOR_PARTNER_PK_HEX, partner_pk, 32) == 0);
  CHECK(hex_decode(VECTOR_SYSTEM_PK_HEX, system_pk, 32) == 0);
  memset(other_pk, 0x42, 32);
  registry *reg = registry_new();
  CHECK(registry_put_partner(reg, "gojek", false, 0, 0) == 0);
  CHECK(registry_put_partner_key(reg, "gojek", 7, partner_pk, false) == 0);
  CHECK(registry_put_partner_key(reg, "gojek", 8, other_pk, true) == 0);
  CHECK(registry_put_partner(reg, "grab", true, 0, 0) == 0);
  CHECK(registry_put_partner_key(reg, "grab", 1, other_pk, false) == 0);
  CHECK(registry_put_partner(reg, "dana", false, 2, 3) == 0);
  CHECK(registry_put_partner_key(reg, "dana", 1, other_pk, false) == 0);
  CHECK(registry_put_system_key(reg, 1, system_pk, REGISTRY_SYSTEM_KEY_ACTIVE, 0) == 0);
  CHECK(registry_put_system_key(reg, 2, other_pk, REGISTRY_SYSTEM_KEY_REVOKED, 0) == 0);
  CHECK(registry_put_system_key(reg, 3, other_pk, REGISTRY_SYSTEM_KEY_RETIRING, now) == 0);
  CHECK(registry_put_system_key(reg, 4, other_pk, REGISTRY_SYSTEM_KEY_RETIRING, now + 1) == 0);
  return reg;
}

/* A request's fields; the defaults make a request ingest forwards. */
typedef struct test_request {
  uint32_t version;
  const char *partner_id;
  uint32_t partner_key_id, system_key_id;
  uint8_t request_id[32];
  size_t request_id_len;
  uint64_t sent_at_ms;
  size_t nonce_len, ciphertext_len;
  /* The Kafka key; defaults to the request id. */
  const uint8_t *key;
  size_t key_len;
  /* The topic it arrives on; defaults to the partner's own. */
  const char *topic;
} test_request;

/* The topic of the input being decided (the place dead letters are named by). */
static char input_topic[96];

static test_request default_request(void) {
  test_request r = {.version = 1,
                    .partner_id = "gojek",
                    .partner_key_id = 7,
                    .system_key_id = 1,
                    .request_id_len = 16,
                    .sent_at_ms = now,
                    .nonce_len = 24,
                    .ciphertext_len = 60};
  for (size_t i = 0; i < sizeof(r.request_id); i++) r.request_id[i] = (uint8_t)(0xa0 + i);
  return r;
}

static uint8_t packed[8192];
static uint8_t nonce_bytes[64];
static uint8_t ciphertext_bytes[2048];

static size_t pack_request(const test_request *r) {
  Lindung__V1__ScanRequest m = LINDUNG__V1__SCAN_REQUEST__INIT;
  m.version = r->version;
  m.partner_id = (char *)r->partner_id;
  m.partner_key_id = r->partner_key_id;
  m.system_key_id = r->system_key_id;
  m.request_id.data = (uint8_t *)r->request_id;
  m.request_id.len = r->request_id_len;
  m.sent_at_ms = r->sent_at_ms;
  memset(nonce_bytes, 0x11, sizeof(nonce_bytes));
  memset(ciphertext_bytes, 0x22, sizeof(ciphertext_bytes));
  m.nonce.data = nonce_bytes;
  m.nonce.len = r->nonce_len;
  m.ciphertext.data = ciphertext_bytes;
  m.ciphertext.len = r->ciphertext_len;
  return lindung__v1__scan_request__pack(&m, packed);
}

static kq_input input_of(const void *key, size_t key_len, const void *value, size_t value_len) {
  kq_input in = {.topic = input_topic,
                 .partition = 2,
                 .offset = 4711,
                 .key = key,
                 .key_len = key_len,
                 .value = value,
                 .value_len = value_len,
                 .timestamp_ms = -1};
  return in;
}

static int decide_request(const registry *reg, quota_table *quotas, const test_request *r,
                          uint64_t at) {
  decided_at = at;
  if (r->topic)
    snprintf(input_topic, sizeof input_topic, "%s", r->topic);
  else
    snprintf(input_topic, sizeof input_topic, "scan.requests.%s", r->partner_id);
  size_t len = pack_request(r);
  kq_input in = r->key ? input_of(r->key, r->key_len, packed, len)
                       : input_of(r->request_id, r->request_id_len, packed, len);
  return ingest_decide(reg, quotas, at, &in, &result);
}

static void test_quota_time_is_the_send_time_within_the_skew(void) {
  kq_input in = {.timestamp_ms = -1};
  const uint64_t clock_ms = 1700000000000ull;
  CHECK_EQ_INT(ingest_quota_time(&in, clock_ms), clock_ms); /* no timestamp: the clock */
  in.timestamp_ms = (int64_t)clock_ms - 700;
  CHECK_EQ_INT(ingest_quota_time(&in, clock_ms), clock_ms - 700); /* a backlog: when it was sent */
  in.timestamp_ms = (int64_t)clock_ms - 60000;
  CHECK_EQ_INT(ingest_quota_time(&in, clock_ms),
               clock_ms - INGEST_QUOTA_SKEW_MS); /* old: no refills bought */
  in.timestamp_ms = (int64_t)clock_ms + 60000;
  CHECK_EQ_INT(ingest_quota_time(&in, clock_ms), clock_ms); /* future: not spent ahead */
}

static Lindung__V1__AuditEvent *audit_of(void) {
  return lindung__v1__audit_event__unpack(NULL, result.audit_len, result.audit);
}

/* The request is answered on the partner's topic with this error code. */
static void check_rejected(Lindung__V1__ErrorCode error, const test_request *r) {
  CHECK_EQ_INT(result.outcome, INGEST_REJECTED);
  CHECK_EQ_INT(result.error, error);
  CHECK_EQ_STR(result.metric_label, messages_error_name(error));
  char topic[64];
  snprintf(topic, sizeof(topic), "scan.results.%s", r->partner_id);
  CHECK_EQ_STR(result.topic, topic);
  Lindung__V1__ScanResponse *response =
      lindung__v1__scan_response__unpack(NULL, result.value_len, result.value);
  CHECK(response != NULL);
  if (response) {
    CHECK_EQ_INT(response->version, 1);
    CHECK_EQ_STR(response->partner_id, r->partner_id);
    CHECK_EQ_INT(response->partner_key_id, r->partner_key_id);
    CHECK_EQ_INT(response->system_key_id, r->system_key_id);
    CHECK_EQ_INT(response->error, error);
    CHECK_EQ_INT(response->created_at_ms, decided_at);
    CHECK_EQ_INT(response->nonce.len, 0);
    CHECK_EQ_INT(response->ciphertext.len, 0);
    size_t echoed = r->request_id_len <= 16 ? r->request_id_len : 0;
    CHECK_EQ_INT(response->request_id.len, echoed);
    if (echoed) CHECK_MEM(response->request_id.data, r->request_id, echoed);
    CHECK_EQ_INT(result.key_len, echoed);
    lindung__v1__scan_response__free_unpacked(response, NULL);
  }
  Lindung__V1__AuditEvent *audit = audit_of();
  CHECK(audit != NULL);
  if (audit) {
    CHECK_EQ_INT(audit->stage, LINDUNG__V1__AUDIT_STAGE__AUDIT_STAGE_INGEST);
    CHECK_EQ_INT(audit->outcome, LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_REJECTED);
    CHECK_EQ_INT(audit->error, error);
    CHECK_EQ_STR(audit->partner_id, r->partner_id);
    CHECK_EQ_STR(audit->service, "ingest");
    CHECK_EQ_INT(audit->received_at_ms, decided_at);
    CHECK_EQ_INT(audit->handled_at_ms, decided_at);
    CHECK_EQ_INT(audit->request_id.len, 16);
    CHECK_EQ_INT(result.audit_key_len, 16);
    CHECK_MEM(audit->request_id.data, result.audit_key, 16);
    lindung__v1__audit_event__free_unpacked(audit, NULL);
  }
}

static void check_dead_lettered(const char *reason) {
  CHECK_EQ_INT(result.outcome, INGEST_DEAD_LETTERED);
  if (reason) CHECK_EQ_STR(result.reason, reason);
  CHECK_EQ_STR(result.metric_label, "deadletter");
  CHECK_EQ_INT(result.value_len, 0);
  uint8_t source_id[16];
  messages_input_id(
      &(kq_input){.topic = input_topic, .partition = 2, .offset = 4711, .timestamp_ms = -1},
      source_id);
  CHECK_EQ_INT(result.audit_key_len, 16);
  CHECK_MEM(result.audit_key, source_id, 16);
  Lindung__V1__AuditEvent *audit = audit_of();
  CHECK(audit != NULL);
  if (audit) {
    CHECK_EQ_INT(audit->outcome, LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_DEADLETTERED);
    CHECK_EQ_INT(audit->stage, LINDUNG__V1__AUDIT_STAGE__AUDIT_STAGE_INGEST);
    CHECK_EQ_STR(audit->detail, result.reason);
    CHECK_MEM(audit->request_id.data, source_id, 16);
    lindung__v1__audit_event__free_unpacked(audit, NULL);
  }
}

static void check_forwarded(const test_request *r) {
  CHECK_EQ_INT(result.outcome, INGEST_FORWARDED);
  CHECK_EQ_STR(result.topic, "scan.accepted");
  CHECK_EQ_STR(result.metric_label, "forwarded");
  CHECK_EQ_INT(result.key_len, 16);
  CHECK_MEM(result.key, r->request_id, 16);
}

static void test_valid_request_is_forwarded(void) {
  registry *reg = test_registry();
  test_request r = default_request();
  CHECK_EQ_INT(decide_request(reg, NULL, &r, now), 0);
  check_forwarded(&r);
  Lindung__V1__AcceptedRequest *accepted =
      lindung__v1__accepted_request__unpack(NULL, result.value_len, result.value);
  CHECK(accepted != NULL && accepted->request != NULL);
  if (accepted && accepted->request) {
    CHECK_EQ_INT(accepted->received_at_ms, now);
    CHECK_EQ_INT(accepted->source_partition, 2);
    CHECK_EQ_INT(accepted->source_offset, 4711);
    /* The request travels unchanged. */
    uint8_t repacked[4096];
    size_t n = lindung__v1__scan_request__pack(accepted->request, repacked);
    size_t original = pack_request(&r);
    CHECK_EQ_INT(n, original);
    CHECK_MEM(repacked, packed, original);
  }
  if (accepted) lindung__v1__accepted_request__free_unpacked(accepted, NULL);
  Lindung__V1__AuditEvent *audit = audit_of();
  CHECK(audit != NULL);
  if (audit) {
    CHECK_EQ_INT(audit->outcome, LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_FORWARDED);
    CHECK_EQ_INT(audit->error, 0);
    CHECK_EQ_STR(audit->partner_id, "gojek");
    CHECK_EQ_INT(audit->sent_at_ms, now);
    CHECK_MEM(audit->request_id.data, r.request_id, 16);
    lindung__v1__audit_event__free_unpacked(audit, NULL);
  }
  registry_free(reg);
}

static void test_published_vector_is_forwarded(void) {
  registry *reg = test_registry();
  uint8_t value[256], request_id[16];
  size_t len = (sizeof(VECTOR_SCAN_REQUEST_HEX) - 1) / 2;
  CHECK(hex_decode(VECTOR_SCAN_REQUEST_HEX, value, len) == 0);
  CHECK(hex_decode("000102030405060708090a0b0c0d0e0f", request_id, 16) == 0);
  kq_input in = input_of(request_id, 16, value, len);
  CHECK_EQ_INT(ingest_decide(reg, NULL, VECTOR_SENT_AT + 1000, &in, &result), 0);
  CHECK_EQ_INT(result.outcome, INGEST_FORWARDED);
  registry_free(reg);
}

static void test_unparseable_values_are_dead_lettered(void) {
  registry *reg = test_registry();
  kq_input in = input_of(NULL, 0, "", 0);
  CHECK_EQ_INT(ingest_decide(reg, NULL, now, &in, &result), 0);
  check_dead_lettered("empty");

  static uint8_t big[PROTO_MAX_MESSAGE_BYTES + 1];
  in = input_of(NULL, 0, big, sizeof(big));
  CHECK_EQ_INT(ingest_decide(reg, NULL, now, &in, &result), 0);
  check_dead_lettered("too_large");

  /* A truncated varint can never be protobuf. */
  uint8_t garbage[40];
  memset(garbage, 0xff, sizeof(garbage));
  in = input_of(NULL, 0, garbage, sizeof(garbage));
  CHECK_EQ_INT(ingest_decide(reg, NULL, now, &in, &result), 0);
  check_dead_lettered("not_protobuf");

  /* Random bytes, many times: whatever they parse as, never attributable. */
  for (int i = 0; i < 2000; i++) {
    uint8_t noise[64];
    size_t n = 1 + randombytes_uniform(sizeof(noise));
    randombytes_buf(noise, n);
    in = input_of(noise, 16, noise, n);
    CHECK_EQ_INT(ingest_decide(reg, NULL, now, &in, &result), 0);
    if (result.outcome != INGEST_DEAD_LETTERED) {
      CHECK_EQ_INT(result.outcome, INGEST_DEAD_LETTERED);
      break;
    }
  }
  registry_free(reg);
}

static void test_protobuf_of_another_type_is_dead_lettered(void) {
  registry *reg = test_registry();
  uint8_t request_id[16] = {1, 2, 3};
  Lindung__V1__AuditEvent event = LINDUNG__V1__AUDIT_EVENT__INIT;
  event.stage = LINDUNG__V1__AUDIT_STAGE__AUDIT_STAGE_RESOLVE;
  event.request_id.data = request_id;
  event.request_id.len = 16;
  event.partner_id = "gojek";
  event.outcome = LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_ANSWERED;
  event.service = "status-resolver";
  uint8_t value[512];
  size_t len = messages_audit_event(&event, value, sizeof(value));
  CHECK(len > 0);
  kq_input in = input_of(request_id, 16, value, len);
  CHECK_EQ_INT(ingest_decide(reg, NULL, now, &in, &result), 0);
  check_dead_lettered(NULL);

  /* A DeadLetter record (strings where ScanRequest has numbers). */
  len = messages_dead_letter("ingest", "empty", "scan.requests", 0, 1, NULL, 0, "x", 1, now, value,
                             sizeof(value));
  in = input_of(NULL, 0, value, len);
  CHECK_EQ_INT(ingest_decide(reg, NULL, now, &in, &result), 0);
  check_dead_lettered(NULL);
  registry_free(reg);
}

static void test_unknown_or_bad_partner_is_dead_lettered(void) {
  registry *reg = test_registry();
  test_request r = default_request();
  r.partner_id = "tokopedia";
  CHECK_EQ_INT(decide_request(reg, NULL, &r, now), 0);
  check_dead_lettered("unknown_partner");

  /* One flipped bit in the partner id: "gojek" -> "gojeo" is unknown. */
  r.partner_id = "gojeo";
  CHECK_EQ_INT(decide_request(reg, NULL, &r, now), 0);
  check_dead_lettered("unknown_partner");

  /* On gojek's own topic, any other partner_id is gojek speaking for someone else. */
  const char *bad_ids[] = {"",       "g",      "Gojek",
                           "go jek", "gojek!", "a-partner-id-that-is-far-too-long-for-lindung"};
  r.topic = "scan.requests.gojek";
  for (size_t i = 0; i < sizeof(bad_ids) / sizeof(*bad_ids); i++) {
    r.partner_id = bad_ids[i];
    CHECK_EQ_INT(decide_request(reg, NULL, &r, now), 0);
    check_dead_lettered("partner_mismatch");
  }
  /* A topic that is no partner's request topic names no one. */
  const char *bad_topics[] = {"scan.requests", "scan.requests.", "scan.requests.Gojek",
                              "scan.accepted"};
  r.partner_id = "gojek";
  for (size_t i = 0; i < sizeof(bad_topics) / sizeof(*bad_topics); i++) {
    r.topic = bad_topics[i];
    CHECK_EQ_INT(decide_request(reg, NULL, &r, now), 0);
    check_dead_lettered("not_a_request_topic");
    Lindung__V1__AuditEvent *audit = audit_of();
    CHECK(audit && !*audit->partner_id);
    if (audit) lindung__v1__audit_event__free_unpacked(audit, NULL);
  }
  registry_free(reg);
}

/* Grab writes, on its own topic, requests that name dana: dead letters
 * recorded against grab, never an answer on dana's topic, never a charge
 * on dana's quota. */
static void test_request_naming_another_partner_is_dead_lettered(void) {
  registry *reg = test_registry();
  quota_table *quotas = quota_table_new();
  test_request r = default_request();
  r.partner_id = "dana"; /* 2 per second, burst 3 */
  r.partner_key_id = 1;
  r.topic = "scan.requests.grab";
  for (int i = 0; i < 10; i++) {
    CHECK_EQ_INT(decide_request(reg, quotas, &r, now), 0);
    check_dead_lettered("partner_mismatch");
    CHECK_EQ_STR(result.topic, "");
    Lindung__V1__AuditEvent *audit = audit_of();
    CHECK(audit != NULL);
    if (audit) {
      CHECK_EQ_STR(audit->partner_id, "grab");
      lindung__v1__audit_event__free_unpacked(audit, NULL);
    }
  }
  /* Dana's own burst is untouched. */
  r.topic = NULL;
  for (int i = 0; i < 3; i++) {
    decide_request(reg, quotas, &r, now);
    check_forwarded(&r);
  }
  char owner[33];
  CHECK_EQ_INT(ingest_topic_owner("scan.requests.livin-mandiri", owner), 0);
  CHECK_EQ_STR(owner, "livin-mandiri");
  CHECK_EQ_INT(ingest_topic_owner("scan.requestsx.gojek", owner), -1);
  quota_table_free(quotas);
  registry_free(reg);
}

static void test_malformed_headers(void) {
  registry *reg = test_registry();
  test_request r;

  r = default_request();
  r.version = 2;
  decide_request(reg, NULL, &r, now);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);

  r = default_request();
  r.version = 0;
  decide_request(reg, NULL, &r, now);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);

  /* A 15-byte request id: echoed as sent; the audit uses the source place. */
  r = default_request();
  r.request_id_len = 15;
  decide_request(reg, NULL, &r, now);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);
  uint8_t source_id[16];
  messages_input_id(
      &(kq_input){.topic = input_topic, .partition = 2, .offset = 4711, .timestamp_ms = -1},
      source_id);
  CHECK_MEM(result.audit_key, source_id, 16);

  /* A 17-byte one is not echoed. */
  r = default_request();
  r.request_id_len = 17;
  decide_request(reg, NULL, &r, now);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);
  CHECK_EQ_INT(result.key_len, 0);

  r = default_request();
  r.request_id_len = 0;
  decide_request(reg, NULL, &r, now);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);

  size_t nonce_lens[] = {0, 23, 25};
  for (size_t i = 0; i < 3; i++) {
    r = default_request();
    r.nonce_len = nonce_lens[i];
    decide_request(reg, NULL, &r, now);
    check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);
  }

  size_t ciphertext_lens[] = {0, 1, 15, 1025, 2000};
  for (size_t i = 0; i < 5; i++) {
    r = default_request();
    r.ciphertext_len = ciphertext_lens[i];
    decide_request(reg, NULL, &r, now);
    check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);
  }
  /* The bounds themselves are fine. */
  r = default_request();
  r.ciphertext_len = 16;
  decide_request(reg, NULL, &r, now);
  check_forwarded(&r);
  r.ciphertext_len = 1024;
  decide_request(reg, NULL, &r, now);
  check_forwarded(&r);
  registry_free(reg);
}

/* Found by tests/fuzz/scan_request: an unknown field (here an overlong
 * field-0 tag protobuf-c accepts) was forwarded and repacked into an
 * AcceptedRequest that decrypt could not decode. */
static void test_unknown_fields_are_malformed(void) {
  registry *reg = test_registry();
  test_request r = default_request();
  static const uint8_t extras[][3] = {{0x80, 0x00, 0x49}, {0xf8, 0x07, 0x01}};
  for (size_t i = 0; i < 2; i++) {
    size_t len = pack_request(&r);
    memcpy(packed + len, extras[i], 3);
    snprintf(input_topic, sizeof input_topic, "scan.requests.gojek");
    kq_input in = input_of(r.request_id, r.request_id_len, packed, len + 3);
    CHECK_EQ_INT(ingest_decide(reg, NULL, now, &in, &result), 0);
    CHECK_EQ_INT(result.outcome, INGEST_REJECTED);
    CHECK_EQ_INT(result.error, LINDUNG__V1__ERROR_CODE__MALFORMED);
  }
  registry_free(reg);
}

static void test_kafka_key_must_be_the_request_id(void) {
  registry *reg = test_registry();
  test_request r = default_request();
  uint8_t other_key[16];
  memcpy(other_key, r.request_id, 16);
  other_key[15] ^= 1;
  r.key = other_key;
  r.key_len = 16;
  decide_request(reg, NULL, &r, now);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);

  /* The id as a prefix of a longer key, and no key at all. */
  uint8_t longer[17];
  memcpy(longer, r.request_id, 16);
  longer[16] = 0;
  r.key = longer;
  r.key_len = 17;
  decide_request(reg, NULL, &r, now);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);
  size_t len = pack_request(&r);
  kq_input in = input_of(NULL, 0, packed, len);
  decided_at = now;
  ingest_decide(reg, NULL, now, &in, &result);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);
  registry_free(reg);
}

static void test_registry_rules(void) {
  registry *reg = test_registry();
  test_request r;

  r = default_request();
  r.partner_id = "grab";
  r.partner_key_id = 1;
  decide_request(reg, NULL, &r, now);
  check_rejected(LINDUNG__V1__ERROR_CODE__PARTNER_REVOKED, &r);

  /* Malformed comes first, even for a revoked partner. */
  r.version = 2;
  decide_request(reg, NULL, &r, now);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);

  uint32_t unknown_partner_keys[] = {0, 1, 99};
  for (size_t i = 0; i < 3; i++) {
    r = default_request();
    r.partner_key_id = unknown_partner_keys[i];
    decide_request(reg, NULL, &r, now);
    check_rejected(LINDUNG__V1__ERROR_CODE__UNKNOWN_KEY, &r);
  }
  uint32_t unknown_system_keys[] = {0, 5, 99};
  for (size_t i = 0; i < 3; i++) {
    r = default_request();
    r.system_key_id = unknown_system_keys[i];
    decide_request(reg, NULL, &r, now);
    check_rejected(LINDUNG__V1__ERROR_CODE__UNKNOWN_KEY, &r);
  }

  r = default_request();
  r.partner_key_id = 8; /* revoked */
  decide_request(reg, NULL, &r, now);
  check_rejected(LINDUNG__V1__ERROR_CODE__KEY_REVOKED, &r);

  r = default_request();
  r.system_key_id = 2; /* revoked */
  decide_request(reg, NULL, &r, now);
  check_rejected(LINDUNG__V1__ERROR_CODE__KEY_REVOKED, &r);

  r = default_request();
  r.system_key_id = 3; /* retiring, retire_after == now */
  decide_request(reg, NULL, &r, now);
  check_rejected(LINDUNG__V1__ERROR_CODE__KEY_REVOKED, &r);

  r = default_request();
  r.system_key_id = 4; /* retiring, retire_after == now + 1 */
  decide_request(reg, NULL, &r, now);
  check_forwarded(&r);
  registry_free(reg);
}

static void test_clock_window(void) {
  registry *reg = test_registry();
  test_request r = default_request();
  r.sent_at_ms = now - 301000;
  decide_request(reg, NULL, &r, now);
  check_rejected(LINDUNG__V1__ERROR_CODE__STALE_REQUEST, &r);
  r.sent_at_ms = now + 301000;
  decide_request(reg, NULL, &r, now);
  check_rejected(LINDUNG__V1__ERROR_CODE__STALE_REQUEST, &r);
  r.sent_at_ms = 0;
  decide_request(reg, NULL, &r, now);
  check_rejected(LINDUNG__V1__ERROR_CODE__STALE_REQUEST, &r);
  r.sent_at_ms = UINT64_MAX;
  decide_request(reg, NULL, &r, now);
  check_rejected(LINDUNG__V1__ERROR_CODE__STALE_REQUEST, &r);
  r.sent_at_ms = now - 300000;
  decide_request(reg, NULL, &r, now);
  check_forwarded(&r);
  r.sent_at_ms = now + 300000;
  decide_request(reg, NULL, &r, now);
  check_forwarded(&r);

  /* Key rules come before the clock. */
  r.sent_at_ms = now - 301000;
  r.partner_key_id = 99;
  decide_request(reg, NULL, &r, now);
  check_rejected(LINDUNG__V1__ERROR_CODE__UNKNOWN_KEY, &r);
  registry_free(reg);
}

static void test_partner_quota(void) {
  registry *reg = test_registry();
  quota_table *quotas = quota_table_new();
  test_request r = default_request();
  r.partner_id = "dana"; /* 2 per second, burst 3 */
  r.partner_key_id = 1;
  for (int i = 0; i < 3; i++) {
    decide_request(reg, quotas, &r, now);
    check_forwarded(&r);
  }
  decide_request(reg, quotas, &r, now);
  check_rejected(LINDUNG__V1__ERROR_CODE__RATE_LIMITED, &r);
  /* A rejected request (stale) does not use up the quota ... */
  r.sent_at_ms = now - 400000;
  decide_request(reg, quotas, &r, now + 500);
  check_rejected(LINDUNG__V1__ERROR_CODE__STALE_REQUEST, &r);
  r.sent_at_ms = now;
  /* ... so half a second later there is exactly one request again. */
  decide_request(reg, quotas, &r, now + 500);
  check_forwarded(&r);
  decide_request(reg, quotas, &r, now + 500);
  check_rejected(LINDUNG__V1__ERROR_CODE__RATE_LIMITED, &r);

  /* Another partner has its own bucket, and gojek has no quota at all. */
  test_request g = default_request();
  for (int i = 0; i < 1000; i++) {
    decide_request(reg, quotas, &g, now + 500);
    if (result.outcome != INGEST_FORWARDED) {
      check_forwarded(&g);
      break;
    }
  }
  quota_table_free(quotas);
  registry_free(reg);
}

static void test_quota_bucket(void) {
  quota_table *q = quota_table_new();
  CHECK(q != NULL);
  /* Rate 0: no quota, no bucket. */
  for (int i = 0; i < 100; i++) CHECK(quota_take(q, "free", 0, 0, 1000));
  CHECK_EQ_INT(quota_table_size(q), 0);

  /* Burst 5 at 10/s: 5 at once, then one per 100 ms. */
  int taken = 0;
  for (int i = 0; i < 20; i++) taken += quota_take(q, "p", 10, 5, 1000);
  CHECK_EQ_INT(taken, 5);
  CHECK(!quota_take(q, "p", 10, 5, 1099));
  CHECK(quota_take(q, "p", 10, 5, 1100));
  CHECK(!quota_take(q, "p", 10, 5, 1100));
  /* Refill never exceeds the burst. */
  taken = 0;
  for (int i = 0; i < 20; i++) taken += quota_take(q, "p", 10, 5, 1000000);
  CHECK_EQ_INT(taken, 5);
  /* A clock that steps back refills nothing. */
  CHECK(!quota_take(q, "p", 10, 5, 500));
  CHECK(!quota_take(q, "p", 10, 5, 1000000));

  /* Burst 0: one second's worth. */
  taken = 0;
  for (int i = 0; i < 20; i++) taken += quota_take(q, "b0", 3, 0, 0);
  CHECK_EQ_INT(taken, 3);

  /* A lowered burst caps what the bucket holds. */
  taken = 0;
  for (int i = 0; i < 100; i++) taken += quota_take(q, "c", 100, 50, 0);
  CHECK_EQ_INT(taken, 50);
  taken = 0;
  for (int i = 0; i < 20; i++) taken += quota_take(q, "c", 100, 2, 10000);
  CHECK_EQ_INT(taken, 2);

  /* Sustained: 1000/s over 10 s gives 10 000 plus the burst. */
  taken = 0;
  for (uint64_t t = 0; t < 10000; t++) {
    for (int i = 0; i < 3; i++) taken += quota_take(q, "s", 1000, 20, 50000 + t);
  }
  CHECK_EQ_INT(taken, 20 + 9999);

  /* Many partners: the table grows and keeps every bucket apart. */
  char id[16];
  for (int i = 0; i < 500; i++) {
    snprintf(id, sizeof(id), "p%d", i);
    CHECK(quota_take(q, id, 1, 1, 7));
  }
  int refused = 0;
  for (int i = 0; i < 500; i++) {
    snprintf(id, sizeof(id), "p%d", i);
    refused += !quota_take(q, id, 1, 1, 7);
  }
  CHECK_EQ_INT(refused, 500);
  quota_table_free(q);
}

static void test_no_registry_is_an_error(void) {
  test_request r = default_request();
  CHECK_EQ_INT(decide_request(NULL, NULL, &r, now), -1);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  RUN(test_valid_request_is_forwarded);
  RUN(test_published_vector_is_forwarded);
  RUN(test_unparseable_values_are_dead_lettered);
  RUN(test_protobuf_of_another_type_is_dead_lettered);
  RUN(test_unknown_or_bad_partner_is_dead_lettered);
  RUN(test_request_naming_another_partner_is_dead_lettered);
  RUN(test_malformed_headers);
  RUN(test_kafka_key_must_be_the_request_id);
  RUN(test_unknown_fields_are_malformed);
  RUN(test_registry_rules);
  RUN(test_clock_window);
  RUN(test_partner_quota);
  RUN(test_quota_bucket);
  RUN(test_quota_time_is_the_send_time_within_the_skew);
  RUN(test_no_registry_is_an_error);
  return testing_summary();
}
