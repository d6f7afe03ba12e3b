/* Unit tests of decrypt: every bad input the decrypt stage decides
 * (decrypt_process), the replay window and the system key store. Requests
 * are sealed here as a partner would, with the keys of
 * docs/vectors/envelope-v1.json. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decrypt_rules.h"
#include "replay_window.h"
#include "system_keys.h"
#include "envelope.h"
#include "hex.h"
#include "inner_seal.h"
#include "lindung/v1/internal.pb-c.h"
#include "lindung/v1/partner.pb-c.h"
#include "messages.h"
#include "registry.h"
#include "support.h"
#include "testing.h"
#include "token.h"


static const uint64_t now = 1700000000000ull;
static uint8_t partner_pk[32], partner_sk[32], system_pk[32], system_sk[32];
static decrypt_result result; /* large: kept off the stack */

typedef struct fixture {
  registry *registry;
  system_keys *keys;
  envelope_cache *sessions;
  replay_window *replays;
  inner_seal_keys *inner;
  decrypt_context context;
} fixture;

static const uint8_t inner_master[32] = {0x33, 0x01, 0x02};

static void fixture_open(fixture *f) {
  uint8_t other_pk[32], stray_sk[32];
  memset(other_pk, 0x42, 32);
  memset(stray_sk, 0x17, 32);
  f->registry = registry_new();
  CHECK(registry_put_partner(f->registry, "gojek", false, 0, 0) == 0);
  CHECK(registry_put_partner_key(f->registry, "gojek", 7, partner_pk, false) == 0);
  CHECK(registry_put_partner_key(f->registry, "gojek", 8, partner_pk, true) == 0);
  /* "gojej" is "gojek" with one bit flipped, registered with the same key. */
  CHECK(registry_put_partner(f->registry, "gojej", false, 0, 0) == 0);
  CHECK(registry_put_partner_key(f->registry, "gojej", 7, partner_pk, false) == 0);
  CHECK(registry_put_partner(f->registry, "grab", true, 0, 0) == 0);
  CHECK(registry_put_partner_key(f->registry, "grab", 7, partner_pk, false) == 0);
  CHECK(registry_put_system_key(f->registry, 1, system_pk, REGISTRY_SYSTEM_KEY_ACTIVE, 0) == 0);
  /* Registered, but this process holds no secret for it. */
  CHECK(registry_put_system_key(f->registry, 2, other_pk, REGISTRY_SYSTEM_KEY_ACTIVE, 0) == 0);
  /* Registered with a public key that the secret held for it does not match. */
  CHECK(registry_put_system_key(f->registry, 3, other_pk, REGISTRY_SYSTEM_KEY_ACTIVE, 0) == 0);
  CHECK(registry_put_system_key(f->registry, 4, system_pk, REGISTRY_SYSTEM_KEY_REVOKED, 0) == 0);
  f->keys = system_keys_new();
  CHECK(system_keys_add(f->keys, 1, system_sk) == 0);
  CHECK(system_keys_add(f->keys, 3, stray_sk) == 0);
  CHECK(system_keys_add(f->keys, 4, system_sk) == 0);
  f->sessions = envelope_cache_new(16);
  f->replays = replay_window_new(1000, REPLAY_DEFAULT_TTL_MS);
  f->inner = inner_seal_keys_new();
  CHECK(inner_seal_keys_add(f->inner, 5, inner_master) == 0);
  f->context = (decrypt_context){f->registry, f->keys, f->sessions, f->replays, f->inner};
}

static void fixture_close(fixture *f) {
  replay_window_free(f->replays);
  envelope_cache_free(f->sessions);
  system_keys_free(f->keys);
  inner_seal_keys_free(f->inner);
  registry_free(f->registry);
}

/* The resolver's side: opens the forwarded value with the inner key. */
static Lindung__V1__DecryptedRequest *unseal(const fixture *f) {
  uint8_t plain[MESSAGES_MAX_BYTES];
  size_t plain_len = 0;
  if (inner_open(f->inner, "scan.decrypted", result.value, result.value_len, plain, sizeof plain,
                 &plain_len) != INNER_OPEN_OK)
    return NULL;
  return lindung__v1__decrypted_request__unpack(NULL, plain_len, plain);
}

/* What the Kafka key was before it was keyed: BLAKE2b-256 of "nik:" || nik. */
static void unkeyed_nik_hash(const char *nik, uint8_t out[32]) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, NULL, 0, 32);
  crypto_generichash_update(&state, (const uint8_t *)"nik:", 4);
  crypto_generichash_update(&state, (const uint8_t *)nik, strlen(nik));
  crypto_generichash_final(&state, out, 32);
}

/* A request as a partner builds it; seal() fills nonce and ciphertext. */
typedef struct test_request {
  uint32_t version;
  const char *partner_id;
  uint32_t partner_key_id, system_key_id;
  uint8_t request_id[16];
  size_t request_id_len;
  uint64_t sent_at_ms;
  uint8_t nonce[32];
  size_t nonce_len;
  uint8_t ciphertext[1100];
  size_t ciphertext_len;
  /* Where ingest read it. */
  int32_t partition;
  int64_t offset;
} test_request;

