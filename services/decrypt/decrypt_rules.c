/* decrypt_rules: opens one accepted request and reduces it to what the
 * resolver needs (see decrypt_rules.h). Clear text lives only in stack
 * buffers and protobuf-c's unpacked body, and is wiped before return. */
#include "decrypt_rules.h"

#include "request_checks.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "proto_limits.h"
#include "registry_rules.h"
#include "token.h"
#include "topics.h"

/* What the audit event says about the request, filled in as it is known. */
typedef struct decrypt_facts {
  const Lindung__V1__ScanRequest *request; /* NULL when none */
  uint64_t received_at_ms;
  Lindung__V1__RequestKind kind;
  Lindung__V1__Action action;
  const char *venue_id;
  /* Where the request was read on its partner's topic. */
  int32_t source_partition;
  int64_t source_offset;
} decrypt_facts;

int decrypt_person_key(const inner_seal_keys *inner, const Lindung__V1__RequestBody *body,
                       const uint8_t token_digest[32], uint8_t out[32]) {
  if (body->kind_case == LINDUNG__V1__REQUEST_BODY__KIND_LINK)
    return inner_seal_partition_hash(inner, "nik", body->link->nik, strlen(body->link->nik), out);
  return inner_seal_partition_hash(inner, "token", token_digest, 32, out);
}

void decrypt_result_wipe(decrypt_result *result) {
  if (!result) return;
  sodium_memzero(result->value, result->value_len);
  result->value_len = 0;
}

static void decrypt_set_audit_identity(decrypt_result *result, const kq_input *input,
                                       const Lindung__V1__ScanRequest *request) {
  if (request && request->request_id.len == ENVELOPE_REQUEST_ID_BYTES) {
    memcpy(result->audit_key, request->request_id.data, ENVELOPE_REQUEST_ID_BYTES);
  } else {
    messages_input_id(input, result->audit_key);
  }
  result->audit_key_len = 16;
}

/* A replay's own audit identity: the audit trail keeps one record per
 * (request id, stage), so a replay keyed by its request id would vanish as a
 * duplicate of the original. Keyed instead by the place it was read on the
 * partner's topic, it gets its own record, while a redelivery of the same
 * record (same place) stays one. */
static void decrypt_replay_audit_identity(decrypt_result *result, const decrypt_facts *facts) {
  uint8_t place[16 + 12];
  memcpy(place, facts->request->request_id.data, 16);
  uint32_t partition = (uint32_t)facts->source_partition;
  uint64_t offset = (uint64_t)facts->source_offset;
  for (int i = 0; i < 4; i++) place[16 + i] = (uint8_t)(partition >> (8 * i));
  for (int i = 0; i < 8; i++) place[20 + i] = (uint8_t)(offset >> (8 * i));
  crypto_generichash(result->audit_key, 16, place, sizeof place, (const uint8_t *)"replay", 6);
  result->audit_key_len = 16;
}

static int decrypt_pack_audit(decrypt_result *result, const decrypt_facts *facts, bool attributable,
                              Lindung__V1__AuditOutcome outcome, uint64_t now_ms) {
  Lindung__V1__AuditEvent event = LINDUNG__V1__AUDIT_EVENT__INIT;
  event.stage = LINDUNG__V1__AUDIT_STAGE__AUDIT_STAGE_DECRYPT;
  event.request_id.data = result->audit_key;
  event.request_id.len = result->audit_key_len;
  event.outcome = outcome;
  event.error = result->outcome == DECRYPT_REJECTED ? result->error : LINDUNG__V1__ERROR_CODE__NONE;
  event.kind = facts->kind;
  event.action = facts->action;
  if (facts->venue_id) event.venue_id = (char *)facts->venue_id;
  if (facts->request) {
    if (attributable) event.partner_id = facts->request->partner_id;
    event.sent_at_ms = facts->request->sent_at_ms;
  }
  event.received_at_ms = facts->received_at_ms;
  event.handled_at_ms = now_ms;
  event.service = (char *)DECRYPT_SERVICE_NAME;
  if (result->outcome == DECRYPT_DEAD_LETTERED) event.detail = (char *)result->reason;
  char replay_detail[64];
  if (result->outcome == DECRYPT_REJECTED && result->error == LINDUNG__V1__ERROR_CODE__REPLAYED) {
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, facts->request->request_id.data, 16);
    snprintf(replay_detail, sizeof replay_detail, "replay_of=%s", hex);
    event.detail = replay_detail;
  }
  result->audit_len = messages_audit_event(&event, result->audit, sizeof(result->audit));
  return result->audit_len ? 0 : -1;
}

