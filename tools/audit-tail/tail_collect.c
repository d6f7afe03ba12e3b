/* tail_collect: sorting, deduplication and printing of audit.log
 * messages (see tail_collect.h). */
#include "tail_collect.h"

#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "proto_limits.h"

static int tail_entry_cmp(const void *a, const void *b) {
  const tail_entry *x = a, *y = b;
  if (x->seq != y->seq) return x->seq < y->seq ? -1 : 1;
  return x->is_checkpoint - y->is_checkpoint;
}

static bool tail_seen(tail_state *st, uint64_t seq) {
  if (seq / 8 >= st->seen_bytes) {
    size_t bytes = st->seen_bytes ? st->seen_bytes : 4096;
    while (seq / 8 >= bytes) bytes *= 2;
    uint8_t *p = realloc(st->seen, bytes);
    if (!p) return false;
    memset(p + st->seen_bytes, 0, bytes - st->seen_bytes);
    st->seen = p;
    st->seen_bytes = bytes;
  }
  bool was = st->seen[seq / 8] & (1u << (seq % 8));
  st->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
  return was;
}

static void tail_emit(tail_state *st, Lindung__V1__AuditLogEntry *entry) {
  if (entry->entry_case == LINDUNG__V1__AUDIT_LOG_ENTRY__ENTRY_RECORD) {
    if (!entry->record->event) return;
    if (tail_seen(st, entry->record->seq)) return;
    if (!tail_matches(&st->opts, entry->record)) return;
    tail_print_record(stdout, entry->record);
    st->printed++;
  } else if (entry->entry_case == LINDUNG__V1__AUDIT_LOG_ENTRY__ENTRY_CHECKPOINT) {
    if (st->opts.checkpoints) tail_print_checkpoint(stdout, entry->checkpoint);
  }
}

void tail_flush_sorted(tail_state *st) {
  if (st->count > 1) qsort(st->entries, st->count, sizeof *st->entries, tail_entry_cmp);
  for (size_t i = 0; i < st->count; i++) {
    tail_emit(st, st->entries[i].entry);
    protobuf_c_message_free_unpacked(&st->entries[i].entry->base, NULL);
  }
  st->count = 0;
  fflush(stdout);
}

void tail_message(tail_state *st, const rd_kafka_message_t *m, bool collecting) {
  if (st->opts.raw) {
    char pair[3];
    const uint8_t *p = m->payload;
    for (size_t i = 0; i < m->len; i++) {
      hex_encode(p + i, 1, pair);
      fputs(pair, stdout);
    }
    fputc('\n', stdout);
    st->printed++;
    return;
  }
  ProtobufCMessage *msg = NULL;
  if (proto_decode(&lindung__v1__audit_log_entry__descriptor, m->payload, m->len,
                   PROTO_MAX_MESSAGE_BYTES, &msg) != PROTO_DECODE_OK) {
    st->bad++;
    return;
  }
  Lindung__V1__AuditLogEntry *entry = (Lindung__V1__AuditLogEntry *)msg;
  if (!collecting) {
    tail_emit(st, entry);
    protobuf_c_message_free_unpacked(msg, NULL);
    fflush(stdout);
    return;
  }
  if (st->count == st->cap) {
    size_t cap = st->cap ? st->cap * 2 : 4096;
    tail_entry *p = realloc(st->entries, cap * sizeof *p);
    if (!p) {
      protobuf_c_message_free_unpacked(msg, NULL);
      st->bad++;
      return;
    }
    st->entries = p;
    st->cap = cap;
  }
  tail_entry *t = &st->entries[st->count++];
  t->entry = entry;
  t->is_checkpoint = entry->entry_case == LINDUNG__V1__AUDIT_LOG_ENTRY__ENTRY_CHECKPOINT;
  t->seq = t->is_checkpoint ? entry->checkpoint->seq
                            : (entry->entry_case == LINDUNG__V1__AUDIT_LOG_ENTRY__ENTRY_RECORD
                                   ? entry->record->seq
                                   : 0);
}

