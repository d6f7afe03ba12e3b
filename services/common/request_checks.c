/* request_checks: header rules shared by ingest and decrypt (request_checks.h). */
#include "request_checks.h"

#include <string.h>

#include "envelope.h"
#include "messages.h"
#include "topics.h"

Lindung__V1__ErrorCode request_checks_registry(const registry *reg, const registry_partner *partner,
                                               const Lindung__V1__ScanRequest *request,
                                               uint64_t now_ms, const registry_key **partner_key,
                                               const registry_system_key **system_key) {
  if (partner->revoked) return LINDUNG__V1__ERROR_CODE__PARTNER_REVOKED;
  *partner_key =
      request->partner_key_id ? registry_find_partner_key(partner, request->partner_key_id) : NULL;
  *system_key = request->system_key_id ? registry_find_system_key(reg, request->system_key_id) : NULL;
  if (!*partner_key || !*system_key) return LINDUNG__V1__ERROR_CODE__UNKNOWN_KEY;
  if ((*partner_key)->revoked || !registry_system_key_usable(*system_key, now_ms))
    return LINDUNG__V1__ERROR_CODE__KEY_REVOKED;
  return LINDUNG__V1__ERROR_CODE__NONE;
}

int request_checks_error_answer(const Lindung__V1__ScanRequest *request, Lindung__V1__ErrorCode error,
                                uint64_t now_ms, char *topic, size_t topic_len, uint8_t key[16],
                                size_t *key_len, uint8_t *value, size_t value_cap,
                                size_t *value_len) {
  if (topics_scan_results(request->partner_id, topic, topic_len) != 0) return -1;
  /* Echo the request id as sent when it can be one (docs/partner-protocol.md). */
  size_t id_len = request->request_id.len <= ENVELOPE_REQUEST_ID_BYTES ? request->request_id.len : 0;
  if (id_len) memcpy(key, request->request_id.data, id_len);
  *key_len = id_len;
  *value_len = messages_error_response(request->partner_id, request->partner_key_id,
                                       request->system_key_id, request->request_id.data, id_len,
                                       now_ms, error, value, value_cap);
  return *value_len ? 0 : -1;
}