static int decrypt_dead_letter(decrypt_result *result, const kq_input *input,
                               const decrypt_facts *facts, const char *reason, uint64_t now_ms) {
  result->outcome = DECRYPT_DEAD_LETTERED;
  result->reason = reason;
  result->metric_label = "deadletter";
  decrypt_set_audit_identity(result, input, NULL);
  return decrypt_pack_audit(result, facts, false,
                            LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_DEADLETTERED, now_ms);
}

static int decrypt_reject(decrypt_result *result, const kq_input *input, const decrypt_facts *facts,
                          Lindung__V1__ErrorCode error, uint64_t now_ms) {
  const Lindung__V1__ScanRequest *request = facts->request;
  result->outcome = DECRYPT_REJECTED;
  result->error = error;
  result->metric_label = messages_error_name(error);
  if (request_checks_error_answer(request, error, now_ms, result->topic, sizeof(result->topic),
                                  result->key, &result->key_len, result->value,
                                  sizeof(result->value), &result->value_len))
    return -1;
  if (error == LINDUNG__V1__ERROR_CODE__REPLAYED)
    decrypt_replay_audit_identity(result, facts);
  else
    decrypt_set_audit_identity(result, input, request);
  return decrypt_pack_audit(result, facts, true, LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_REJECTED,
                            now_ms);
}

static bool decrypt_header_well_formed(const Lindung__V1__ScanRequest *request) {
  return request->version == 1 && request->request_id.len == ENVELOPE_REQUEST_ID_BYTES &&
         request->nonce.len == ENVELOPE_NONCE_BYTES &&
         request->ciphertext.len >= ENVELOPE_TAG_BYTES &&
         request->ciphertext.len <= ENVELOPE_MAX_CIPHERTEXT;
}

/* The body rules; NONE when the body may go on. */
static Lindung__V1__ErrorCode decrypt_check_body(const Lindung__V1__RequestBody *body,
                                                 decrypt_facts *facts) {
  if (body->kind_case == LINDUNG__V1__REQUEST_BODY__KIND_SCAN && body->scan) {
    const Lindung__V1__Scan *scan = body->scan;
    facts->kind = LINDUNG__V1__REQUEST_KIND__REQUEST_KIND_SCAN;
    if (scan->action != LINDUNG__V1__ACTION__CHECK_IN &&
        scan->action != LINDUNG__V1__ACTION__CHECK_OUT) {
      return LINDUNG__V1__ERROR_CODE__MALFORMED;
    }
    facts->action = scan->action;
    if (!reg_venue_id_valid(scan->venue_id)) return LINDUNG__V1__ERROR_CODE__MALFORMED;
    facts->venue_id = scan->venue_id;
    size_t token_len = strlen(scan->token);
    if (token_len > TOKEN_MAX_LEN) return LINDUNG__V1__ERROR_CODE__MALFORMED;
    /* No token is a token never issued, not a malformed request. */
    if (token_len == 0) return LINDUNG__V1__ERROR_CODE__UNKNOWN_TOKEN;
    return LINDUNG__V1__ERROR_CODE__NONE;
  }
  if (body->kind_case == LINDUNG__V1__REQUEST_BODY__KIND_LINK && body->link) {
    facts->kind = LINDUNG__V1__REQUEST_KIND__REQUEST_KIND_LINK;
    if (!reg_nik_valid(body->link->nik)) return LINDUNG__V1__ERROR_CODE__MALFORMED;
    return LINDUNG__V1__ERROR_CODE__NONE;
  }
  return LINDUNG__V1__ERROR_CODE__MALFORMED;
}