static void seal_body(test_request *r, const uint8_t *body, size_t body_len) {
  envelope_session session;
  CHECK(envelope_partner_session(&session, partner_pk, partner_sk, system_pk) == 0);
  envelope_header header = {r->partner_id, r->partner_key_id, r->system_key_id, r->request_id,
                            r->sent_at_ms};
  uint8_t ad[ENVELOPE_MAX_AD_BYTES];
  size_t ad_len = envelope_associated_data(ENVELOPE_REQUEST, &header, ad);
  CHECK(ad_len > 0);
  CHECK(envelope_seal(session.tx, ad, ad_len, body, body_len, r->nonce, r->ciphertext) == 0);
  r->nonce_len = ENVELOPE_NONCE_BYTES;
  r->ciphertext_len = body_len + ENVELOPE_TAG_BYTES;
}

static size_t pack_scan_body(const char *token, const char *venue, Lindung__V1__Action action,
                             uint8_t *out) {
  Lindung__V1__Scan scan = LINDUNG__V1__SCAN__INIT;
  scan.token = (char *)token;
  scan.venue_id = (char *)venue;
  scan.scanned_at_ms = now - 1500;
  scan.action = action;
  Lindung__V1__RequestBody body = LINDUNG__V1__REQUEST_BODY__INIT;
  body.kind_case = LINDUNG__V1__REQUEST_BODY__KIND_SCAN;
  body.scan = &scan;
  return lindung__v1__request_body__pack(&body, out);
}

static size_t pack_link_body(const char *nik, uint8_t *out) {
  Lindung__V1__Link link = LINDUNG__V1__LINK__INIT;
  link.nik = (char *)nik;
  Lindung__V1__RequestBody body = LINDUNG__V1__REQUEST_BODY__INIT;
  body.kind_case = LINDUNG__V1__REQUEST_BODY__KIND_LINK;
  body.link = &link;
  return lindung__v1__request_body__pack(&body, out);
}

static test_request header_only(uint8_t id_seed) {
  test_request r = {.version = 1,
                    .partner_id = "gojek",
                    .partner_key_id = 7,
                    .system_key_id = 1,
                    .request_id_len = 16,
                    .sent_at_ms = now - 200,
                    .partition = 0,
                    .offset = 100 + id_seed};
  for (int i = 0; i < 16; i++) r.request_id[i] = (uint8_t)(id_seed * 16 + i);
  return r;
}

static test_request scan_request(uint8_t id_seed, const char *token, const char *venue,
                                 Lindung__V1__Action action) {
  test_request r = header_only(id_seed);
  uint8_t body[512];
  seal_body(&r, body, pack_scan_body(token, venue, action, body));
  return r;
}

static test_request link_request(uint8_t id_seed, const char *nik) {
  test_request r = header_only(id_seed);
  uint8_t body[512];
  seal_body(&r, body, pack_link_body(nik, body));
  return r;
}

static uint8_t accepted_value[8192];

static int process(fixture *f, const test_request *r) {
  Lindung__V1__ScanRequest request = LINDUNG__V1__SCAN_REQUEST__INIT;
  request.version = r->version;
  request.partner_id = (char *)r->partner_id;
  request.partner_key_id = r->partner_key_id;
  request.system_key_id = r->system_key_id;
  request.request_id.data = (uint8_t *)r->request_id;
  request.request_id.len = r->request_id_len;
  request.sent_at_ms = r->sent_at_ms;
  request.nonce.data = (uint8_t *)r->nonce;
  request.nonce.len = r->nonce_len;
  request.ciphertext.data = (uint8_t *)r->ciphertext;
  request.ciphertext.len = r->ciphertext_len;
  Lindung__V1__AcceptedRequest accepted = LINDUNG__V1__ACCEPTED_REQUEST__INIT;
  accepted.request = &request;
  accepted.received_at_ms = now - 100;
  accepted.source_partition = r->partition;
  accepted.source_offset = r->offset;
  size_t len = lindung__v1__accepted_request__pack(&accepted, accepted_value);
  kq_input in = {.topic = "scan.accepted",
                 .partition = 1,
                 .offset = 55,
                 .key = r->request_id,
                 .key_len = 16,
                 .value = accepted_value,
                 .value_len = len};
  return decrypt_process(&f->context, now, &in, &result);
}

static Lindung__V1__AuditEvent *audit_of(void) {
  return lindung__v1__audit_event__unpack(NULL, result.audit_len, result.audit);
}

static void check_rejected(Lindung__V1__ErrorCode error, const test_request *r) {
  CHECK_EQ_INT(result.outcome, DECRYPT_REJECTED);
  CHECK_EQ_INT(result.error, error);
  CHECK_EQ_STR(result.metric_label, messages_error_name(error));
  char topic[64];
  snprintf(topic, sizeof(topic), "scan.results.%s", r->partner_id);
  CHECK_EQ_STR(result.topic, topic);
  Lindung__V1__ScanResponse *response =
      lindung__v1__scan_response__unpack(NULL, result.value_len, result.value);
  CHECK(response != NULL);
  if (response) {
    CHECK_EQ_INT(response->error, error);
    CHECK_EQ_STR(response->partner_id, r->partner_id);
    CHECK_EQ_INT(response->partner_key_id, r->partner_key_id);
    CHECK_EQ_INT(response->system_key_id, r->system_key_id);
    CHECK_EQ_INT(response->request_id.len, r->request_id_len);
    CHECK_MEM(response->request_id.data, r->request_id, r->request_id_len);
    CHECK_EQ_INT(response->ciphertext.len, 0);
    lindung__v1__scan_response__free_unpacked(response, NULL);
  }
  CHECK_EQ_INT(result.key_len, r->request_id_len);
  CHECK_MEM(result.key, r->request_id, r->request_id_len);
  Lindung__V1__AuditEvent *audit = audit_of();
  CHECK(audit != NULL);
  if (audit) {
    CHECK_EQ_INT(audit->stage, LINDUNG__V1__AUDIT_STAGE__AUDIT_STAGE_DECRYPT);
    CHECK_EQ_INT(audit->outcome, LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_REJECTED);
    CHECK_EQ_INT(audit->error, error);
    CHECK_EQ_STR(audit->partner_id, r->partner_id);
    CHECK_EQ_STR(audit->service, "decrypt");
    CHECK_EQ_INT(audit->received_at_ms, now - 100);
    CHECK_EQ_INT(audit->handled_at_ms, now);
    CHECK_EQ_INT(audit->sent_at_ms, r->sent_at_ms);
    lindung__v1__audit_event__free_unpacked(audit, NULL);
  }
}

