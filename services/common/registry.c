/* registry: an immutable-once-built snapshot of partners, their keys and
 * the system keys, with O(1) lookup by partner id for the per-message path. */
#include "registry.h"

#include <stdlib.h>
#include <string.h>

#define REGISTRY_MAX_SYSTEM_KEYS 16

struct registry {
  registry_partner *partners;
  size_t partner_count, partner_capacity;
  uint32_t *slots; /* open addressing: index + 1 into partners, 0 = empty */
  size_t slot_count; /* power of two, at least twice partner_count */
  registry_system_key system_keys[REGISTRY_MAX_SYSTEM_KEYS];
  size_t system_key_count;
  uint64_t version;
};

static uint64_t registry_hash(const char *text) {
  uint64_t hash = 1469598103934665603ull; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    hash ^= *p;
    hash *= 1099511628211ull;
  }
  return hash;
}

static bool registry_valid_partner_id(const char *id) {
  size_t len = id ? strlen(id) : 0;
  if (len < 2 || len > REGISTRY_MAX_PARTNER_ID) return false;
  for (size_t i = 0; i < len; i++) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

registry *registry_new(void) {
  return calloc(1, sizeof(registry));
}

void registry_free(registry *reg) {
  if (!reg) return;
  free(reg->partners);
  free(reg->slots);
  free(reg);
}

static int registry_rehash(registry *reg, size_t slot_count) {
  uint32_t *slots = calloc(slot_count, sizeof *slots);
  if (!slots) return -1;
  for (size_t i = 0; i < reg->partner_count; i++) {
    size_t slot = registry_hash(reg->partners[i].partner_id) & (slot_count - 1);
    while (slots[slot]) slot = (slot + 1) & (slot_count - 1);
    slots[slot] = (uint32_t)(i + 1);
  }
  free(reg->slots);
  reg->slots = slots;
  reg->slot_count = slot_count;
  return 0;
}

registry *registry_copy(const registry *source) {
  registry *copy = registry_new();
  if (!copy) return NULL;
  *copy = *source;
  copy->partners = NULL;
  copy->slots = NULL;
  if (source->partner_count) {
    copy->partners = malloc(source->partner_capacity * sizeof *copy->partners);
    copy->slots = malloc(source->slot_count * sizeof *copy->slots);
    if (!copy->partners || !copy->slots) {
      registry_free(copy);
      return NULL;
    }
    memcpy(copy->partners, source->partners, source->partner_count * sizeof *copy->partners);
    memcpy(copy->slots, source->slots, source->slot_count * sizeof *copy->slots);
  } else {
    copy->partner_capacity = 0;
    copy->slot_count = 0;
  }
  return copy;
}

static registry_partner *registry_find_mutable(const registry *reg, const char *partner_id) {
  if (!reg->slot_count || !partner_id) return NULL;
  size_t slot = registry_hash(partner_id) & (reg->slot_count - 1);
  while (reg->slots[slot]) {
    registry_partner *partner = &reg->partners[reg->slots[slot] - 1];
    if (!strcmp(partner->partner_id, partner_id)) return partner;
    slot = (slot + 1) & (reg->slot_count - 1);
  }
  return NULL;
}

int registry_put_partner(registry *reg, const char *partner_id, bool revoked, uint32_t rate_per_s,
                         uint32_t burst) {
  if (!registry_valid_partner_id(partner_id)) return -1;
  registry_partner *partner = registry_find_mutable(reg, partner_id);
  if (!partner) {
    if (reg->partner_count == reg->partner_capacity) {
      size_t capacity = reg->partner_capacity ? reg->partner_capacity * 2 : 16;
      registry_partner *grown = realloc(reg->partners, capacity * sizeof *grown);
      if (!grown) return -1;
      reg->partners = grown;
      reg->partner_capacity = capacity;
    }
    partner = &reg->partners[reg->partner_count++];
    memset(partner, 0, sizeof *partner);
    strcpy(partner->partner_id, partner_id);
    if (reg->partner_count * 2 > reg->slot_count) {
      size_t slots = reg->slot_count ? reg->slot_count * 2 : 32;
      while (slots < reg->partner_count * 2) slots *= 2;
      if (registry_rehash(reg, slots)) {
        reg->partner_count--;
        return -1;
      }
    } else {
      size_t slot = registry_hash(partner_id) & (reg->slot_count - 1);
      while (reg->slots[slot]) slot = (slot + 1) & (reg->slot_count - 1);
      reg->slots[slot] = (uint32_t)reg->partner_count;
    }
  }
  partner->revoked = revoked;
  partner->rate_per_s = rate_per_s;
  partner->burst = burst;
  return 0;
}

int registry_put_partner_key(registry *reg, const char *partner_id, uint32_t key_id,
                             const uint8_t public_key[32], bool revoked) {
  registry_partner *partner = registry_find_mutable(reg, partner_id);
  if (!partner || key_id == 0) return -1;
  registry_key *key = (registry_key *)registry_find_partner_key(partner, key_id);
  if (!key) {
    if (partner->key_count == REGISTRY_MAX_KEYS_PER_PARTNER) return -1;
    key = &partner->keys[partner->key_count++];
    key->key_id = key_id;
  }
  memcpy(key->public_key, public_key, 32);
  key->revoked = revoked;
  return 0;
}

int registry_put_system_key(registry *reg, uint32_t key_id, const uint8_t public_key[32],
                            registry_system_key_status status, uint64_t retire_after_ms) {
  if (key_id == 0) return -1;
  registry_system_key *key = (registry_system_key *)registry_find_system_key(reg, key_id);
  if (!key) {
    if (reg->system_key_count == REGISTRY_MAX_SYSTEM_KEYS) return -1;
    key = &reg->system_keys[reg->system_key_count++];
    key->key_id = key_id;
  }
  memcpy(key->public_key, public_key, 32);
  key->status = status;
  key->retire_after_ms = retire_after_ms;
  return 0;
}

const registry_partner *registry_find_partner(const registry *reg, const char *partner_id) {
  return registry_find_mutable(reg, partner_id);
}

const registry_key *registry_find_partner_key(const registry_partner *partner, uint32_t key_id) {
  for (size_t i = 0; i < partner->key_count; i++)
    if (partner->keys[i].key_id == key_id) return &partner->keys[i];
  return NULL;
}

const registry_system_key *registry_find_system_key(const registry *reg, uint32_t key_id) {
  for (size_t i = 0; i < reg->system_key_count; i++)
    if (reg->system_keys[i].key_id == key_id) return &reg->system_keys[i];
  return NULL;
}

size_t registry_system_key_count(const registry *reg) {
  return reg->system_key_count;
}

const registry_system_key *registry_system_key_at(const registry *reg, size_t index) {
  return index < reg->system_key_count ? &reg->system_keys[index] : NULL;
}

bool registry_system_key_usable(const registry_system_key *key, uint64_t now_ms) {
  switch (key->status) {
    case REGISTRY_SYSTEM_KEY_ACTIVE: return true;
    case REGISTRY_SYSTEM_KEY_RETIRING: return key->retire_after_ms == 0 || now_ms < key->retire_after_ms;
    default: return false;
  }
}

size_t registry_partner_count(const registry *reg) {
  return reg->partner_count;
}

uint64_t registry_version(const registry *reg) {
  return reg->version;
}

void registry_set_version(registry *reg, uint64_t version) {
  reg->version = version;
}