static int decrypt_forward(const decrypt_context *context, decrypt_result *result,
                           const kq_input *input, const decrypt_facts *facts,
                           const Lindung__V1__RequestBody *body, const envelope_session *session,
                           uint64_t now_ms) {
  const Lindung__V1__ScanRequest *request = facts->request;
  uint8_t plain[MESSAGES_MAX_BYTES - INNER_SEAL_OVERHEAD];
  size_t plain_len = 0;
  uint8_t token_digest[TOKEN_HASH_BYTES] = {0};
  uint8_t response_nonce[ENVELOPE_NONCE_BYTES];
  uint8_t pad[ENVELOPE_PAD_BYTES];
  int rc = -1;

  Lindung__V1__DecryptedRequest out = LINDUNG__V1__DECRYPTED_REQUEST__INIT;
  Lindung__V1__DecryptedScan scan = LINDUNG__V1__DECRYPTED_SCAN__INIT;
  Lindung__V1__DecryptedLink link = LINDUNG__V1__DECRYPTED_LINK__INIT;
  out.partner_id = request->partner_id;
  out.partner_key_id = request->partner_key_id;
  out.system_key_id = request->system_key_id;
  out.request_id = request->request_id;
  out.sent_at_ms = request->sent_at_ms;
  out.received_at_ms = facts->received_at_ms;
  if (body->kind_case == LINDUNG__V1__REQUEST_BODY__KIND_SCAN) {
    token_hash(body->scan->token, strlen(body->scan->token), token_digest);
    scan.token_hash.data = token_digest;
    scan.token_hash.len = sizeof(token_digest);
    scan.venue_id = body->scan->venue_id;
    scan.scanned_at_ms = body->scan->scanned_at_ms;
    scan.action = body->scan->action;
    out.kind_case = LINDUNG__V1__DECRYPTED_REQUEST__KIND_SCAN;
    out.scan = &scan;
  } else {
    link.nik = body->link->nik;
    out.kind_case = LINDUNG__V1__DECRYPTED_REQUEST__KIND_LINK;
    out.link = &link;
  }
  /* Per-person order: every scan with this token, every link of this NIK,
   * lands on one partition. */
  if (decrypt_person_key(context->inner, body, token_digest, result->key) != 0) goto wipe;
  result->key_len = 32;
  if (envelope_pad_make(session->tx, response_nonce, pad) != 0) goto wipe;
  out.response_nonce.data = response_nonce;
  out.response_nonce.len = sizeof(response_nonce);
  out.response_pad.data = pad;
  out.response_pad.len = sizeof(pad);
  /* Packed in clear only here, then sealed to the resolver. */
  if (lindung__v1__decrypted_request__get_packed_size(&out) > sizeof(plain)) goto wipe;
  plain_len = lindung__v1__decrypted_request__pack(&out, plain);
  result->value_len = inner_seal(context->inner, TOPIC_SCAN_DECRYPTED, plain, plain_len,
                                 result->value, sizeof(result->value));
  if (result->value_len == 0) goto wipe;

  result->outcome = DECRYPT_FORWARDED;
  result->metric_label = "forwarded";
  snprintf(result->topic, sizeof(result->topic), "%s", TOPIC_SCAN_DECRYPTED);
  decrypt_set_audit_identity(result, input, request);
  rc = decrypt_pack_audit(result, facts, true, LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_FORWARDED,
                          now_ms);
wipe:
  sodium_memzero(plain, plain_len);
  sodium_memzero(pad, sizeof(pad));
  sodium_memzero(token_digest, sizeof(token_digest));
  return rc;
}

/* Registry and key rules; on NONE, *system_sk and the public keys are set. */
static Lindung__V1__ErrorCode decrypt_check_keys(const decrypt_context *context,
                                                 const registry_partner *partner,
                                                 const Lindung__V1__ScanRequest *request,
                                                 uint64_t now_ms, const registry_key **partner_key,
                                                 const registry_system_key **system_key,
                                                 const uint8_t **system_sk) {
  Lindung__V1__ErrorCode error =
      request_checks_registry(context->registry, partner, request, now_ms, partner_key, system_key);
  if (error != LINDUNG__V1__ERROR_CODE__NONE) return error;
  /* A system key registered but not held here (or held with another public
   * key) is, for this process, a key it does not know. */
  *system_sk = system_keys_secret(context->keys, request->system_key_id, (*system_key)->public_key);
  if (!*system_sk) return LINDUNG__V1__ERROR_CODE__UNKNOWN_KEY;
  return LINDUNG__V1__ERROR_CODE__NONE;
}