static void check_forwarded(void) {
  CHECK_EQ_INT(result.outcome, DECRYPT_FORWARDED);
  CHECK_EQ_STR(result.topic, "scan.decrypted");
  CHECK_EQ_STR(result.metric_label, "forwarded");
}

static int contains(const uint8_t *hay, size_t hay_len, const char *needle) {
  return memmem(hay, hay_len, needle, strlen(needle)) != NULL;
}

/* The resolver's part: seal a Verdict with the pad; the partner's part:
 * open it with its rx. */
static void check_pad_seals_for_partner(const Lindung__V1__DecryptedRequest *d) {
  CHECK_EQ_INT(d->response_nonce.len, ENVELOPE_NONCE_BYTES);
  CHECK_EQ_INT(d->response_pad.len, ENVELOPE_PAD_BYTES);
  if (d->response_pad.len != ENVELOPE_PAD_BYTES || d->response_nonce.len != ENVELOPE_NONCE_BYTES) {
    return;
  }
  Lindung__V1__Verdict verdict = LINDUNG__V1__VERDICT__INIT;
  verdict.status = LINDUNG__V1__STATUS__GREEN;
  verdict.decision = LINDUNG__V1__DECISION__ALLOW;
  verdict.reason = LINDUNG__V1__REASON__STATUS_ALLOWED;
  verdict.venue_name = "Mall";
  verdict.checked_at_ms = now + 5;
  Lindung__V1__ResponseBody body = LINDUNG__V1__RESPONSE_BODY__INIT;
  body.kind_case = LINDUNG__V1__RESPONSE_BODY__KIND_VERDICT;
  body.verdict = &verdict;
  uint8_t plain[256], sealed[256 + 16], opened[256];
  size_t plain_len = lindung__v1__response_body__pack(&body, plain);
  envelope_header header = {d->partner_id, d->partner_key_id, d->system_key_id, d->request_id.data,
                            now + 5};
  uint8_t ad[ENVELOPE_MAX_AD_BYTES];
  size_t ad_len = envelope_associated_data(ENVELOPE_RESPONSE, &header, ad);
  CHECK(envelope_pad_seal(d->response_pad.data, ad, ad_len, plain, plain_len, sealed) == 0);

  envelope_session partner;
  CHECK(envelope_partner_session(&partner, partner_pk, partner_sk, system_pk) == 0);
  CHECK(envelope_open(partner.rx, ad, ad_len, d->response_nonce.data, sealed, plain_len + 16,
                      opened) == 0);
  CHECK_MEM(opened, plain, plain_len);
  /* The request's own key (partner tx) does not open it. */
  CHECK(envelope_open(partner.tx, ad, ad_len, d->response_nonce.data, sealed, plain_len + 16,
                      opened) != 0);
}

