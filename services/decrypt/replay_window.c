/* replay_window: a bounded, expiring set of seen request ids (see
 * replay_window.h). Entries live in a ring in arrival order, so expiry and
 * eviction both drop from the tail; the index is linear probing with
 * backward-shift deletion, so it never fills with tombstones. */
#include "replay_window.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

typedef struct replay_entry {
  uint8_t digest[16];
  uint64_t first_seen_ms;
  int64_t offset;
  int32_t partition;
  uint32_t slot; /* where the index points at this entry */
} replay_entry;

struct replay_window {
  replay_entry *ring;
  size_t capacity;
  size_t head;     /* next position written */
  size_t count;    /* entries held; the oldest is at head - count */
  uint32_t *index; /* ring position + 1, 0 = empty */
  size_t index_mask;
  uint64_t ttl_ms;
  uint8_t hash_key[crypto_generichash_KEYBYTES];
};

replay_window *replay_window_new(size_t capacity, uint64_t ttl_ms) {
  if (capacity == 0 || capacity > UINT32_MAX / 4) return NULL;
  if (sodium_init() < 0) return NULL;
  replay_window *window = calloc(1, sizeof(*window));
  if (!window) return NULL;
  size_t index_size = 16;
  while (index_size < capacity * 2) index_size *= 2;
  window->ring = calloc(capacity, sizeof(replay_entry));
  window->index = calloc(index_size, sizeof(uint32_t));
  if (!window->ring || !window->index) {
    replay_window_free(window);
    return NULL;
  }
  window->capacity = capacity;
  window->index_mask = index_size - 1;
  window->ttl_ms = ttl_ms;
  randombytes_buf(window->hash_key, sizeof(window->hash_key));
  return window;
}

void replay_window_free(replay_window *window) {
  if (!window) return;
  free(window->ring);
  free(window->index);
  sodium_memzero(window->hash_key, sizeof(window->hash_key));
  free(window);
}

size_t replay_window_size(const replay_window *window) {
  return window ? window->count : 0;
}

static size_t replay_home(const replay_window *window, const uint8_t digest[16]) {
  uint64_t h;
  memcpy(&h, digest, sizeof(h));
  return (size_t)h & window->index_mask;
}

static void replay_digest(const replay_window *window, const char *partner_id,
                          const uint8_t request_id[16], uint8_t out[16]) {
  /* Length-prefixed, so ("ab", id) and ("a", "b"||id) cannot collide. */
  uint8_t input[1 + 255 + 16];
  size_t id_len = strnlen(partner_id, 255);
  input[0] = (uint8_t)id_len;
  memcpy(input + 1, partner_id, id_len);
  memcpy(input + 1 + id_len, request_id, 16);
  crypto_generichash(out, 16, input, 1 + id_len + 16, window->hash_key, sizeof(window->hash_key));
}

/* Removes the index slot of the entry at ring position pos. */
static void replay_unindex(replay_window *window, size_t pos) {
  size_t hole = window->ring[pos].slot;
  window->index[hole] = 0;
  size_t j = hole;
  for (;;) {
    j = (j + 1) & window->index_mask;
    uint32_t at = window->index[j];
    if (!at) break;
    size_t home = replay_home(window, window->ring[at - 1].digest);
    /* The entry at j may move into the hole only if its home is not in the
     * cyclic range (hole, j]. */
    int in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (in_range) continue;
    window->index[hole] = at;
    window->ring[at - 1].slot = (uint32_t)hole;
    window->index[j] = 0;
    hole = j;
  }
}

static void replay_drop_oldest(replay_window *window) {
  size_t tail = (window->head + window->capacity - window->count) % window->capacity;
  replay_unindex(window, tail);
  window->count--;
}

replay_verdict replay_window_check(replay_window *window, const char *partner_id,
                                   const uint8_t request_id[16], int32_t partition, int64_t offset,
                                   uint64_t now_ms) {
  /* Expire from the tail; arrival order is time order (a clock that steps
   * back only delays expiry a little). */
  while (window->count) {
    size_t tail = (window->head + window->capacity - window->count) % window->capacity;
    uint64_t seen = window->ring[tail].first_seen_ms;
    if (now_ms < seen || now_ms - seen < window->ttl_ms) break;
    replay_drop_oldest(window);
  }

  uint8_t digest[16];
  replay_digest(window, partner_id, request_id, digest);
  size_t i = replay_home(window, digest);
  for (uint32_t at; (at = window->index[i]) != 0; i = (i + 1) & window->index_mask) {
    replay_entry *entry = &window->ring[at - 1];
    if (memcmp(entry->digest, digest, sizeof(digest)) != 0) continue;
    if (now_ms >= entry->first_seen_ms && now_ms - entry->first_seen_ms >= window->ttl_ms) {
      /* Outlived the window (left behind by a clock step): start afresh. */
      entry->first_seen_ms = now_ms;
      entry->partition = partition;
      entry->offset = offset;
      return REPLAY_NEW;
    }
    if (entry->partition == partition && entry->offset == offset) return REPLAY_REDELIVERY;
    return REPLAY_REPLAYED;
  }

  if (window->count == window->capacity) {
    replay_drop_oldest(window);
    /* The drop may have shifted slots: find the free slot again. */
    i = replay_home(window, digest);
    while (window->index[i]) i = (i + 1) & window->index_mask;
  }
  size_t pos = window->head;
  replay_entry *entry = &window->ring[pos];
  memcpy(entry->digest, digest, sizeof(digest));
  entry->first_seen_ms = now_ms;
  entry->partition = partition;
  entry->offset = offset;
  entry->slot = (uint32_t)i;
  window->index[i] = (uint32_t)(pos + 1);
  window->head = (pos + 1) % window->capacity;
  window->count++;
  return REPLAY_NEW;
}
