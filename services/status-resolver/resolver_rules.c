/* resolver_rules: the status-resolver's pure per-message logic (see
 * resolver_rules.h): routing, the verdict rules, sealed answers, audit. */
#include "resolver_rules.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "envelope.h"
#include "proto_limits.h"

#define RESOLVER_NIK_DIGITS 16
#define RESOLVER_VENUE_ID_MAX 64
#define RESOLVER_PARTNER_ID_MIN 2
#define RESOLVER_PARTNER_ID_MAX 32

static bool resolver_partner_id_valid(const char *id) {
  if (!id) return false;
  size_t len = strlen(id);
  if (len < RESOLVER_PARTNER_ID_MIN || len > RESOLVER_PARTNER_ID_MAX) return false;
  for (size_t i = 0; i < len; i++) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

static bool resolver_nik_valid(const char *nik) {
  if (!nik) return false;
  size_t i = 0;
  for (; nik[i]; i++) {
    if (nik[i] < '0' || nik[i] > '9' || i >= RESOLVER_NIK_DIGITS) return false;
  }
  return i == RESOLVER_NIK_DIGITS;
}

static void resolver_route_error(resolver_route *out, Lindung__V1__ErrorCode error) {
  out->kind = RESOLVER_ROUTE_ERROR;
  out->error = error;
}

void resolver_route_request(const Lindung__V1__DecryptedRequest *request, resolver_route *out) {
  memset(out, 0, sizeof *out);
  if (!resolver_partner_id_valid(request->partner_id)) {
    out->kind = RESOLVER_ROUTE_DEAD_LETTER;
    out->dead_letter_reason = "bad_partner_id";
    return;
  }
  const Lindung__V1__ErrorCode malformed = LINDUNG__V1__ERROR_CODE__MALFORMED;
  if (request->request_id.len != ENVELOPE_REQUEST_ID_BYTES || request->partner_key_id == 0 ||
      request->system_key_id == 0 || request->response_nonce.len != ENVELOPE_NONCE_BYTES ||
      request->response_pad.len != ENVELOPE_PAD_BYTES) {
    resolver_route_error(out, malformed);
    return;
  }
  switch (request->kind_case) {
    case LINDUNG__V1__DECRYPTED_REQUEST__KIND_SCAN: {
      const Lindung__V1__DecryptedScan *scan = request->scan;
      size_t venue_len = scan->venue_id ? strlen(scan->venue_id) : 0;
      if (scan->action != LINDUNG__V1__ACTION__CHECK_IN &&
          scan->action != LINDUNG__V1__ACTION__CHECK_OUT) {
        resolver_route_error(out, malformed);
      } else if (venue_len == 0 || venue_len > RESOLVER_VENUE_ID_MAX) {
        resolver_route_error(out, malformed);
      } else if (scan->token_missing) {
        resolver_route_error(out, LINDUNG__V1__ERROR_CODE__UNKNOWN_TOKEN);
      } else if (scan->token_hash.len != RESOLVER_TOKEN_HASH_BYTES) {
        resolver_route_error(out, malformed);
      } else {
        out->kind = RESOLVER_ROUTE_SCAN;
      }
      return;
    }
    case LINDUNG__V1__DECRYPTED_REQUEST__KIND_LINK:
      if (!resolver_nik_valid(request->link->nik))
        resolver_route_error(out, malformed);
      else
        out->kind = RESOLVER_ROUTE_LINK;
      return;
    default:
      resolver_route_error(out, malformed);
      return;
  }
}

const char *resolver_open_request(const inner_seal_keys *inner, const uint8_t *value,
                                  size_t value_len, Lindung__V1__DecryptedRequest **out) {
  uint8_t plain[PROTO_MAX_MESSAGE_BYTES];
  size_t plain_len = 0;
  *out = NULL;
  inner_open_status status =
      inner_open(inner, RESOLVER_INPUT_TOPIC, value, value_len, plain, sizeof plain, &plain_len);
  if (status != INNER_OPEN_OK) return inner_open_reason(status);
  ProtobufCMessage *message = NULL;
  proto_decode_status decoded = proto_decode(&lindung__v1__decrypted_request__descriptor, plain,
                                             plain_len, PROTO_MAX_MESSAGE_BYTES, &message);
  sodium_memzero(plain, plain_len);
  if (decoded != PROTO_DECODE_OK) return "sealed_request_invalid";
  *out = (Lindung__V1__DecryptedRequest *)message;
  return NULL;
}

int64_t resolver_effective_capacity(int64_t capacity, int64_t share_percent) {
  if (capacity <= 0 || share_percent <= 0) return 0;
  if (share_percent > 100) share_percent = 100;
  return capacity * share_percent / 100;
}

static void resolver_answer(resolver_scan_outcome *out, Lindung__V1__Decision decision,
                            Lindung__V1__Reason reason) {
  out->verdict.decision = decision;
  out->verdict.reason = reason;
  out->record = true;
}

void resolver_decide(const resolver_scan_facts *facts, Lindung__V1__Action action, uint64_t now_ms,
                     resolver_scan_outcome *out) {
  memset(out, 0, sizeof *out);
  out->error = LINDUNG__V1__ERROR_CODE__NONE;
  bool token_valid = facts->token_found && facts->token_same_partner && !facts->token_revoked;

  /* A redelivery: answer what was answered (and counted) the first time. */
  if (facts->recorded) {
    out->verdict = facts->recorded_verdict;
    out->person_known = facts->token_found && facts->token_same_partner;
    out->venue_known = facts->venue_found;
    return;
  }
  /* Another partner's token is answered like an unknown one: a partner must
   * not learn that a token exists elsewhere. */
  if (!token_valid) {
    out->error = LINDUNG__V1__ERROR_CODE__UNKNOWN_TOKEN;
    return;
  }
  out->person_known = true;
  if (!facts->venue_found) {
    out->error = LINDUNG__V1__ERROR_CODE__UNKNOWN_VENUE;
    return;
  }
  out->venue_known = true;
  out->verdict.status = facts->status;
  out->verdict.checked_at_ms = now_ms;

  if (action == LINDUNG__V1__ACTION__CHECK_OUT) {
    resolver_answer(out, LINDUNG__V1__DECISION__ALLOW, LINDUNG__V1__REASON__CHECKED_OUT);
    out->free_seat = true;
    return;
  }
  bool admitted;
  switch (facts->status) {
    case LINDUNG__V1__STATUS__BLACK:
      resolver_answer(out, LINDUNG__V1__DECISION__DENY, LINDUNG__V1__REASON__POSITIVE_OR_CONTACT);
      return;
    case LINDUNG__V1__STATUS__RED:
      resolver_answer(out, LINDUNG__V1__DECISION__DENY, LINDUNG__V1__REASON__NOT_VACCINATED);
      return;
    case LINDUNG__V1__STATUS__YELLOW:
      admitted = facts->admits_yellow;
      break;
    case LINDUNG__V1__STATUS__GREEN:
      admitted = facts->admits_green;
      break;
    default:
      out->verdict.status = LINDUNG__V1__STATUS__STATUS_UNSPECIFIED;
      resolver_answer(out, LINDUNG__V1__DECISION__DENY, LINDUNG__V1__REASON__NO_HEALTH_RECORD);
      return;
  }
  if (!admitted) {
    resolver_answer(out, LINDUNG__V1__DECISION__DENY, LINDUNG__V1__REASON__STATUS_NOT_ALLOWED_HERE);
    return;
  }
  if (facts->capacity_limited) {
    int64_t limit = resolver_effective_capacity(facts->capacity, facts->share_percent);
    /* Known full (or closed at this PPKM level): no seat to try for. */
    if (facts->occupancy >= limit) {
      resolver_answer(out, LINDUNG__V1__DECISION__DENY, LINDUNG__V1__REASON__VENUE_FULL);
      return;
    }
    out->take_seat = true;
    out->seat_limit = limit;
  }
  resolver_answer(out, LINDUNG__V1__DECISION__ALLOW, LINDUNG__V1__REASON__STATUS_ALLOWED);
}

void resolver_seat_refused(resolver_scan_outcome *outcome) {
  outcome->take_seat = false;
  outcome->verdict.decision = LINDUNG__V1__DECISION__DENY;
  outcome->verdict.reason = LINDUNG__V1__REASON__VENUE_FULL;
}

typedef struct resolver_name {
  int value;
  const char *name;
} resolver_name;

static const resolver_name resolver_status_names[] = {
    {LINDUNG__V1__STATUS__GREEN, "green"},
    {LINDUNG__V1__STATUS__YELLOW, "yellow"},
    {LINDUNG__V1__STATUS__RED, "red"},
    {LINDUNG__V1__STATUS__BLACK, "black"},
    {LINDUNG__V1__STATUS__STATUS_UNSPECIFIED, ""},
};
static const resolver_name resolver_decision_names[] = {
    {LINDUNG__V1__DECISION__ALLOW, "allow"},
    {LINDUNG__V1__DECISION__DENY, "deny"},
};
static const resolver_name resolver_reason_names[] = {
    {LINDUNG__V1__REASON__STATUS_ALLOWED, "status_allowed"},
    {LINDUNG__V1__REASON__STATUS_NOT_ALLOWED_HERE, "status_not_allowed_here"},
    {LINDUNG__V1__REASON__POSITIVE_OR_CONTACT, "positive_or_contact"},
    {LINDUNG__V1__REASON__NOT_VACCINATED, "not_vaccinated"},
    {LINDUNG__V1__REASON__VENUE_FULL, "venue_full"},
    {LINDUNG__V1__REASON__NO_HEALTH_RECORD, "no_health_record"},
    {LINDUNG__V1__REASON__CHECKED_OUT, "checked_out"},
};

#define RESOLVER_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *resolver_name_of(const resolver_name *names, size_t count, int value) {
  for (size_t i = 0; i < count; i++)
    if (names[i].value == value) return names[i].name;
  return "";
}