static void test_valid_scan_is_forwarded(void) {
  fixture f;
  fixture_open(&f);
  test_request r =
      scan_request(1, "lt1_example-token", "QR-MALL-0001", LINDUNG__V1__ACTION__CHECK_IN);
  CHECK_EQ_INT(process(&f, &r), 0);
  check_forwarded();
  uint8_t expected_hash[TOKEN_HASH_BYTES], expected_key[32];
  token_hash("lt1_example-token", strlen("lt1_example-token"), expected_hash);
  CHECK(inner_seal_partition_hash(f.inner, "token", expected_hash, TOKEN_HASH_BYTES,
                                  expected_key) == 0);
  CHECK_EQ_INT(result.key_len, 32);
  CHECK_MEM(result.key, expected_key, 32);
  /* The Kafka key is keyed: not the token hash the tokens table holds. */
  CHECK(memcmp(result.key, expected_hash, 32) != 0);
  /* The token never leaves decrypt, only its hash, and that sealed. */
  CHECK(!contains(result.value, result.value_len, "lt1_example-token"));
  CHECK(!contains(result.audit, result.audit_len, "lt1_example-token"));
  CHECK(memmem(result.value, result.value_len, expected_hash, sizeof expected_hash) == NULL);
  CHECK(!contains(result.value, result.value_len, "QR-MALL-0001"));

  Lindung__V1__DecryptedRequest *d = unseal(&f);
  CHECK(d != NULL);
  if (d) {
    CHECK_EQ_STR(d->partner_id, "gojek");
    CHECK_EQ_INT(d->partner_key_id, 7);
    CHECK_EQ_INT(d->system_key_id, 1);
    CHECK_EQ_INT(d->request_id.len, 16);
    CHECK_MEM(d->request_id.data, r.request_id, 16);
    CHECK_EQ_INT(d->sent_at_ms, r.sent_at_ms);
    CHECK_EQ_INT(d->received_at_ms, now - 100);
    CHECK_EQ_INT(d->kind_case, LINDUNG__V1__DECRYPTED_REQUEST__KIND_SCAN);
    if (d->kind_case == LINDUNG__V1__DECRYPTED_REQUEST__KIND_SCAN) {
      CHECK_EQ_INT(d->scan->token_hash.len, TOKEN_HASH_BYTES);
      CHECK_MEM(d->scan->token_hash.data, expected_hash, TOKEN_HASH_BYTES);
      CHECK_EQ_STR(d->scan->venue_id, "QR-MALL-0001");
      CHECK_EQ_INT(d->scan->scanned_at_ms, now - 1500);
      CHECK_EQ_INT(d->scan->action, LINDUNG__V1__ACTION__CHECK_IN);
      CHECK(!d->scan->token_missing);
    }
    check_pad_seals_for_partner(d);
    lindung__v1__decrypted_request__free_unpacked(d, NULL);
  }
  Lindung__V1__AuditEvent *audit = audit_of();
  CHECK(audit != NULL);
  if (audit) {
    CHECK_EQ_INT(audit->outcome, LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_FORWARDED);
    CHECK_EQ_INT(audit->kind, LINDUNG__V1__REQUEST_KIND__REQUEST_KIND_SCAN);
    CHECK_EQ_INT(audit->action, LINDUNG__V1__ACTION__CHECK_IN);
    CHECK_EQ_STR(audit->venue_id, "QR-MALL-0001");
    CHECK_EQ_STR(audit->partner_id, "gojek");
    CHECK_MEM(audit->request_id.data, r.request_id, 16);
    CHECK_EQ_INT(audit->subject_pseudonym.len, 0);
    lindung__v1__audit_event__free_unpacked(audit, NULL);
  }
  decrypt_result_wipe(&result);
  CHECK_EQ_INT(result.value_len, 0);

  /* CHECK_OUT goes through too. */
  r = scan_request(2, "lt1_example-token", "QR-MALL-0001", LINDUNG__V1__ACTION__CHECK_OUT);
  process(&f, &r);
  check_forwarded();
  fixture_close(&f);
}

static void test_valid_link_is_forwarded(void) {
  fixture f;
  fixture_open(&f);
  const char *nik = "3171012509890001";
  test_request r = link_request(3, nik);
  CHECK_EQ_INT(process(&f, &r), 0);
  check_forwarded();
  uint8_t expected_key[32], unkeyed[32];
  CHECK(inner_seal_partition_hash(f.inner, "nik", nik, strlen(nik), expected_key) == 0);
  CHECK_EQ_INT(result.key_len, 32);
  CHECK_MEM(result.key, expected_key, 32);
  /* A reader of the topic cannot confirm a guessed NIK from the key. */
  unkeyed_nik_hash(nik, unkeyed);
  CHECK(memcmp(result.key, unkeyed, 32) != 0);
  CHECK(!contains(result.audit, result.audit_len, nik));
  CHECK(!contains(result.value, result.value_len, nik));
  Lindung__V1__DecryptedRequest *d = unseal(&f);
  CHECK(d != NULL);
  if (d) {
    CHECK_EQ_INT(d->kind_case, LINDUNG__V1__DECRYPTED_REQUEST__KIND_LINK);
    if (d->kind_case == LINDUNG__V1__DECRYPTED_REQUEST__KIND_LINK) {
      CHECK_EQ_STR(d->link->nik, nik);
    }
    check_pad_seals_for_partner(d);
    lindung__v1__decrypted_request__free_unpacked(d, NULL);
  }
  Lindung__V1__AuditEvent *audit = audit_of();
  if (audit) {
    CHECK_EQ_INT(audit->kind, LINDUNG__V1__REQUEST_KIND__REQUEST_KIND_LINK);
    lindung__v1__audit_event__free_unpacked(audit, NULL);
  }
  /* A different NIK keys elsewhere, the same NIK the same. */
  uint8_t other[32];
  CHECK(inner_seal_partition_hash(f.inner, "nik", "3171012509890002", 16, other) == 0);
  CHECK(memcmp(other, expected_key, 32) != 0);
  decrypt_result_wipe(&result);
  fixture_close(&f);
}

static void test_published_vector_opens(void) {
  fixture f;
  fixture_open(&f);
  uint8_t value[256];
  size_t len = (sizeof(VECTOR_SCAN_REQUEST_HEX) - 1) / 2;
  CHECK(hex_decode(VECTOR_SCAN_REQUEST_HEX, value, len) == 0);
  Lindung__V1__ScanRequest *request = lindung__v1__scan_request__unpack(NULL, len, value);
  CHECK(request != NULL);
  if (!request) return;
  test_request r = {.version = request->version,
                    .partner_id = "gojek",
                    .partner_key_id = request->partner_key_id,
                    .system_key_id = request->system_key_id,
                    .request_id_len = request->request_id.len,
                    .sent_at_ms = request->sent_at_ms,
                    .nonce_len = request->nonce.len,
                    .ciphertext_len = request->ciphertext.len};
  memcpy(r.request_id, request->request_id.data, 16);
  memcpy(r.nonce, request->nonce.data, request->nonce.len);
  memcpy(r.ciphertext, request->ciphertext.data, request->ciphertext.len);
  lindung__v1__scan_request__free_unpacked(request, NULL);
  process(&f, &r);
  check_forwarded();
  uint8_t expected_hash[TOKEN_HASH_BYTES];
  token_hash("lt1_example-token", strlen("lt1_example-token"), expected_hash);
  Lindung__V1__DecryptedRequest *d = unseal(&f);
  CHECK(d && d->scan && d->scan->token_hash.len == TOKEN_HASH_BYTES &&
        memcmp(d->scan->token_hash.data, expected_hash, TOKEN_HASH_BYTES) == 0);
  if (d) lindung__v1__decrypted_request__free_unpacked(d, NULL);
  decrypt_result_wipe(&result);
  fixture_close(&f);
}

