/* token: derived per-partner tokens, their hashes and audit
 * pseudonyms (see token.h for why each is built the way it is). */
#include "token.h"

#include <sodium.h>
#include <string.h>

void token_derive(const uint8_t key[32], const char *partner_id, const uint8_t request_id[16],
                  char out[TOKEN_TEXT_LEN + 1]) {
  crypto_auth_hmacsha512256_state state;
  uint8_t mac[crypto_auth_hmacsha512256_BYTES];
  static const uint8_t separator = 0;
  crypto_auth_hmacsha512256_init(&state, key, 32);
  crypto_auth_hmacsha512256_update(&state, (const uint8_t *)"lindung token v1", 16);
  crypto_auth_hmacsha512256_update(&state, (const uint8_t *)partner_id, strlen(partner_id));
  crypto_auth_hmacsha512256_update(&state, &separator, 1);
  crypto_auth_hmacsha512256_update(&state, request_id, 16);
  crypto_auth_hmacsha512256_final(&state, mac);
  memcpy(out, TOKEN_PREFIX, 4);
  sodium_bin2base64(out + 4, TOKEN_TEXT_LEN + 1 - 4, mac, sizeof mac,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(&state, sizeof state);
  sodium_memzero(mac, sizeof mac);
}

void token_hash(const char *token, size_t len, uint8_t out[TOKEN_HASH_BYTES]) {
  crypto_generichash(out, TOKEN_HASH_BYTES, (const uint8_t *)token, len, NULL, 0);
}

void token_pseudonym(const uint8_t key[32], uint64_t period_index, int64_t person_id,
                     uint8_t out[16]) {
  /* A subkey per period: pseudonyms of two periods cannot be linked. */
  uint8_t period_key[32];
  crypto_kdf_derive_from_key(period_key, sizeof period_key, period_index, "LDGpseud", key);
  uint8_t id[8];
  for (int i = 0; i < 8; i++) id[i] = (uint8_t)((uint64_t)person_id >> (56 - 8 * i));
  crypto_generichash(out, 16, id, sizeof id, period_key, sizeof period_key);
  sodium_memzero(period_key, sizeof period_key);
}