static int resolver_value_of(const resolver_name *names, size_t count, const char *name, int *out) {
  if (!name) return -1;
  for (size_t i = 0; i < count; i++) {
    if (strcmp(names[i].name, name) == 0) {
      *out = names[i].value;
      return 0;
    }
  }
  return -1;
}

const char *resolver_status_name(Lindung__V1__Status status) {
  return resolver_name_of(resolver_status_names, RESOLVER_COUNT(resolver_status_names),
                          (int)status);
}

int resolver_status_parse(const char *name, Lindung__V1__Status *out) {
  int value;
  if (resolver_value_of(resolver_status_names, RESOLVER_COUNT(resolver_status_names), name, &value))
    return -1;
  *out = (Lindung__V1__Status)value;
  return 0;
}

const char *resolver_decision_name(Lindung__V1__Decision decision) {
  return resolver_name_of(resolver_decision_names, RESOLVER_COUNT(resolver_decision_names),
                          (int)decision);
}

int resolver_decision_parse(const char *name, Lindung__V1__Decision *out) {
  int value;
  if (resolver_value_of(resolver_decision_names, RESOLVER_COUNT(resolver_decision_names), name,
                        &value))
    return -1;
  *out = (Lindung__V1__Decision)value;
  return 0;
}

const char *resolver_reason_name(Lindung__V1__Reason reason) {
  return resolver_name_of(resolver_reason_names, RESOLVER_COUNT(resolver_reason_names),
                          (int)reason);
}