static void test_flipped_bits_fail_to_decrypt(void) {
  fixture f;
  fixture_open(&f);
  const char *venue = "QR-MALL-0001";
  const Lindung__V1__Action in = LINDUNG__V1__ACTION__CHECK_IN;

  test_request r = scan_request(4, "lt1_x", venue, in);
  r.ciphertext[3] ^= 0x01;
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__DECRYPT_FAILED, &r);

  r = scan_request(5, "lt1_x", venue, in);
  r.ciphertext[r.ciphertext_len - 1] ^= 0x80; /* in the tag */
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__DECRYPT_FAILED, &r);

  r = scan_request(6, "lt1_x", venue, in);
  r.nonce[0] ^= 0x01;
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__DECRYPT_FAILED, &r);

  r = scan_request(7, "lt1_x", venue, in);
  r.request_id[9] ^= 0x10;
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__DECRYPT_FAILED, &r);

  r = scan_request(8, "lt1_x", venue, in);
  r.sent_at_ms ^= 1;
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__DECRYPT_FAILED, &r);

  /* "gojek" -> "gojej": another known partner with the same key. */
  r = scan_request(9, "lt1_x", venue, in);
  r.partner_id = "gojej";
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__DECRYPT_FAILED, &r);

  /* Key ids are in the AD too: partner key 7 sealed, key 1 named. */
  r = scan_request(10, "lt1_x", venue, in);
  r.system_key_id = 4; /* revoked: refused before any opening */
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__KEY_REVOKED, &r);
  fixture_close(&f);
}

static void test_replay_window_in_decrypt(void) {
  fixture f;
  fixture_open(&f);
  test_request r = scan_request(11, "lt1_x", "QR-1", LINDUNG__V1__ACTION__CHECK_IN);
  r.partition = 2;
  r.offset = 500;
  process(&f, &r);
  check_forwarded();
  /* Redelivery: same place, processed again. */
  process(&f, &r);
  check_forwarded();
  /* The same request from another place: replayed, with an audit record of
   * its own (not keyed by the request id, which the original's record has),
   * naming the request it replays. */
  r.offset = 501;
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__REPLAYED, &r);
  uint8_t replay_key[16];
  memcpy(replay_key, result.audit_key, 16);
  CHECK(memcmp(replay_key, r.request_id, 16) != 0);
  Lindung__V1__AuditEvent *audit = audit_of();
  CHECK(audit != NULL && audit->detail && !strncmp(audit->detail, "replay_of=", 10));
  if (audit) lindung__v1__audit_event__free_unpacked(audit, NULL);
  /* Read again from the same place (a redelivery of the replay): the same
   * record, which the audit trail keeps once. */
  process(&f, &r);
  CHECK_MEM(result.audit_key, replay_key, 16);
  r.partition = 1;
  r.offset = 500;
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__REPLAYED, &r);
  CHECK(memcmp(result.audit_key, replay_key, 16) != 0); /* another attempt, another record */
  /* A fresh seal with the same request id is still a replay. */
  test_request again = scan_request(11, "lt1_y", "QR-2", LINDUNG__V1__ACTION__CHECK_IN);
  again.partition = 0;
  again.offset = 9;
  process(&f, &again);
  check_rejected(LINDUNG__V1__ERROR_CODE__REPLAYED, &again);

  /* A forged message does not claim its request id. */
  test_request forged = scan_request(12, "lt1_x", "QR-1", LINDUNG__V1__ACTION__CHECK_IN);
  forged.ciphertext[0] ^= 1;
  forged.offset = 600;
  process(&f, &forged);
  check_rejected(LINDUNG__V1__ERROR_CODE__DECRYPT_FAILED, &forged);
  test_request genuine = scan_request(12, "lt1_x", "QR-1", LINDUNG__V1__ACTION__CHECK_IN);
  genuine.offset = 601;
  process(&f, &genuine);
  check_forwarded();
  genuine.offset = 602;
  process(&f, &genuine);
  check_rejected(LINDUNG__V1__ERROR_CODE__REPLAYED, &genuine);
  decrypt_result_wipe(&result);
  fixture_close(&f);
}

