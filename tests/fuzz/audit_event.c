/* Fuzzes what the audit service does with one value from audit.events
 * (services/audit/main.c audit_on_batch): proto_decode, audit_event_problem,
 * then for an accepted event the row it becomes, the JSON batch handed to
 * PostgreSQL's audit_append() and the AuditLogEntry published on audit.log.
 * Checks that the JSON is valid and carries the event's texts unchanged,
 * and that the published record decodes to the same row and hash (what
 * `lindung-audit verify --capture` recomputes).
 *
 * Input: the AuditEvent value. */
#include <jansson.h>
#include <sodium.h>
#include <string.h>

#include "../../services/audit/audit_chain.h"
#include "../../services/audit/audit_store.h"
#include "fuzz.h"
#include "proto_limits.h"

static void check_text(json_t *object, const char *name, audit_bytes column) {
  json_t *value = json_object_get(object, name);
  if (!column.present) return;
  FUZZ_ASSERT(json_is_string(value) && json_string_length(value) == column.len &&
              memcmp(json_string_value(value), column.data, column.len) == 0);
}

static void check_json(const audit_row *row) {
  buffer text = {0};
  audit_store_json_begin(&text);
  audit_store_json_add(&text, row);
  audit_store_json_end(&text);
  FUZZ_ASSERT(!text.failed);
  json_error_t error;
  json_t *batch = json_loadb(text.data, text.len, 0, &error);
  FUZZ_ASSERT(json_is_array(batch) && json_array_size(batch) == 1);
  json_t *object = json_array_get(batch, 0);
  check_text(object, "p", row->partner_id);
  check_text(object, "v", row->venue_id);
  check_text(object, "sv", row->service);
  check_text(object, "dt", row->detail);
  check_text(object, "ac", row->actor);
  json_decref(batch);
  buffer_free(&text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ProtobufCMessage *message = NULL;
  if (proto_decode(&lindung__v1__audit_event__descriptor, data, size, PROTO_MAX_MESSAGE_BYTES,
                   &message) != PROTO_DECODE_OK)
    return 0;
  const Lindung__V1__AuditEvent *event = (const Lindung__V1__AuditEvent *)message;
  if (audit_event_problem(event)) {
    protobuf_c_message_free_unpacked(message, NULL);
    return 0;
  }
  uint8_t source_id[16];
  crypto_generichash(source_id, sizeof source_id, data, size, NULL, 0);
  audit_row row;
  audit_row_from_event(event, source_id, &row);
  check_json(&row);

  /* As appended: the database numbers and chains it. */
  row.seq = 1234;
  row.appended_at_us = (int64_t)FUZZ_NOW_MS * 1000;
  memset(row.prev_hash, 0xab, sizeof row.prev_hash);
  FUZZ_ASSERT(audit_row_hash(&row, row.hash) == 0);

  Lindung__V1__AuditRecord record;
  Lindung__V1__AuditEvent record_event;
  Lindung__V1__AuditLogEntry entry = LINDUNG__V1__AUDIT_LOG_ENTRY__INIT;
  audit_record_fill(&row, &record, &record_event);
  entry.entry_case = LINDUNG__V1__AUDIT_LOG_ENTRY__ENTRY_RECORD;
  entry.record = &record;
  size_t len = lindung__v1__audit_log_entry__get_packed_size(&entry);
  uint8_t *packed = malloc(len);
  FUZZ_ASSERT(packed);
  lindung__v1__audit_log_entry__pack(&entry, packed);

  ProtobufCMessage *published = NULL;
  FUZZ_ASSERT(proto_decode(&lindung__v1__audit_log_entry__descriptor, packed, len,
                           PROTO_MAX_MESSAGE_BYTES, &published) == PROTO_DECODE_OK);
  const Lindung__V1__AuditLogEntry *read = (const Lindung__V1__AuditLogEntry *)published;
  FUZZ_ASSERT(read->entry_case == LINDUNG__V1__AUDIT_LOG_ENTRY__ENTRY_RECORD);
  audit_row again;
  FUZZ_ASSERT(audit_row_from_record(read->record, &again) == 0);
  uint8_t hash[AUDIT_HASH_BYTES];
  FUZZ_ASSERT(audit_row_hash(&again, hash) == 0);
  FUZZ_ASSERT(memcmp(hash, row.hash, sizeof hash) == 0);

  protobuf_c_message_free_unpacked(published, NULL);
  free(packed);
  protobuf_c_message_free_unpacked(message, NULL);
  return 0;
}
