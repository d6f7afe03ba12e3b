/* envelope: associated data, crypto_kx session keys, XChaCha20-Poly1305-IETF
 * sealing, response pads and the session-key cache of docs/partner-protocol.md v1.
 *
 * The pad functions split the AEAD in two halves: envelope_pad_make runs the
 * cipher (it needs the key), envelope_pad_seal only XORs and runs Poly1305
 * (it needs the pad). Together they reproduce
 * crypto_aead_xchacha20poly1305_ietf_encrypt byte for byte. */
#include "envelope.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define ENVELOPE_MAGIC "LDG1"
#define ENVELOPE_BLOCK_BYTES 64 /* one ChaCha20 block */
#define ENVELOPE_POLY_KEY_BYTES 32

/* sodium_init is idempotent and thread-safe; calling it on every entry point
 * means no program can forget it. */
static int envelope_ready(void) {
  return sodium_init() < 0 ? -1 : 0;
}

static uint8_t *envelope_put_be(uint8_t *p, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; i--) {
    *p++ = (uint8_t)(value >> (8 * i));
  }
  return p;
}

size_t envelope_associated_data(envelope_direction direction, const envelope_header *header,
                                uint8_t out[ENVELOPE_MAX_AD_BYTES]) {
  if (!header || !header->partner_id || !header->request_id || !out) return 0;
  if (direction != ENVELOPE_REQUEST && direction != ENVELOPE_RESPONSE) return 0;
  size_t id_len = strnlen(header->partner_id, ENVELOPE_MAX_PARTNER_ID + 1);
  if (id_len == 0 || id_len > ENVELOPE_MAX_PARTNER_ID) return 0;

  uint8_t *p = out;
  memcpy(p, ENVELOPE_MAGIC, 4);
  p += 4;
  *p++ = (uint8_t)direction;
  p = envelope_put_be(p, id_len, 2);
  memcpy(p, header->partner_id, id_len);
  p += id_len;
  p = envelope_put_be(p, header->partner_key_id, 4);
  p = envelope_put_be(p, header->system_key_id, 4);
  memcpy(p, header->request_id, ENVELOPE_REQUEST_ID_BYTES);
  p += ENVELOPE_REQUEST_ID_BYTES;
  p = envelope_put_be(p, header->at_ms, 8);
  return (size_t)(p - out);
}

int envelope_partner_session(envelope_session *out, const uint8_t partner_pk[32],
                             const uint8_t partner_sk[32], const uint8_t system_pk[32]) {
  if (!out || envelope_ready() != 0) return -1;
  if (crypto_kx_client_session_keys(out->rx, out->tx, partner_pk, partner_sk, system_pk) != 0) {
    sodium_memzero(out, sizeof(*out));
    return -1;
  }
  return 0;
}

int envelope_system_session(envelope_session *out, const uint8_t system_pk[32],
                            const uint8_t system_sk[32], const uint8_t partner_pk[32]) {
  if (!out || envelope_ready() != 0) return -1;
  /* Fails on a partner key that is a low-order point. */
  if (crypto_kx_server_session_keys(out->rx, out->tx, system_pk, system_sk, partner_pk) != 0) {
    sodium_memzero(out, sizeof(*out));
    return -1;
  }
  return 0;
}

int envelope_seal_with_nonce(const uint8_t key[32], const uint8_t *ad, size_t ad_len,
                             const uint8_t *plain, size_t plain_len,
                             const uint8_t nonce[ENVELOPE_NONCE_BYTES], uint8_t *out) {
  if (!key || !nonce || !out || (!ad && ad_len) || (!plain && plain_len)) return -1;
  if (plain_len > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX) return -1;
  if (envelope_ready() != 0) return -1;
  unsigned long long out_len = 0;
  return crypto_aead_xchacha20poly1305_ietf_encrypt(out, &out_len, plain, plain_len, ad, ad_len,
                                                    NULL, nonce, key) == 0
             ? 0
             : -1;
}

