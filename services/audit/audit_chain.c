/* audit_chain: canonical encoding, hash chain and checkpoints of the audit
 * trail (see audit_chain.h). */
#include "audit_chain.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

static const uint8_t audit_magic[4] = {'L', 'A', 'R', '1'};
static const char audit_checkpoint_context[] = "lindung-audit-checkpoint-v1"; /* 27 bytes */

/* A writer that counts what does not fit, so one pass sizes and fills. */
typedef struct audit_buf {
  uint8_t *out;
  size_t cap;
  size_t len;
} audit_buf;

static void audit_put(audit_buf *b, const void *data, size_t len) {
  if (b->out && b->len + len <= b->cap && len) memcpy(b->out + b->len, data, len);
  b->len += len;
}

static void audit_put_be(audit_buf *b, uint64_t value, int bytes) {
  uint8_t tmp[8];
  for (int i = 0; i < bytes; i++) tmp[i] = (uint8_t)(value >> (8 * (bytes - 1 - i)));
  audit_put(b, tmp, (size_t)bytes);
}

static void audit_put_int(audit_buf *b, int64_t value) {
  uint8_t present = 1;
  audit_put(b, &present, 1);
  audit_put_be(b, (uint64_t)value, 8);
}

static void audit_put_opt_int(audit_buf *b, audit_opt_int v) {
  uint8_t absent = 0;
  if (!v.present) {
    audit_put(b, &absent, 1);
    return;
  }
  audit_put_int(b, v.value);
}

static void audit_put_bytes(audit_buf *b, audit_bytes v) {
  uint8_t flag = v.present ? 1 : 0;
  audit_put(b, &flag, 1);
  if (!v.present) return;
  audit_put_be(b, (uint64_t)v.len, 4);
  audit_put(b, v.data, v.len);
}

size_t audit_canonical(const audit_row *row, uint8_t *out, size_t cap) {
  audit_buf b = {out, cap, 0};
  audit_put(&b, audit_magic, sizeof audit_magic);
  audit_put_int(&b, row->seq);
  audit_put_bytes(&b, row->request_id);
  audit_put_int(&b, row->stage);
  audit_put_bytes(&b, row->partner_id);
  audit_put_int(&b, row->outcome);
  audit_put_int(&b, row->error);
  audit_put_int(&b, row->kind);
  audit_put_int(&b, row->action);
  audit_put_bytes(&b, row->venue_id);
  audit_put_int(&b, row->decision);
  audit_put_bytes(&b, row->subject_pseudonym);
  audit_put_opt_int(&b, row->sent_at_ms);
  audit_put_opt_int(&b, row->received_at_ms);
  audit_put_opt_int(&b, row->handled_at_ms);
  audit_put_bytes(&b, row->service);
  audit_put_bytes(&b, row->detail);
  audit_put_bytes(&b, row->actor);
  audit_put_int(&b, row->appended_at_us);
  return b.len;
}

int audit_row_hash(const audit_row *row, uint8_t out[AUDIT_HASH_BYTES]) {
  uint8_t stack[1024];
  size_t len = audit_canonical(row, NULL, 0);
  uint8_t *buf = len <= sizeof stack ? stack : malloc(len);
  if (!buf) return -ENOMEM;
  audit_canonical(row, buf, len);
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, row->prev_hash, AUDIT_HASH_BYTES);
  crypto_hash_sha256_update(&state, buf, len);
  crypto_hash_sha256_final(&state, out);
  if (buf != stack) free(buf);
  return 0;
}

/* What PostgreSQL's text and jsonb accept (utf8.h), so a batch is never
 * refused by the database for one event's text. */
static bool audit_text_ok(const char *text) {
  size_t n = strlen(text);
  return n <= AUDIT_MAX_TEXT && utf8_valid(text, n);
}

static bool audit_small_enum(int value) {
  return value >= 0 && value <= 32767;
}

const char *audit_event_problem(const Lindung__V1__AuditEvent *event) {
  if (event->version != 1) return "unsupported_version";
  if (event->stage < LINDUNG__V1__AUDIT_STAGE__AUDIT_STAGE_INGEST ||
      event->stage > LINDUNG__V1__AUDIT_STAGE__AUDIT_STAGE_ADMIN)
    return "unknown_stage";
  if (event->request_id.len > 64) return "bad_request_id";
  if (event->subject_pseudonym.len > 64) return "bad_pseudonym";
  if (!audit_small_enum((int)event->outcome) || !audit_small_enum((int)event->error) ||
      !audit_small_enum((int)event->kind) || !audit_small_enum((int)event->action) ||
      !audit_small_enum((int)event->decision))
    return "bad_enum";
  if (event->sent_at_ms > INT64_MAX || event->received_at_ms > INT64_MAX ||
      event->handled_at_ms > INT64_MAX)
    return "bad_time";
  const char *texts[] = {event->partner_id, event->venue_id, event->service, event->detail,
                         event->actor};
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
    if (texts[i] && !audit_text_ok(texts[i])) return "bad_text";
  return NULL;
}