static void test_bad_bodies(void) {
  fixture f;
  fixture_open(&f);
  test_request r;

  r = link_request(20, "317101250989000"); /* 15 digits */
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);
  r = link_request(21, "31710125098900012"); /* 17 digits */
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);
  r = link_request(22, "317101250989000a");
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);
  r = link_request(23, "");
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);

  r = scan_request(24, "lt1_x", "QR-1", LINDUNG__V1__ACTION__ACTION_UNSPECIFIED);
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);
  r = scan_request(25, "lt1_x", "QR-1", (Lindung__V1__Action)7);
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);
  r = scan_request(26, "lt1_x", "", LINDUNG__V1__ACTION__CHECK_IN);
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);
  char long_text[66];
  memset(long_text, 'v', 65);
  long_text[65] = '\0';
  r = scan_request(27, "lt1_x", long_text, LINDUNG__V1__ACTION__CHECK_IN);
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);
  r = scan_request(28, "lt1_x", "QR\n1", LINDUNG__V1__ACTION__CHECK_IN);
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);
  r = scan_request(29, long_text, "QR-1", LINDUNG__V1__ACTION__CHECK_IN); /* token of 65 */
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);
  long_text[64] = '\0';
  r = scan_request(30, long_text, long_text, LINDUNG__V1__ACTION__CHECK_IN); /* 64: fine */
  process(&f, &r);
  check_forwarded();
  r = scan_request(31, "", "QR-1", LINDUNG__V1__ACTION__CHECK_IN);
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__UNKNOWN_TOKEN, &r);

  /* Sealed bodies that are not RequestBody with a kind. */
  uint8_t empty_body[1] = {0};
  r = header_only(32);
  seal_body(&r, empty_body, 0);
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);
  uint8_t garbage[40];
  memset(garbage, 0xff, sizeof(garbage));
  r = header_only(33);
  seal_body(&r, garbage, sizeof(garbage));
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);
  uint8_t unknown_field[] = {0x18, 0x01}; /* field 3 only: neither scan nor link */
  r = header_only(34);
  seal_body(&r, unknown_field, sizeof(unknown_field));
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);

  /* A malformed body does not claim its request id either. */
  r = scan_request(24, "lt1_x", "QR-1", LINDUNG__V1__ACTION__CHECK_IN);
  r.offset = 9999;
  process(&f, &r);
  check_forwarded();
  decrypt_result_wipe(&result);
  fixture_close(&f);
}

static void test_registry_and_keys_rechecked(void) {
  fixture f;
  fixture_open(&f);
  test_request r;

  r = scan_request(40, "lt1_x", "QR-1", LINDUNG__V1__ACTION__CHECK_IN);
  r.partner_id = "grab"; /* revoked since ingest let it through */
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__PARTNER_REVOKED, &r);

  r = scan_request(41, "lt1_x", "QR-1", LINDUNG__V1__ACTION__CHECK_IN);
  r.partner_key_id = 8; /* revoked */
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__KEY_REVOKED, &r);

  uint32_t unknown_partner_keys[] = {0, 99};
  for (int i = 0; i < 2; i++) {
    r = scan_request(42, "lt1_x", "QR-1", LINDUNG__V1__ACTION__CHECK_IN);
    r.partner_key_id = unknown_partner_keys[i];
    process(&f, &r);
    check_rejected(LINDUNG__V1__ERROR_CODE__UNKNOWN_KEY, &r);
  }
  /* 0, never registered, registered without a secret here, and held with
   * a secret that does not match the registered public key. */
  uint32_t unknown_system_keys[] = {0, 99, 2, 3};
  for (int i = 0; i < 4; i++) {
    r = scan_request(43, "lt1_x", "QR-1", LINDUNG__V1__ACTION__CHECK_IN);
    r.system_key_id = unknown_system_keys[i];
    process(&f, &r);
    check_rejected(LINDUNG__V1__ERROR_CODE__UNKNOWN_KEY, &r);
  }

  /* Header sizes are re-checked. */
  r = scan_request(44, "lt1_x", "QR-1", LINDUNG__V1__ACTION__CHECK_IN);
  r.nonce_len = 25;
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);
  r = scan_request(45, "lt1_x", "QR-1", LINDUNG__V1__ACTION__CHECK_IN);
  r.ciphertext_len = 1025;
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);
  r = scan_request(46, "lt1_x", "QR-1", LINDUNG__V1__ACTION__CHECK_IN);
  r.version = 2;
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);
  r = scan_request(47, "lt1_x", "QR-1", LINDUNG__V1__ACTION__CHECK_IN);
  r.request_id_len = 15;
  process(&f, &r);
  check_rejected(LINDUNG__V1__ERROR_CODE__MALFORMED, &r);
  fixture_close(&f);
}

static void check_dead_lettered(const char *reason) {
  CHECK_EQ_INT(result.outcome, DECRYPT_DEAD_LETTERED);
  CHECK_EQ_STR(result.reason, reason);
  CHECK_EQ_STR(result.metric_label, "deadletter");
  uint8_t source_id[16];
  messages_input_id(
      &(kq_input){.topic = "scan.accepted", .partition = 1, .offset = 55, .timestamp_ms = 0},
      source_id);
  CHECK_MEM(result.audit_key, source_id, 16);
  Lindung__V1__AuditEvent *audit = audit_of();
  CHECK(audit != NULL);
  if (audit) {
    CHECK_EQ_INT(audit->outcome, LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_DEADLETTERED);
    CHECK_EQ_STR(audit->detail, reason);
    lindung__v1__audit_event__free_unpacked(audit, NULL);
  }
}