int envelope_seal(const uint8_t key[32], const uint8_t *ad, size_t ad_len, const uint8_t *plain,
                  size_t plain_len, uint8_t nonce_out[ENVELOPE_NONCE_BYTES], uint8_t *out) {
  if (!nonce_out || envelope_ready() != 0) return -1;
  randombytes_buf(nonce_out, ENVELOPE_NONCE_BYTES);
  return envelope_seal_with_nonce(key, ad, ad_len, plain, plain_len, nonce_out, out);
}

int envelope_open(const uint8_t key[32], const uint8_t *ad, size_t ad_len,
                  const uint8_t nonce[ENVELOPE_NONCE_BYTES], const uint8_t *sealed,
                  size_t sealed_len, uint8_t *out) {
  if (!key || !nonce || !sealed || (!ad && ad_len)) return -1;
  if (sealed_len < ENVELOPE_TAG_BYTES || (!out && sealed_len > ENVELOPE_TAG_BYTES)) return -1;
  if (envelope_ready() != 0) return -1;
  unsigned long long out_len = 0;
  /* libsodium checks the tag before it decrypts and clears out on failure. */
  return crypto_aead_xchacha20poly1305_ietf_decrypt(out, &out_len, NULL, sealed, sealed_len, ad,
                                                    ad_len, nonce, key) == 0
             ? 0
             : -1;
}

/* XChaCha20-Poly1305-IETF runs ChaCha20-IETF under the HChaCha20 subkey with
 * nonce 0x00000000 || nonce[16..24]. crypto_stream_xchacha20 runs the DJB
 * variant (64-bit counter, then nonce[16..24]) under the same subkey; while
 * the counter stays below 2^32 both put the same words in the state, so its
 * block 0 holds the Poly1305 key and blocks 1.. the message keystream. The
 * unit tests check the result against the AEAD itself. */
int envelope_pad_make(const uint8_t tx_key[32], uint8_t nonce_out[ENVELOPE_NONCE_BYTES],
                      uint8_t pad_out[ENVELOPE_PAD_BYTES]) {
  if (!tx_key || !nonce_out || !pad_out || envelope_ready() != 0) return -1;
  uint8_t stream[ENVELOPE_BLOCK_BYTES + ENVELOPE_PAD_MAX_BODY];
  randombytes_buf(nonce_out, ENVELOPE_NONCE_BYTES);
  if (crypto_stream_xchacha20(stream, sizeof(stream), nonce_out, tx_key) != 0) {
    sodium_memzero(stream, sizeof(stream));
    return -1;
  }
  memcpy(pad_out, stream, ENVELOPE_POLY_KEY_BYTES);
  memcpy(pad_out + ENVELOPE_POLY_KEY_BYTES, stream + ENVELOPE_BLOCK_BYTES, ENVELOPE_PAD_MAX_BODY);
  sodium_memzero(stream, sizeof(stream));
  return 0;
}

static void envelope_poly_pad16(crypto_onetimeauth_poly1305_state *state, size_t len) {
  static const uint8_t zeros[16];
  if (len % 16) crypto_onetimeauth_poly1305_update(state, zeros, 16 - len % 16);
}

int envelope_pad_seal(const uint8_t pad[ENVELOPE_PAD_BYTES], const uint8_t *ad, size_t ad_len,
                      const uint8_t *plain, size_t plain_len, uint8_t *out) {
  if (!pad || !out || (!ad && ad_len) || (!plain && plain_len)) return -1;
  if (plain_len > ENVELOPE_PAD_MAX_BODY || envelope_ready() != 0) return -1;

  const uint8_t *keystream = pad + ENVELOPE_POLY_KEY_BYTES;
  for (size_t i = 0; i < plain_len; i++) out[i] = plain[i] ^ keystream[i];

  /* The RFC 8439 MAC layout, as libsodium's IETF construction computes it. */
  crypto_onetimeauth_poly1305_state state;
  uint8_t lengths[16];
  for (int i = 0; i < 8; i++) {
    lengths[i] = (uint8_t)((uint64_t)ad_len >> (8 * i));
    lengths[8 + i] = (uint8_t)((uint64_t)plain_len >> (8 * i));
  }
  crypto_onetimeauth_poly1305_init(&state, pad);
  if (ad_len) crypto_onetimeauth_poly1305_update(&state, ad, ad_len);
  envelope_poly_pad16(&state, ad_len);
  if (plain_len) crypto_onetimeauth_poly1305_update(&state, out, plain_len);
  envelope_poly_pad16(&state, plain_len);
  crypto_onetimeauth_poly1305_update(&state, lengths, sizeof(lengths));
  crypto_onetimeauth_poly1305_final(&state, out + plain_len);
  sodium_memzero(&state, sizeof(state));
  return 0;
}

