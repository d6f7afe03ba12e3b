/* audit_verify: the chain walker behind `lindung-audit verify` (see
 * audit_verify.h). */
#include "audit_verify.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void audit_walk_fail(audit_walk *w, int64_t seq, const char *reason) {
  if (w->broken && w->bad_seq <= seq) return;
  w->broken = true;
  w->bad_seq = seq;
  snprintf(w->reason, sizeof w->reason, "%s", reason);
}

static int audit_walk_cmp(const void *a, const void *b) {
  const audit_checkpoint *x = a, *y = b;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void audit_walk_sort_checkpoints(audit_checkpoint *checkpoints, size_t count) {
  if (count > 1) qsort(checkpoints, count, sizeof *checkpoints, audit_walk_cmp);
}

int audit_walk_begin(audit_walk *w, const audit_checkpoint *checkpoints, size_t count,
                     const uint8_t *trusted_key, int64_t start_seq) {
  memset(w, 0, sizeof *w);
  w->checkpoints = checkpoints;
  w->checkpoint_count = count;
  w->start_seq = start_seq;
  w->expected_seq = start_seq;
  /* A forged or foreign checkpoint is a break at the seq it claims. */
  for (size_t i = 0; i < count; i++) {
    const audit_checkpoint *c = &checkpoints[i];
    if (c->seq < 1)
      audit_walk_fail(w, 0, "checkpoint with an invalid seq");
    else if (audit_checkpoint_verify(c) != 0)
      audit_walk_fail(w, c->seq, "checkpoint signature invalid");
    else if (trusted_key && sodium_memcmp(c->public_key, trusted_key, AUDIT_PUBLIC_KEY_BYTES) != 0)
      audit_walk_fail(w, c->seq, "checkpoint signed by an untrusted key");
  }
  return 0;
}

int audit_walk_resume(audit_walk *w, const audit_checkpoint *checkpoints, size_t count,
                      const uint8_t *trusted_key, int64_t next_seq,
                      const uint8_t prev_hash[AUDIT_HASH_BYTES]) {
  audit_walk_begin(w, checkpoints, count, trusted_key, next_seq);
  memcpy(w->prev_hash, prev_hash, AUDIT_HASH_BYTES);
  w->started = true;
  w->first_seq = next_seq;
  return 0;
}

int audit_walk_row(audit_walk *w, const audit_row *row) {
  static const uint8_t zero[AUDIT_HASH_BYTES];
  if (w->broken && row->seq >= w->bad_seq) return -1;
  if (!w->started) {
    if (w->start_seq == 0) {
      /* A capture may begin mid-chain: trust where it starts. */
      w->expected_seq = row->seq;
      memcpy(w->prev_hash, row->seq == 1 ? zero : row->prev_hash, AUDIT_HASH_BYTES);
      /* Checkpoints before the capture cannot be checked against rows. */
      while (w->next_checkpoint < w->checkpoint_count &&
             w->checkpoints[w->next_checkpoint].seq < row->seq)
        w->next_checkpoint++;
    } else {
      memset(w->prev_hash, 0, AUDIT_HASH_BYTES);
    }
    w->started = true;
    w->first_seq = row->seq;
  }
  if (row->seq > w->expected_seq) {
    audit_walk_fail(w, w->expected_seq, "record missing");
    return -1;
  }
  if (row->seq < w->expected_seq) {
    audit_walk_fail(w, row->seq, "record out of order");
    return -1;
  }
  if (sodium_memcmp(row->prev_hash, w->prev_hash, AUDIT_HASH_BYTES) != 0) {
    audit_walk_fail(w, row->seq, "prev_hash does not match the previous record");
    return -1;
  }
  uint8_t hash[AUDIT_HASH_BYTES];
  if (audit_row_hash(row, hash) != 0) {
    audit_walk_fail(w, row->seq, "out of memory");
    return -1;
  }
  if (sodium_memcmp(hash, row->hash, AUDIT_HASH_BYTES) != 0) {
    audit_walk_fail(w, row->seq, "hash mismatch");
    return -1;
  }
  while (w->next_checkpoint < w->checkpoint_count &&
         w->checkpoints[w->next_checkpoint].seq <= row->seq) {
    const audit_checkpoint *c = &w->checkpoints[w->next_checkpoint++];
    if (c->seq < row->seq) continue; /* its record was already reported missing */
    if (sodium_memcmp(c->head_hash, row->hash, AUDIT_HASH_BYTES) != 0) {
      /* Every hash recomputes, yet the signed head differs: the rows up to
       * here were rewritten and rehashed. */
      audit_walk_fail(w, row->seq, "does not match the signed checkpoint (chain rewritten)");
      return -1;
    }
    w->checkpoints_matched++;
    w->last_checkpoint_seq = c->seq;
  }
  memcpy(w->prev_hash, row->hash, AUDIT_HASH_BYTES);
  w->expected_seq = row->seq + 1;
  w->last_seq = row->seq;
  w->rows++;
  if (w->broken && w->bad_seq <= row->seq) return -1;
  return 0;
}

void audit_walk_end(audit_walk *w) {
  if (w->next_checkpoint < w->checkpoint_count) {
    const audit_checkpoint *c = &w->checkpoints[w->next_checkpoint];
    if (c->seq >= w->expected_seq) {
      char reason[160];
      snprintf(reason, sizeof reason, "record missing (a signed checkpoint covers seq %lld)",
               (long long)c->seq);
      audit_walk_fail(w, w->started ? w->expected_seq : (w->start_seq ? w->start_seq : c->seq),
                      reason);
    }
  }
}
