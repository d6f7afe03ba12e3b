/* faults_requests: the bookkeeping of a fault-injection run
 * (faults_requests.h). */
#include "faults_requests.h"

#include <stdlib.h>
#include <string.h>

int faults_table_init(faults_table *table, size_t capacity) {
  memset(table, 0, sizeof *table);
  size_t slots = 1;
  while (slots < 2 * capacity) slots <<= 1;
  table->requests = calloc(capacity, sizeof *table->requests);
  table->slots = calloc(slots, sizeof *table->slots);
  table->capacity = capacity;
  table->slot_mask = slots - 1;
  if (table->requests && table->slots) return 0;
  faults_table_free(table);
  return -1;
}

void faults_table_free(faults_table *table) {
  free(table->requests);
  free(table->slots);
  memset(table, 0, sizeof *table);
}

static size_t faults_slot_of(const faults_table *table, const uint8_t id[16]) {
  uint64_t h;
  memcpy(&h, id, sizeof h); /* request ids are random */
  return (size_t)h & table->slot_mask;
}

faults_request *faults_table_next(faults_table *table) {
  if (table->count == table->capacity) return NULL;
  faults_request *r = &table->requests[table->count];
  memset(r, 0, sizeof *r);
  return r;
}

void faults_table_commit(faults_table *table) {
  size_t s = faults_slot_of(table, table->requests[table->count].id);
  while (table->slots[s]) s = (s + 1) & table->slot_mask;
  table->slots[s] = (uint32_t)table->count + 1;
  table->count++;
}

faults_request *faults_table_find(const faults_table *table, const uint8_t id[16]) {
  for (size_t s = faults_slot_of(table, id);; s = (s + 1) & table->slot_mask) {
    if (!table->slots[s]) return NULL;
    faults_request *r = &table->requests[table->slots[s] - 1];
    if (!memcmp(r->id, id, 16)) return r;
  }
}

uint32_t faults_rng_below(uint64_t *state, uint32_t n) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (uint32_t)(z % n);
}
