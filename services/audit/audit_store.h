/* audit_store: the SQL of the audit trail, shared by the service (through
 * pg_client) and `lindung-audit verify` (plain libpq): the statements, the
 * JSON batch handed to audit_append(), and decoding rows of audit_records
 * and audit_checkpoints from a PGresult (text format).
 *
 * Prefix audit_store_. */
#ifndef LINDUNG_AUDIT_STORE_H
#define LINDUNG_AUDIT_STORE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "audit_chain.h"
#include "buffer.h"
#include "pg_client.h"

/* Prepared statements of the service (pgq_open). */
extern const pgq_statement audit_store_statements[];
extern const size_t audit_store_statement_count;

#define AUDIT_STORE_APPEND "audit_append" /* $1 published seq, $2 jsonb batch */
#define AUDIT_STORE_HEAD "audit_head"     /* $1: how many records the window may reach */
/* After a restart the writer publishes again every record
 * appended within this long before the head (longer than a Kafka
 * transaction may stay open: transaction.timeout.ms, 60 s), at most this
 * many. */
#define AUDIT_REPUBLISH_WINDOW "120 seconds"
#define AUDIT_REPUBLISH_RECORDS "200000" /* text: a statement parameter */
#define AUDIT_STORE_CHECKPOINT                                  \
  "audit_checkpoint" /* $1 seq, $2 head_hash hex, $3 signed_at, \
                        $4 public_key hex, $5 signature hex */
/* The chain watcher's pages: rows after $1 (at most $2), and the
 * checkpoints in (after, after + limit]. */
#define AUDIT_STORE_WATCH_ROWS "audit_watch_rows"
#define AUDIT_STORE_WATCH_CHECKPOINTS "audit_watch_checkpoints"

/* Rows of audit_records after a seq, in chain order: the columns
 * audit_store_row_decode() reads from column 0 on. $1 after, $2 limit. */
extern const char audit_store_rows_sql[];
/* Every checkpoint: audit_store_checkpoint_decode() columns. */
extern const char audit_store_checkpoints_sql[];

/* A growable text buffer. */
/* Appends one row (its event columns) to a JSON array being built in t;
 * call audit_store_json_begin first and audit_store_json_end after. */
void audit_store_json_begin(buffer *t);
void audit_store_json_add(buffer *t, const audit_row *row);
void audit_store_json_end(buffer *t);

/* The decoded bytea columns of one row, owned here. */
typedef struct audit_store_row {
  audit_row row;
  unsigned char *request_id;
  unsigned char *subject_pseudonym;
} audit_store_row;

/* Reads row i of res starting at column col (the column order of
 * audit_store_rows_sql and of audit_append()'s result after batch_index).
 * Text columns point into res. Returns 0 or -EINVAL (a malformed value). */
int audit_store_row_decode(const PGresult *res, int i, int col, audit_store_row *out);
void audit_store_row_free(audit_store_row *row);

int audit_store_checkpoint_decode(const PGresult *res, int i, audit_checkpoint *out);

/* "YYYY-MM-DD HH:MM:SS.uuuuuu+00" for a timestamptz parameter. */
void audit_store_timestamp(int64_t epoch_us, char out[40]);

#endif
