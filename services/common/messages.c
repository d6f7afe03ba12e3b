/* messages: builders for the outputs every scan-path service shares. */
#include "messages.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

size_t messages_error_response(const char *partner_id, uint32_t partner_key_id,
                               uint32_t system_key_id, const uint8_t *request_id,
                               size_t request_id_len, uint64_t created_at_ms,
                               Lindung__V1__ErrorCode error, uint8_t *out, size_t out_len) {
  Lindung__V1__ScanResponse response = LINDUNG__V1__SCAN_RESPONSE__INIT;
  response.version = 1;
  response.partner_id = (char *)partner_id;
  response.partner_key_id = partner_key_id;
  response.system_key_id = system_key_id;
  response.request_id.data = (uint8_t *)request_id;
  response.request_id.len = request_id_len;
  response.created_at_ms = created_at_ms;
  response.error = error;
  size_t size = lindung__v1__scan_response__get_packed_size(&response);
  if (size > out_len) return 0;
  return lindung__v1__scan_response__pack(&response, out);
}

size_t messages_dead_letter(const char *service, const char *reason, const char *topic,
                            int32_t partition, int64_t offset, const void *key, size_t key_len,
                            const void *value, size_t value_len, uint64_t at_ms, uint8_t *out,
                            size_t out_len) {
  Lindung__V1__DeadLetter letter = LINDUNG__V1__DEAD_LETTER__INIT;
  letter.service = (char *)service;
  letter.reason = (char *)reason;
  letter.source_topic = (char *)topic;
  letter.source_partition = partition;
  letter.source_offset = offset;
  if (!key) key_len = 0;
  if (!value) value_len = 0;
  uint8_t value_hash[crypto_generichash_BYTES];
  crypto_generichash(value_hash, sizeof value_hash, value, value_len, NULL, 0);
  letter.source_key.data = (uint8_t *)key;
  letter.source_key.len = key_len < MESSAGES_DEAD_LETTER_KEEP_KEY ? key_len : MESSAGES_DEAD_LETTER_KEEP_KEY;
  letter.source_key_length = key_len;
  letter.source_value.data = (uint8_t *)value;
  letter.source_value.len =
      value_len < MESSAGES_DEAD_LETTER_KEEP_VALUE ? value_len : MESSAGES_DEAD_LETTER_KEEP_VALUE;
  letter.source_value_length = value_len;
  letter.source_value_hash.data = value_hash;
  letter.source_value_hash.len = sizeof value_hash;
  letter.at_ms = at_ms;
  size_t size = lindung__v1__dead_letter__get_packed_size(&letter);
  if (size > out_len) return 0;
  return lindung__v1__dead_letter__pack(&letter, out);
}

void messages_input_id(const kq_input *input, uint8_t out[16]) {
  crypto_generichash_state state;
  uint8_t place[20];
  for (int i = 0; i < 4; i++) place[i] = (uint8_t)((uint32_t)input->partition >> (24 - 8 * i));
  for (int i = 0; i < 8; i++) place[4 + i] = (uint8_t)((uint64_t)input->offset >> (56 - 8 * i));
  for (int i = 0; i < 8; i++)
    place[12 + i] = (uint8_t)((uint64_t)input->timestamp_ms >> (56 - 8 * i));
  crypto_generichash_init(&state, NULL, 0, 16);
  crypto_generichash_update(&state, (const uint8_t *)input->topic, strlen(input->topic) + 1);
  crypto_generichash_update(&state, place, sizeof place);
  crypto_generichash_final(&state, out, 16);
}

size_t messages_audit_event(Lindung__V1__AuditEvent *event, uint8_t *out, size_t out_len) {
  event->version = 1;
  size_t size = lindung__v1__audit_event__get_packed_size(event);
  if (size > out_len) return 0;
  return lindung__v1__audit_event__pack(event, out);
}

const char *messages_error_name(Lindung__V1__ErrorCode error) {
  switch (error) {
    case LINDUNG__V1__ERROR_CODE__NONE:
      return "none";
    case LINDUNG__V1__ERROR_CODE__MALFORMED:
      return "malformed";
    case LINDUNG__V1__ERROR_CODE__UNKNOWN_PARTNER:
      return "unknown_partner";
    case LINDUNG__V1__ERROR_CODE__PARTNER_REVOKED:
      return "partner_revoked";
    case LINDUNG__V1__ERROR_CODE__UNKNOWN_KEY:
      return "unknown_key";
    case LINDUNG__V1__ERROR_CODE__KEY_REVOKED:
      return "key_revoked";
    case LINDUNG__V1__ERROR_CODE__DECRYPT_FAILED:
      return "decrypt_failed";
    case LINDUNG__V1__ERROR_CODE__STALE_REQUEST:
      return "stale_request";
    case LINDUNG__V1__ERROR_CODE__REPLAYED:
      return "replayed";
    case LINDUNG__V1__ERROR_CODE__RATE_LIMITED:
      return "rate_limited";
    case LINDUNG__V1__ERROR_CODE__UNKNOWN_TOKEN:
      return "unknown_token";
    case LINDUNG__V1__ERROR_CODE__UNKNOWN_VENUE:
      return "unknown_venue";
    case LINDUNG__V1__ERROR_CODE__UNKNOWN_NIK:
      return "unknown_nik";
    case LINDUNG__V1__ERROR_CODE__UNAVAILABLE:
      return "unavailable";
    default:
      return "unknown_error";
  }
}