int resolver_reason_parse(const char *name, Lindung__V1__Reason *out) {
  int value;
  if (resolver_value_of(resolver_reason_names, RESOLVER_COUNT(resolver_reason_names), name, &value))
    return -1;
  *out = (Lindung__V1__Reason)value;
  return 0;
}

const char *resolver_action_name(Lindung__V1__Action action) {
  return action == LINDUNG__V1__ACTION__CHECK_OUT ? "check_out" : "check_in";
}

size_t resolver_utf8_cut(const char *text, size_t len, size_t max) {
  if (len <= max) return len;
  size_t cut = max;
  /* Step back over continuation bytes (10xxxxxx) to a character start. */
  while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80) cut--;
  return cut;
}

/* Seals a packed ResponseBody into a ScanResponse. */
static size_t resolver_seal(const Lindung__V1__DecryptedRequest *request,
                            const Lindung__V1__ResponseBody *body, uint64_t created_at_ms,
                            uint8_t *out, size_t out_len) {
  if (request->response_pad.len != ENVELOPE_PAD_BYTES ||
      request->response_nonce.len != ENVELOPE_NONCE_BYTES ||
      request->request_id.len != ENVELOPE_REQUEST_ID_BYTES)
    return 0;
  uint8_t sealed[ENVELOPE_PAD_MAX_BODY + ENVELOPE_TAG_BYTES];
  size_t plain_len = lindung__v1__response_body__get_packed_size(body);
  if (plain_len > ENVELOPE_PAD_MAX_BODY) return 0;
  lindung__v1__response_body__pack(body, sealed);

  envelope_header header = {.partner_id = request->partner_id,
                            .partner_key_id = request->partner_key_id,
                            .system_key_id = request->system_key_id,
                            .request_id = request->request_id.data,
                            .at_ms = created_at_ms};
  uint8_t ad[ENVELOPE_MAX_AD_BYTES];
  size_t ad_len = envelope_associated_data(ENVELOPE_RESPONSE, &header, ad);
  if (ad_len == 0 ||
      envelope_pad_seal(request->response_pad.data, ad, ad_len, sealed, plain_len, sealed)) {
    sodium_memzero(sealed, sizeof sealed);
    return 0;
  }

  Lindung__V1__ScanResponse response = LINDUNG__V1__SCAN_RESPONSE__INIT;
  response.version = 1;
  response.partner_id = request->partner_id;
  response.partner_key_id = request->partner_key_id;
  response.system_key_id = request->system_key_id;
  response.request_id = request->request_id;
  response.created_at_ms = created_at_ms;
  response.error = LINDUNG__V1__ERROR_CODE__NONE;
  response.nonce = request->response_nonce;
  response.ciphertext.data = sealed;
  response.ciphertext.len = plain_len + ENVELOPE_TAG_BYTES;
  size_t size = lindung__v1__scan_response__get_packed_size(&response);
  if (size > out_len) return 0;
  return lindung__v1__scan_response__pack(&response, out);
}