/* ---- session-key cache ---- */

typedef struct envelope_cache_entry {
  envelope_session session;
  uint8_t partner_pk[32];
  uint32_t system_key_id;
  int in_use;
  uint64_t last_used; /* cache->clock at the last hit; 0 = never */
} envelope_cache_entry;

struct envelope_cache {
  envelope_cache_entry *entries; /* sodium_malloc'ed: guarded, locked, wiped on free */
  size_t capacity;
  uint64_t clock;
};

envelope_cache *envelope_cache_new(size_t capacity) {
  if (capacity == 0 || capacity > SIZE_MAX / sizeof(envelope_cache_entry)) return NULL;
  if (envelope_ready() != 0) return NULL;
  envelope_cache *cache = calloc(1, sizeof(*cache));
  if (!cache) return NULL;
  cache->entries = sodium_allocarray(capacity, sizeof(envelope_cache_entry));
  if (!cache->entries) {
    free(cache);
    return NULL;
  }
  sodium_memzero(cache->entries, capacity * sizeof(envelope_cache_entry));
  cache->capacity = capacity;
  return cache;
}

static void envelope_cache_drop(envelope_cache_entry *entry) {
  sodium_memzero(entry, sizeof(*entry));
}

const envelope_session *envelope_cache_system_session(envelope_cache *cache, uint32_t system_key_id,
                                                      const uint8_t system_pk[32],
                                                      const uint8_t system_sk[32],
                                                      const uint8_t partner_pk[32]) {
  if (!cache || !system_pk || !system_sk || !partner_pk) return NULL;
  /* A linear scan: the cache holds one entry per registered partner key,
   * a few hundred at most, and a scan is cheaper than the X25519 it saves. */
  envelope_cache_entry *victim = NULL;
  for (size_t i = 0; i < cache->capacity; i++) {
    envelope_cache_entry *e = &cache->entries[i];
    if (!e->in_use) {
      if (!victim || victim->in_use) victim = e;
      continue;
    }
    if (e->system_key_id == system_key_id && sodium_memcmp(e->partner_pk, partner_pk, 32) == 0) {
      e->last_used = ++cache->clock;
      return &e->session;
    }
    if (!victim || (victim->in_use && e->last_used < victim->last_used)) victim = e;
  }

  /* Derive first, so a refused partner key evicts nothing. */
  envelope_session fresh;
  if (envelope_system_session(&fresh, system_pk, system_sk, partner_pk) != 0) return NULL;
  envelope_cache_drop(victim);
  victim->session = fresh;
  sodium_memzero(&fresh, sizeof(fresh));
  memcpy(victim->partner_pk, partner_pk, 32);
  victim->system_key_id = system_key_id;
  victim->in_use = 1;
  victim->last_used = ++cache->clock;
  return &victim->session;
}

void envelope_cache_forget_system_key(envelope_cache *cache, uint32_t system_key_id) {
  if (!cache) return;
  for (size_t i = 0; i < cache->capacity; i++) {
    envelope_cache_entry *e = &cache->entries[i];
    if (e->in_use && e->system_key_id == system_key_id) envelope_cache_drop(e);
  }
}

void envelope_cache_free(envelope_cache *cache) {
  if (!cache) return;
  sodium_memzero(cache->entries, cache->capacity * sizeof(envelope_cache_entry));
  sodium_free(cache->entries);
  sodium_memzero(cache, sizeof(*cache));
  free(cache);
}
