/* inner_seal: XChaCha20-Poly1305 sealing between services (inner_seal.h). */
#include "inner_seal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "key_dir.h"
#include "lindung/v1/internal.pb-c.h"
#include "proto_limits.h"

#define INNER_SEAL_AD_LABEL "lindung.inner.v1"
#define INNER_SEAL_AD_MAX (sizeof(INNER_SEAL_AD_LABEL) + INNER_SEAL_CONTEXT_MAX + 1 + 4)

typedef struct inner_seal_key {
  uint32_t key_id;
  uint8_t seal[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
  uint8_t partition[crypto_generichash_KEYBYTES];
} inner_seal_key;

struct inner_seal_keys {
  inner_seal_key *slots[INNER_SEAL_KEYS_MAX]; /* each sodium_malloc'ed */
  size_t count;
};

inner_seal_keys *inner_seal_keys_new(void) {
  if (sodium_init() < 0) return NULL;
  return calloc(1, sizeof(inner_seal_keys));
}

void inner_seal_keys_free(inner_seal_keys *keys) {
  if (!keys) return;
  for (size_t i = 0; i < keys->count; i++) sodium_free(keys->slots[i]); /* wipes */
  free(keys);
}

static const inner_seal_key *inner_seal_find(const inner_seal_keys *keys, uint32_t key_id) {
  for (size_t i = 0; keys && i < keys->count; i++)
    if (keys->slots[i]->key_id == key_id) return keys->slots[i];
  return NULL;
}

int inner_seal_keys_add(inner_seal_keys *keys, uint32_t key_id,
                        const uint8_t master[INNER_SEAL_KEY_BYTES]) {
  if (!keys || key_id == 0) return -1;
  inner_seal_key *slot = (inner_seal_key *)inner_seal_find(keys, key_id);
  if (!slot) {
    if (keys->count == INNER_SEAL_KEYS_MAX) return -1;
    slot = sodium_malloc(sizeof(*slot));
    if (!slot) return -1;
    keys->slots[keys->count++] = slot;
  }
  slot->key_id = key_id;
  /* Separate keys for separate jobs: the hash key cannot open anything. */
  crypto_kdf_derive_from_key(slot->seal, sizeof slot->seal, 1, "lindseal", master);
  crypto_kdf_derive_from_key(slot->partition, sizeof slot->partition, 2, "lindpart", master);
  return 0;
}

static int inner_seal_on_file(void *ctx, uint32_t key_id, const uint8_t key[KEY_DIR_KEY_BYTES],
                              char *err, size_t err_len) {
  if (inner_seal_keys_add(ctx, key_id, key) == 0) return 0;
  snprintf(err, err_len, "too many inner keys (at most %d)", INNER_SEAL_KEYS_MAX);
  return -1;
}

int inner_seal_keys_load_dir(inner_seal_keys *keys, const char *dir, bool strict, char *err,
                             size_t err_len) {
  if (!keys) {
    snprintf(err, err_len, "no inner key store");
    return -1;
  }
  if (key_dir_load(dir, INNER_SEAL_FILE_PREFIX, strict, inner_seal_on_file, keys, err, err_len) <
      0)
    return -1;
  return (int)keys->count;
}

size_t inner_seal_keys_count(const inner_seal_keys *keys) {
  return keys ? keys->count : 0;
}

uint32_t inner_seal_current_id(const inner_seal_keys *keys) {
  uint32_t current = 0;
  for (size_t i = 0; keys && i < keys->count; i++)
    if (keys->slots[i]->key_id > current) current = keys->slots[i]->key_id;
  return current;
}

/* "lindung.inner.v1" 0 context 0 key_id; 0 when context is empty or long. */
static size_t inner_seal_ad(const char *context, uint32_t key_id, uint8_t ad[INNER_SEAL_AD_MAX]) {
  size_t context_len = context ? strlen(context) : 0;
  if (context_len == 0 || context_len > INNER_SEAL_CONTEXT_MAX) return 0;
  size_t n = sizeof(INNER_SEAL_AD_LABEL); /* with its NUL */
  memcpy(ad, INNER_SEAL_AD_LABEL, n);
  memcpy(ad + n, context, context_len + 1);
  n += context_len + 1;
  for (int i = 3; i >= 0; i--) ad[n++] = (uint8_t)(key_id >> (8 * i));
  return n;
}

size_t inner_seal(const inner_seal_keys *keys, const char *context, const uint8_t *plain,
                  size_t plain_len, uint8_t *out, size_t out_cap) {
  const inner_seal_key *key = inner_seal_find(keys, inner_seal_current_id(keys));
  uint8_t ad[INNER_SEAL_AD_MAX];
  size_t ad_len = key ? inner_seal_ad(context, key->key_id, ad) : 0;
  if (!ad_len || plain_len + INNER_SEAL_OVERHEAD > out_cap ||
      plain_len + INNER_SEAL_OVERHEAD > PROTO_MAX_MESSAGE_BYTES)
    return 0;
  uint8_t nonce[INNER_SEAL_NONCE_BYTES];
  uint8_t sealed[PROTO_MAX_MESSAGE_BYTES];
  unsigned long long sealed_len = 0;
  randombytes_buf(nonce, sizeof nonce);
  crypto_aead_xchacha20poly1305_ietf_encrypt(sealed, &sealed_len, plain, plain_len, ad, ad_len,
                                             NULL, nonce, key->seal);
  Lindung__V1__SealedRecord record = LINDUNG__V1__SEALED_RECORD__INIT;
  record.key_id = key->key_id;
  record.nonce.data = nonce;
  record.nonce.len = sizeof nonce;
  record.ciphertext.data = sealed;
  record.ciphertext.len = (size_t)sealed_len;
  if (lindung__v1__sealed_record__get_packed_size(&record) > out_cap) return 0;
  return lindung__v1__sealed_record__pack(&record, out);
}

inner_open_status inner_open(const inner_seal_keys *keys, const char *context, const uint8_t *in,
                             size_t in_len, uint8_t *plain, size_t plain_cap, size_t *plain_len) {
  ProtobufCMessage *message = NULL;
  *plain_len = 0;
  if (proto_decode(&lindung__v1__sealed_record__descriptor, in, in_len, PROTO_MAX_MESSAGE_BYTES,
                   &message) != PROTO_DECODE_OK)
    return INNER_OPEN_MALFORMED;
  const Lindung__V1__SealedRecord *record = (const Lindung__V1__SealedRecord *)message;
  inner_open_status status = INNER_OPEN_OK;
  uint8_t ad[INNER_SEAL_AD_MAX];
  size_t ad_len = inner_seal_ad(context, record->key_id, ad);
  const inner_seal_key *key = inner_seal_find(keys, record->key_id);
  if (!ad_len || record->nonce.len != INNER_SEAL_NONCE_BYTES ||
      record->ciphertext.len < INNER_SEAL_TAG_BYTES ||
      record->ciphertext.len - INNER_SEAL_TAG_BYTES > plain_cap) {
    status = INNER_OPEN_MALFORMED;
  } else if (!key) {
    status = INNER_OPEN_UNKNOWN_KEY;
  } else {
    unsigned long long opened = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &opened, NULL, record->ciphertext.data,
                                                   record->ciphertext.len, ad, ad_len,
                                                   record->nonce.data, key->seal) != 0)
      status = INNER_OPEN_FORGED;
    else
      *plain_len = (size_t)opened;
  }
  protobuf_c_message_free_unpacked(message, NULL);
  return status;
}

const char *inner_open_reason(inner_open_status status) {
  switch (status) {
    case INNER_OPEN_OK:
      return "ok";
    case INNER_OPEN_MALFORMED:
      return "sealed_malformed";
    case INNER_OPEN_UNKNOWN_KEY:
      return "sealed_unknown_key";
    case INNER_OPEN_FORGED:
      return "sealed_not_opened";
  }
  return "sealed_malformed";
}

int inner_seal_partition_hash(const inner_seal_keys *keys, const char *label, const void *data,
                              size_t len, uint8_t out[INNER_SEAL_HASH_BYTES]) {
  const inner_seal_key *key = inner_seal_find(keys, inner_seal_current_id(keys));
  if (!key || !label) return -1;
  crypto_generichash_state state;
  crypto_generichash_init(&state, key->partition, sizeof key->partition, INNER_SEAL_HASH_BYTES);
  crypto_generichash_update(&state, (const uint8_t *)label, strlen(label) + 1);
  crypto_generichash_update(&state, data, len);
  crypto_generichash_final(&state, out, INNER_SEAL_HASH_BYTES);
  sodium_memzero(&state, sizeof state);
  return 0;
}
