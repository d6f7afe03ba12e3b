/* tail_collect: lindung-audit-tail's handling of each audit.log message:
 * collected and printed sorted by seq until the end of the partitions,
 * then (--follow) printed as they arrive, each record once. Prefix tail_. */
#ifndef LINDUNG_TAIL_COLLECT_H
#define LINDUNG_TAIL_COLLECT_H

#include <librdkafka/rdkafka.h>

#include "tail_format.h"

/* Entries collected until the end of the partitions, printed sorted. */
typedef struct tail_entry {
  uint64_t seq;
  int is_checkpoint;
  Lindung__V1__AuditLogEntry *entry;
} tail_entry;

typedef struct tail_state {
  tail_options opts;
  tail_entry *entries;
  size_t count, cap;
  uint8_t *seen; /* bitmap of printed record seqs (follow mode) */
  size_t seen_bytes;
  uint64_t printed, bad;
} tail_state;

void tail_message(tail_state *st, const rd_kafka_message_t *m, bool collecting);
void tail_flush_sorted(tail_state *st);

#endif
