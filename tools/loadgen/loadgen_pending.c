/* loadgen_pending: a slab of requests, an open-addressing index by request
 * id (linear probing, backward-shift deletion) and a ring in send order. */
#include "loadgen_pending.h"

#include <stdlib.h>
#include <string.h>

typedef struct loadgen_ring_entry {
  uint32_t slot;
  uint32_t generation;
} loadgen_ring_entry;

struct loadgen_pending {
  loadgen_request *slab;
  uint32_t *free_slots;
  size_t free_count, capacity;
  uint32_t *index; /* slot + 1, 0 = empty */
  size_t index_mask;
  loadgen_ring_entry *ring;
  size_t ring_head, ring_count; /* capacity entries */
  size_t count;
};

static size_t loadgen_pending_hash(const uint8_t id[16]) {
  uint64_t h;
  memcpy(&h, id, sizeof h);
  return (size_t)(h * 0x9e3779b97f4a7c15ull >> 17);
}

loadgen_pending *loadgen_pending_new(size_t capacity) {
  loadgen_pending *p = calloc(1, sizeof *p);
  size_t index_size = 1;
  while (index_size < capacity * 2) index_size <<= 1;
  p->slab = calloc(capacity, sizeof *p->slab);
  p->free_slots = malloc(capacity * sizeof *p->free_slots);
  p->index = calloc(index_size, sizeof *p->index);
  p->ring = malloc(capacity * sizeof *p->ring);
  p->capacity = capacity;
  p->index_mask = index_size - 1;
  for (size_t i = 0; i < capacity; i++) p->free_slots[i] = (uint32_t)(capacity - 1 - i);
  p->free_count = capacity;
  return p;
}

void loadgen_pending_free(loadgen_pending *p) {
  if (!p) return;
  free(p->slab);
  free(p->free_slots);
  free(p->index);
  free(p->ring);
  free(p);
}

size_t loadgen_pending_count(const loadgen_pending *p) {
  return p->count;
}

loadgen_request *loadgen_pending_add(loadgen_pending *p) {
  /* The ring holds stale entries of answered requests too; keep room. */
  while (p->ring_count == p->capacity) {
    loadgen_ring_entry *head = &p->ring[p->ring_head];
    loadgen_request *r = &p->slab[head->slot];
    if (r->in_use && r->generation == head->generation) return NULL;
    p->ring_head = (p->ring_head + 1) % p->capacity;
    p->ring_count--;
  }
  if (!p->free_count) return NULL;
  uint32_t slot = p->free_slots[--p->free_count];
  loadgen_request *r = &p->slab[slot];
  uint32_t generation = r->generation + 1;
  memset(r, 0, sizeof *r);
  r->generation = generation;
  return r;
}

void loadgen_pending_add_done(loadgen_pending *p, loadgen_request *r) {
  uint32_t slot = (uint32_t)(r - p->slab);
  r->in_use = true;
  size_t i = loadgen_pending_hash(r->request_id) & p->index_mask;
  while (p->index[i]) i = (i + 1) & p->index_mask;
  p->index[i] = slot + 1;
  p->ring[(p->ring_head + p->ring_count) % p->capacity] = (loadgen_ring_entry){slot, r->generation};
  p->ring_count++;
  p->count++;
}

loadgen_request *loadgen_pending_find(loadgen_pending *p, const uint8_t request_id[16]) {
  size_t i = loadgen_pending_hash(request_id) & p->index_mask;
  while (p->index[i]) {
    loadgen_request *r = &p->slab[p->index[i] - 1];
    if (!memcmp(r->request_id, request_id, 16)) return r;
    i = (i + 1) & p->index_mask;
  }
  return NULL;
}

void loadgen_pending_remove(loadgen_pending *p, loadgen_request *r) {
  uint32_t slot = (uint32_t)(r - p->slab);
  size_t i = loadgen_pending_hash(r->request_id) & p->index_mask;
  while (p->index[i] != slot + 1) i = (i + 1) & p->index_mask;
  /* Backward-shift deletion keeps every probe chain unbroken. */
  size_t hole = i;
  for (size_t j = (hole + 1) & p->index_mask; p->index[j]; j = (j + 1) & p->index_mask) {
    size_t home = loadgen_pending_hash(p->slab[p->index[j] - 1].request_id) & p->index_mask;
    if (((j - home) & p->index_mask) >= ((j - hole) & p->index_mask)) {
      p->index[hole] = p->index[j];
      hole = j;
    }
  }
  p->index[hole] = 0;
  r->in_use = false;
  p->free_slots[p->free_count++] = slot;
  p->count--;
}

loadgen_request *loadgen_pending_oldest_before(loadgen_pending *p, uint64_t cutoff_us) {
  while (p->ring_count) {
    loadgen_ring_entry *head = &p->ring[p->ring_head];
    loadgen_request *r = &p->slab[head->slot];
    if (r->in_use && r->generation == head->generation) return r->sent_us < cutoff_us ? r : NULL;
    p->ring_head = (p->ring_head + 1) % p->capacity;
    p->ring_count--;
  }
  return NULL;
}
