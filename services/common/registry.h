/* registry: the partner registry as every scan-path service sees it:
 * partners (active or revoked, quota), their keys, and the system keys.
 *
 * A registry is an immutable snapshot once built: the loader builds a new
 * one from PostgreSQL (registry_pg.h) or applies a partner event to a copy,
 * then swaps it in, so per-message code never sees a half-applied change.
 * Prefix registry_. */
#ifndef LINDUNG_REGISTRY_H
#define LINDUNG_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REGISTRY_MAX_PARTNER_ID 32
#define REGISTRY_MAX_KEYS_PER_PARTNER 8

typedef struct registry_key {
  uint32_t key_id;
  uint8_t public_key[32];
  bool revoked;
} registry_key;

typedef struct registry_partner {
  char partner_id[REGISTRY_MAX_PARTNER_ID + 1];
  bool revoked;
  uint32_t rate_per_s; /* 0: no quota */
  uint32_t burst;
  size_t key_count;
  registry_key keys[REGISTRY_MAX_KEYS_PER_PARTNER];
} registry_partner;

typedef enum registry_system_key_status {
  REGISTRY_SYSTEM_KEY_ACTIVE,
  REGISTRY_SYSTEM_KEY_RETIRING, /* still opens requests until retire_after_ms */
  REGISTRY_SYSTEM_KEY_REVOKED,
} registry_system_key_status;

typedef struct registry_system_key {
  uint32_t key_id;
  uint8_t public_key[32];
  registry_system_key_status status;
  uint64_t retire_after_ms; /* 0: none */
} registry_system_key;

typedef struct registry registry;

registry *registry_new(void);
registry *registry_copy(const registry *source);
void registry_free(registry *registry);

/* Builders; return 0, or -1 when the input is invalid or full. */
int registry_put_partner(registry *registry, const char *partner_id, bool revoked,
                         uint32_t rate_per_s, uint32_t burst);
int registry_put_partner_key(registry *registry, const char *partner_id, uint32_t key_id,
                             const uint8_t public_key[32], bool revoked);
int registry_put_system_key(registry *registry, uint32_t key_id, const uint8_t public_key[32],
                            registry_system_key_status status, uint64_t retire_after_ms);

const registry_partner *registry_find_partner(const registry *registry, const char *partner_id);
const registry_key *registry_find_partner_key(const registry_partner *partner, uint32_t key_id);
const registry_system_key *registry_find_system_key(const registry *registry, uint32_t key_id);

/* The system keys in registration order, for code that walks them all
 * (e.g. retiring the older keys when a rotation event arrives). */
size_t registry_system_key_count(const registry *registry);
const registry_system_key *registry_system_key_at(const registry *registry, size_t index);

/* True when the system key may open requests at now_ms. */
bool registry_system_key_usable(const registry_system_key *key, uint64_t now_ms);

size_t registry_partner_count(const registry *registry);
uint64_t registry_version(const registry *registry);
void registry_set_version(registry *registry, uint64_t version);

#endif
