/* quota: per-partner token buckets (see quota.h). Only partners found in
 * the registry reach this table, so it stays as small as the registry and
 * needs no eviction. */
#include "quota.h"

#include <stdlib.h>
#include <string.h>

#define QUOTA_MAX_ID 32
#define QUOTA_MILLI 1000u

typedef struct quota_bucket {
  char partner_id[QUOTA_MAX_ID + 1]; /* "" = free slot */
  uint64_t milli_tokens;
  uint64_t last_ms;
} quota_bucket;

struct quota_table {
  quota_bucket *slots;
  size_t capacity; /* power of two */
  size_t used;
};

static uint64_t quota_hash(const char *id) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *id; id++) h = (h ^ (uint8_t)*id) * 1099511628211ull;
  return h;
}

quota_table *quota_table_new(void) {
  quota_table *table = calloc(1, sizeof(*table));
  if (!table) return NULL;
  table->capacity = 32;
  table->slots = calloc(table->capacity, sizeof(quota_bucket));
  if (!table->slots) {
    free(table);
    return NULL;
  }
  return table;
}

void quota_table_free(quota_table *table) {
  if (!table) return;
  free(table->slots);
  free(table);
}

size_t quota_table_size(const quota_table *table) {
  return table ? table->used : 0;
}

static quota_bucket *quota_slot(quota_bucket *slots, size_t capacity, const char *id) {
  size_t i = (size_t)quota_hash(id) & (capacity - 1);
  while (slots[i].partner_id[0] && strcmp(slots[i].partner_id, id) != 0) {
    i = (i + 1) & (capacity - 1);
  }
  return &slots[i];
}

static int quota_grow(quota_table *table) {
  size_t capacity = table->capacity * 2;
  quota_bucket *slots = calloc(capacity, sizeof(quota_bucket));
  if (!slots) return -1;
  for (size_t i = 0; i < table->capacity; i++) {
    if (!table->slots[i].partner_id[0]) continue;
    *quota_slot(slots, capacity, table->slots[i].partner_id) = table->slots[i];
  }
  free(table->slots);
  table->slots = slots;
  table->capacity = capacity;
  return 0;
}

bool quota_take(quota_table *table, const char *partner_id, uint32_t rate_per_s, uint32_t burst,
                uint64_t now_ms) {
  if (rate_per_s == 0) return true;
  if (!table || !partner_id || !partner_id[0] || strlen(partner_id) > QUOTA_MAX_ID) return false;
  uint64_t capacity = (uint64_t)(burst ? burst : rate_per_s) * QUOTA_MILLI;

  quota_bucket *bucket = quota_slot(table->slots, table->capacity, partner_id);
  if (!bucket->partner_id[0]) {
    if ((table->used + 1) * 2 > table->capacity) {
      if (quota_grow(table) != 0) return false;
      bucket = quota_slot(table->slots, table->capacity, partner_id);
    }
    strcpy(bucket->partner_id, partner_id);
    bucket->milli_tokens = capacity;
    bucket->last_ms = now_ms;
    table->used++;
  } else if (now_ms > bucket->last_ms) {
    /* rate_per_s tokens per 1000 ms = rate_per_s milli-tokens per ms. A
     * clock that steps back refills nothing rather than going negative. */
    uint64_t elapsed = now_ms - bucket->last_ms;
    uint64_t refill = elapsed > capacity ? capacity : elapsed * rate_per_s;
    bucket->milli_tokens += refill;
    bucket->last_ms = now_ms;
  }
  if (bucket->milli_tokens > capacity) bucket->milli_tokens = capacity;
  if (bucket->milli_tokens < QUOTA_MILLI) return false;
  bucket->milli_tokens -= QUOTA_MILLI;
  return true;
}
