/* system_keys: holds the system secret keys in guarded memory (see
 * system_keys.h). The public key of each secret is computed once at load,
 * so the per-message check against the registry is one comparison. */
#include "system_keys.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "key_dir.h"

typedef struct system_key_secret {
  uint32_t key_id;
  uint8_t secret_key[32];
  uint8_t public_key[32];
} system_key_secret;

struct system_keys {
  system_key_secret *slots[SYSTEM_KEYS_MAX]; /* each sodium_malloc'ed */
  size_t count;
};

system_keys *system_keys_new(void) {
  if (sodium_init() < 0) return NULL;
  return calloc(1, sizeof(system_keys));
}

void system_keys_free(system_keys *keys) {
  if (!keys) return;
  for (size_t i = 0; i < keys->count; i++) sodium_free(keys->slots[i]); /* wipes */
  free(keys);
}

static system_key_secret *system_keys_find(const system_keys *keys, uint32_t key_id) {
  for (size_t i = 0; i < keys->count; i++) {
    if (keys->slots[i]->key_id == key_id) return keys->slots[i];
  }
  return NULL;
}

int system_keys_add(system_keys *keys, uint32_t key_id, const uint8_t secret_key[32]) {
  if (!keys || key_id == 0) return -1;
  system_key_secret *slot = system_keys_find(keys, key_id);
  if (!slot) {
    if (keys->count == SYSTEM_KEYS_MAX) return -1;
    slot = sodium_malloc(sizeof(*slot));
    if (!slot) return -1;
    keys->slots[keys->count++] = slot;
  }
  slot->key_id = key_id;
  memcpy(slot->secret_key, secret_key, 32);
  if (crypto_scalarmult_base(slot->public_key, slot->secret_key) != 0) {
    /* Leaves an entry whose public key matches nothing registered. */
    sodium_memzero(slot->public_key, sizeof(slot->public_key));
  }
  return 0;
}

static int system_keys_on_file(void *ctx, uint32_t key_id, const uint8_t key[KEY_DIR_KEY_BYTES],
                               char *err, size_t err_len) {
  if (system_keys_add(ctx, key_id, key) == 0) return 0;
  snprintf(err, err_len, "too many system keys (at most %d)", SYSTEM_KEYS_MAX);
  return -1;
}

int system_keys_load_dir(system_keys *keys, const char *dir, bool strict, char *err,
                         size_t err_len) {
  if (!keys) {
    snprintf(err, err_len, "no system key store");
    return -1;
  }
  if (key_dir_load(dir, "system", strict, system_keys_on_file, keys, err, err_len) < 0) return -1;
  return (int)keys->count;
}

const uint8_t *system_keys_secret(const system_keys *keys, uint32_t key_id,
                                  const uint8_t registered_pk[32]) {
  if (!keys || !registered_pk) return NULL;
  const system_key_secret *slot = system_keys_find(keys, key_id);
  if (!slot || sodium_memcmp(slot->public_key, registered_pk, 32) != 0) return NULL;
  return slot->secret_key;
}

bool system_keys_has(const system_keys *keys, uint32_t key_id) {
  return keys && system_keys_find(keys, key_id) != NULL;
}

size_t system_keys_count(const system_keys *keys) {
  return keys ? keys->count : 0;
}

uint32_t system_keys_id_at(const system_keys *keys, size_t index) {
  return keys && index < keys->count ? keys->slots[index]->key_id : 0;
}
