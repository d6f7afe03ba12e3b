/* system_keys: holds the system secret keys in guarded memory (see
 * system_keys.h). The public key of each secret is computed once at load,
 * so the per-message check against the registry is one comparison. */
#include "system_keys.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "hex.h"

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

/* "system-<id>.key" with a decimal id 1..UINT32_MAX; 0 otherwise. */
static uint32_t system_keys_file_id(const char *name) {
  static const char prefix[] = "system-", suffix[] = ".key";
  size_t len = strlen(name), pre = sizeof(prefix) - 1, suf = sizeof(suffix) - 1;
  if (len <= pre + suf || strncmp(name, prefix, pre) != 0 ||
      strcmp(name + len - suf, suffix) != 0) {
    return 0;
  }
  uint64_t id = 0;
  for (size_t i = pre; i < len - suf; i++) {
    if (name[i] < '0' || name[i] > '9' || i - pre >= 10) return 0;
    id = id * 10 + (uint64_t)(name[i] - '0');
  }
  return id <= UINT32_MAX ? (uint32_t)id : 0;
}

int system_keys_load_dir(system_keys *keys, const char *dir, bool strict, char *err,
                         size_t err_len) {
  if (!keys || !dir || !*dir) {
    snprintf(err, err_len, "no system key directory given");
    return -1;
  }
  DIR *d = opendir(dir);
  if (!d) {
    snprintf(err, err_len, "cannot open system key directory %s: %s", dir, strerror(errno));
    return -1;
  }
  int rc = 0;
  struct dirent *entry;
  /* Buffers for key material are wiped on every path out. */
  uint8_t text[65];
  uint8_t secret[32];
  /* Locked (never swapped) while they hold a key; munlock wipes them. */
  (void)sodium_mlock(text, sizeof(text));
  (void)sodium_mlock(secret, sizeof(secret));
  while (rc == 0 && (entry = readdir(d)) != NULL) {
    uint32_t key_id = system_keys_file_id(entry->d_name);
    if (!key_id) continue;
    char path[4096];
    if (snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name) >= (int)sizeof(path)) {
      snprintf(err, err_len, "system key path too long in %s", dir);
      rc = -1;
      break;
    }
    long len = cfg_read_secret(path, text, 64, strict, err, err_len);
    if (len < 0) {
      rc = -1;
      break;
    }
    text[len] = '\0';
    if (len != 64 || hex_decode((const char *)text, secret, 32) != 0) {
      snprintf(err, err_len, "system key file %s does not hold 64 hex characters", path);
      rc = -1;
      break;
    }
    if (system_keys_add(keys, key_id, secret) != 0) {
      snprintf(err, err_len, "too many system keys in %s (at most %d)", dir, SYSTEM_KEYS_MAX);
      rc = -1;
    }
  }
  closedir(d);
  sodium_munlock(text, sizeof(text));
  sodium_munlock(secret, sizeof(secret));
  return rc == 0 ? (int)keys->count : -1;
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
