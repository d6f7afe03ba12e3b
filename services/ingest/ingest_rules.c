/* ingest_rules: the per-message decision of the ingest edge (see
 * ingest_rules.h). Everything here is pure apart from the quota table it is
 * handed; the caller produces what it returns. */
#include "ingest_rules.h"

#include "request_checks.h"

#include <stdio.h>
#include <string.h>

#include "envelope.h"
#include "proto_limits.h"
#include "registry_rules.h"
#include "topics.h"

static void ingest_set_audit_identity(ingest_result *result, const kq_input *input,
                                      const ProtobufCBinaryData *request_id) {
  /* The audit trail keeps one record per (request_id, stage): an input
   * without a usable request id is identified by where it was read. */
  if (request_id && request_id->len == ENVELOPE_REQUEST_ID_BYTES) {
    memcpy(result->audit_key, request_id->data, ENVELOPE_REQUEST_ID_BYTES);
  } else {
    messages_input_id(input, result->audit_key);
  }
  result->audit_key_len = 16;
}

static int ingest_pack_audit(ingest_result *result, const Lindung__V1__ScanRequest *request,
                             const char *partner_id, Lindung__V1__AuditOutcome outcome,
                             uint64_t now_ms) {
  Lindung__V1__AuditEvent event = LINDUNG__V1__AUDIT_EVENT__INIT;
  event.stage = LINDUNG__V1__AUDIT_STAGE__AUDIT_STAGE_INGEST;
  event.request_id.data = result->audit_key;
  event.request_id.len = result->audit_key_len;
  if (partner_id) event.partner_id = (char *)partner_id;
  event.outcome = outcome;
  event.error = result->outcome == INGEST_REJECTED ? result->error : LINDUNG__V1__ERROR_CODE__NONE;
  if (request) event.sent_at_ms = request->sent_at_ms;
  event.received_at_ms = now_ms;
  event.handled_at_ms = now_ms;
  event.service = (char *)INGEST_SERVICE_NAME;
  if (result->outcome == INGEST_DEAD_LETTERED) event.detail = (char *)result->reason;
  result->audit_len = messages_audit_event(&event, result->audit, sizeof(result->audit));
  return result->audit_len ? 0 : -1;
}

static int ingest_dead_letter(ingest_result *result, const kq_input *input,
                              const Lindung__V1__ScanRequest *request, const char *partner_id,
                              const char *reason, uint64_t now_ms) {
  result->outcome = INGEST_DEAD_LETTERED;
  result->reason = reason;
  result->metric_label = "deadletter";
  /* Unattributable: no request id can be trusted to name it. */
  ingest_set_audit_identity(result, input, NULL);
  return ingest_pack_audit(result, request, partner_id,
                           LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_DEADLETTERED, now_ms);
}

static int ingest_reject(ingest_result *result, const kq_input *input,
                         const Lindung__V1__ScanRequest *request, Lindung__V1__ErrorCode error,
                         uint64_t now_ms) {
  result->outcome = INGEST_REJECTED;
  result->error = error;
  result->metric_label = messages_error_name(error);
  if (request_checks_error_answer(request, error, now_ms, result->topic, sizeof(result->topic),
                                  result->key, &result->key_len, result->value,
                                  sizeof(result->value), &result->value_len))
    return -1;
  ingest_set_audit_identity(result, input, &request->request_id);
  return ingest_pack_audit(result, request, request->partner_id,
                           LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_REJECTED, now_ms);
}

static int ingest_forward(ingest_result *result, const kq_input *input,
                          Lindung__V1__ScanRequest *request, uint64_t now_ms) {
  result->outcome = INGEST_FORWARDED;
  result->metric_label = "forwarded";
  snprintf(result->topic, sizeof(result->topic), "%s", TOPIC_SCAN_ACCEPTED);
  memcpy(result->key, request->request_id.data, ENVELOPE_REQUEST_ID_BYTES);
  result->key_len = ENVELOPE_REQUEST_ID_BYTES;

  Lindung__V1__AcceptedRequest accepted = LINDUNG__V1__ACCEPTED_REQUEST__INIT;
  accepted.request = request;
  accepted.received_at_ms = now_ms;
  accepted.source_partition = input->partition;
  accepted.source_offset = input->offset;
  size_t size = lindung__v1__accepted_request__get_packed_size(&accepted);
  if (size > sizeof(result->value)) return -1;
  result->value_len = lindung__v1__accepted_request__pack(&accepted, result->value);

  ingest_set_audit_identity(result, input, &request->request_id);
  return ingest_pack_audit(result, request, request->partner_id,
                           LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_FORWARDED, now_ms);
}