static audit_bytes audit_text_col(const char *text) {
  audit_bytes b = {(const uint8_t *)text, text ? strlen(text) : 0, false};
  b.present = b.len > 0;
  return b;
}

static audit_bytes audit_bytes_col(ProtobufCBinaryData data) {
  audit_bytes b = {data.data, data.len, data.len > 0};
  return b;
}

static audit_opt_int audit_time_col(uint64_t ms) {
  audit_opt_int v = {(int64_t)ms, ms != 0};
  return v;
}

void audit_row_from_event(const Lindung__V1__AuditEvent *event, const uint8_t source_id[16],
                          audit_row *row) {
  memset(row, 0, sizeof *row);
  row->request_id = audit_bytes_col(event->request_id);
  if (!row->request_id.present) {
    row->request_id.data = source_id;
    row->request_id.len = 16;
    row->request_id.present = true;
  }
  row->stage = event->stage;
  row->partner_id = audit_text_col(event->partner_id);
  row->outcome = event->outcome;
  row->error = event->error;
  row->kind = event->kind;
  row->action = event->action;
  row->venue_id = audit_text_col(event->venue_id);
  row->decision = event->decision;
  row->subject_pseudonym = audit_bytes_col(event->subject_pseudonym);
  row->sent_at_ms = audit_time_col(event->sent_at_ms);
  row->received_at_ms = audit_time_col(event->received_at_ms);
  row->handled_at_ms = audit_time_col(event->handled_at_ms);
  row->service = audit_text_col(event->service);
  row->service.present = true; /* NOT NULL: an empty name stays empty */
  if (!row->service.data) row->service.data = (const uint8_t *)"";
  row->detail = audit_text_col(event->detail);
  row->actor = audit_text_col(event->actor);
}

/* Text columns are NUL-free (checked on the way in, and PostgreSQL text
 * cannot hold NUL), so they can be handed to protobuf-c as C strings only
 * when terminated: the caller's row must point at terminated text. */
static char *audit_col_text(audit_bytes b) {
  return b.present ? (char *)b.data : (char *)protobuf_c_empty_string;
}

static ProtobufCBinaryData audit_col_binary(audit_bytes b) {
  ProtobufCBinaryData d = {b.present ? b.len : 0, b.present ? (uint8_t *)b.data : NULL};
  return d;
}

void audit_record_fill(const audit_row *row, Lindung__V1__AuditRecord *record,
                       Lindung__V1__AuditEvent *event) {
  lindung__v1__audit_event__init(event);
  event->version = 1;
  event->stage = (Lindung__V1__AuditStage)row->stage;
  event->request_id = audit_col_binary(row->request_id);
  event->partner_id = audit_col_text(row->partner_id);
  event->outcome = (Lindung__V1__AuditOutcome)row->outcome;
  event->error = (Lindung__V1__ErrorCode)row->error;
  event->kind = (Lindung__V1__RequestKind)row->kind;
  event->action = (Lindung__V1__Action)row->action;
  event->venue_id = audit_col_text(row->venue_id);
  event->decision = (Lindung__V1__Decision)row->decision;
  event->subject_pseudonym = audit_col_binary(row->subject_pseudonym);
  event->sent_at_ms = row->sent_at_ms.present ? (uint64_t)row->sent_at_ms.value : 0;
  event->received_at_ms = row->received_at_ms.present ? (uint64_t)row->received_at_ms.value : 0;
  event->handled_at_ms = row->handled_at_ms.present ? (uint64_t)row->handled_at_ms.value : 0;
  event->service = audit_col_text(row->service);
  event->detail = audit_col_text(row->detail);
  event->actor = audit_col_text(row->actor);

  lindung__v1__audit_record__init(record);
  record->version = 1;
  record->seq = (uint64_t)row->seq;
  record->event = event;
  record->appended_at_us = (uint64_t)row->appended_at_us;
  record->prev_hash.data = (uint8_t *)row->prev_hash;
  record->prev_hash.len = AUDIT_HASH_BYTES;
  record->hash.data = (uint8_t *)row->hash;
  record->hash.len = AUDIT_HASH_BYTES;
}