static void test_unusable_inputs_are_dead_lettered(void) {
  fixture f;
  fixture_open(&f);
  kq_input in = {
      .topic = "scan.accepted", .partition = 1, .offset = 55, .value = "", .value_len = 0};
  CHECK_EQ_INT(decrypt_process(&f.context, now, &in, &result), 0);
  check_dead_lettered("empty");
  uint8_t garbage[40];
  memset(garbage, 0xff, sizeof(garbage));
  in.value = garbage;
  in.value_len = sizeof(garbage);
  decrypt_process(&f.context, now, &in, &result);
  check_dead_lettered("not_protobuf");
  /* An AcceptedRequest without its request. */
  Lindung__V1__AcceptedRequest accepted = LINDUNG__V1__ACCEPTED_REQUEST__INIT;
  accepted.received_at_ms = now;
  uint8_t value[64];
  in.value = value;
  in.value_len = lindung__v1__accepted_request__pack(&accepted, value);
  decrypt_process(&f.context, now, &in, &result);
  check_dead_lettered("no_request");

  test_request r = scan_request(50, "lt1_x", "QR-1", LINDUNG__V1__ACTION__CHECK_IN);
  r.partner_id = "gojeo"; /* not registered (any more) */
  process(&f, &r);
  check_dead_lettered("unknown_partner");
  r.partner_id = "GOJEK";
  process(&f, &r);
  check_dead_lettered("unknown_partner");

  decrypt_context incomplete = f.context;
  incomplete.registry = NULL;
  CHECK_EQ_INT(decrypt_process(&incomplete, now, &in, &result), -1);
  /* Without an inner key nothing could be sealed to the resolver: nothing
   * is forwarded in clear instead. */
  inner_seal_keys *none = inner_seal_keys_new();
  incomplete = f.context;
  incomplete.inner = none;
  CHECK_EQ_INT(decrypt_process(&incomplete, now, &in, &result), -1);
  CHECK_EQ_INT(result.value_len, 0);
  inner_seal_keys_free(none);
  fixture_close(&f);
}

/* ---- replay window ---- */

static void id_of(uint32_t n, uint8_t out[16]) {
  memset(out, 0, 16);
  memcpy(out, &n, sizeof(n));
  out[15] = 0x5a;
}

static void test_replay_window_basics(void) {
  replay_window *w = replay_window_new(100, 600000);
  CHECK(w != NULL);
  uint8_t id[16];
  id_of(1, id);
  CHECK_EQ_INT(replay_window_check(w, "gojek", id, 0, 10, 1000), REPLAY_NEW);
  CHECK_EQ_INT(replay_window_check(w, "gojek", id, 0, 10, 2000), REPLAY_REDELIVERY);
  CHECK_EQ_INT(replay_window_check(w, "gojek", id, 0, 11, 2000), REPLAY_REPLAYED);
  CHECK_EQ_INT(replay_window_check(w, "gojek", id, 1, 10, 2000), REPLAY_REPLAYED);
  /* Per partner. */
  CHECK_EQ_INT(replay_window_check(w, "grab", id, 0, 11, 2000), REPLAY_NEW);
  CHECK_EQ_INT(replay_window_size(w), 2);
  /* Still replayed just before 600 s, forgotten at 600 s. */
  CHECK_EQ_INT(replay_window_check(w, "gojek", id, 0, 12, 1000 + 599999), REPLAY_REPLAYED);
  CHECK_EQ_INT(replay_window_check(w, "gojek", id, 0, 12, 1000 + 600000), REPLAY_NEW);
  CHECK_EQ_INT(replay_window_check(w, "gojek", id, 0, 12, 1000 + 600001), REPLAY_REDELIVERY);
  /* gojek's first entry expired at 601000; grab's (2000) at 602000. */
  CHECK_EQ_INT(replay_window_size(w), 2);
  CHECK_EQ_INT(replay_window_check(w, "grab", id, 0, 12, 602000), REPLAY_NEW);
  CHECK_EQ_INT(replay_window_size(w), 2);
  CHECK_EQ_INT(replay_window_check(w, "gojek", id, 0, 12, 602000), REPLAY_REDELIVERY);
  replay_window_free(w);
}

static void test_replay_window_is_bounded(void) {
  const size_t capacity = 1000;
  replay_window *w = replay_window_new(capacity, 600000);
  uint8_t id[16];
  /* 20 000 ids through a window of 1000, in one millisecond: the oldest go. */
  for (uint32_t n = 0; n < 20000; n++) {
    id_of(n, id);
    CHECK_EQ_INT(replay_window_check(w, "gojek", id, 3, (int64_t)n, 5000), REPLAY_NEW);
  }
  CHECK_EQ_INT(replay_window_size(w), capacity);
  /* Every one of the newest 1000 is found (the index survived all the
   * evictions), at its own place. */
  int found = 0;
  for (uint32_t n = 19000; n < 20000; n++) {
    id_of(n, id);
    found += replay_window_check(w, "gojek", id, 3, (int64_t)n, 5001) == REPLAY_REDELIVERY;
  }
  CHECK_EQ_INT(found, 1000);
  for (uint32_t n = 19000; n < 19010; n++) {
    id_of(n, id);
    CHECK_EQ_INT(replay_window_check(w, "gojek", id, 4, 0, 5001), REPLAY_REPLAYED);
  }
  id_of(0, id);
  CHECK_EQ_INT(replay_window_check(w, "gojek", id, 3, 0, 5002), REPLAY_NEW);
  /* That evicted 19000. */
  id_of(19000, id);
  CHECK_EQ_INT(replay_window_check(w, "gojek", id, 4, 0, 5003), REPLAY_NEW);
  CHECK_EQ_INT(replay_window_size(w), capacity);
  replay_window_free(w);

  CHECK(replay_window_new(0, 1000) == NULL);
}

