/* audit_chain: the audit trail's records, their canonical encoding, the
 * hash chain and the signed checkpoints. Pure: no Kafka, no PostgreSQL.
 *
 * A record is the row of audit_records. Its canonical encoding is the magic
 * "LAR1" followed by every column in table order, each as
 *   absent (SQL NULL)   -> 0x00
 *   integer             -> 0x01 || 8 bytes big-endian (two's complement)
 *   bytes, UTF-8 text   -> 0x01 || 4 bytes big-endian length || bytes
 * and hash = SHA-256(prev_hash || canonical), prev_hash of seq 1 being 32
 * zero bytes. db/migrations/lindung_audit/0002_audit_append.sql computes the
 * same bytes in SQL when it appends.
 *
 * A checkpoint signs (Ed25519) the message
 *   "lindung-audit-checkpoint-v1" || seq (8 BE) || head_hash (32) || signed_at_us (8 BE).
 *
 * Prefix audit_. */
#ifndef LINDUNG_AUDIT_CHAIN_H
#define LINDUNG_AUDIT_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lindung/v1/internal.pb-c.h"

#define AUDIT_HASH_BYTES 32
#define AUDIT_PUBLIC_KEY_BYTES 32
#define AUDIT_SIGNATURE_BYTES 64
#define AUDIT_SEED_BYTES 32
/* Longest text column accepted from an event (detail, actor, ids). */
#define AUDIT_MAX_TEXT 512

/* A nullable column: present false is SQL NULL. */
typedef struct audit_bytes {
  const uint8_t *data;
  size_t len;
  bool present;
} audit_bytes;

typedef struct audit_opt_int {
  int64_t value;
  bool present;
} audit_opt_int;

/* One row of audit_records. Byte and text columns point into memory the
 * caller keeps alive (an event, a PGresult, a decoded record). */
typedef struct audit_row {
  int64_t seq;
  audit_bytes request_id;
  int64_t stage;
  audit_bytes partner_id;
  int64_t outcome, error, kind, action;
  audit_bytes venue_id;
  int64_t decision;
  audit_bytes subject_pseudonym;
  audit_opt_int sent_at_ms, received_at_ms, handled_at_ms;
  audit_bytes service; /* NOT NULL in the table: present is always true */
  audit_bytes detail, actor;
  int64_t appended_at_us;
  uint8_t prev_hash[AUDIT_HASH_BYTES];
  uint8_t hash[AUDIT_HASH_BYTES];
} audit_row;

typedef struct audit_checkpoint {
  int64_t seq;
  uint8_t head_hash[AUDIT_HASH_BYTES];
  int64_t signed_at_us;
  uint8_t public_key[AUDIT_PUBLIC_KEY_BYTES];
  uint8_t signature[AUDIT_SIGNATURE_BYTES];
} audit_checkpoint;

/* Writes the canonical encoding into out (when it fits) and returns its
 * length; call with out NULL to learn the length. */
size_t audit_canonical(const audit_row *row, uint8_t *out, size_t cap);

/* hash = SHA-256(prev || canonical(row)); prev is row->prev_hash. Returns 0,
 * or -ENOMEM. */
int audit_row_hash(const audit_row *row, uint8_t out[AUDIT_HASH_BYTES]);

/* Why an event cannot be appended (a dead-letter reason such as
 * "unknown_stage"), or NULL when it can. */
const char *audit_event_problem(const Lindung__V1__AuditEvent *event);

/* The row an event becomes (seq, appended_at and hashes left zero): empty
 * strings, bytes and zero times are stored as NULL. source_id (16 bytes;
 * the service uses a hash of the event's bytes) replaces an empty
 * request_id, so a redelivered event without one still dedupes. Points into
 * event and source_id. */
void audit_row_from_event(const Lindung__V1__AuditEvent *event, const uint8_t source_id[16],
                          audit_row *row);

/* A record as published to audit.log, and back. audit_record_fill points
 * the record (and *event, which the caller provides) into row; the reverse
 * points row into the record. audit_row_from_record returns -EINVAL when the
 * record lacks its event or has hashes of the wrong size. */
void audit_record_fill(const audit_row *row, Lindung__V1__AuditRecord *record,
                       Lindung__V1__AuditEvent *event);
int audit_row_from_record(const Lindung__V1__AuditRecord *record, audit_row *row);

/* Checkpoints. */
#define AUDIT_CHECKPOINT_MESSAGE_BYTES (27 + 8 + AUDIT_HASH_BYTES + 8)
void audit_checkpoint_message(const audit_checkpoint *checkpoint,
                              uint8_t out[AUDIT_CHECKPOINT_MESSAGE_BYTES]);
/* Fills public_key and signature from the 32-byte seed. */
int audit_checkpoint_sign(audit_checkpoint *checkpoint, const uint8_t seed[AUDIT_SEED_BYTES]);
/* 0 when the signature is valid for the checkpoint's own public key. */
int audit_checkpoint_verify(const audit_checkpoint *checkpoint);
void audit_checkpoint_fill(const audit_checkpoint *checkpoint, Lindung__V1__AuditCheckpoint *out);
int audit_checkpoint_from_proto(const Lindung__V1__AuditCheckpoint *in, audit_checkpoint *out);

/* The Kafka key of audit.log: seq as 8 bytes big-endian. */
void audit_seq_key(int64_t seq, uint8_t out[8]);

#endif
