/* Fuzzes what decrypt does with one AcceptedRequest (decrypt_process): the
 * envelope again, the opening, and the sealed RequestBody a partner wrote,
 * then checks the promises of decrypt_rules.h: one outcome and one audit
 * event per input, outputs that decode, and a body that opens is never
 * taken for a forgery.
 *
 * Input: one mode byte. Even: the rest is the AcceptedRequest value as read
 * from scan.accepted. Odd: the rest is a RequestBody, sealed here as the
 * vectors' partner "gojek" would (key 7 to system key 1), so every byte the
 * fuzzer writes reaches the body decoder. */
#include <sodium.h>
#include <string.h>

#include "../../services/decrypt/decrypt_rules.h"
#include "../../services/decrypt/replay_window.h"
#include "../../services/decrypt/system_keys.h"
#include "fuzz.h"
#include "inner_seal.h"
#include "messages.h"
#include "proto_limits.h"
#include "topics.h"

static registry *reg;
static system_keys *keys;
static envelope_cache *sessions;
static inner_seal_keys *inner; /* seals what goes to scan.decrypted */
static envelope_session partner_session;
static decrypt_result result; /* large: kept off the stack */
static uint8_t value[MESSAGES_MAX_BYTES];

static void setup(void) {
  uint8_t partner_pk[32], partner_sk[32], system_pk[32], system_sk[32];
  fuzz_hex32(FUZZ_PARTNER_PK_HEX, partner_pk);
  fuzz_hex32(FUZZ_PARTNER_SK_HEX, partner_sk);
  fuzz_hex32(FUZZ_SYSTEM_PK_HEX, system_pk);
  fuzz_hex32(FUZZ_SYSTEM_SK_HEX, system_sk);
  reg = fuzz_registry();
  keys = system_keys_new();
  sessions = envelope_cache_new(8);
  inner = inner_seal_keys_new();
  static const uint8_t inner_master[32] = {0x33, 0x01, 0x02};
  if (!keys || !sessions || !inner || system_keys_add(keys, 1, system_sk) != 0 ||
      inner_seal_keys_add(inner, 1, inner_master) != 0 ||
      envelope_partner_session(&partner_session, partner_pk, partner_sk, system_pk) != 0)
    abort();
}

/* The AcceptedRequest ingest would forward for a partner request whose
 * sealed body is body[0..len). */
static size_t seal_request(const uint8_t *body, size_t len) {
  static const uint8_t request_id[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  static const uint8_t nonce[ENVELOPE_NONCE_BYTES] = {7};
  uint8_t sealed[ENVELOPE_MAX_CIPHERTEXT];
  if (len > sizeof sealed - ENVELOPE_TAG_BYTES) len = sizeof sealed - ENVELOPE_TAG_BYTES;
  envelope_header header = {"gojek", 7, 1, request_id, FUZZ_NOW_MS};
  uint8_t ad[ENVELOPE_MAX_AD_BYTES];
  size_t ad_len = envelope_associated_data(ENVELOPE_REQUEST, &header, ad);
  FUZZ_ASSERT(ad_len > 0);
  FUZZ_ASSERT(envelope_seal_with_nonce(partner_session.tx, ad, ad_len, body, len, nonce,
                                       sealed) == 0);
  Lindung__V1__ScanRequest request = LINDUNG__V1__SCAN_REQUEST__INIT;
  request.version = 1;
  request.partner_id = (char *)"gojek";
  request.partner_key_id = 7;
  request.system_key_id = 1;
  request.request_id.data = (uint8_t *)request_id;
  request.request_id.len = sizeof request_id;
  request.sent_at_ms = FUZZ_NOW_MS;
  request.nonce.data = (uint8_t *)nonce;
  request.nonce.len = sizeof nonce;
  request.ciphertext.data = sealed;
  request.ciphertext.len = len + ENVELOPE_TAG_BYTES;
  Lindung__V1__AcceptedRequest accepted = LINDUNG__V1__ACCEPTED_REQUEST__INIT;
  accepted.request = &request;
  accepted.received_at_ms = FUZZ_NOW_MS;
  accepted.source_partition = 1;
  accepted.source_offset = 9;
  FUZZ_ASSERT(lindung__v1__accepted_request__get_packed_size(&accepted) <= sizeof value);
  return lindung__v1__accepted_request__pack(&accepted, value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!reg) setup();
  fuzz_reader r = {data, size};
  bool sealed_here = fuzz_byte(&r) & 1;
  kq_input input = {.topic = "scan.accepted", .partition = 0, .offset = 5, .timestamp_ms = -1};
  if (sealed_here) {
    input.value = value;
    input.value_len = seal_request(r.data, r.len);
  } else {
    input.value = r.data;
    input.value_len = r.len;
  }
  /* A fresh window: the same request id is new in every run. */
  replay_window *replays = replay_window_new(16, REPLAY_DEFAULT_TTL_MS);
  FUZZ_ASSERT(replays);
  decrypt_context context = {reg, keys, sessions, replays, inner};
  FUZZ_ASSERT(decrypt_process(&context, FUZZ_NOW_MS, &input, &result) == 0);
  replay_window_free(replays);

  FUZZ_ASSERT(result.metric_label && result.audit_len > 0 && result.audit_key_len == 16);
  fuzz_check_decodes(&lindung__v1__audit_event__descriptor, result.audit, result.audit_len);
  switch (result.outcome) {
    case DECRYPT_FORWARDED:
    {
      /* Sealed to the resolver: it opens, and what it holds decodes. */
      FUZZ_ASSERT(strcmp(result.topic, TOPIC_SCAN_DECRYPTED) == 0 && result.key_len > 0);
      static uint8_t plain[MESSAGES_MAX_BYTES];
      size_t plain_len = 0;
      FUZZ_ASSERT(inner_open(inner, TOPIC_SCAN_DECRYPTED, result.value, result.value_len, plain,
                             sizeof plain, &plain_len) == INNER_OPEN_OK);
      fuzz_check_decodes(&lindung__v1__decrypted_request__descriptor, plain, plain_len);
      break;
    }
    case DECRYPT_REJECTED:
      FUZZ_ASSERT(result.error != LINDUNG__V1__ERROR_CODE__NONE);
      fuzz_check_decodes(&lindung__v1__scan_response__descriptor, result.value, result.value_len);
      break;
    case DECRYPT_DEAD_LETTERED:
      FUZZ_ASSERT(result.reason && result.value_len == 0);
      break;
    default:
      FUZZ_ASSERT(!"unknown outcome");
  }
  if (sealed_here) {
    /* A body sealed with the right keys always opens: whatever it holds,
     * the answer is about the body, never a forgery or a dead letter. */
    FUZZ_ASSERT(result.outcome != DECRYPT_DEAD_LETTERED);
    FUZZ_ASSERT(result.error != LINDUNG__V1__ERROR_CODE__DECRYPT_FAILED);
  }
  decrypt_result_wipe(&result);
  return 0;
}
