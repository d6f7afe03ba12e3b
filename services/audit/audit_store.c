/* audit_store: SQL of the audit trail (see audit_store.h). */
#include "audit_store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hex.h"
#include "json_write.h"

/* The columns of one record, in audit_chain.h's canonical order; appended_at
 * as exact microseconds (extract() is numeric since PostgreSQL 14). */
#define AUDIT_STORE_COLUMNS                                                                \
  "seq, request_id, stage, partner_id, outcome, error, kind, action, venue_id, decision, " \
  "subject_pseudonym, sent_at_ms, received_at_ms, handled_at_ms, service, detail, actor, " \
  "(extract(epoch FROM appended_at) * 1000000)::bigint, prev_hash, hash"

const char audit_store_rows_sql[] = "SELECT " AUDIT_STORE_COLUMNS
                                    " FROM audit_records "
                                    "WHERE seq > $1::bigint ORDER BY seq LIMIT $2::bigint";

#define AUDIT_STORE_CHECKPOINT_COLUMNS \
  "seq, head_hash, (extract(epoch FROM signed_at) * 1000000)::bigint, public_key, signature"

const char audit_store_checkpoints_sql[] =
    "SELECT " AUDIT_STORE_CHECKPOINT_COLUMNS " FROM audit_checkpoints ORDER BY seq";

const pgq_statement audit_store_statements[] = {
    {AUDIT_STORE_APPEND, "SELECT * FROM audit_append($1::bigint, $2::jsonb)", 2},
    {AUDIT_STORE_HEAD,
     "SELECT r.seq, r.hash, c.seq, (extract(epoch FROM c.signed_at) * 1000000)::bigint, w.seq "
     "FROM (SELECT 1) AS one "
     "LEFT JOIN LATERAL (SELECT seq, hash, appended_at FROM audit_records ORDER BY seq DESC LIMIT 1) r "
     "ON true "
     "LEFT JOIN LATERAL (SELECT seq, signed_at FROM audit_checkpoints ORDER BY seq DESC LIMIT 1) c "
     "ON true "
     /* The first record appended in the republish window before the head,
      * among the newest $1 (walked down the key; 0: none, NULL). */
     "LEFT JOIN LATERAL (SELECT min(t.seq) AS seq FROM (SELECT seq, appended_at FROM audit_records "
     "ORDER BY seq DESC LIMIT $1::integer) t "
     "WHERE t.appended_at >= r.appended_at - interval '" AUDIT_REPUBLISH_WINDOW "') w ON true",
     1},
    {AUDIT_STORE_CHECKPOINT,
     "INSERT INTO audit_checkpoints (seq, head_hash, signed_at, public_key, signature) "
     "VALUES ($1::bigint, decode($2, 'hex'), $3::timestamptz, decode($4, 'hex'), decode($5, "
     "'hex')) "
     "ON CONFLICT (seq) DO NOTHING",
     5},
    {AUDIT_STORE_WATCH_ROWS, audit_store_rows_sql, 2},
    {AUDIT_STORE_WATCH_CHECKPOINTS,
     "SELECT " AUDIT_STORE_CHECKPOINT_COLUMNS " FROM audit_checkpoints "
     "WHERE seq > $1::bigint AND seq <= $1::bigint + $2::bigint ORDER BY seq",
     2},
};
const size_t audit_store_statement_count =
    sizeof audit_store_statements / sizeof audit_store_statements[0];

static void audit_json_key(buffer *t, bool *first, const char *key) {
  buffer_puts(t, *first ? "\"" : ",\"");
  *first = false;
  buffer_puts(t, key);
  buffer_puts(t, "\":");
}

static void audit_json_int(buffer *t, bool *first, const char *key, int64_t value) {
  audit_json_key(t, first, key);
  buffer_printf(t, "%" PRId64, value);
}

static void audit_json_hex(buffer *t, bool *first, const char *key, audit_bytes b) {
  if (!b.present) return;
  audit_json_key(t, first, key);
  buffer_puts(t, "\"");
  char pair[3];
  for (size_t i = 0; i < b.len; i++) {
    hex_encode(b.data + i, 1, pair);
    buffer_append(t, pair, 2);
  }
  buffer_puts(t, "\"");
}

static void audit_json_text(buffer *t, bool *first, const char *key, audit_bytes b) {
  if (!b.present) return;
  audit_json_key(t, first, key);
  json_write_string(t, (const char *)b.data, b.len);
}

void audit_store_json_begin(buffer *t) {
  buffer_reset(t);
  buffer_puts(t, "[");
}

void audit_store_json_add(buffer *t, const audit_row *row) {
  bool first = true;
  if (t->len > 1) buffer_puts(t, ",");
  buffer_puts(t, "{");
  audit_json_hex(t, &first, "r", row->request_id);
  audit_json_int(t, &first, "s", row->stage);
  audit_json_text(t, &first, "p", row->partner_id);
  audit_json_int(t, &first, "o", row->outcome);
  audit_json_int(t, &first, "e", row->error);
  audit_json_int(t, &first, "k", row->kind);
  audit_json_int(t, &first, "a", row->action);
  audit_json_text(t, &first, "v", row->venue_id);
  audit_json_int(t, &first, "d", row->decision);
  audit_json_hex(t, &first, "y", row->subject_pseudonym);
  if (row->sent_at_ms.present) audit_json_int(t, &first, "ts", row->sent_at_ms.value);
  if (row->received_at_ms.present) audit_json_int(t, &first, "tr", row->received_at_ms.value);
  if (row->handled_at_ms.present) audit_json_int(t, &first, "th", row->handled_at_ms.value);
  audit_json_text(t, &first, "sv", row->service);
  audit_json_text(t, &first, "dt", row->detail);
  audit_json_text(t, &first, "ac", row->actor);
  buffer_puts(t, "}");
}