int audit_row_from_record(const Lindung__V1__AuditRecord *record, audit_row *row) {
  const Lindung__V1__AuditEvent *event = record->event;
  if (!event || record->prev_hash.len != AUDIT_HASH_BYTES || record->hash.len != AUDIT_HASH_BYTES ||
      record->seq > INT64_MAX || record->appended_at_us > INT64_MAX)
    return -EINVAL;
  /* The same mapping as on append, except that request_id is as stored. */
  static const uint8_t no_id[16];
  audit_row_from_event(event, no_id, row);
  row->request_id = audit_bytes_col(event->request_id);
  row->seq = (int64_t)record->seq;
  row->appended_at_us = (int64_t)record->appended_at_us;
  memcpy(row->prev_hash, record->prev_hash.data, AUDIT_HASH_BYTES);
  memcpy(row->hash, record->hash.data, AUDIT_HASH_BYTES);
  return 0;
}

static void audit_be64(uint8_t *out, uint64_t value) {
  for (int i = 0; i < 8; i++) out[i] = (uint8_t)(value >> (56 - 8 * i));
}

void audit_seq_key(int64_t seq, uint8_t out[8]) {
  audit_be64(out, (uint64_t)seq);
}

void audit_checkpoint_message(const audit_checkpoint *checkpoint,
                              uint8_t out[AUDIT_CHECKPOINT_MESSAGE_BYTES]) {
  size_t ctx_len = sizeof audit_checkpoint_context - 1;
  memcpy(out, audit_checkpoint_context, ctx_len);
  audit_be64(out + ctx_len, (uint64_t)checkpoint->seq);
  memcpy(out + ctx_len + 8, checkpoint->head_hash, AUDIT_HASH_BYTES);
  audit_be64(out + ctx_len + 8 + AUDIT_HASH_BYTES, (uint64_t)checkpoint->signed_at_us);
}

int audit_checkpoint_sign(audit_checkpoint *checkpoint, const uint8_t seed[AUDIT_SEED_BYTES]) {
  uint8_t sk[crypto_sign_SECRETKEYBYTES];
  uint8_t message[AUDIT_CHECKPOINT_MESSAGE_BYTES];
  if (crypto_sign_seed_keypair(checkpoint->public_key, sk, seed) != 0) return -EINVAL;
  audit_checkpoint_message(checkpoint, message);
  int rc = crypto_sign_detached(checkpoint->signature, NULL, message, sizeof message, sk);
  sodium_memzero(sk, sizeof sk);
  return rc == 0 ? 0 : -EINVAL;
}

int audit_checkpoint_verify(const audit_checkpoint *checkpoint) {
  uint8_t message[AUDIT_CHECKPOINT_MESSAGE_BYTES];
  audit_checkpoint_message(checkpoint, message);
  return crypto_sign_verify_detached(checkpoint->signature, message, sizeof message,
                                     checkpoint->public_key) == 0
             ? 0
             : -EBADMSG;
}

void audit_checkpoint_fill(const audit_checkpoint *checkpoint, Lindung__V1__AuditCheckpoint *out) {
  lindung__v1__audit_checkpoint__init(out);
  out->version = 1;
  out->seq = (uint64_t)checkpoint->seq;
  out->head_hash.data = (uint8_t *)checkpoint->head_hash;
  out->head_hash.len = AUDIT_HASH_BYTES;
  out->signed_at_us = (uint64_t)checkpoint->signed_at_us;
  out->public_key.data = (uint8_t *)checkpoint->public_key;
  out->public_key.len = AUDIT_PUBLIC_KEY_BYTES;
  out->signature.data = (uint8_t *)checkpoint->signature;
  out->signature.len = AUDIT_SIGNATURE_BYTES;
}

int audit_checkpoint_from_proto(const Lindung__V1__AuditCheckpoint *in, audit_checkpoint *out) {
  if (in->head_hash.len != AUDIT_HASH_BYTES || in->public_key.len != AUDIT_PUBLIC_KEY_BYTES ||
      in->signature.len != AUDIT_SIGNATURE_BYTES || in->seq > INT64_MAX ||
      in->signed_at_us > INT64_MAX)
    return -EINVAL;
  memset(out, 0, sizeof *out);
  out->seq = (int64_t)in->seq;
  out->signed_at_us = (int64_t)in->signed_at_us;
  memcpy(out->head_hash, in->head_hash.data, AUDIT_HASH_BYTES);
  memcpy(out->public_key, in->public_key.data, AUDIT_PUBLIC_KEY_BYTES);
  memcpy(out->signature, in->signature.data, AUDIT_SIGNATURE_BYTES);
  return 0;
}