static void test_replay_window_clock_steps(void) {
  replay_window *w = replay_window_new(10, 1000);
  uint8_t a[16], b[16];
  id_of(1, a);
  id_of(2, b);
  CHECK_EQ_INT(replay_window_check(w, "p1", a, 0, 1, 10000), REPLAY_NEW);
  /* The clock steps back: nothing expires, entries still count. */
  CHECK_EQ_INT(replay_window_check(w, "p1", b, 0, 2, 5000), REPLAY_NEW);
  CHECK_EQ_INT(replay_window_check(w, "p1", a, 0, 9, 5000), REPLAY_REPLAYED);
  /* b (seen at 5000) sits behind a (10000) in the ring, so at 10500 it
   * outlived its ttl without being dropped: it counts as new. */
  CHECK_EQ_INT(replay_window_check(w, "p1", b, 0, 3, 10500), REPLAY_NEW);
  CHECK_EQ_INT(replay_window_check(w, "p1", a, 0, 9, 10500), REPLAY_REPLAYED);
  replay_window_free(w);
}

/* ---- system keys ---- */

/* A failed write fails the test. */
#define write_file(path, text, mode) CHECK_EQ_INT(support_write_file(path, text, mode), 0)

static void test_system_keys_from_directory(void) {
  char dir[] = "/tmp/lindung-decrypt-test-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[256], err[256];
  snprintf(path, sizeof(path), "%s/system-1.key", dir);
  write_file(path, VECTOR_SYSTEM_SK_HEX "\n", 0600);
  snprintf(path, sizeof(path), "%s/README", dir);
  write_file(path, "not a key", 0644);
  snprintf(path, sizeof(path), "%s/system-x.key", dir);
  write_file(path, "not a key", 0600);

  system_keys *keys = system_keys_new();
  CHECK_EQ_INT(system_keys_load_dir(keys, dir, true, err, sizeof(err)), 1);
  CHECK(system_keys_has(keys, 1));
  CHECK(!system_keys_has(keys, 2));
  const uint8_t *sk = system_keys_secret(keys, 1, system_pk);
  CHECK(sk != NULL);
  if (sk) CHECK_MEM(sk, system_sk, 32);
  CHECK(system_keys_secret(keys, 1, partner_pk) == NULL); /* another public key */
  CHECK(system_keys_secret(keys, 2, system_pk) == NULL);

  /* Loading again keeps one key per id; a second id adds one. */
  snprintf(path, sizeof(path), "%s/system-12.key", dir);
  write_file(path, VECTOR_PARTNER_SK_HEX "\n", 0400);
  CHECK_EQ_INT(system_keys_load_dir(keys, dir, true, err, sizeof(err)), 2);
  CHECK(system_keys_secret(keys, 12, partner_pk) != NULL);

  /* A file readable by others is refused in strict mode, and the error
   * names the file but never the key. */
  chmod(path, 0644);
  CHECK_EQ_INT(system_keys_load_dir(keys, dir, true, err, sizeof(err)), -1);
  CHECK(strstr(err, "system-12.key") != NULL);
  CHECK_EQ_INT(system_keys_load_dir(keys, dir, false, err, sizeof(err)), 2);

  /* Not 64 hex characters. */
  write_file(path, "zz" VECTOR_PARTNER_SK_HEX "\n", 0600);
  CHECK_EQ_INT(system_keys_load_dir(keys, dir, true, err, sizeof(err)), -1);
  CHECK(strstr(err, VECTOR_PARTNER_SK_HEX) == NULL);
  write_file(path, "abcd\n", 0600);
  CHECK_EQ_INT(system_keys_load_dir(keys, dir, true, err, sizeof(err)), -1);
  unlink(path);

  snprintf(path, sizeof(path), "%s/missing", dir);
  CHECK_EQ_INT(system_keys_load_dir(keys, path, true, err, sizeof(err)), -1);
  CHECK_EQ_INT(system_keys_add(keys, 0, system_sk), -1);
  system_keys_free(keys);

  snprintf(path, sizeof(path), "%s/system-1.key", dir);
  unlink(path);
  snprintf(path, sizeof(path), "%s/README", dir);
  unlink(path);
  snprintf(path, sizeof(path), "%s/system-x.key", dir);
  unlink(path);
  rmdir(dir);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  CHECK(hex_decode(VECTOR_PARTNER_PK_HEX, partner_pk, 32) == 0);
  CHECK(hex_decode(VECTOR_PARTNER_SK_HEX, partner_sk, 32) == 0);
  CHECK(hex_decode(VECTOR_SYSTEM_PK_HEX, system_pk, 32) == 0);
  CHECK(hex_decode(VECTOR_SYSTEM_SK_HEX, system_sk, 32) == 0);
  RUN(test_valid_scan_is_forwarded);
  RUN(test_valid_link_is_forwarded);
  RUN(test_published_vector_opens);
  RUN(test_flipped_bits_fail_to_decrypt);
  RUN(test_replay_window_in_decrypt);
  RUN(test_bad_bodies);
  RUN(test_registry_and_keys_rechecked);
  RUN(test_unusable_inputs_are_dead_lettered);
  RUN(test_replay_window_basics);
  RUN(test_replay_window_is_bounded);
  RUN(test_replay_window_clock_steps);
  RUN(test_system_keys_from_directory);
  return testing_summary();
}