int decrypt_process(const decrypt_context *context, uint64_t now_ms, const kq_input *input,
                    decrypt_result *result) {
  result->outcome = DECRYPT_DEAD_LETTERED;
  result->error = LINDUNG__V1__ERROR_CODE__NONE;
  result->reason = NULL;
  result->metric_label = "deadletter";
  result->topic[0] = '\0';
  result->key_len = result->value_len = result->audit_key_len = result->audit_len = 0;
  if (!context || !context->registry || !context->keys || !context->sessions || !context->replays ||
      !inner_seal_current_id(context->inner) || !input) {
    return -1;
  }

  decrypt_facts facts = {0};
  ProtobufCMessage *message = NULL;
  proto_decode_status status =
      proto_decode(&lindung__v1__accepted_request__descriptor, input->value, input->value_len,
                   PROTO_MAX_MESSAGE_BYTES, &message);
  if (status != PROTO_DECODE_OK) {
    return decrypt_dead_letter(result, input, &facts, proto_decode_reason(status), now_ms);
  }
  Lindung__V1__AcceptedRequest *accepted = (Lindung__V1__AcceptedRequest *)message;
  const Lindung__V1__ScanRequest *request = accepted->request;
  facts.request = request;
  facts.received_at_ms = accepted->received_at_ms;
  facts.source_partition = accepted->source_partition;
  facts.source_offset = accepted->source_offset;

  uint8_t plain[ENVELOPE_MAX_CIPHERTEXT];
  size_t plain_len = 0;
  Lindung__V1__RequestBody *body = NULL;
  Lindung__V1__ErrorCode error = LINDUNG__V1__ERROR_CODE__NONE;
  int rc;

  if (!request) {
    rc = decrypt_dead_letter(result, input, &facts, "no_request", now_ms);
    goto done;
  }
  const registry_partner *partner =
      reg_partner_id_valid(request->partner_id)
          ? registry_find_partner(context->registry, request->partner_id)
          : NULL;
  if (!partner) {
    rc = decrypt_dead_letter(result, input, &facts, "unknown_partner", now_ms);
    goto done;
  }

  const registry_key *partner_key = NULL;
  const registry_system_key *system_key = NULL;
  const uint8_t *system_sk = NULL;
  const envelope_session *session = NULL;
  if (!decrypt_header_well_formed(request)) {
    error = LINDUNG__V1__ERROR_CODE__MALFORMED;
  } else {
    error = decrypt_check_keys(context, partner, request, now_ms, &partner_key, &system_key,
                               &system_sk);
  }

  if (error == LINDUNG__V1__ERROR_CODE__NONE) {
    session =
        envelope_cache_system_session(context->sessions, system_key->key_id, system_key->public_key,
                                      system_sk, partner_key->public_key);
    uint8_t ad[ENVELOPE_MAX_AD_BYTES];
    envelope_header header = {
        .partner_id = request->partner_id,
        .partner_key_id = request->partner_key_id,
        .system_key_id = request->system_key_id,
        .request_id = request->request_id.data,
        .at_ms = request->sent_at_ms,
    };
    size_t ad_len = envelope_associated_data(ENVELOPE_REQUEST, &header, ad);
    plain_len = request->ciphertext.len - ENVELOPE_TAG_BYTES;
    /* A session that cannot be derived (a degenerate partner public key)
     * opens nothing, like a wrong key. */
    if (!session || !ad_len ||
        envelope_open(session->rx, ad, ad_len, request->nonce.data, request->ciphertext.data,
                      request->ciphertext.len, plain) != 0) {
      error = LINDUNG__V1__ERROR_CODE__DECRYPT_FAILED;
      plain_len = 0;
    }
  }

  if (error == LINDUNG__V1__ERROR_CODE__NONE) {
    /* An empty body is valid protobuf but names neither scan nor link. */
    ProtobufCMessage *body_message = NULL;
    if (plain_len > 0 && proto_decode(&lindung__v1__request_body__descriptor, plain, plain_len,
                                      PROTO_MAX_MESSAGE_BYTES, &body_message) == PROTO_DECODE_OK) {
      body = (Lindung__V1__RequestBody *)body_message;
      error = decrypt_check_body(body, &facts);
    } else {
      error = LINDUNG__V1__ERROR_CODE__MALFORMED;
    }
  }

  /* Only authenticated, well-formed requests reach the window, so a forged
   * or broken message never claims a request id. */
  if (error == LINDUNG__V1__ERROR_CODE__NONE &&
      replay_window_check(context->replays, request->partner_id, request->request_id.data,
                          accepted->source_partition, accepted->source_offset,
                          now_ms) == REPLAY_REPLAYED) {
    error = LINDUNG__V1__ERROR_CODE__REPLAYED;
  }

  if (error != LINDUNG__V1__ERROR_CODE__NONE) {
    rc = decrypt_reject(result, input, &facts, error, now_ms);
  } else {
    rc = decrypt_forward(context, result, input, &facts, body, session, now_ms);
  }

done:
  if (body) {
    /* Wipe the clear text protobuf-c copied out of the body. */
    if (body->kind_case == LINDUNG__V1__REQUEST_BODY__KIND_SCAN && body->scan) {
      sodium_memzero(body->scan->token, strlen(body->scan->token));
    } else if (body->kind_case == LINDUNG__V1__REQUEST_BODY__KIND_LINK && body->link) {
      sodium_memzero(body->link->nik, strlen(body->link->nik));
    }
    protobuf_c_message_free_unpacked(&body->base, NULL);
  }
  sodium_memzero(plain, sizeof(plain));
  protobuf_c_message_free_unpacked(message, NULL);
  return rc;
}
