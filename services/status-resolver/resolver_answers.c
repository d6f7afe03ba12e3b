/* resolver_answers: the answer log's pure rules (see resolver_answers.h). */
#include "resolver_answers.h"

#include <sodium.h>
#include <string.h>

static void resolver_answer_put_u64(crypto_generichash_state *st, uint64_t v) {
  uint8_t be[8];
  for (int i = 7; i >= 0; i--, v >>= 8) be[i] = (uint8_t)v;
  crypto_generichash_update(st, be, sizeof be);
}

/* Length-prefixed, so that no two field sequences hash alike. */
static void resolver_answer_put_bytes(crypto_generichash_state *st, const void *data, size_t len) {
  resolver_answer_put_u64(st, len);
  if (len) crypto_generichash_update(st, data, len);
}

static void resolver_answer_put_text(crypto_generichash_state *st, const char *text) {
  resolver_answer_put_bytes(st, text ? text : "", text ? strlen(text) : 0);
}

int resolver_request_digest(const Lindung__V1__DecryptedRequest *req, const uint8_t *nik_hash,
                            size_t nik_hash_len, uint8_t out[RESOLVER_ANSWER_DIGEST_BYTES]) {
  static const char domain[] = "lindung answer log v1";
  bool scan = req->kind_case == LINDUNG__V1__DECRYPTED_REQUEST__KIND_SCAN && req->scan;
  bool link = req->kind_case == LINDUNG__V1__DECRYPTED_REQUEST__KIND_LINK && nik_hash;
  if (!scan && !link) return -1;
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, RESOLVER_ANSWER_DIGEST_BYTES);
  crypto_generichash_update(&st, (const uint8_t *)domain, sizeof domain - 1);
  resolver_answer_put_u64(&st, scan ? 1 : 2);
  resolver_answer_put_text(&st, req->partner_id);
  resolver_answer_put_bytes(&st, req->request_id.data, req->request_id.len);
  resolver_answer_put_u64(&st, req->sent_at_ms);
  resolver_answer_put_u64(&st, req->partner_key_id);
  if (scan) {
    resolver_answer_put_bytes(&st, req->scan->token_hash.data, req->scan->token_hash.len);
    resolver_answer_put_text(&st, req->scan->venue_id);
    resolver_answer_put_u64(&st, req->scan->scanned_at_ms);
    resolver_answer_put_u64(&st, (uint64_t)req->scan->action);
    resolver_answer_put_u64(&st, req->scan->token_missing ? 1 : 0);
  } else {
    resolver_answer_put_bytes(&st, nik_hash, nik_hash_len);
  }
  crypto_generichash_final(&st, out, RESOLVER_ANSWER_DIGEST_BYTES);
  return 0;
}

resolver_answer_kind resolver_answer_check(bool recorded, const uint8_t *recorded_digest,
                                           size_t digest_len, int32_t recorded_error,
                                           const uint8_t digest[RESOLVER_ANSWER_DIGEST_BYTES],
                                           Lindung__V1__ErrorCode *error) {
  if (!recorded) return RESOLVER_ANSWER_NEW;
  if (!recorded_digest || digest_len != RESOLVER_ANSWER_DIGEST_BYTES ||
      sodium_memcmp(recorded_digest, digest, RESOLVER_ANSWER_DIGEST_BYTES) != 0) {
    *error = LINDUNG__V1__ERROR_CODE__REPLAYED;
    return RESOLVER_ANSWER_REPLAYED;
  }
  if (recorded_error != 0) *error = (Lindung__V1__ErrorCode)recorded_error;
  return RESOLVER_ANSWER_REPEAT;
}

bool resolver_answer_recordable(Lindung__V1__ErrorCode error) {
  return error != LINDUNG__V1__ERROR_CODE__UNAVAILABLE && error != LINDUNG__V1__ERROR_CODE__REPLAYED;
}

void resolver_answer_replay_audit_id(const uint8_t *request_id, size_t request_id_len,
                                     const uint8_t digest[RESOLVER_ANSWER_DIGEST_BYTES],
                                     uint8_t out[16]) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, (const uint8_t *)"resolver replay", 15, 16);
  crypto_generichash_update(&st, request_id, request_id_len);
  crypto_generichash_update(&st, digest, RESOLVER_ANSWER_DIGEST_BYTES);
  crypto_generichash_final(&st, out, 16);
}