/* The header rules that need no registry: MALFORMED when any fails. */
static int ingest_header_well_formed(const Lindung__V1__ScanRequest *request,
                                     const kq_input *input) {
  if (request->version != 1) return 0;
  /* A v1 request has no other fields. protobuf-c keeps unknown ones and
   * packs them again, even a tag it should have refused (field 0, found by
   * tests/fuzz/scan_request): forwarded, that made an AcceptedRequest
   * decrypt could not decode, and the partner no answer. */
  if (request->base.n_unknown_fields) return 0;
  if (request->request_id.len != ENVELOPE_REQUEST_ID_BYTES) return 0;
  if (request->nonce.len != ENVELOPE_NONCE_BYTES) return 0;
  if (request->ciphertext.len < ENVELOPE_TAG_BYTES) return 0;
  if (request->ciphertext.len > ENVELOPE_MAX_CIPHERTEXT) return 0;
  /* The key decides the partition; a key other than the request id would
   * let a partner steer around the per-request-id partitioning. */
  if (input->key_len != ENVELOPE_REQUEST_ID_BYTES) return 0;
  if (memcmp(input->key, request->request_id.data, ENVELOPE_REQUEST_ID_BYTES) != 0) return 0;
  return 1;
}

static uint64_t ingest_distance(uint64_t a, uint64_t b) {
  return a > b ? a - b : b - a;
}


/* The time a request counts at in its partner's bucket: when the broker got
 * it, so that a backlog read in a burst after a pause is measured at the rate
 * it was sent. The broker's time is trusted only within the last
 * INGEST_QUOTA_SKEW_MS: a partner cannot buy refills with old timestamps,
 * nor spend future ones. */
uint64_t ingest_quota_time(const kq_input *input, uint64_t now_ms) {
  if (input->timestamp_ms <= 0) return now_ms;
  uint64_t sent = (uint64_t)input->timestamp_ms;
  if (sent > now_ms) return now_ms;
  return now_ms - sent > INGEST_QUOTA_SKEW_MS ? now_ms - INGEST_QUOTA_SKEW_MS : sent;
}

int ingest_topic_owner(const char *topic, char owner[33]) {
  const char *partner_id = topics_requests_partner(topic);
  if (!partner_id || !reg_partner_id_valid(partner_id)) return -1;
  snprintf(owner, 33, "%s", partner_id);
  return 0;
}

int ingest_decide(const registry *reg, quota_table *quotas, uint64_t now_ms, const kq_input *input,
                  ingest_result *result) {
  result->outcome = INGEST_DEAD_LETTERED;
  result->error = LINDUNG__V1__ERROR_CODE__NONE;
  result->reason = NULL;
  result->metric_label = "deadletter";
  result->topic[0] = '\0';
  result->key_len = result->value_len = result->audit_key_len = result->audit_len = 0;
  if (!reg || !input) return -1;

  ProtobufCMessage *message = NULL;
  proto_decode_status status = proto_decode(&lindung__v1__scan_request__descriptor, input->value,
                                            input->value_len, PROTO_MAX_MESSAGE_BYTES, &message);
  char owner[33];
  bool owned = ingest_topic_owner(input->topic, owner) == 0;
  if (status != PROTO_DECODE_OK) {
    return ingest_dead_letter(result, input, NULL, owned ? owner : NULL,
                              proto_decode_reason(status), now_ms);
  }
  Lindung__V1__ScanRequest *request = (Lindung__V1__ScanRequest *)message;
  int rc;

  const registry_partner *partner = NULL;
  if (!owned) {
    rc = ingest_dead_letter(result, input, request, NULL, "not_a_request_topic", now_ms);
    goto done;
  }
  /* The topic says who sent it; a record speaking for anyone else is the
   * owner's fault, recorded against the owner and answered to no one. */
  if (!request->partner_id || strcmp(request->partner_id, owner) != 0) {
    rc = ingest_dead_letter(result, input, request, owner, "partner_mismatch", now_ms);
    goto done;
  }
  partner = registry_find_partner(reg, request->partner_id);
  if (!partner) {
    /* Never answered: an unknown partner has no topic of its own. */
    rc = ingest_dead_letter(result, input, request, request->partner_id, "unknown_partner", now_ms);
    goto done;
  }

  Lindung__V1__ErrorCode error = LINDUNG__V1__ERROR_CODE__NONE;
  if (!ingest_header_well_formed(request, input)) {
    error = LINDUNG__V1__ERROR_CODE__MALFORMED;
  } else {
    const registry_key *partner_key;
    const registry_system_key *system_key;
    error = request_checks_registry(reg, partner, request, now_ms, &partner_key, &system_key);
  }
  if (error == LINDUNG__V1__ERROR_CODE__NONE &&
      ingest_distance(request->sent_at_ms, now_ms) > INGEST_MAX_CLOCK_SKEW_MS) {
    error = LINDUNG__V1__ERROR_CODE__STALE_REQUEST;
  }
  /* Quota last, so that only requests that would be forwarded use it up. */
  if (error == LINDUNG__V1__ERROR_CODE__NONE && quotas &&
      !quota_take(quotas, partner->partner_id, partner->rate_per_s, partner->burst,
                  ingest_quota_time(input, now_ms))) {
    error = LINDUNG__V1__ERROR_CODE__RATE_LIMITED;
  }
  if (error != LINDUNG__V1__ERROR_CODE__NONE) {
    rc = ingest_reject(result, input, request, error, now_ms);
  } else {
    rc = ingest_forward(result, input, request, now_ms);
  }

done:
  protobuf_c_message_free_unpacked(message, NULL);
  return rc;
}
