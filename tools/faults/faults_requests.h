/* faults_requests: the bookkeeping of a fault-injection run, pure and
 * without I/O: every request sent, found again by its random id (open
 * addressing), and the seeded generator that picks the mix, so that the
 * same seed gives the same requests. Prefix faults_. */
#ifndef LINDUNG_FAULTS_REQUESTS_H
#define LINDUNG_FAULTS_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct faults_request {
  uint8_t id[16];
  uint32_t partner, person, venue;
  uint8_t kind; /* faults_kind */
  bool answered;
  bool in_run; /* false for the links made before the run */
} faults_request;

typedef struct faults_table {
  faults_request *requests;
  size_t count, capacity;
  uint32_t *slots; /* index + 1, 0 when free */
  size_t slot_mask;
} faults_table;

/* Room for capacity requests: 0, or -1 when out of memory. */
int faults_table_init(faults_table *table, size_t capacity);
void faults_table_free(faults_table *table);
/* The next free request (zeroed), or NULL when the table is full; it
 * counts once faults_table_commit is called with its id filled in. */
faults_request *faults_table_next(faults_table *table);
void faults_table_commit(faults_table *table);
faults_request *faults_table_find(const faults_table *table, const uint8_t id[16]);

/* splitmix64: a number below n from the state. */
uint32_t faults_rng_below(uint64_t *state, uint32_t n);

#endif