void audit_store_json_end(buffer *t) {
  buffer_puts(t, "]");
}

static int audit_pg_int(const PGresult *res, int i, int col, int64_t *out, bool *present) {
  if (PQgetisnull(res, i, col)) {
    if (!present) return -EINVAL;
    *present = false;
    *out = 0;
    return 0;
  }
  const char *text = PQgetvalue(res, i, col);
  char *end;
  errno = 0;
  long long value = strtoll(text, &end, 10);
  if (errno || end == text || *end) return -EINVAL;
  *out = value;
  if (present) *present = true;
  return 0;
}

static int audit_pg_text(const PGresult *res, int i, int col, audit_bytes *out) {
  out->present = !PQgetisnull(res, i, col);
  out->data = (const uint8_t *)(out->present ? PQgetvalue(res, i, col) : NULL);
  out->len = out->present ? (size_t)PQgetlength(res, i, col) : 0;
  return 0;
}

static int audit_pg_bytea(const PGresult *res, int i, int col, audit_bytes *out,
                          unsigned char **owned) {
  *owned = NULL;
  memset(out, 0, sizeof *out);
  if (PQgetisnull(res, i, col)) return 0;
  size_t len = 0;
  *owned = PQunescapeBytea((const unsigned char *)PQgetvalue(res, i, col), &len);
  if (!*owned) return -ENOMEM;
  out->data = *owned;
  out->len = len;
  out->present = true;
  return 0;
}

/* A fixed-size bytea in hex output format ("\x" + 2n hex digits). */
static int audit_pg_fixed(const PGresult *res, int i, int col, uint8_t *out, size_t n) {
  if (PQgetisnull(res, i, col)) return -EINVAL;
  const char *text = PQgetvalue(res, i, col);
  if ((size_t)PQgetlength(res, i, col) != 2 + 2 * n || text[0] != '\\' || text[1] != 'x')
    return -EINVAL;
  return hex_decode(text + 2, out, n) == 0 ? 0 : -EINVAL;
}

int audit_store_row_decode(const PGresult *res, int i, int col, audit_store_row *out) {
  memset(out, 0, sizeof *out);
  audit_row *row = &out->row;
  int rc = 0;
  rc |= audit_pg_int(res, i, col + 0, &row->seq, NULL);
  rc |= audit_pg_bytea(res, i, col + 1, &row->request_id, &out->request_id);
  rc |= audit_pg_int(res, i, col + 2, &row->stage, NULL);
  rc |= audit_pg_text(res, i, col + 3, &row->partner_id);
  rc |= audit_pg_int(res, i, col + 4, &row->outcome, NULL);
  rc |= audit_pg_int(res, i, col + 5, &row->error, NULL);
  rc |= audit_pg_int(res, i, col + 6, &row->kind, NULL);
  rc |= audit_pg_int(res, i, col + 7, &row->action, NULL);
  rc |= audit_pg_text(res, i, col + 8, &row->venue_id);
  rc |= audit_pg_int(res, i, col + 9, &row->decision, NULL);
  rc |= audit_pg_bytea(res, i, col + 10, &row->subject_pseudonym, &out->subject_pseudonym);
  rc |= audit_pg_int(res, i, col + 11, &row->sent_at_ms.value, &row->sent_at_ms.present);
  rc |= audit_pg_int(res, i, col + 12, &row->received_at_ms.value, &row->received_at_ms.present);
  rc |= audit_pg_int(res, i, col + 13, &row->handled_at_ms.value, &row->handled_at_ms.present);
  rc |= audit_pg_text(res, i, col + 14, &row->service);
  rc |= audit_pg_text(res, i, col + 15, &row->detail);
  rc |= audit_pg_text(res, i, col + 16, &row->actor);
  rc |= audit_pg_int(res, i, col + 17, &row->appended_at_us, NULL);
  rc |= audit_pg_fixed(res, i, col + 18, row->prev_hash, AUDIT_HASH_BYTES);
  rc |= audit_pg_fixed(res, i, col + 19, row->hash, AUDIT_HASH_BYTES);
  if (rc) {
    audit_store_row_free(out);
    return -EINVAL;
  }
  return 0;
}

void audit_store_row_free(audit_store_row *row) {
  if (row->request_id) PQfreemem(row->request_id);
  if (row->subject_pseudonym) PQfreemem(row->subject_pseudonym);
  row->request_id = row->subject_pseudonym = NULL;
}

int audit_store_checkpoint_decode(const PGresult *res, int i, audit_checkpoint *out) {
  memset(out, 0, sizeof *out);
  int rc = 0;
  rc |= audit_pg_int(res, i, 0, &out->seq, NULL);
  rc |= audit_pg_fixed(res, i, 1, out->head_hash, AUDIT_HASH_BYTES);
  rc |= audit_pg_int(res, i, 2, &out->signed_at_us, NULL);
  rc |= audit_pg_fixed(res, i, 3, out->public_key, AUDIT_PUBLIC_KEY_BYTES);
  rc |= audit_pg_fixed(res, i, 4, out->signature, AUDIT_SIGNATURE_BYTES);
  return rc ? -EINVAL : 0;
}

void audit_store_timestamp(int64_t epoch_us, char out[40]) {
  time_t secs = (time_t)(epoch_us / 1000000);
  long micros = (long)(epoch_us % 1000000);
  if (micros < 0) {
    micros += 1000000;
    secs -= 1;
  }
  struct tm tm;
  gmtime_r(&secs, &tm);
  char date[24];
  strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
  snprintf(out, 40, "%s.%06ld+00", date, micros);
}
