/* audit_verify: walks an audit chain, row by row in seq order, against its
 * signed checkpoints, and names the first sequence number where it breaks.
 * Pure: rows come from the database (lindung-audit verify) or from a
 * capture of audit.log (verify --capture); both feed the same walker.
 *
 *   audit_walk w;
 *   audit_walk_begin(&w, checkpoints, n, trusted_key_or_NULL, 1);
 *   for each row in seq order: if (audit_walk_row(&w, &row)) break;
 *   audit_walk_end(&w);
 *   if (w.broken) report w.bad_seq, w.reason
 *
 * audit_walk_resume() continues a walk piece by piece instead.
 *
 * Prefix audit_walk_. */
#ifndef LINDUNG_AUDIT_VERIFY_H
#define LINDUNG_AUDIT_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit_chain.h"

typedef struct audit_walk {
  /* results */
  bool broken;
  int64_t bad_seq;   /* first bad sequence number when broken */
  char reason[160];  /* e.g. "hash mismatch" */
  uint64_t rows;     /* rows checked */
  int64_t first_seq; /* first and last seq seen (0 when none) */
  int64_t last_seq;
  size_t checkpoints_matched;
  int64_t last_checkpoint_seq; /* highest matched checkpoint, 0 when none */
  /* private */
  const audit_checkpoint *checkpoints; /* sorted by seq */
  size_t checkpoint_count;
  size_t next_checkpoint;
  int64_t start_seq;
  int64_t expected_seq;
  uint8_t prev_hash[AUDIT_HASH_BYTES];
  bool started;
} audit_walk;

/* checkpoints must be sorted by seq (audit_walk_sort_checkpoints). Every
 * checkpoint is checked: its signature, and its key against trusted_key when
 * given. start_seq 1 requires the chain to start at seq 1 with a zero
 * prev_hash (the database); start_seq 0 accepts a chain that starts later
 * and trusts its first prev_hash (a capture that does not reach back to the
 * beginning): checkpoints before the first row are then not checked against
 * rows. Returns 0 (check w->broken). */
int audit_walk_begin(audit_walk *w, const audit_checkpoint *checkpoints, size_t count,
                     const uint8_t *trusted_key, int64_t start_seq);

/* Continues a walk checked earlier, one piece at a time (the service's
 * watcher): the next row must be next_seq and chain onto prev_hash, the hash
 * of the record before it (zeros when next_seq is 1). checkpoints are the
 * ones this piece may reach. */
int audit_walk_resume(audit_walk *w, const audit_checkpoint *checkpoints, size_t count,
                      const uint8_t *trusted_key, int64_t next_seq,
                      const uint8_t prev_hash[AUDIT_HASH_BYTES]);

/* Checks one row; returns -1 once the chain is broken (stop feeding). */
int audit_walk_row(audit_walk *w, const audit_row *row);

/* After the last row: a signed checkpoint past the end means rows were
 * removed from the end. */
void audit_walk_end(audit_walk *w);

void audit_walk_sort_checkpoints(audit_checkpoint *checkpoints, size_t count);

#endif
