/* system_keys: the system secret keys, which only decrypt holds.
 *
 * Read from files "system-<id>.key" (64 hex characters and a newline) in
 * one directory. Each key sits in its own sodium_malloc'd page (guarded,
 * locked, wiped on free). A secret key is handed out only for a key id whose
 * registered public key equals crypto_scalarmult_base of it, so a key file
 * that does not belong to the registry entry of its id is never used.
 * Not thread-safe. Prefix system_keys_. */
#ifndef LINDUNG_DECRYPT_SYSTEM_KEYS_H
#define LINDUNG_DECRYPT_SYSTEM_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYSTEM_KEYS_MAX 64

typedef struct system_keys system_keys;

system_keys *system_keys_new(void);
/* Wipes and frees every key. */
void system_keys_free(system_keys *keys);

/* Adds (or replaces) the secret key of key_id; -1 when full or key_id is 0. */
int system_keys_add(system_keys *keys, uint32_t key_id, const uint8_t secret_key[32]);

/* Reads every system-<id>.key file of dir (keys already held are read
 * again). Files must not be readable by group or others when strict is set.
 * Returns the number of keys held afterwards, or -1 with a reason (naming
 * the file, never its contents) in err. */
int system_keys_load_dir(system_keys *keys, const char *dir, bool strict, char *err,
                         size_t err_len);

/* The secret key of key_id if held and its public key is registered_pk;
 * NULL otherwise. */
const uint8_t *system_keys_secret(const system_keys *keys, uint32_t key_id,
                                  const uint8_t registered_pk[32]);

/* True when a secret key of key_id is held (whatever the registry says). */
bool system_keys_has(const system_keys *keys, uint32_t key_id);

size_t system_keys_count(const system_keys *keys);
/* The key id held at index (0 <= index < count), for checks at load. */
uint32_t system_keys_id_at(const system_keys *keys, size_t index);

#endif