size_t resolver_verdict_response(const Lindung__V1__DecryptedRequest *request,
                                 const resolver_verdict *verdict, const char *venue_name,
                                 uint8_t *out, size_t out_len) {
  char name[RESOLVER_VENUE_NAME_MAX + 1];
  const char *text = venue_name ? venue_name : "";
  size_t keep = resolver_utf8_cut(text, strlen(text), RESOLVER_VENUE_NAME_MAX);
  memcpy(name, text, keep);
  name[keep] = '\0';

  Lindung__V1__Verdict body_verdict = LINDUNG__V1__VERDICT__INIT;
  body_verdict.status = verdict->status;
  body_verdict.decision = verdict->decision;
  body_verdict.reason = verdict->reason;
  body_verdict.venue_name = name;
  body_verdict.checked_at_ms = verdict->checked_at_ms;
  Lindung__V1__ResponseBody body = LINDUNG__V1__RESPONSE_BODY__INIT;
  body.kind_case = LINDUNG__V1__RESPONSE_BODY__KIND_VERDICT;
  body.verdict = &body_verdict;
  return resolver_seal(request, &body, verdict->checked_at_ms, out, out_len);
}

size_t resolver_linked_response(const Lindung__V1__DecryptedRequest *request, const char *token,
                                uint64_t created_at_ms, uint8_t *out, size_t out_len) {
  Lindung__V1__Linked linked = LINDUNG__V1__LINKED__INIT;
  linked.token = (char *)token;
  Lindung__V1__ResponseBody body = LINDUNG__V1__RESPONSE_BODY__INIT;
  body.kind_case = LINDUNG__V1__RESPONSE_BODY__KIND_LINKED;
  body.linked = &linked;
  return resolver_seal(request, &body, created_at_ms, out, out_len);
}

void resolver_audit_fill(const Lindung__V1__DecryptedRequest *request,
                         const resolver_audit_facts *facts, uint64_t now_ms,
                         Lindung__V1__AuditEvent *out) {
  Lindung__V1__AuditEvent init = LINDUNG__V1__AUDIT_EVENT__INIT;
  *out = init;
  out->version = 1;
  out->stage = LINDUNG__V1__AUDIT_STAGE__AUDIT_STAGE_RESOLVE;
  out->request_id = request->request_id;
  out->partner_id = request->partner_id;
  out->error = facts->error;
  out->outcome = facts->error == LINDUNG__V1__ERROR_CODE__NONE
                     ? LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_ANSWERED
                     : LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_REJECTED;
  if (request->kind_case == LINDUNG__V1__DECRYPTED_REQUEST__KIND_SCAN) {
    out->kind = LINDUNG__V1__REQUEST_KIND__REQUEST_KIND_SCAN;
    out->action = request->scan->action;
    if (facts->venue_known) out->venue_id = request->scan->venue_id;
    if (facts->error == LINDUNG__V1__ERROR_CODE__NONE) out->decision = facts->decision;
  } else if (request->kind_case == LINDUNG__V1__DECRYPTED_REQUEST__KIND_LINK) {
    out->kind = LINDUNG__V1__REQUEST_KIND__REQUEST_KIND_LINK;
  }
  /* The NIK named no person: there is nobody to name, and the NIK itself
   * must never reach the audit trail. */
  if (facts->pseudonym && facts->error != LINDUNG__V1__ERROR_CODE__UNKNOWN_NIK) {
    out->subject_pseudonym.data = (uint8_t *)facts->pseudonym;
    out->subject_pseudonym.len = 16;
  }
  out->sent_at_ms = request->sent_at_ms;
  out->received_at_ms = request->received_at_ms;
  out->handled_at_ms = now_ms;
  out->service = (char *)RESOLVER_SERVICE_NAME;
}

static bool resolver_fact_source_valid(const char *s) {
  if (!s || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9'))) return false;
  size_t len = strlen(s);
  if (len > RESOLVER_FACT_SOURCE_MAX) return false;
  for (size_t i = 1; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
      return false;
  }
  return true;
}

int resolver_fact_check(const Lindung__V1__HealthFact *m, uint64_t now_ms, resolver_fact *out,
                        const char **reason) {
  memset(out, 0, sizeof *out);
  const char *why = NULL;
  if (m->version != 1)
    why = "bad_version";
  else if (m->fact_id.len != HEALTH_FACT_ID_BYTES)
    why = "bad_fact_id";
  else if (m->nik_hash.len != REG_NIK_HASH_BYTES)
    why = "bad_nik_hash";
  else if ((int)m->kind < 1 || (int)m->kind > (int)HEALTH_FACT_KIND_MAX)
    why = "bad_kind";
  else if (m->at_ms == 0 || m->at_ms > (uint64_t)INT64_MAX ||
           m->at_ms > now_ms + RESOLVER_FACT_MAX_AHEAD_MS)
    why = "bad_at";
  else if (m->until_ms != 0 && (m->until_ms <= m->at_ms || m->until_ms > (uint64_t)INT64_MAX))
    why = "bad_until";
  else if (!m->detail || !health_detail_valid(m->detail))
    why = "bad_detail";
  else if (!resolver_fact_source_valid(m->source))
    why = "bad_source";
  if (why) {
    *reason = why;
    return -1;
  }
  out->fact.kind = (health_fact_kind)m->kind;
  out->fact.at_ms = (int64_t)m->at_ms;
  out->fact.until_ms = m->until_ms ? (int64_t)m->until_ms : HEALTH_NONE;
  out->fact_id = m->fact_id.data;
  out->nik_hash = m->nik_hash.data;
  out->detail = m->detail;
  out->source = m->source;
  return 0;
}

void resolver_fact_audit_fill(const resolver_fact *fact, bool applied, int contacts,
                              uint64_t now_ms, char *detail_buf, size_t detail_len,
                              Lindung__V1__AuditEvent *out) {
  Lindung__V1__AuditEvent init = LINDUNG__V1__AUDIT_EVENT__INIT;
  *out = init;
  out->version = 1;
  out->stage = LINDUNG__V1__AUDIT_STAGE__AUDIT_STAGE_ADMIN;
  out->outcome = LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_APPLIED;
  out->request_id.data = (uint8_t *)fact->fact_id;
  out->request_id.len = HEALTH_FACT_ID_BYTES;
  snprintf(detail_buf, detail_len, "health_fact %s %s contacts=%d",
           health_fact_kind_name(fact->fact.kind), applied ? "new" : "repeated", contacts);
  out->detail = detail_buf;
  out->actor = (char *)fact->source;
  out->handled_at_ms = now_ms;
  out->service = (char *)RESOLVER_SERVICE_NAME;
}

void resolver_dead_letter_audit_fill(const uint8_t source_id[16], const char *reason,
                                     uint64_t now_ms, Lindung__V1__AuditEvent *out) {
  Lindung__V1__AuditEvent init = LINDUNG__V1__AUDIT_EVENT__INIT;
  *out = init;
  out->stage = LINDUNG__V1__AUDIT_STAGE__AUDIT_STAGE_RESOLVE;
  out->outcome = LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_DEADLETTERED;
  out->request_id.data = (uint8_t *)source_id;
  out->request_id.len = 16;
  out->detail = (char *)reason;
  out->handled_at_ms = now_ms;
  out->service = (char *)RESOLVER_SERVICE_NAME;
}
